"""Cost of handing a job's files to the server through Redis (beamtrack.workers.transfer), the
path of a worker on another node, against the shared-directory fast path (which costs nothing:
the worker writes into the server's directory) and a plain local copy of the same files.

    .venv/bin/python bench/bench_artifact_transfer.py [--mib 16 128 512] [--files 4] [--repeat 3]

A private redis-server on 127.0.0.1 (loopback: the network's own cost is not in these numbers);
each size is split over ``--files`` files of random bytes. Prints, per size, the median upload
(worker side) and pull (server side) seconds, their throughput, Redis's peak memory, and the
copy time. Results: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from beamtrack.workers.redis_server import RedisServer
from beamtrack.workers.store import JobState, JobStore
from beamtrack.workers.transfer import pull, upload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=int, nargs="+", default=[16, 128, 512])
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = RedisServer(tmp / "redis").start()
        try:
            store = JobStore.from_url(server.url, prefix="bench")
            print("| MiB | upload [s] | upload [MiB/s] | pull [s] | pull [MiB/s] | Redis peak [MiB] | local copy [s] |")
            print("|---|---|---|---|---|---|---|")
            for mib in args.mib:
                src = tmp / f"src{mib}"
                src.mkdir()
                for i in range(args.files):
                    (src / f"f{i}.h5").write_bytes(os.urandom(mib * 2**20 // args.files))
                ups, pulls, copies, peaks = [], [], [], []
                for n in range(args.repeat):
                    store.r.config_resetstat()
                    store.r.memory_purge()
                    store.submit(owner="bench", name="b", spec_json="{}")
                    job_id, attempt = store.claim() or ("", 0)
                    t0 = time.perf_counter()
                    upload(store, job_id, attempt, src, max_bytes=1 << 40, ttl_s=3600)
                    t1 = time.perf_counter()
                    store.finish(job_id, attempt, JobState.SUCCEEDED)
                    peaks.append(int(store.r.info("memory")["used_memory_peak"]) / 2**20)
                    t2 = time.perf_counter()
                    pull(store, job_id, tmp / "store")
                    t3 = time.perf_counter()
                    shutil.copytree(src, tmp / f"copy{n}")
                    t4 = time.perf_counter()
                    ups.append(t1 - t0)
                    pulls.append(t3 - t2)
                    copies.append(t4 - t3)
                    shutil.rmtree(tmp / "store" / job_id)
                    shutil.rmtree(tmp / f"copy{n}")
                up, pl = statistics.median(ups), statistics.median(pulls)
                print(
                    f"| {mib} | {up:.3f} | {mib / up:.0f} | {pl:.3f} | {mib / pl:.0f} | "
                    f"{max(peaks):.0f} | {statistics.median(copies):.3f} |"
                )
                shutil.rmtree(src)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
