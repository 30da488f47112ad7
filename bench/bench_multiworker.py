"""One job split across K Ray actors (spec ``workers: K``, beamtrack.workers.sharded): wall time of a
1e6-particle job with 3D space charge on K = 1, 2, 4 and the reduction's share of it.

    .venv/bin/python bench/bench_multiworker.py [--npart 1000000] [--k 1 2 4] [--nslice 10] [--cpus 4]

A local Ray on 127.0.0.1 with ``--cpus`` CPUs; each share actor gets one CPU (one kernel thread). The job:
the expanding_beam_3D_fft reference case (Kurth6D beam, 1 nC, one drift) with ``--nslice`` slices on a
32^3 grid. Per K it prints: setup (actors started, each drew the whole beam and kept its share), the
lockstep loop's wall time, the slowest share's tracking seconds, the coordinator's reducer seconds (sums of
moments and charge grids, the field solve on the summed grid, writing rows/files) and its rounds; the
reduction's share = (wall - slowest share's tracking) / wall, i.e. everything that is not a share tracking
its own particles (the reducer, Ray round trips, waiting for the slowest share). K = 1 is the single-worker
engine (Simulation) for reference. Load average before and after: the machine may be shared.
Results: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

CASE = Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "cases" / "expanding_beam_3D_fft.json"


def spec_for(npart: int, nslice: int, workers: int):  # type: ignore[no-untyped-def]
    from beamtrack.spec import load_spec

    data = json.loads(CASE.read_text())["spec"]
    data["beam"]["npart"] = npart
    data["lattice"]["elements"][1]["nslice"] = nslice
    data["space_charge"]["n_cell"] = [32, 32, 32]
    data["workers"] = workers
    return load_spec(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--npart", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--nslice", type=int, default=10)
    ap.add_argument("--cpus", type=int, default=4)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import ray
    from beamtrack.engine import Simulation
    from beamtrack.workers.sharded import ShardedRun

    print(f"load average before: {os.getloadavg()}  (cores: {os.cpu_count()})")
    ray.init(
        address="local",
        num_cpus=args.cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level="WARNING",
    )
    try:
        print(
            "| K | setup [s] | loop wall [s] | slowest share tracking [s] | reducer [s] | rounds | "
            "reducer / wall | (wall - slowest share) / wall | rows |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for k in args.k:
            with tempfile.TemporaryDirectory() as tmp:
                spec = spec_for(args.npart, args.nslice, k)
                rows: list[dict[str, float]] = []
                t0 = time.perf_counter()
                if k == 1:
                    sim = Simulation.from_spec(spec, tmp, kind="serial")
                    sim.diagnostics_listeners.append(rows.append)
                    t1 = time.perf_counter()
                    sim.track_particles()
                    wall = time.perf_counter() - t1
                    sim.finalize()
                    print(f"| 1 (Simulation) | {t1 - t0:.2f} | {wall:.2f} | {wall:.2f} | 0 | 0 | 0 | 0 | {len(rows)} |")
                    continue
                run = ShardedRun(spec, Path(tmp), "serial", num_cpus=1)
                run.diagnostics_listeners.append(rows.append)
                t1 = time.perf_counter()
                run.track_particles()
                tm = run.timings()
                # share 0 runs in this process and is not timed apart: the slowest share is taken among the actors
                # (shares 1..K-1), which carry as many particles (within one)
                run.finalize()
                share = (tm["wall_s"] - tm["max_share_s"]) / tm["wall_s"]
                print(
                    f"| {k} | {t1 - t0:.2f} | {tm['wall_s']:.2f} | {tm['max_share_s']:.2f} | {tm['reduce_s']:.2f} "
                    f"| {tm['rounds']:.0f} | {tm['reduce_s'] / tm['wall_s']:.0%} | {share:.0%} | {len(rows)} |"
                )
                detail = {key: round(v, 3) for key, v in tm.items() if key.startswith("reduce_") and key != "reduce_s"}
                print(f"|   | reducer per tag [s]: {detail} ||||||||")
    finally:
        ray.shutdown()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
