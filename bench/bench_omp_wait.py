"""OpenMP wait policy on a busy machine: the FODO example tracked with the OpenMP kernel while
other processes keep every core busy, with libgomp's active (spinning) and passive waiting.

    .venv/bin/python bench/bench_omp_wait.py [--npart 10000] [--periods 5] [--load 2] [--repeat 5]

Each policy runs in a fresh process (libgomp reads OMP_WAIT_POLICY once, when it loads); the load
is ``--load`` busy-looping processes started before and stopped after. Prints the median wall
time of ``track_particles`` per policy and their ratio. Results: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, tempfile, time
from beamtrack.spec import load_spec
from beamtrack.engine import Simulation
spec = json.load(open(sys.argv[1])); spec = spec.get("spec", spec)
spec["beam"]["npart"] = int(sys.argv[2]); spec["lattice"]["periods"] = int(sys.argv[3])
out = []
for _ in range(int(sys.argv[4])):
    with tempfile.TemporaryDirectory() as d:
        sim = Simulation.from_spec(load_spec(spec), d, kind="openmp")
        sim.diagnostics = False
        t0 = time.perf_counter(); sim.track_particles(); out.append(time.perf_counter() - t0)
        sim.finalize()
print(json.dumps(out))
"""


def spin() -> None:
    while True:
        pass


#: libgomp settings compared: its default (spin ~300k iterations, then sleep), always spinning,
#: always sleeping, and a short spin before sleeping.
POLICIES = {
    "default": {},
    "ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin10k": {"GOMP_SPINCOUNT": "10000"},
}


def run(policy: str, args: argparse.Namespace) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(POLICIES[policy], OMP_NUM_THREADS=str(args.threads))
    if "OMP_WAIT_POLICY" not in POLICIES[policy]:
        env["OMP_WAIT_POLICY"] = ""  # the engine's default is PASSIVE only when this is unset
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(ROOT / "examples" / "fodo.json"),
            str(args.npart),
            str(args.periods),
            str(args.repeat),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--npart", type=int, default=10_000)
    ap.add_argument("--periods", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--load", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    loaders = [mp.Process(target=spin, daemon=True) for _ in range(args.load)]
    for p in loaders:
        p.start()
    time.sleep(0.5)
    try:
        results = {policy: run(policy, args) for policy in POLICIES}
    finally:
        for p in loaders:
            p.terminate()
    print(
        f"npart={args.npart} periods={args.periods} threads={args.threads} load={args.load} "
        f"busy processes, cpus={os.cpu_count()}, loadavg={os.getloadavg()[0]:.1f}"
    )
    med = {k: statistics.median(v) for k, v in results.items()}
    for k, v in results.items():
        print(f"  {k:8s} median {med[k] * 1e3:8.1f} ms  runs " + " ".join(f"{x * 1e3:.1f}" for x in v))
    print(f"  default / passive = {med['default'] / med['PASSIVE']:.1f}x")


if __name__ == "__main__":
    main()
