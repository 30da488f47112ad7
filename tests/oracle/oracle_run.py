"""What the particle-by-particle oracle tests share: running a runner script in ImpactX 26.10's venv on a list of
cases, tracking the same case through ``beamtrack.impactx``, and the per-coordinate deviation between the two.

The oracle venv (.venv-impactx, scripts/setup_oracle.sh) must not see this project's paths or settings: its
subprocess runs without PYTHONPATH, VIRTUAL_ENV and BEAMTRACK_* and with one OpenMP thread.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from beamtrack.impactx import ImpactX, elements

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / ".venv-impactx" / "bin" / "python"
#: the reference-particle attributes compared (RefPart's names; the runners write them in this order)
REF_KEYS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt")


def particle_case(
    name: str, species: tuple[float, float, float], els: list[tuple[str, dict[str, Any]]], periods: int = 1
) -> dict[str, Any]:
    """One case of impactx_runner.py / ``run_beamtrack``: ``species`` (rest energy [MeV], charge [e], kinetic
    energy [MeV]), the elements as (ImpactX class name, constructor keyword arguments), ``periods`` turns."""
    mass, charge, ekin = species
    return {
        "name": name,
        "mass_MeV": mass,
        "charge_qe": charge,
        "kin_energy_MeV": ekin,
        "periods": periods,
        "elements": [{"type": t, "kwargs": kw} for t, kw in els],
    }


def uniform_particles(seed: int, n: int) -> np.ndarray:
    """x, y, t [m], px, py, pt [1] (6 x n): uniform in +-1 mm / 1 mrad (+-1e-3 in pt), seeded."""
    return np.random.default_rng(seed).uniform(-1e-3, 1e-3, size=(6, n))


def oracle_env() -> dict[str, str]:
    """The environment of an oracle subprocess: this one's without the project's paths and settings, one thread."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("BEAMTRACK")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_oracle_cases(
    runner: Path, cases: list[dict[str, Any]], workdir: Path, particles: np.ndarray | None = None
) -> Path:
    """Run ``runner cases.json out/`` in the oracle venv (skips the test where the venv is missing); the injected
    ``particles`` go to in.npy, named in cases.json. Returns out/, where the runner writes one file per case."""
    if not ORACLE.exists():
        pytest.skip("the ImpactX oracle venv .venv-impactx is missing: run scripts/setup_oracle.sh")
    spec: dict[str, Any] = {"cases": cases}
    if particles is not None:
        np.save(workdir / "in.npy", particles)
        spec["particles"] = "in.npy"
    (workdir / "cases.json").write_text(json.dumps(spec))
    out = workdir / "out"
    out.mkdir()
    r = subprocess.run(
        [str(ORACLE), str(runner), str(workdir / "cases.json"), str(out)],
        capture_output=True,
        text=True,
        env=oracle_env(),
        timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


COLLECTIVE_RUNNER = Path(__file__).with_name("impactx_collective_runner.py")
#: ImpactX 26.10's proton rest energy [MeV] (CODATA 2022) and charge [e], given to both codes by the collective tests
PROTON = (938.2720894282575, 1.0)


def charged_beam(n: int, seed: int, sigma_t: float) -> np.ndarray:
    """7 x n injected particles of the space-charge oracle tests: Gaussian x, y, t [m] of rms 1 mm, 0.7 mm, sigma_t
    and px, py, pt [1] of rms 2e-4, 1.5e-4, 1e-4, then weights uniform in 0.5..1.5 totalling ~2 nC; seeded."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((6, n)) * np.array([1e-3, 0.7e-3, sigma_t, 2e-4, 1.5e-4, 1e-4])[:, None]
    w = rng.uniform(0.5, 1.5, n) * 2e-9 / 1.602176634e-19 / n  # 2 nC
    return np.vstack([r, w])


def collective_case(
    name: str, options: dict[str, Any], line: list[tuple[str, dict[str, Any]]], kin_energy_MeV: float, **extra: Any
) -> dict[str, Any]:
    """One case of impactx_collective_runner.py: a proton beam of ``kin_energy_MeV`` [MeV] through ``line``
    ((ImpactX class name, keyword arguments) pairs) with the ImpactX ``options`` set on the simulation."""
    return {
        "name": name,
        "mass_MeV": PROTON[0],
        "charge_qe": PROTON[1],
        "kin_energy_MeV": kin_energy_MeV,
        "options": options,
        "elements": [{"type": t, "kwargs": kw} for t, kw in line],
        **extra,
    }


def run_collective_cases(workdir: Path, data: np.ndarray, cases: list[dict[str, Any]]) -> Path:
    """Run impactx_collective_runner.py in ImpactX 26.10 once per case (a fresh AMReX each), the injected particles
    ``data`` in p.npy (each case's "particles"); skips where the oracle venv is missing. Returns the runner's out/."""
    if not ORACLE.exists():
        pytest.skip("no ImpactX oracle venv (.venv-impactx; scripts/setup_oracle.sh)")
    np.save(workdir / "p.npy", data)
    (workdir / "cases.json").write_text(json.dumps({"cases": [{"particles": "p.npy", **c} for c in cases]}))
    out = workdir / "out"
    out.mkdir()
    for i in range(len(cases)):
        r = subprocess.run(
            [str(ORACLE), str(COLLECTIVE_RUNNER), str(workdir / "cases.json"), str(out), str(i)],
            capture_output=True,
            text=True,
            env=oracle_env(),
            timeout=300,
        )
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return out


def load_oracle_npz(out: Path, cases: list[dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """The runner's ``<name>.npz`` of every case, by case name."""
    return {c["name"]: dict(np.load(out / f"{c['name']}.npz")) for c in cases}


def run_beamtrack(case: dict[str, Any], coords: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track ``coords`` (x, y, t [m], px, py, pt [1]; 6 x N) through the case's elements with beamtrack's drop-in.

    The case names mass_MeV, charge_qe, kin_energy_MeV, periods and elements ({"type", "kwargs"} as ImpactX's
    constructors take them). Returns the alive particles' ids, their 6 x n coordinates and the final reference
    particle (REF_KEYS)."""
    sim = ImpactX(kind=kind)
    sim.diagnostics = False
    sim.init_grids()
    ref = sim.beam.ref
    ref.set_mass_MeV(case["mass_MeV"]).set_charge_qe(case["charge_qe"]).set_kin_energy_MeV(case["kin_energy_MeV"])
    sim.beam.add_n_particles(*coords, ref.charge_qe / (ref.mass_MeV * 1e6), bunch_charge=1e-12)
    sim.lattice.extend(getattr(elements, e["type"])(**e["kwargs"]) for e in case["elements"])
    sim.periods = case["periods"]
    sim.track_particles()
    alive = np.asarray(sim.beam.state) == 0
    ids = np.asarray(sim.beam.id)[alive]
    out = np.asarray(sim.beam.real[:6])[:, alive]
    refv = np.array([getattr(ref, k) for k in REF_KEYS])
    return ids, out, refv


def max_rel_dev(a: np.ndarray, b: np.ndarray) -> float:
    """Max over coordinates of max |a - b| / max |b| (per coordinate row); 0 for an empty beam."""
    if b.size == 0:
        return 0.0
    scale = np.maximum(np.abs(b).max(axis=1), 1e-300)
    return float((np.abs(a - b).max(axis=1) / scale).max())


def ref_rel_dev(got: np.ndarray, want: np.ndarray) -> float:
    """Max over the reference-particle attributes of |got - want| / max(|want|, 1)."""
    return float((np.abs(got - want) / np.maximum(np.abs(want), 1.0)).max())


def impactx_rename(text: str) -> str:
    """An ImpactX script with its imports renamed to beamtrack's (bench/bench_impactx_examples.py's ``rename``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_impactx_examples", ROOT / "bench" / "bench_impactx_examples.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return str(mod.rename(text))


def run_script_both(
    script: Path, args: tuple[str, ...], run_root: Path, files: tuple[Path, ...] = ()
) -> tuple[Path, Path]:
    """Run an ImpactX-API ``script args`` as ImpactX 26.10 (the oracle venv; skips the test where it is missing) and,
    its imports renamed, as beamtrack (this interpreter and its import path, serial kernels), each in its own run
    directory under ``run_root`` (ix/, bt/, returned) holding ``files`` and the script with its sibling helpers."""
    import sys

    if not ORACLE.exists():
        pytest.skip("the ImpactX oracle venv .venv-impactx is missing: run scripts/setup_oracle.sh")
    bt_env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith("BEAMTRACK")}
    runs = []
    for code, python, env in (
        ("ix", ORACLE, oracle_env()),
        ("bt", Path(sys.executable), {**bt_env, "OMP_NUM_THREADS": "1", "BEAMTRACK_KIND": "serial"}),
    ):
        run_dir = run_root / code
        run_dir.mkdir(parents=True)
        for f in (*script.parent.glob("*.py"), *files):
            text = f.read_text()
            (run_dir / f.name).write_text(impactx_rename(text) if code == "bt" and f.suffix == ".py" else text)
        r = subprocess.run(
            [str(python), script.name, *args],
            cwd=run_dir,
            capture_output=True,
            text=True,
            env={**env, "MPLBACKEND": "Agg"},
            timeout=300,
        )
        assert r.returncode == 0, f"{code} {script.name} {args}: {(r.stderr or r.stdout)[-3000:]}"
        runs.append(run_dir)
    return runs[0], runs[1]
