"""Packed execution (beamtrack.engine.packed): every particle of every variant, its diagnostics rows,
monitor output and losses equal an unpacked run of that variant alone, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beamtrack.engine import Simulation, elements
from beamtrack.engine.distribution import Waterbag
from beamtrack.engine.kernels.ops import OP_DTYPE
from beamtrack.engine.packed import PackedRun, PackError, pack_signature, track_packed
from beamtrack.engine.packed_output import PACKED_FILE, materialize, packed_files
from beamtrack.spec import load_spec

pytestmark = pytest.mark.unit
KINDS = ("serial", "openmp")
ROOT = Path(__file__).resolve().parents[2]


def line(v: int, *, misaligned: bool = False) -> list[elements.Element]:
    """Four element classes (two with sin/cos in their maps), parameters that differ per variant,
    an aperture that loses particles."""
    dx = 1e-5 * (v + 1) if misaligned else 0.0
    return [
        elements.Drift(name="d1", ds=0.25 + 0.01 * v, nslice=3),
        elements.Quad(name="q1", ds=1.0, k=1.0 + 0.05 * v, nslice=2, dx=dx),
        elements.Sbend(name="b1", ds=0.5, rc=10.0 + v, nslice=2),
        elements.ChrQuad(name="q2", ds=0.8, k=-1.2 - 0.03 * v, nslice=3, aperture_x=1.2e-4, aperture_y=1.5e-4),
        elements.Drift(name="d2", ds=0.5, nslice=1),
    ]


def make_sim(kind: str, v: int, n: int = 300, **kw) -> Simulation:
    sim = Simulation(kind=kind, diagnostics=False, **kw)
    sim.reference.set_species("electron").set_kin_energy_MeV(2000 + 10 * v)
    sim.add_particles(
        1e-9,
        Waterbag(
            lambdaX=1e-4, lambdaY=1e-4, lambdaT=1e-3, lambdaPx=1e-5, lambdaPy=1e-5, lambdaPt=2e-3, muxpx=-0.5, muypy=0.5
        ),
        npart=n,
        seed=10 + v,
    )
    return sim


def rows_of(sim: Simulation) -> list[dict[str, float]]:
    rows: list[dict[str, float]] = []
    sim.diagnostics_listeners.append(rows.append)
    return rows


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_same(a: Simulation, b: Simulation) -> None:
    assert np.array_equal(np.asarray(a.beam.real), np.asarray(b.beam.real))
    assert np.array_equal(np.asarray(a.beam.state), np.asarray(b.beam.state))
    assert np.array_equal(np.asarray(a.beam.s_lost), np.asarray(b.beam.s_lost))
    assert np.array_equal(np.asarray(a.beam.id), np.asarray(b.beam.id))
    assert a.tracking_step == b.tracking_step and a.reference.s == b.reference.s


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("slicewise", [False, True], ids=["fused", "slicewise"])
@pytest.mark.parametrize("misaligned", [False, True], ids=["aligned", "misaligned"])
def test_packed_equals_unpacked_per_particle(kind: str, slicewise: bool, misaligned: bool) -> None:
    nvar = 5
    alone, packed = [], []
    alone_rows, packed_rows = [], []
    for v in range(nvar):
        for out, rows in ((alone, alone_rows), (packed, packed_rows)):
            sim = make_sim(kind, v, slice_step_diagnostics=slicewise)
            sim.lattice.extend(line(v, misaligned=misaligned))
            sim.periods = 2
            rows.append(rows_of(sim))
            out.append(sim)
    for sim in alone:
        sim.track_particles()
    assert track_packed(packed) == {}
    for a, b, ra, rb in zip(alone, packed, alone_rows, packed_rows, strict=True):
        assert_same(a, b)
        assert len(ra) == len(rb) == (2 * 11 + 1 if slicewise else 2)
        assert json.dumps(ra) == json.dumps(rb)
    assert any(int((sim.beam.state != 0).sum()) for sim in packed)  # the aperture lost particles
    assert len({float(sim.beam.x[0]) for sim in packed}) == nvar  # the variants differ


@pytest.mark.parametrize("kind", KINDS)
def test_packed_fodo_example_with_monitors(kind: str, tmp_path: Path) -> None:
    """examples/fodo.json (BeamMonitors, slice diagnostics) with other quad strengths: the same
    particles, rows and openPMD files as each variant run alone."""
    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec["beam"]["npart"] = 250
    spec["lattice"]["periods"] = 1

    def variant(v: int) -> dict:
        s = json.loads(json.dumps(spec))
        s["lattice"]["elements"][3]["k"] = 1.0 + 0.1 * v
        s["beam"]["seed"] = 100 + v
        return s

    alone = [Simulation.from_spec(load_spec(variant(v)), tmp_path / f"a{v}", kind=kind) for v in range(3)]
    packed = [Simulation.from_spec(load_spec(variant(v)), tmp_path / f"p{v}", kind=kind) for v in range(3)]
    for sim in alone:
        sim.track_particles()
        sim.finalize()
    assert track_packed(packed) == {}
    for sim in packed:
        sim.finalize()

    # the packed variants hold their recorded output until it is read (the server: a listing or download)
    for v in range(3):
        assert sorted(p.name for p in (tmp_path / f"p{v}").iterdir()) == [PACKED_FILE]
        declared = packed_files(tmp_path / f"p{v}")
        assert materialize(tmp_path / f"p{v}") and not materialize(tmp_path / f"p{v}")
        assert declared == files_under(tmp_path / f"p{v}") == files_under(tmp_path / f"a{v}")

    for v, (a, b) in enumerate(zip(alone, packed, strict=True)):
        assert_same(a, b)
        ta = (tmp_path / f"a{v}" / "diags" / "reduced_beam_characteristics.0").read_text()
        assert len(ta.splitlines()) == 1 + a.tracking_step + 1  # header, step 0, each step
        assert_same_files(tmp_path / f"a{v}", tmp_path / f"p{v}")


def series_content(path: Path) -> dict:
    """Every attribute (but the series' creation date) and every record of an openPMD series."""
    import openpmd_api as io

    def attrs(obj: Any) -> dict:
        return {k: obj.get_attribute(k) for k in obj.attributes if k != "date"}

    series = io.Series(str(path), io.Access.read_only)
    out: dict = {"series": attrs(series), "iterations": {}}
    loaded = []
    for i in series.iterations:
        it = series.iterations[i]
        its: dict = {"attrs": attrs(it), "species": {}}
        for sname, species in it.particles.items():
            sp: dict = {"attrs": attrs(species), "records": {}}
            for rname, rec in species.items():
                comps = {}
                for cname, rc in rec.items():
                    data = rc.load_chunk() if rc.shape and rc.shape[0] else np.empty(0)
                    loaded.append(data)
                    comps[cname] = (attrs(rc), rc.dtype, data)
                sp["records"][rname] = (attrs(rec), comps)
            its["species"][sname] = sp
        out["iterations"][int(i)] = its
        series.flush()
    series.close()
    return out


def assert_equal_nested(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for k in a:
            assert_equal_nested(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, tuple | list):
        assert isinstance(b, tuple | list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_equal_nested(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), where
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert a == b, where


def assert_same_files(alone: Path, packed: Path) -> None:
    """The same files under both folders: ASCII byte for byte, openPMD series record for record and
    attribute for attribute (HDF5 files also hold the series' creation time)."""
    names = files_under(alone)
    assert names == files_under(packed)
    for name in names:
        if name.endswith((".h5", ".json", ".bp4")) and "/openPMD/" in f"/{name}":
            assert_equal_nested(series_content(alone / name), series_content(packed / name), name)
        else:
            assert (alone / name).read_bytes() == (packed / name).read_bytes(), name


@pytest.mark.parametrize("finalize", ["each", "pack"])
def test_packed_output_other_backends_encodings_and_losses(tmp_path: Path, finalize: str) -> None:
    """Recorded output with a file-based HDF5 series, a JSON series, a monitor every other period,
    lost particles (an aperture: particles_lost.h5 from finalize) and packed ids: the same files as
    each variant alone, its listing known before they are written; finalized one variant at a
    time (``sim.finalize``) or all at once, a few threads writing (``PackedRun.finalize``)."""

    def sim_of(v: int, out: Path) -> Simulation:
        sim = make_sim("serial", v, n=120, output_dir=out)
        sim.diagnostics = True
        sim.openpmd_packed_ids = True
        els = line(v)
        els.insert(1, elements.BeamMonitor(name="mf", backend="h5", encoding="f"))
        els.insert(3, elements.BeamMonitor(name="mj", backend="json", period_sample_intervals=2))
        els.append(elements.BeamMonitor(name="mf", backend="h5", encoding="f"))
        sim.lattice.extend(els)
        sim.periods = 3
        return sim

    alone = [sim_of(v, tmp_path / f"a{v}") for v in range(3)]
    packed = [sim_of(v, tmp_path / f"p{v}") for v in range(3)]
    for sim in alone:
        sim.track_particles()
        sim.finalize()
    run = PackedRun(packed)
    assert run.recorded == [0, 1, 2]
    run.track_particles()
    if finalize == "pack":
        assert run.finalize() == {}
    else:
        for sim in packed:
            sim.finalize()
    for v, (a, b) in enumerate(zip(alone, packed, strict=True)):
        assert_same(a, b)
        root = tmp_path / f"p{v}"
        declared = packed_files(root)
        assert "diags/openPMD/particles_lost.h5" in files_under(root)  # finalize wrote it
        assert materialize(root)
        assert declared is not None
        assert set(declared) | {"diags/openPMD/particles_lost.h5"} == set(files_under(root))
        assert "diags/openPMD/mf_000004.h5" in declared and "diags/openPMD/mj.json" in declared
        assert_same_files(tmp_path / f"a{v}", root)
    assert any(int((sim.beam.state != 0).sum()) for sim in packed)


def test_pack_finalize_fails_only_the_variant_whose_files_fail(tmp_path: Path) -> None:
    """``PackedRun.finalize``: a variant whose output directory cannot be made (its parent is a
    file) is returned with the error; the others' files are written and complete."""
    (tmp_path / "blocker").write_text("a file, not a directory")
    outs = [tmp_path / "p0", tmp_path / "blocker" / "p1", tmp_path / "p2"]
    sims = []
    for v, out in enumerate(outs):
        sim = make_sim("serial", v, n=40, output_dir=out)
        sim.diagnostics = True
        sim.lattice.extend(line(v))
        sims.append(sim)
    run = PackedRun(sims)
    run.track_particles()
    errors = run.finalize()
    assert list(errors) == [1] and isinstance(errors[1], OSError)
    for v in (0, 2):
        assert materialize(outs[v])
        assert "diags/reduced_beam_characteristics.0" in files_under(outs[v])


def test_materialize_once_for_concurrent_readers(tmp_path: Path) -> None:
    """Readers that ask at once: one writes the files, the others wait for it; nobody sees a
    partial set (each reader lists the files after its call)."""
    import threading

    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec["beam"]["npart"] = 50
    spec["lattice"]["periods"] = 1
    sims = [Simulation.from_spec(load_spec(spec), tmp_path / f"p{v}", kind="serial") for v in range(2)]
    assert track_packed(sims) == {}
    for sim in sims:
        sim.finalize()
    root = tmp_path / "p0"
    declared = packed_files(root)
    results: list[tuple[bool, list[str]]] = []

    def read() -> None:
        wrote = materialize(root)
        results.append((wrote, files_under(root)))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w for w, _ in results) == [False, False, False, True]
    assert all(files == declared for _, files in results)
    assert packed_files(root) is None


def test_stopped_variant_leaves_the_pack_alone() -> None:
    sims = []
    for v in range(3):
        sim = make_sim("serial", v, slice_step_diagnostics=True)
        sim.lattice.extend(line(v))
        sims.append(sim)
    ref = make_sim("serial", 2, slice_step_diagnostics=True)
    ref.lattice.extend(line(2))
    ref.track_particles()

    def stop_after_5(step: int, total: int) -> None:
        if step == 5:
            sims[1].request_stop()

    sims[1].progress_listeners.append(stop_after_5)
    run = PackedRun(sims)
    run.track_particles()
    assert list(run.errors) == [1] and type(run.errors[1]).__name__ == "TrackingCancelled"
    assert sims[1].tracking_step == 5  # stopped at the next slice boundary, as an unpacked run stops
    assert_same(ref, sims[2])


def test_what_cannot_be_packed() -> None:
    a, b = make_sim("serial", 0), make_sim("serial", 1)
    a.lattice.extend(line(0))
    b.lattice.extend(line(1)[:-1])
    with pytest.raises(PackError, match="variant 1 does not share"):
        PackedRun([a, b])
    c = make_sim("serial", 0, n=100)
    c.lattice.extend(line(0))
    assert pack_signature(c) != pack_signature(a)  # particle count
    a.hook["after_period"] = lambda s: None
    assert pack_signature(a) is None
    d = make_sim("serial", 0)
    d.lattice.extend([*line(0), elements.Programmable(name="p")])
    assert pack_signature(d) is None


@pytest.mark.parametrize(("kind", "nthreads"), [("serial", None), ("openmp", 2), ("openmp", 3)])
def test_pack_rows_equal_each_beams_own_characteristics(kind: str, nthreads: int | None) -> None:
    """The reduced diagnostics of all variants in one pass (packed_diagnostics.pack_rows) are, bit for
    bit, each beam's reduced_beam_characteristics (the reference): 1,500 particles a variant (three
    sum chunks, split over the threads an unpacked run uses), one variant with no live particle."""
    from beamtrack.engine.diagnostics import reduced_beam_characteristics
    from beamtrack.engine.packed_diagnostics import pack_rows

    sims = [make_sim(kind, v, n=1500, nthreads=nthreads) for v in range(4)]
    for sim in sims:
        sim.lattice.extend(line(0))
    run = PackedRun(sims)
    run.beam.state[2 * 1500 : 3 * 1500] = 1  # variant 2 lost everything
    rows = pack_rows(
        run.beam,
        4,
        1500,
        [s.beam for s in sims],
        [s.reference for s in sims],
        [0, 1, 2, 3],
        kind=kind,
        nthreads=nthreads,
    )
    for v, sim in enumerate(sims):
        want = reduced_beam_characteristics(sim.beam, sim.reference, kind=kind, nthreads=nthreads)
        assert json.dumps(rows[v]) == json.dumps(want)
    assert rows[2]["charge_C"] == 0.0 and rows[1]["sigma_x"] > 0.0


def test_packed_rows_with_eigenemittances_equal_unpacked() -> None:
    """A variant asking for ImpactX's eigen-emittance columns gets them in a pack too (its rows are
    computed on their own there), the same as run alone (the reference: the unpacked run)."""
    alone, packed, rows_a, rows_p = [], [], [], []
    for v in range(3):
        for out, rows in ((alone, rows_a), (packed, rows_p)):
            sim = make_sim("serial", v)
            sim.eigenemittances = v == 1
            sim.lattice.extend(line(v))
            rows.append(rows_of(sim))
            out.append(sim)
    for sim in alone:
        sim.track_particles()
    assert track_packed(packed) == {}
    assert json.dumps(rows_a) == json.dumps(rows_p)
    assert "emittance_1" in rows_p[1][-1] and "emittance_1" not in rows_p[0][-1]


def test_launched_ops_and_references_equal_an_unpacked_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every op table the pack launches, per variant and slice, has the bytes that
    ``Tracker._build_ops`` gives for that slice from the reference an unpacked run has there (the
    unpacked run's ops), and after every slice each variant's reference particle equals the
    reference pushed alone by ``Element.push_ref`` (every field, bit for bit): whether the pack
    reused the ops (``_slice_ops``) or pushed all references in arrays (``_push_straight_slice``,
    the second and later slices of Drift and Quad), through an element whose parameters change
    between the two periods. And reuse happens: fewer builds than slices, and exactly the
    straight elements' later slices take the array path."""
    nvar = 3
    sims = []
    for v in range(nvar):
        sim = make_sim("serial", v, n=50, slice_step_diagnostics=True)
        sim.lattice.extend(line(v, misaligned=True))
        sims.append(sim)
    run = PackedRun(sims)
    tracker_cls = type(run.trackers[0])
    build = tracker_cls._build_ops
    built, launches, straight = [0], [0], [0]
    refs = [sim.reference.copy() for sim in sims]  # each variant's reference before its next slice
    last = [-1] * nvar
    launch = run.kernel.track_batch

    def counting_build(self, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202 - the wrapped method's own
        built[0] += 1
        return build(self, *a, **kw)

    def checking_launch(beam, nv, n, stride, ops_all, aux_all):  # noqa: ANN001, ANN202
        nops = len(ops_all) // nv
        for v, sim in enumerate(sims):
            mine = ops_all[v * nops : (v + 1) * nops]
            i = int(mine["index"][0])
            el = sim.lattice[i]
            ops = mine[: el.op_count(1)]
            ref_in = refs[v]
            if i != last[v]:
                ref_in.sedge = ref_in.s  # the element's entry, as the loop sets it
            fresh, fresh_aux, s_rel = build(run.trackers[v], [el], i, ref_in, 1)
            fresh["s_exit"] = s_rel + ref_in.s
            for name in OP_DTYPE.names:
                if name != "aux_offset":  # the pack's aux is all variants' auxes, one after the other
                    assert ops[name].tobytes() == fresh[name].tobytes(), (v, i, name)
            for op, f in zip(ops, fresh, strict=True):
                got = aux_all[op["aux_offset"] : op["aux_offset"] + op["aux_len"]]
                assert got.tobytes() == fresh_aux[f["aux_offset"] : f["aux_offset"] + f["aux_len"]].tobytes()
            r = ref_in.copy()
            el.push_ref(r, 1)
            assert sim.reference == r, (v, i)  # dataclass equality: every field
            refs[v], last[v] = r, i
        launches[0] += 1
        return launch(beam, nv, n, stride, ops_all, aux_all)

    push_straight = PackedRun._push_straight_slice

    def counting_straight(self: PackedRun, *a: object) -> bool:
        done = push_straight(self, *a)  # type: ignore[arg-type]
        straight[0] += done
        return done

    monkeypatch.setattr(tracker_cls, "_build_ops", counting_build)
    monkeypatch.setattr(run.kernel, "track_batch", checking_launch)
    monkeypatch.setattr(PackedRun, "_push_straight_slice", counting_straight)
    run.track_particles(periods=1)
    for sim in sims:
        sim.lattice[1].k = sim.lattice[1].k + 0.1  # a new version: its slices are built again
    run.track_particles(periods=1)
    slices = sum(el.nslice for el in sims[0].lattice)
    assert launches[0] == 2 * slices
    # built once per variant and period: d1, q1, d2 (straight, reused); each slice of b1 (the bend
    # turns the reference) and of q2 (ChrQuad fills its ops itself): 8 of the 11 slices
    assert built[0] == 2 * nvar * (1 + 1 + 2 + 3 + 1)
    # d1 (3 slices) and q1 (2): their second and later slices, both periods
    assert straight[0] == 2 * ((3 - 1) + (2 - 1))


def test_pack_rows_json_safe_as_clean_row() -> None:
    """The pack runner's fast check gives what ``_clean_row`` gives: the finite row itself, and the
    cleaned copy (None for NaN / inf) otherwise, also when finite values sum to inf."""
    from beamtrack.workers.pack_runner import _json_safe
    from beamtrack.workers.runner import _clean_row

    finite = {"step": 3, "period": 0, "s": 1.5, "sigma_x": 2e-4, "charge_C": -1e-9}
    assert _json_safe(finite) is finite and _clean_row(finite) == finite
    for bad in (float("nan"), float("inf"), -float("inf")):
        row = {**finite, "sigma_x": bad}
        assert _json_safe(row) == _clean_row(row) and _json_safe(row)["sigma_x"] is None
    huge = {**finite, "a": 1.7e308, "b": 1.7e308}  # finite values whose sum overflows
    assert _json_safe(huge) == _clean_row(huge) == huge


def test_losses_over_many_slices_keep_their_s() -> None:
    """Particles lost in later slices of an aperture element, in both periods: each has the
    s_lost of its own slice (the launch table reused across an element's slices carries each
    slice's s_exit; a Quad's slices share their ops), as in the variant alone."""

    def sim_of(v: int) -> Simulation:
        sim = make_sim("serial", v, n=400)
        sim.slice_step_diagnostics = True
        # defocusing in x: the beam grows through the slices and the aperture takes it bit by bit
        sim.lattice.extend(
            [
                elements.Quad(name="q", ds=1.5, k=-3.0 - 0.2 * v, nslice=8, aperture_x=2.5e-4, aperture_y=1e-2),
                elements.Drift(name="d", ds=0.2, nslice=2),
            ]
        )
        sim.periods = 2
        return sim

    alone = [sim_of(v) for v in range(3)]
    packed = [sim_of(v) for v in range(3)]
    for sim in alone:
        sim.track_particles()
    assert track_packed(packed) == {}
    for a, b in zip(alone, packed, strict=True):
        assert_same(a, b)
        lost = np.asarray(b.beam.state) != 0
        assert len(set(np.asarray(b.beam.s_lost)[lost].tolist())) >= 6  # lost in many slices


@pytest.mark.parametrize("random", ["numpy", "amrex"])
def test_variants_sharing_a_beam_draw_it_once_with_the_same_numbers(random: str) -> None:
    """Simulation.from_spec with a pack's ``draws`` memo: variants whose beam and reference are the
    same get the particles a build without the memo draws (the reference: from_spec alone), as
    copies (changing one's particles leaves the others' and the memo's as drawn); another seed, npart
    or energy draws anew."""
    base = json.loads((ROOT / "examples" / "fodo.json").read_text())
    base["beam"].update(npart=200, random=random)

    def spec(**beam: Any) -> dict[str, Any]:
        return {**base, "beam": {**base["beam"], **beam}}

    other_energy = {**base, "reference": {**base["reference"], "kin_energy_MeV": 1000.0}}
    specs = [spec(), spec(), spec(seed=7), spec(npart=150), other_energy]
    draws: dict[Any, Any] = {}
    shared = [Simulation.from_spec(s, draws=draws) for s in specs]
    alone = [Simulation.from_spec(s) for s in specs]
    assert len(draws) == 4  # the two equal specs drew once
    for a, b in zip(shared, alone, strict=True):
        np.testing.assert_array_equal(a.beam.real, b.beam.real)
        np.testing.assert_array_equal(a.beam.id, b.beam.id)
    assert shared[0].beam.real is not shared[1].beam.real
    assert not np.array_equal(shared[0].beam.real, shared[2].beam.real)
    shared[0].beam.real[:6] += 1.0
    np.testing.assert_array_equal(shared[1].beam.real, alone[1].beam.real)
    assert Simulation.from_spec(specs[0], draws=draws).beam.real.tobytes() == alone[0].beam.real.tobytes()
