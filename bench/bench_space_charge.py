"""Space-charge step timing: deposit / solve / gather / push for 1e6 particles on 32^3, 64^3, 128^3 grids,
the C kernels serial vs OpenMP vs the plain-NumPy twin of the same algorithm, in one run.

    .venv/bin/python bench/bench_space_charge.py [--npart 1000000] [--grids 32,64,128] [--kinds serial,openmp,numpy]

One step = ImpactX's 3D kick of one slice (fixed-t transform, deposit with shape 2, IGF Poisson solve, gradient,
gather, kick, transform back). The Green's function cache is cleared before every step, as in tracking where
the mesh follows the beam and the cell size changes each slice; "G" is the part of "solve" spent on the
Green's function. "deposit" includes the fixed-t transform and the beam extent, "push" the transform back.
Reported: the best of --reps steps (NumPy: one step), with the load average of the machine (other jobs
share it) and the CPU time of the step, all threads (for serial: what it costs on an idle core). Results go to BENCHMARKS.md
by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart
from beamtrack.engine.spacecharge import GreenCache, SpaceChargeSolver


def beam(ref: RefPart, n: int) -> ParticleContainer:
    rng = np.random.default_rng(1)
    r = rng.standard_normal((6, n)) * np.array([1e-3, 1e-3, 2e-3, 1e-4, 1e-4, 1e-4])[:, None]
    b = ParticleContainer(qm=ref.charge / ref.mass)
    b.add_n_particles(*r, qm=ref.charge / ref.mass, bunch_charge=1e-9)
    return b


def load_average() -> str:
    """The 1-minute load average (other jobs on the machine compete with the threads measured)."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "n/a"


def one_step(solver: SpaceChargeSolver, b: ParticleContainer, ref: RefPart) -> dict[str, float]:
    solver.timings.clear()
    solver.poisson.cache = GreenCache()
    t0, c0 = time.perf_counter(), time.process_time()
    solver.kick(b, ref, 0.01)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    row = dict(solver.timings)
    row["total"], row["cpu"] = total, cpu
    row["G"] = solver.poisson.green_seconds
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--npart", type=int, default=1_000_000)
    ap.add_argument("--grids", default="32,64,128")
    ap.add_argument("--kinds", default="serial,openmp,numpy")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    ref = RefPart().set_species("proton").set_kin_energy_MeV(250.0)
    b0 = beam(ref, a.npart)
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"npart {a.npart}"
    )
    print("| grid | kind | deposit [s] | solve [s] (G) | gather [s] | push [s] | step [s] | CPU [s] | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for g in (int(v) for v in a.grids.split(",")):
        for kind in a.kinds.split(","):
            solver = SpaceChargeSolver("3D", [g, g, g], 2, 1.1, kind=kind, split_gather_push=True)
            reps = 1 if kind == "numpy" else a.reps
            rows = []
            for _ in range(reps):
                b = ParticleContainer(qm=b0.qm)
                b.real, b.state, b.id, b.s_lost = b0.real.copy(), b0.state.copy(), b0.id, b0.s_lost
                rows.append(one_step(solver, b, ref))
            best = min(rows, key=lambda r: r["total"])
            print(
                f"| {g}^3 | {kind} | {best['deposit']:.3f} | {best['solve']:.3f} ({best['G']:.3f}) | "
                f"{best['gather']:.3f} | {best['push']:.3f} | {best['total']:.3f} | {best['cpu']:.3f} | "
                f"{load_average()} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
