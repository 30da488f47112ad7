"""Accepting a 10,000-variant scan in JobService.submit_scan: wall time and where the CPU goes.

Starts a private redis-server (AOF on, as in every deployment), then submits ``--repeat`` times a
scan of examples/fodo.json over beam.seed x beam.npart (100 x 100 variants: every variant a new
beam, so each re-validates its beam fields) straight into the service object (no HTTP), and
prints for each the wall time, this process's CPU time (validation, estimates, cache keys,
encoding) and redis-server's CPU time (storing the jobs). On a loaded machine the wall time
mostly measures waiting for a core; the two CPU times add up to what the submit costs on an
idle one. Run it against another checkout with PYTHONPATH to compare versions in one session:

    .venv/bin/python bench/bench_scan_submit.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--npart", type=int, default=1000)
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    from beamtrack.server.service import JobService, Principal
    from beamtrack.server.settings import ApiToken, Settings, hash_token
    from beamtrack.workers.redis_server import RedisServer
    from beamtrack.workers.store import JobStore

    spec: dict[str, Any] = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec["beam"]["npart"] = a.npart
    scan = {
        "base": spec,
        "parameters": {"beam.seed": list(range(100)), "beam.npart": [a.npart + j for j in range(100)]},
    }
    body = json.dumps(scan)
    data = Path(tempfile.mkdtemp(prefix="beamtrack-bench-submit-"))
    redis_server = RedisServer(data / "redis").start()
    out: list[dict[str, float]] = []
    try:
        store = JobStore.from_url(redis_server.url)
        settings = Settings(
            redis_url=redis_server.url,
            http_port=0,
            grpc_port=0,
            data_dir=data,
            api_tokens=[ApiToken(user="bench", sha256=hash_token("bench-token-0123456789"))],
            user_disk_mb=1e9,
        )
        service = JobService(store, settings)
        who = Principal("bench")

        def redis_cpu() -> float:
            info = store.r.info("cpu")
            return float(info["used_cpu_sys"] + info["used_cpu_user"])

        for _ in range(a.repeat):
            r0, c0, t0 = redis_cpu(), time.process_time(), time.perf_counter()
            res = service.submit_scan(who, json.loads(body), priority=-1000)
            wall, cpu, rcpu = time.perf_counter() - t0, time.process_time() - c0, redis_cpu() - r0
            assert res["variants"] == 10_000
            out.append({"wall_s": wall, "service_cpu_s": cpu, "redis_cpu_s": rcpu})
            print(f"submit of 10,000 variants: wall {wall:.2f} s, service CPU {cpu:.2f} s, redis CPU {rcpu:.2f} s")
    finally:
        redis_server.stop()
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
