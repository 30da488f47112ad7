"""beamtrack vs ImpactX 26.10 side by side, in one run: envelope tracking, ISR, Gauss3D space charge, multigrid.

    .venv/bin/python bench/bench_impactx_physics.py [--npart 20000] [--reps 3] [--periods 500] [--workloads envelope,...]

Each workload is one ImpactX-API script (below), run in a fresh process per code and repetition: beamtrack through
its drop-in ``beamtrack.impactx`` (kind serial, and openmp) in .venv, ImpactX itself (PyPI impactx-noacc, its
OpenMP build; OMP_NUM_THREADS as given) in .venv-impactx. The time is that of the tracking call only
(``track_envelope`` / ``track_particles``), measured inside the process; the best of --reps is reported, with
the 1-minute load average before the run (other sessions share the machine). Diagnostics are off in both codes
(but for envelope-diags).

Workloads:
- envelope: ``track_envelope`` of a FODO cell of 2 quads (8 slices each), 2 drifts and 2 sector bends
  (8 slices each), --periods periods (500), 3D envelope space charge (bunch charge 1 nC, 10 MeV protons);
- envelope-diags (not in the default list): envelope with diagnostics and slice_step_diagnostics on in both
  codes (ImpactX's envelope examples all set them), the files written in the worker's directory;
- isr: 2 GeV electrons, --npart particles through 10 sector bends of 1 m (rc 10 m, 10 slices each), ``sim.isr``;
- gauss3d: 100 MeV electrons, --npart particles through a 1 m drift in 10 slices, ``space_charge = "Gauss3D"``
  (gauss_nint 101);
- multigrid: 250 MeV electrons, --npart particles through a 6 m drift in 6 slices, 3D space charge on a
  32 x 32 x 40 grid, ``poisson_solver = "multigrid"``, prob_relative 3 (ImpactX's expanding_beam example,
  one box).
Results go to BENCHMARKS.md by hand.

``--trees label=DIR,...``: beamtrack from each of these source trees in the same run (e.g. ``git archive`` of
the commit before a change and of the change, unpacked): each tree's ``workers/src`` and ``proto/src`` go
first on the beamtrack worker's PYTHONPATH, and each gets its own rows, against the same ImpactX time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENVS = {"beamtrack": ROOT / ".venv" / "bin" / "python", "impactx": ROOT / ".venv-impactx" / "bin" / "python"}
WORKLOADS = ("envelope", "isr", "gauss3d", "multigrid")


def setup(s: Any, code: str, workload: str) -> None:
    """Settings that must precede init_grids (``s``: either code's ImpactX object)."""
    s.diagnostics = workload == "envelope-diags"
    s.slice_step_diagnostics = workload == "envelope-diags"
    s.particle_shape = 2
    if workload.startswith("envelope"):
        s.space_charge = "3D"
    elif workload == "isr":
        s.isr = True
        s.isr_order = 1
    elif workload == "gauss3d":
        s.space_charge = "Gauss3D"
        s.space_charge_gauss_nint = 101
    elif workload == "multigrid":
        s.n_cell = [32, 32, 40]
        # as the example: one AMReX box and one refined level (beamtrack builds ImpactX's refined patch too)
        s.max_level = 1
        s.blocking_factor_x, s.blocking_factor_y, s.blocking_factor_z = [16], [16], [4]
        s.max_grid_size_x = s.max_grid_size_y = s.max_grid_size_z = [80]
        s.space_charge = "3D"
        s.poisson_solver = "multigrid"
        s.dynamic_size = True
        s.prob_relative = [3.0, 1.1]


def worker(code: str, workload: str, npart: int, kind: str, periods: int) -> float:  # noqa: PLR0915
    """Run one workload in this process with ``code``'s ImpactX API; the seconds of the tracking call."""
    if code == "impactx":
        from impactx import ImpactX, distribution, elements

        sim = ImpactX()
    else:
        from beamtrack.impactx import ImpactX, distribution, elements

        sim = ImpactX(kind=kind)
    setup(sim, code, workload)
    sim.init_grids()
    ref = sim.beam.ref
    if workload.startswith("envelope"):
        ref.set_species("proton").set_kin_energy_MeV(10.0)
        distr = distribution.Waterbag(
            lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-4, lambdaPy=1e-4, lambdaPt=1e-4
        )
        sim.init_envelope(ref, distr, 1e-9)
        cell = [
            elements.Quad(name="qf", ds=0.5, k=1.0, nslice=8),
            elements.Drift(name="d1", ds=0.5, nslice=1),
            elements.Sbend(name="b1", ds=1.0, rc=10.0, nslice=8),
            elements.Quad(name="qd", ds=0.5, k=-1.0, nslice=8),
            elements.Drift(name="d2", ds=0.5, nslice=1),
            elements.Sbend(name="b2", ds=1.0, rc=10.0, nslice=8),
        ]
        sim.lattice.extend(cell)
        sim.periods = periods
        t0 = time.perf_counter()
        sim.track_envelope()
    else:
        if workload == "isr":
            ref.set_species("electron").set_kin_energy_MeV(2000.0)
            line = [elements.Sbend(name=f"b{i}", ds=1.0, rc=10.0, nslice=10) for i in range(10)]
            charge = 1e-12
        elif workload == "gauss3d":
            ref.set_species("electron").set_kin_energy_MeV(100.0)
            line = [elements.Drift(name="d", ds=1.0, nslice=10)]
            charge = 1e-9
        else:
            ref.set_species("electron").set_kin_energy_MeV(250.0)
            line = [elements.Drift(name="d", ds=6.0, nslice=6)]
            charge = 1e-9
        distr = distribution.Gaussian(
            lambdaX=4e-5, lambdaY=4e-5, lambdaT=1e-3, lambdaPx=2.7e-5, lambdaPy=2.7e-5, lambdaPt=2e-3
        )
        sim.add_particles(charge, distr, npart)
        sim.lattice.extend(line)
        t0 = time.perf_counter()
        sim.track_particles()
    seconds = time.perf_counter() - t0
    sim.finalize()
    return seconds


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


def run_one(
    code: str, workload: str, npart: int, kind: str, threads: int, periods: int, tree: Path | None = None
) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEAMTRACK")}
    env["OMP_NUM_THREADS"] = str(threads)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(tree / p) for p in ("workers/src", "proto/src"))
    args = [str(VENVS[code]), __file__, "--worker", code, workload, str(npart), kind, str(periods)]
    with_dir = Path("/tmp") / f"bench_impactx_physics_{code}_{workload}"
    with_dir.mkdir(exist_ok=True)
    r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=with_dir, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"{code} {workload}: {r.stderr[-2000:]}")
    return float(json.loads(r.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        code, workload, npart, kind, periods = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
        print(json.dumps({"seconds": worker(code, workload, npart, kind, periods)}))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--npart", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--periods", type=int, default=500, help="periods of the envelope workload's FODO cell")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--trees", default="", help="label=DIR,... beamtrack source trees to run side by side")
    a = ap.parse_args()
    trees: list[tuple[str, Path | None]] = [
        (label, Path(d).resolve()) for label, _, d in (t.partition("=") for t in a.trees.split(",") if t)
    ] or [("", None)]
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"npart {a.npart}, OMP_NUM_THREADS {a.threads} (ImpactX and beamtrack openmp), best of {a.reps}"
    )
    print(
        "| workload | ImpactX 26.10 [s] | beamtrack serial [s] | beamtrack openmp [s] | ImpactX / serial | "
        "ImpactX / openmp | load avg |"
    )
    print("|---|---|---|---|---|---|---|")
    for w in a.workloads.split(","):
        load = load_average()
        ix = min(run_one("impactx", w, a.npart, "", a.threads, a.periods) for _ in range(a.reps))
        # repetitions alternate between the trees, so a change in the machine's load hits them alike
        ser = {label: float("inf") for label, _ in trees}
        omp = dict(ser)
        for _ in range(a.reps):
            for label, tree in trees:
                ser[label] = min(ser[label], run_one("beamtrack", w, a.npart, "serial", 1, a.periods, tree))
                omp[label] = min(omp[label], run_one("beamtrack", w, a.npart, "openmp", a.threads, a.periods, tree))
        for label, _ in trees:
            s, o = ser[label], omp[label]
            name = f"{w} ({label})" if label else w
            print(f"| {name} | {ix:.3f} | {s:.3f} | {o:.3f} | {ix / s:.2f} | {ix / o:.2f} | {load} |", flush=True)


if __name__ == "__main__":
    main()
