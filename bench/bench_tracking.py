"""Tracking throughput: particle-element pushes per second, beamtrack vs xtrack, in one run.

Run by hand (results go to BENCHMARKS.md, section "Tracking throughput vs xtrack"):

    .venv/bin/python bench/bench_tracking.py [--sizes 100000,1000000] [--repeat 3] [--json out.json]

Lines (250 MeV protons; small amplitudes so nothing is lost):
  fodo       100 elements: 25 cells [QF 0.4 m, D 1.1 m, QD 0.4 m, D 1.1 m]
  fodo+bend  96 elements: 12 cells [QF, D, SB 1.5 m 12 deg, DX, QD, D, SB, DX] (the cross-check cell)

Same Hamiltonian in both codes (verified per particle to 1e-10 by tests/physics/test_xtrack_crosscheck.py):
  ChrDrift   = xt.Drift (default, resolves to "expanded")
  ExactDrift = xt.Drift(model="exact")
  ChrQuad    = xt.Quadrupole (default "mat-kick-mat")
  ExactSbend = xt.Bend(model="bend-kick-bend", k0_from_h=True, edges off)
Linear maps (ImpactX's Drift/Quad/Sbend, first order in pt): xtrack has no linear drift or quadrupole
model; its linear element is ``FirstOrderTaylorMap``, given here each element's own 6x6 matrix (taken
from our kernel and converted to xtrack's (tau, ptau) = (-t, -pt)), so it is the same linear map
per element. beamtrack runs the linear line twice: composed (``compose_linear=True``, the default: the
whole linear line becomes one 6x6 matrix per turn) and per element (``compose_linear=False``).

Floor: a fused C loop that reads the six coordinates, applies a fixed 2x2 map per plane and writes
them back, once per turn (the least memory traffic a turn can have), compiled with the kernels' flags.

Each measurement: build, one warm-up turn (kernel compile/selection/op setup excluded), then
``repeat`` timed runs of ``turns`` turns; the median is reported with the load average at the time.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

ENERGY_MEV = 250.0
LQ, LD, K1, LB, PHI_DEG = 0.4, 1.1, 0.6, 1.5, 12.0
NELEM = {"fodo": 100, "bend": 96}  # whole cells: the 100-element bend line (12.5 cells) is unstable


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def initial(n: int) -> np.ndarray:
    """x, px, y, py, t, pt (beamtrack units), Gaussian, well inside the FODO acceptance."""
    rng = np.random.default_rng(7)
    scale = np.array([1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])
    return rng.standard_normal((6, n)) * scale[:, None]


# --- beamtrack ------------------------------------------------------------------------------------
def bt_line(line: str, model: str) -> list[object]:
    from beamtrack.engine import elements as E

    if model == "chromatic":
        qf, qd = (lambda: E.ChrQuad(ds=LQ, k=K1)), (lambda: E.ChrQuad(ds=LQ, k=-K1))
        d, dx = (lambda: E.ChrDrift(ds=LD)), (lambda: E.ExactDrift(ds=LD))
        sb = lambda: E.ExactSbend(ds=LB, phi=PHI_DEG)  # noqa: E731
    else:
        qf, qd = (lambda: E.Quad(ds=LQ, k=K1)), (lambda: E.Quad(ds=LQ, k=-K1))
        d = dx = lambda: E.Drift(ds=LD)  # noqa: E731
        sb = lambda: E.Sbend(ds=LB, rc=LB / math.radians(PHI_DEG))  # noqa: E731
    if line == "fodo":
        cell = [qf, d, qd, d]
    else:
        cell = [qf, d, sb, dx, qd, d, sb, dx]
    return [cell[i % len(cell)]() for i in range(NELEM[line])]


def bt_sim(line: str, model: str, kind: str, n: int, nthreads: int, compose: bool = True) -> Callable[[int], None]:
    from beamtrack.engine import Simulation

    sim = Simulation(
        kind=kind, diagnostics=False, nthreads=nthreads if kind == "openmp" else None, compose_linear=compose
    )
    sim.reference.set_species("proton").set_kin_energy_MeV(ENERGY_MEV)
    x, px, y, py, t, pt = initial(n)
    sim.beam.add_n_particles(x, y, t, px, py, pt, qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
    sim.lattice.extend(bt_line(line, model))
    k = sim.kernel()
    assert k.kind == kind and (kind == "serial" or k.nthreads == nthreads), (k.kind, k.nthreads)

    def run(turns: int) -> None:
        sim.track_particles(periods=turns)

    def check() -> None:
        assert (np.asarray(sim.beam.state) == 0).all(), "particles lost"

    run.check = check  # type: ignore[attr-defined]
    return run


def bt_matrices(line: str) -> list[np.ndarray]:
    """Each element's 6x6 map (x, px, y, py, t, pt) from our linear kernels, at the line's reference."""
    from beamtrack.engine import Simulation

    out = []
    cache: dict[tuple[str, float], np.ndarray] = {}
    for el in bt_line(line, "linear"):
        key = (type(el).__name__, float(getattr(el, "k", 0.0)))
        if key not in cache:
            sim = Simulation(kind="serial", diagnostics=False)
            sim.reference.set_species("proton").set_kin_energy_MeV(ENERGY_MEV)
            sim.lattice.append(el)
            cache[key] = sim.lattice.transfer_map()
        out.append(cache[key])
    return out


# --- xtrack ---------------------------------------------------------------------------------------
def xt_elements(line: str, model: str) -> list[object]:
    import xtrack as xt

    if model == "linear":
        T = np.diag([1.0, 1.0, 1.0, 1.0, -1.0, -1.0])  # (t, pt) -> (tau, ptau) = (-t, -pt)
        return [xt.FirstOrderTaylorMap(length=0.0, m1=T @ R @ T) for R in bt_matrices(line)]
    phi = math.radians(PHI_DEG)
    qf = lambda: xt.Quadrupole(length=LQ, k1=K1)  # noqa: E731
    qd = lambda: xt.Quadrupole(length=LQ, k1=-K1)  # noqa: E731
    d = lambda: xt.Drift(length=LD)  # noqa: E731
    dx = lambda: xt.Drift(length=LD, model="exact")  # noqa: E731

    # bend-kick-bend with one uniform kick: the same map as xtrack's default (adaptive) splitting of this
    # multipole-free body to 5e-12 relative, and ~40x faster in xtrack
    def sb() -> object:
        return xt.Bend(
            length=LB,
            angle=phi,
            k0_from_h=True,
            model="bend-kick-bend",
            edge_entry_active=0,
            edge_exit_active=0,
            num_multipole_kicks=1,
            integrator="uniform",
        )

    cell = [qf, d, qd, d] if line == "fodo" else [qf, d, sb, dx, qd, d, sb, dx]
    return [cell[i % len(cell)]() for i in range(NELEM[line])]


def xt_sim(line: str, model: str, kind: str, n: int, nthreads: int) -> Callable[[int], None]:
    import xobjects as xo
    import xtrack as xt

    ctx = xo.ContextCpu(omp_num_threads=nthreads) if kind == "openmp" else xo.ContextCpu()
    els = xt_elements(line, model)
    xl = xt.Line(elements=els, element_names=[f"e{i}" for i in range(len(els))])
    mass_eV = xt.PROTON_MASS_EV
    xl.particle_ref = xt.Particles(mass0=mass_eV, q0=1, kinetic_energy0=ENERGY_MEV * 1e6)
    xl.build_tracker(_context=ctx)
    beta0 = float(xl.particle_ref.beta0[0])
    x, px, y, py, t, pt = initial(n)
    p = xl.build_particles(x=x, px=px, y=y, py=py, zeta=-beta0 * t, ptau=-pt, _context=ctx)

    def run(turns: int) -> None:
        xl.track(p, num_turns=turns)

    def check() -> None:
        assert (p.state > 0).all(), "particles lost"

    run.check = check  # type: ignore[attr-defined]
    return run


# --- floor ----------------------------------------------------------------------------------------
FLOOR_C = r"""
#include <stdint.h>
/* one turn = read x, px, y, py, t, pt once, apply a fixed 2x2 per plane, write them back */
void floor_turns(double* restrict real, int64_t n, int32_t turns, int32_t nthreads)
{
    (void)nthreads;
    double* restrict x = real; double* restrict y = real + n; double* restrict t = real + 2 * n;
    double* restrict px = real + 3 * n; double* restrict py = real + 4 * n; double* restrict pt = real + 5 * n;
    const double c = 0.9950041652780258, s = 0.09983341664682815;
    for (int32_t k = 0; k < turns; ++k) {
#ifdef _OPENMP
#pragma omp parallel for simd schedule(static) num_threads(nthreads)
#else
#pragma omp simd
#endif
        for (int64_t j = 0; j < n; ++j) {
            double const a = x[j], b = px[j], u = y[j], v = py[j], w = t[j], q = pt[j];
            x[j] = c * a + s * b; px[j] = c * b - s * a;
            y[j] = c * u + s * v; py[j] = c * v - s * u;
            t[j] = c * w + s * q; pt[j] = c * q - s * w;
        }
        __asm__ volatile("" ::: "memory");  /* keep the turns apart */
    }
}
"""


def floor_lib(kind: str, tmp: Path) -> ctypes.CDLL:
    from beamtrack.engine.kernels import build

    so = tmp / f"floor.{kind}.so"
    build.compile_cpu(FLOOR_C, kind, [], so)
    lib = ctypes.CDLL(str(so))
    lib.floor_turns.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_int32]
    lib.floor_turns.restype = None
    return lib


def floor_sim(kind: str, n: int, nthreads: int, tmp: Path) -> Callable[[int], None]:
    lib = floor_lib(kind, tmp)
    z = initial(n)
    real = np.ascontiguousarray(z[[0, 2, 4, 1, 3, 5]])

    def run(turns: int) -> None:
        lib.floor_turns(real.ctypes.data, n, turns, nthreads)

    run.check = lambda: None  # type: ignore[attr-defined]
    return run


# --- driver ---------------------------------------------------------------------------------------
def measure(make: Callable[[], Callable[[int], None]], turns: int, repeat: int) -> dict[str, float]:
    run = make()
    run(1)  # warm-up: kernel selection/compile, op setup, first touch of the arrays
    times, loads = [], []
    for _ in range(repeat):
        loads.append(loadavg())
        t0 = time.perf_counter()
        run(turns)
        times.append(time.perf_counter() - t0)
    run.check()  # type: ignore[attr-defined]
    return {"seconds": statistics.median(times), "all_seconds": times, "load": statistics.median(loads)}


def machine() -> dict[str, str]:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    import xtrack

    return {
        "cpu": model,
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "xtrack": xtrack.__version__,
        "gcc": subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True).stdout.strip(),
    }


CASES: list[tuple[str, str, str, str, bool]] = [
    # (label, code, line, model, compose)
    ("fodo chromatic", "bt", "fodo", "chromatic", True),
    ("fodo chromatic", "xt", "fodo", "chromatic", True),
    ("fodo linear composed", "bt", "fodo", "linear", True),
    ("fodo linear per element", "bt", "fodo", "linear", False),
    ("fodo linear per element", "xt", "fodo", "linear", True),
    ("fodo+bend exact", "bt", "bend", "chromatic", True),
    ("fodo+bend exact", "xt", "bend", "chromatic", True),
    ("fodo+bend linear composed", "bt", "bend", "linear", True),
    ("floor", "floor", "", "", True),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--turns", default="3,1", help="turns per timed run, one per size")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="serial,openmp")
    ap.add_argument("--only", default="", help="comma-separated substrings of case labels to run")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    turns_of = dict(zip(sizes, (int(t) for t in args.turns.split(",")), strict=False))
    info = machine()
    print(json.dumps(info), flush=True)
    results = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for n in sizes:
            turns = turns_of.get(n, 1)
            for mode in args.modes.split(","):
                for label, code, line, model, compose in CASES:
                    if args.only and not any(o in label for o in args.only.split(",")):
                        if code != "floor":
                            continue
                    if code == "bt":
                        make = partial(bt_sim, line, model, mode, n, args.threads, compose)
                    elif code == "xt":
                        make = partial(xt_sim, line, model, mode, n, args.threads)
                    else:
                        make = partial(floor_sim, mode, n, args.threads, tmp)
                    r = measure(make, turns, args.repeat)
                    nel = 1 if code == "floor" else NELEM[line]
                    pushes = n * nel * turns
                    row = {
                        "case": label,
                        "code": code,
                        "mode": mode,
                        "n": n,
                        "turns": turns,
                        **r,
                        "pushes_per_s": pushes / r["seconds"],
                        "ns_per_push": 1e9 * r["seconds"] / pushes,
                        "seconds_per_turn": r["seconds"] / turns,
                    }
                    results.append(row)
                    print(
                        f"{label:28s} {code:5s} {mode:6s} n={n:>8d} turns={turns:3d} "
                        f"t={r['seconds']:.3f}s  {row['pushes_per_s']:.3e} push/s  "
                        f"{row['ns_per_push']:.3f} ns/push  load={r['load']:.1f}",
                        flush=True,
                    )
    print(f"total wall {time.perf_counter() - t_start:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "args": vars(args), "results": results}, indent=1))


if __name__ == "__main__":
    main()
