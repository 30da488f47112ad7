"""Diagnostics cost vs tracking cost per step, on the README's FODO example (examples/fodo.json).

Run by hand (results go to BENCHMARKS.md, section "Diagnostics vs tracking"):

    .venv/bin/python bench/bench_diagnostics.py [--npart 100000] [--periods 5] [--kind serial] [--repeat 3]

Configurations, each from ``Simulation.from_spec`` of the example with npart and periods set:
  full           per-slice reduced diagnostics (slice_step_diagnostics) + the two openPMD BeamMonitors
  no_slice_diag  reduced diagnostics at the start and end only, BeamMonitors on
  slice_loop     diagnostics off, but a no-op before_slice hook keeps the loop slice by slice as in
                 "full": the tracking cost of the same 655 steps without any diagnostics
  no_output      diagnostics off: fused and composed tracking (one 6x6 map per period)
Also timed in isolation: one ``reduced_beam_characteristics`` call on the beam, and one slice push
(the per-step tracking cost), so the per-step ratio does not depend on the loop around them.
The median of ``repeat`` runs is reported with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from beamtrack.engine import Simulation
from beamtrack.engine.diagnostics import reduced_beam_characteristics
from beamtrack.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def _sim(npart: int, periods: int, kind: str, slice_diag: bool, out: str, diagnostics: bool) -> Simulation:
    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec["beam"]["npart"] = npart
    spec["lattice"]["periods"] = periods
    spec["diagnostics"] = {"slice_step_diagnostics": slice_diag}
    sim = Simulation.from_spec(load_spec(spec), output_dir=out, kind=kind)
    sim.diagnostics = diagnostics
    return sim


def run(npart: int, periods: int, kind: str, repeat: int) -> dict[str, Any]:
    configs = {
        "full": (True, True),
        "no_slice_diag": (False, True),
        "slice_loop": (False, False),
        "no_output": (False, False),
    }
    res: dict[str, Any] = {"npart": npart, "periods": periods, "kind": kind}
    for name, (slice_diag, diagnostics) in configs.items():
        times = []
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as d:
                sim = _sim(npart, periods, kind, slice_diag, d, diagnostics)
                if name == "slice_loop":
                    sim.hook["before_slice"] = lambda s: None
                t0 = time.perf_counter()
                sim.track_particles()
                sim.finalize()
                times.append(time.perf_counter() - t0)
        res[name + "_s"] = statistics.median(times)
        res["steps"] = sim.tracking_step
    with tempfile.TemporaryDirectory() as d:
        sim = _sim(npart, 1, kind, False, d, False)
        reduced_beam_characteristics(sim.beam, sim.reference)
        t0 = time.perf_counter()
        for _ in range(20):
            reduced_beam_characteristics(sim.beam, sim.reference)
        res["reduced_per_call_ms"] = (time.perf_counter() - t0) / 20 * 1e3
    res["tracking_per_slice_step_ms"] = res["slice_loop_s"] / res["steps"] * 1e3
    res["diagnostics_per_slice_step_ms"] = (res["full_s"] - res["slice_loop_s"]) / res["steps"] * 1e3
    res["load_average"] = os.getloadavg()[0]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--npart", type=int, default=100_000)
    ap.add_argument("--periods", type=int, default=5)
    ap.add_argument("--kind", default="serial")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    r = run(a.npart, a.periods, a.kind, a.repeat)
    for k, v in r.items():
        print(f"{k:24s} {v:.4g}" if isinstance(v, float) else f"{k:24s} {v}")


if __name__ == "__main__":
    main()
