"""Prebuilt kernel selection: exact config match, order priority, class coverage, the reasons printed by
BEAMTRACK_VERBOSE, stale-hash rejection, concurrent compiles of one kernel, and the wider-kernel hand-over.

The prebuilt store used here is built once per module from small definitions (a few classes each) so
the compiles stay short; every expected verdict follows from those definitions as written below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from beamtrack.engine import Simulation, elements
from beamtrack.engine.elements.registry import include_roots
from beamtrack.engine.kernels import build, kernel_definitions, prebuild, select, variants

pytestmark = pytest.mark.unit

PLAIN = {"misalignment": False, "apertures": False}
MISALIGNED = {"misalignment": True, "apertures": False}
DEFS: list[kernel_definitions.Definition] = [
    ("quads_misaligned", {"config": MISALIGNED, "classes": ["Drift", "Quad"], "extra_classes": []}),
    ("quads", {"config": PLAIN, "classes": ["Drift", "Quad"], "extra_classes": []}),
    ("wide", {"config": PLAIN, "classes": ["Drift", "Quad", "Sol"], "extra_classes": []}),
]
DRIFT, QUAD, SOL = (c.kernel for c in (elements.Drift, elements.Quad, elements.Sol))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prebuilt")
    prebuild.regenerate(["serial"], store=path, definitions=DEFS)
    return path


@pytest.fixture
def use_store(store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BEAMTRACK_PREBUILT_DIR", str(store))
    monkeypatch.setenv("BEAMTRACK_VERBOSE", "1")
    select.forget()
    yield store
    select.forget()


def fodo_sim(**quad_kw: float) -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250)
    sim.beam.add_n_particles(
        [1e-3, -2e-3],
        [5e-4, 0.0],
        [0.0, 1e-3],
        [1e-4, 0.0],
        [0.0, -1e-4],
        [0.0, 1e-3],
        qm=sim.reference.charge / sim.reference.mass,
        bunch_charge=0.0,
    )
    sim.lattice.extend(
        [elements.Drift(ds=0.5, nslice=2), elements.Quad(ds=0.4, k=2.0, **quad_kw), elements.Drift(ds=0.5)]
    )
    return sim


def test_store_metadata_records_the_build(store: Path) -> None:
    metas = {m["name"]: m for m in select.store_entries(store)}
    assert list(metas) == ["quads_misaligned", "quads", "wide"]  # DEFS order = priority order
    m = metas["wide"]
    assert m["kind"] == "serial" and m["config"] == PLAIN and m["file"] == "wide.serial.so"
    assert [c["name"] for c in m["classes"]] == ["LinearMap", "Drift", "Quad", "Sol"]  # LinearMap always first
    assert m["compiler"] == build.compiler_version() and "-fPIC" in m["flags"]
    assert len(m["source_hash"]) == 64 and m["build_seconds"] > 0 and m["built_at"].endswith("Z")
    assert (store / ".gitignore").read_text().splitlines()[-1] == "*"


def test_first_exact_match_in_order_wins(use_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Drift + Quad, no misalignment: 'quads_misaligned' has the wrong config, 'quads' is the first
    # that fits; 'wide' would fit too but comes later.
    k = select.get_kernel("serial", {DRIFT, QUAD}, PLAIN, include_roots())
    err = capsys.readouterr().err
    assert k.origin.startswith("prebuilt:quads:")
    assert "'quads_misaligned' (serial): rejected: config differs: misalignment: prebuilt True, wanted False" in err
    assert "'quads' (serial): accepted" in err
    assert "'wide'" not in err  # the search stops at the first match
    assert "compile started" not in err


def test_priority_comes_from_the_definition_order(
    use_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same kernels with 'wide' listed before 'quads': now 'wide' wins for the same line.
    swapped = tmp_path / "swapped"
    shutil.copytree(use_store, swapped)
    for name, prio in (("wide", 0), ("quads", 1), ("quads_misaligned", 2)):
        meta_path = swapped / f"{name}.serial.json"
        meta = json.loads(meta_path.read_text())
        meta["priority"] = prio
        meta_path.write_text(json.dumps(meta))
    monkeypatch.setenv("BEAMTRACK_PREBUILT_DIR", str(swapped))
    k = select.get_kernel("serial", {DRIFT, QUAD}, PLAIN, include_roots())
    assert k.origin.startswith("prebuilt:wide:")


def test_class_coverage(use_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    k = select.get_kernel("serial", {DRIFT, SOL}, PLAIN, include_roots())
    err = capsys.readouterr().err
    assert "'quads' (serial): rejected: classes missing: Sol" in err
    assert k.origin.startswith("prebuilt:wide:") and k.index["Sol"] == 3


def test_config_and_kind_mismatch_reasons(store: Path) -> None:
    metas = {m["name"]: m for m in select.store_entries(store)}
    roots = include_roots()
    why = select.rejection(metas["quads"], "serial", {"misalignment": False, "apertures": True}, [DRIFT], roots)
    assert why == "config differs: apertures: prebuilt False, wanted True"
    why = select.rejection(metas["quads"], "serial", {"misalignment": True, "apertures": True}, [DRIFT], roots)
    assert why == ("config differs: apertures: prebuilt False, wanted True; misalignment: prebuilt False, wanted True")
    assert (
        select.rejection(metas["quads"], "openmp", PLAIN, [DRIFT], roots)
        == "kind differs (prebuilt serial, wanted openmp)"
    )
    assert select.rejection(metas["quads"], "serial", PLAIN, [DRIFT, QUAD], roots) is None
    with pytest.raises(ValueError, match="unknown kernel config key.*precision"):
        variants.normalize({"precision": "float32"})


def test_config_is_derived_from_the_lattice() -> None:
    assert fodo_sim().kernel_config() == PLAIN
    assert fodo_sim(dx=1e-3).kernel_config() == MISALIGNED
    assert fodo_sim(rotation=0.5).kernel_config() == MISALIGNED
    assert fodo_sim(aperture_x=1e-2, aperture_y=1e-2).kernel_config() == {"misalignment": False, "apertures": True}


def test_no_match_compiles_a_line_kernel_once(use_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # apertures are in no definition above: compile a line kernel; a second request reuses it from disk
    cfg = {"misalignment": False, "apertures": True}
    k = select.get_kernel("serial", {DRIFT, QUAD}, cfg, include_roots())
    err = capsys.readouterr().err
    assert "no prebuilt kernel fits" in err and "compile started" in err and "compiled in" in err
    assert [c.name for c in k.classes] == ["Drift", "LinearMap", "Quad"]  # only the line's classes (+ LinearMap)
    select.forget()
    k2 = select.get_kernel("serial", {DRIFT, QUAD}, cfg, include_roots())
    err = capsys.readouterr().err
    assert "compile started" not in err and "using cached serial kernel" in err
    assert k2.path == k.path


def test_stale_prebuilt_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A private copy of the engine headers; prebuild 'quads' against it, then edit drift.h.
    root = tmp_path / "root"
    src_root = include_roots()[0]
    for rel in ("beamtrack/engine/kernels", "beamtrack/engine/elements/c"):
        shutil.copytree(
            src_root / rel,
            root / rel,
            ignore=shutil.ignore_patterns("*.py", "*.so", "*.json", "__pycache__", "prebuilt"),
        )
    store = tmp_path / "store"
    prebuild.regenerate(["serial"], store=store, definitions=DEFS[1:2], include_roots=[root])
    meta = select.store_entries(store)[0]
    assert select.rejection(meta, "serial", PLAIN, [DRIFT], [root]) is None
    drift_h = root / "beamtrack/engine/elements/c/drift.h"
    drift_h.write_text(drift_h.read_text() + "\n/* edited after the prebuild */\n")
    why = select.rejection(meta, "serial", PLAIN, [DRIFT], [root])
    assert why is not None and why.startswith("stale: source hash")
    monkeypatch.setenv("BEAMTRACK_PREBUILT_DIR", str(store))
    monkeypatch.setenv("BEAMTRACK_VERBOSE", "1")
    select.forget()
    k = select.get_kernel("serial", {DRIFT, QUAD}, PLAIN, [root])
    err = capsys.readouterr().err
    assert "'quads' (serial): rejected: stale" in err and "compile started" in err
    assert not k.origin.startswith("prebuilt:")
    out = subprocess.run(
        [sys.executable, "-m", "beamtrack.engine.kernels.prebuild", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "BEAMTRACK_PREBUILT_DIR": str(store)},
        check=True,
    ).stdout
    # `list` checks against the installed headers (unchanged), so there the kernel is fresh
    assert "quads" in out and "fresh" in out
    select.forget()


def test_hook_that_misaligns_mid_run_hands_over_to_a_wider_kernel(
    use_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Reference: period 1 aligned, then period 2 with the quad misaligned (a new track_particles call
    # derives the misaligned config and picks 'quads_misaligned' directly).
    ref = fodo_sim()
    ref.track_particles(periods=1)
    ref.lattice[1].dx = 1e-3
    ref.track_particles(periods=1)
    # Same physics from one call: a before_period hook misaligns the quad at the start of period 2.
    sim = fodo_sim()

    def misalign(s: Simulation) -> None:
        if s.tracking_period == 1:
            s.lattice[1].dx = 1e-3

    sim.hook["before_period"] = misalign
    capsys.readouterr()
    sim.track_particles(periods=2)
    err = capsys.readouterr().err
    assert "switching to a wider kernel" in err and "wider kernel: prebuilt 'quads_misaligned'" in err
    np.testing.assert_array_equal(sim.beam.real[:6], ref.beam.real[:6])
    # and the misalignment did something: an aligned second period ends elsewhere
    aligned = fodo_sim()
    aligned.track_particles(periods=2)
    assert np.abs(aligned.beam.real[0] - sim.beam.real[0]).max() > 1e-5


CONCURRENT = textwrap.dedent("""
    import sys
    from beamtrack.engine.elements.registry import include_roots
    from beamtrack.engine import elements
    from beamtrack.engine.kernels import select
    k = select.get_kernel("serial", {elements.Drift.kernel, elements.Sol.kernel}, {"misalignment": True, "apertures": True}, include_roots())
    print(k.path)
""")


def test_two_processes_compile_one_kernel_once(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BEAMTRACK_KERNEL_CACHE": str(tmp_path / "cache"),
        "BEAMTRACK_PREBUILT_DIR": str(tmp_path / "none"),
        "BEAMTRACK_VERBOSE": "1",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    paths = {o[0].strip() for o in outs}
    assert len(paths) == 1  # same content-addressed kernel
    errs = "".join(o[1] for o in outs)
    assert errs.count("compile started") == 1, errs  # the other one waited on the lock, then loaded it
    assert len(list((tmp_path / "cache").rglob("*.so"))) == 1
    assert not list((tmp_path / "cache").rglob(".build-*"))  # no leftovers of the private temp dirs


def test_default_definitions_follow_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from typing import Literal

    from beamtrack.engine import elements as pkg
    from beamtrack.engine.elements.registry import builtin
    from beamtrack.spec.elements import ThinElement

    class LateModel(ThinElement):
        type: Literal["LateKick"] = "LateKick"
        strength: float

    class LateKick(pkg.Element):
        """An element added to BUILTIN_ELEMENTS after this module was written; its kernel depends on the instance."""

        model_cls = LateModel

        @property
        def kernel(self):  # type: ignore[override]
            return pkg.Kicker.kernel if self.strength else None

    monkeypatch.setattr(pkg, "BUILTIN_ELEMENTS", [*pkg.BUILTIN_ELEMENTS, LateKick])
    defs = kernel_definitions.definitions()
    assert [n for n, _ in defs] == ["misaligned_apertures", "apertures", "misaligned", "default"]
    entry = dict(defs)["default"]
    assert entry["config"] == PLAIN
    assert entry["classes"][: len(builtin())] == list(builtin())  # every registered type, registry order
    assert "LateKick" in entry["classes"]
    with pytest.raises(kernel_definitions.KernelDefinitionError, match="LateKick.*BUILD_DEFAULTS"):
        kernel_definitions.kernel_classes(entry)
    entry["build_defaults"] = {"LateKick": {"strength": 1.0}}
    names = [k.name for k in kernel_definitions.kernel_classes(entry)]
    assert names[0] == "LinearMap" and {"Drift", "Quad", "Kicker"} <= set(names) and len(names) == len(set(names))


def test_regenerate_keeps_up_to_date_kernels(store: Path) -> None:
    """A second regenerate (the README setup runs it on every call) rebuilds nothing that is fresh;
    --force rebuilds."""
    before = {p.name: p.stat().st_mtime_ns for p in store.glob("*.so")}
    metas = prebuild.regenerate(["serial"], store=store, definitions=DEFS)
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.so")} == before
    assert sorted(m["name"] for m in metas) == sorted(name for name, _ in DEFS)
    prebuild.regenerate(["serial"], store=store, definitions=DEFS[:1], force=True)
    after = {p.name: p.stat().st_mtime_ns for p in store.glob("*.so")}
    changed = [n for n in after if after[n] != before[n]]
    assert changed == [f"{DEFS[0][0]}.serial.so"]


def test_prebuilt_for_another_cpu_is_rejected(
    use_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A -march=native kernel built on one CPU may use instructions another lacks (a store copied
    into an image): on a different CPU it is rejected with the reason, and regenerate rebuilds it."""
    from beamtrack.engine.kernels import build

    monkeypatch.setattr(build, "host_cpu", lambda: "Other CPU [0000000000]")
    k = select.get_kernel("serial", {DRIFT, QUAD}, PLAIN, include_roots())
    err = capsys.readouterr().err
    assert "'quads' (serial): rejected: built for CPU" in err and "Other CPU" in err
    assert not k.origin.startswith("prebuilt:")
    assert build.cpu_mismatch({"kind": "serial", "flags": ["-O3"], "cpu": "x"}) is None  # portable flags
    assert build.cpu_mismatch({"kind": "cuda", "flags": ["-march=native"], "cpu": "x"}) is None
