"""Time from process start to the first tracked turn of a FODO cell, beamtrack vs xtrack, in one run.

Each case is a fresh Python process (so imports, kernel loading and compiles all count), serial CPU
kernels, 10,000 electrons at 2 GeV through the FODO cell of cases/fodo.json (drift 0.25 m, quad
1 m k=+1, drift 0.5 m, quad 1 m k=-1, drift 0.25 m). Reported per case: the wall time the parent
measured for the whole process (interpreter start included) and the time the child measured from its
first line (before any import) to the end of the first turn.

Cases:
  beamtrack prebuilt       the 'default' prebuilt kernel (regenerated into a private store first)
  beamtrack compile        empty store and empty user cache: a line-specific kernel is compiled
  beamtrack cached         same empty store, the cache of the previous case: JIT result reused
  xtrack prebuilt          xsuite's shipped prebuilt kernels (needs `pip install xsuite`)
  xtrack compile           build_tracker(compile="force")
Also printed: the compile time of the full 'default' kernel (every element class) next to the
line-specific one, i.e. what a cache miss costs with and without line-specific kernels.

    .venv/bin/python bench/bench_first_turn.py [--repeat 3] [--skip-xtrack-compile]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BEAMTRACK = """
import time; t0 = time.perf_counter()
import numpy as np
from beamtrack.engine import Simulation, elements
sim = Simulation(kind="serial", diagnostics=False)
sim.reference.set_species("electron").set_kin_energy_MeV(2000.0)
rng = np.random.default_rng(1)
sim.beam.add_n_particles(*(rng.normal(size=(6, 10000)) * 1e-5), qm=sim.reference.charge / sim.reference.mass,
                         bunch_charge=1e-9)
sim.lattice.extend([elements.Drift(ds=0.25, nslice=25), elements.Quad(ds=1.0, k=1.0, nslice=25),
                    elements.Drift(ds=0.5, nslice=25), elements.Quad(ds=1.0, k=-1.0, nslice=25),
                    elements.Drift(ds=0.25, nslice=25)])
sim.track_particles(periods=1)
print("RESULT", time.perf_counter() - t0, sim.kernel().origin.split(":")[0])
"""

XTRACK = """
import time; t0 = time.perf_counter()
import sys
import numpy as np
import xtrack as xt
line = xt.Line(elements=[xt.Drift(length=0.25), xt.Quadrupole(length=1.0, k1=1.0), xt.Drift(length=0.5),
                         xt.Quadrupole(length=1.0, k1=-1.0), xt.Drift(length=0.25)])
line.particle_ref = xt.Particles(mass0=xt.ELECTRON_MASS_EV, q0=-1, energy0=2e9 + xt.ELECTRON_MASS_EV)
line.build_tracker(compile=sys.argv[1] if sys.argv[1] == "force" else True)
rng = np.random.default_rng(1)
c = rng.normal(size=(6, 10000)) * 1e-5
p = line.build_particles(x=c[0], px=c[1], y=c[2], py=c[3], zeta=c[4], delta=c[5])
line.track(p, num_turns=1)
print("RESULT", time.perf_counter() - t0, sys.argv[1])
"""


def run(code: str, env: dict[str, str], arg: str = "") -> tuple[float, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, arg], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1].split()
    return wall, float(line[1]), line[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-xtrack-compile", action="store_true")
    args = ap.parse_args()
    from beamtrack.engine.kernels import prebuild

    tmp = Path(tempfile.mkdtemp(prefix="bench_first_turn_"))
    store, empty = tmp / "store", tmp / "empty"
    empty.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("BEAMTRACK_")}
    default_meta = prebuild.regenerate(["serial"], only=["default"], store=store)[0]

    rows: list[tuple[str, list[tuple[float, float]], str]] = []

    def case(name: str, code: str, env_of, arg: str = "", repeat: int = args.repeat) -> None:
        res, origin = [], ""
        for i in range(repeat):
            wall, inner, origin = run(code, env_of(i), arg)
            res.append((wall, inner))
        rows.append((name, res, origin))
        print(
            f"{name:<22} wall {statistics.median(r[0] for r in res):7.2f} s   in-process "
            f"{statistics.median(r[1] for r in res):7.2f} s   ({origin}; {len(res)} runs)",
            flush=True,
        )

    case(
        "beamtrack prebuilt",
        BEAMTRACK,
        lambda i: {**base, "BEAMTRACK_PREBUILT_DIR": str(store), "BEAMTRACK_KERNEL_CACHE": str(tmp / f"c_pre{i}")},
    )
    case(
        "beamtrack compile",
        BEAMTRACK,
        lambda i: {**base, "BEAMTRACK_PREBUILT_DIR": str(empty), "BEAMTRACK_KERNEL_CACHE": str(tmp / f"c_jit{i}")},
    )
    case(
        "beamtrack cached",
        BEAMTRACK,
        lambda i: {**base, "BEAMTRACK_PREBUILT_DIR": str(empty), "BEAMTRACK_KERNEL_CACHE": str(tmp / "c_jit0")},
    )
    line_meta = json.loads(next((tmp / "c_jit0").rglob("*.json")).read_text())
    xenv = {**base}
    try:
        case("xtrack prebuilt", XTRACK, lambda i: xenv, "prebuilt")
        if not args.skip_xtrack_compile:
            case("xtrack compile", XTRACK, lambda i: xenv, "force", repeat=1)
    except RuntimeError as exc:
        print(f"xtrack cases failed: {str(exc).splitlines()[-1]}")

    print(
        f"compile time, full 'default' kernel ({len(default_meta['classes'])} classes): "
        f"{default_meta['build_seconds']:.2f} s"
    )
    print(f"compile time, line-specific kernel ({', '.join(line_meta['classes'])}): {line_meta['build_seconds']:.2f} s")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
