"""Per-call overhead of a sandboxed hook (beamtrack.workers.sandbox) against the same hook called
in-process, for several beam sizes: an empty hook (pure round trip), and the same with the beam
copied into and out of shared memory around each call (what a beam the block cannot adopt, e.g.
on a GPU, costs) instead of the engine tracking directly on the shared block.

    .venv/bin/python bench/bench_hook_sandbox.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMPTY = "def after_period(sim):\n    pass\n"


def make_sim(npart: int, out: Path):
    from beamtrack.engine import Simulation

    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec = spec.get("spec", spec)
    spec["beam"]["npart"] = npart
    return Simulation.from_spec(spec, out, kind="serial")


def per_call_us(fn, calls: int) -> float:
    for _ in range(min(50, calls)):
        fn()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e6


def main() -> None:
    from beamtrack.engine.tracking import call_hook
    from beamtrack.workers.sandbox.supervisor import HookSandbox

    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    out = Path("/tmp/bench_hook_sandbox")
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, {args.calls} calls each"
    )
    print("npart      in-process [us]  sandbox, shared block [us]  sandbox, copy in/out [us]")
    for npart in (1_000, 100_000, 1_000_000):
        sim = make_sim(npart, out)

        def hook(sim=sim) -> None:  # what the engine runs for each hook: call_hook(sim, name)
            call_hook(sim, "after_period")

        sim.hook["after_period"] = lambda s: None
        local = per_call_us(hook, args.calls)
        with HookSandbox(EMPTY) as box:
            box.start(sim)  # replaces sim.hook["after_period"] by the sandbox's proxy
            shared = per_call_us(hook, args.calls)
            sim.beam.real = sim.beam.real.copy()  # no longer the block: each call copies
            copied = per_call_us(hook, max(20, args.calls // 20))
        print(f"{npart:<10d} {local:15.2f}  {shared:26.1f}  {copied:25.1f}")


if __name__ == "__main__":
    main()
