"""Load test of the simulation service (bounded, loopback only).

Starts ``beamtrack serve`` (embedded: private Redis, local Ray) in a child process on 127.0.0.1,
then:
1. submit phase: ``--clients`` threads submit ``--jobs`` small jobs over REST as fast as they can
   (jobs/s accepted, p50/p99 submit latency);
2. live phase: ``--stream-jobs`` of them are streamed live to their result, half over gRPC and
   half over SSE (messages/s while the engine produces them);
3. replay phase: ``--stream-clients`` threads re-read finished streams concurrently (gRPC and
   SSE alternately, or only one of them with ``--transport``) (messages/s the server can push,
   and the CPU time per message of the server process and of the clients);
every stream is checked: ids strictly increasing and unique, exactly the job's published rows,
one result event at the end (lost/duplicated messages are counted and reported).
Reports the RSS of the server process and of redis-server. The queued rest is cancelled.

    .venv/bin/python bench/load_service.py --jobs 200 --clients 8 --stream-jobs 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from beamtrack.client import Client, GrpcClient

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def redis_pid(parent: int) -> int | None:
    """The redis-server child the embedded service started."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and comm.startswith("redis-server"):
            return int(stat.parent.name)
    return None


def small_spec(npart: int, periods: int, name: str) -> dict[str, Any]:
    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec["name"] = name
    spec["beam"]["npart"] = npart
    spec["lattice"]["periods"] = periods
    return spec


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def check_stream(ids: list[str], kinds: list[str], expected_rows: int) -> tuple[int, int]:
    """(lost, duplicated) messages of one stream."""
    keys = [tuple(map(int, i.split("-"))) for i in ids]
    dup = len(keys) - len(set(keys)) + sum(1 for a, b in zip(keys, keys[1:], strict=False) if b <= a)
    rows = kinds.count("diag")
    lost = max(0, expected_rows - rows) + (0 if kinds and kinds[-1] == "result" else 1)
    dup += max(0, rows - expected_rows) + max(0, kinds.count("result") - 1)
    return lost, dup


def stream_rest(c: Client, job_id: str) -> tuple[list[str], list[str]]:
    ids, kinds = [], []
    for ev in c.events(job_id):
        ids.append(ev.id)
        kinds.append(ev.kind)
    return ids, kinds


def stream_grpc(g: GrpcClient, job_id: str) -> tuple[list[str], list[str]]:
    ids, kinds = [], []
    for ev in g.stream(job_id):
        ids.append(ev.id)
        kind = ev.WhichOneof("payload")
        kinds.append("diag" if kind == "diagnostics" else str(kind))
    return ids, kinds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=200, help="jobs submitted (max 2000)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent submitters (max 64)")
    ap.add_argument("--stream-jobs", type=int, default=10, help="jobs streamed live to the end")
    ap.add_argument("--stream-clients", type=int, default=8, help="concurrent replay readers")
    ap.add_argument("--replays", type=int, default=4, help="replays of each streamed job")
    ap.add_argument(
        "--transport",
        choices=("mix", "grpc", "sse"),
        default="mix",
        help="replay over gRPC and SSE alternately (default), or only one",
    )
    ap.add_argument("--npart", type=int, default=200)
    ap.add_argument("--periods", type=int, default=10, help="131 diagnostics rows per period")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    a.jobs, a.clients = min(a.jobs, 2000), min(a.clients, 64)
    a.stream_jobs = min(a.stream_jobs, a.jobs)

    data = Path(tempfile.mkdtemp(prefix="beamtrack-bench-"))
    http_port, grpc_port = free_port(), free_port()
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", BEAMTRACK_LOCAL_TOKEN="bench")
    serve = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "beamtrack"),
            "serve",
            "--data-dir",
            str(data),
            "--http-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(data / "serve.log", "w"),
    )
    url = f"http://127.0.0.1:{http_port}"
    results: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if serve.poll() is not None or time.monotonic() > deadline:
                print((data / "serve.log").read_text()[-3000:], file=sys.stderr)
                raise SystemExit("the service did not start")
            time.sleep(0.2)
        rss0 = rss_mb(serve.pid)

        # -- 1. submit burst ----------------------------------------------------------------
        latencies: list[float] = []
        job_ids: list[str] = []
        lock = threading.Lock()
        per_client = [a.jobs // a.clients + (1 if i < a.jobs % a.clients else 0) for i in range(a.clients)]

        def submitter(n: int, k: int) -> None:
            c = Client(url, "bench")
            spec = small_spec(a.npart, a.periods, f"load{k}")
            for _ in range(n):
                t0 = time.perf_counter()
                job = c.submit(spec)
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    job_ids.append(job["id"])
            c.close()

        threads = [threading.Thread(target=submitter, args=(n, k)) for k, n in enumerate(per_client)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        results["submit"] = {
            "jobs": len(job_ids),
            "clients": a.clients,
            "seconds": wall,
            "jobs_per_s": len(job_ids) / wall,
            "p50_ms": 1e3 * statistics.median(latencies),
            "p99_ms": 1e3 * pct(latencies, 0.99),
        }
        print(
            f"submit: {len(job_ids)} jobs by {a.clients} clients in {wall:.2f} s = "
            f"{len(job_ids) / wall:.0f} jobs/s; p50 {results['submit']['p50_ms']:.1f} ms, "
            f"p99 {results['submit']['p99_ms']:.1f} ms",
            flush=True,
        )

        # the first --stream-jobs run; the rest is cancelled so the run stays bounded
        admin = Client(url, "bench")
        streamed = set(job_ids[: a.stream_jobs])
        for jid in job_ids:
            if jid not in streamed:
                try:
                    admin.cancel(jid)
                except Exception:  # noqa: BLE001 - already started: let it finish
                    pass

        # -- 2. live streams ----------------------------------------------------------------
        lost = dup = 0
        live_msgs = 0
        out: dict[str, tuple[list[str], list[str]]] = {}

        def live(jid: str, use_grpc: bool) -> None:
            if use_grpc:
                res = stream_grpc(GrpcClient(f"127.0.0.1:{grpc_port}", "bench"), jid)
            else:
                res = stream_rest(Client(url, "bench"), jid)
            with lock:
                out[jid] = res

        t0 = time.perf_counter()
        threads = [threading.Thread(target=live, args=(jid, i % 2 == 0)) for i, jid in enumerate(sorted(streamed))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        live_wall = time.perf_counter() - t0
        expected = {jid: admin.get(jid)["result"] and len(admin.diagnostics(jid)) for jid in streamed}
        for jid, (ids, kinds) in out.items():
            live_msgs += len(ids)
            lo, du = check_stream(ids, kinds, expected[jid] or 0)
            lost, dup = lost + lo, dup + du
        results["live"] = {
            "jobs": len(streamed),
            "messages": live_msgs,
            "seconds": live_wall,
            "messages_per_s": live_msgs / live_wall,
        }
        print(
            f"live: {len(streamed)} jobs streamed to the end, {live_msgs} messages in "
            f"{live_wall:.2f} s = {live_msgs / live_wall:.0f} msg/s (bounded by the engine "
            f"and actor start-up)",
            flush=True,
        )

        # -- 3. replay ----------------------------------------------------------------------
        work = [jid for jid in sorted(streamed) for _ in range(a.replays)]
        counts: list[int] = []
        rss_peak = [rss_mb(serve.pid)]

        def reader(k: int) -> None:
            g = GrpcClient(f"127.0.0.1:{grpc_port}", "bench")
            c = Client(url, "bench")
            nonlocal lost, dup
            for i, jid in enumerate(work[k :: a.stream_clients]):
                use_grpc = (i + k) % 2 == 0 if a.transport == "mix" else a.transport == "grpc"
                ids, kinds = stream_grpc(g, jid) if use_grpc else stream_rest(c, jid)
                lo, du = check_stream(ids, kinds, expected[jid] or 0)
                with lock:
                    counts.append(len(ids))
                    lost, dup = lost + lo, dup + du
                    rss_peak.append(rss_mb(serve.pid))

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(a.stream_clients)]
        cpu0, own0, load0 = cpu_s(serve.pid), os.times(), os.getloadavg()[0]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        replay_wall = time.perf_counter() - t0
        total = sum(counts)
        own1 = os.times()
        server_us = 1e6 * (cpu_s(serve.pid) - cpu0) / max(total, 1)
        client_us = 1e6 * (own1.user + own1.system - own0.user - own0.system) / max(total, 1)
        results["replay"] = {
            "streams": len(counts),
            "clients": a.stream_clients,
            "transport": a.transport,
            "messages": total,
            "seconds": replay_wall,
            "messages_per_s": total / replay_wall,
            "server_cpu_us_per_msg": server_us,
            "client_cpu_us_per_msg": client_us,
            "load_avg_1m": [load0, os.getloadavg()[0]],
        }
        results["lost"], results["duplicated"] = lost, dup
        rpid = redis_pid(serve.pid)
        results["memory_mb"] = {
            "server_idle": rss0,
            "server_peak": max(rss_peak),
            "redis": rss_mb(rpid) if rpid else None,
        }
        print(
            f"replay ({a.transport}): {len(counts)} streams by {a.stream_clients} clients, "
            f"{total} messages in {replay_wall:.2f} s = {total / replay_wall:.0f} msg/s; CPU "
            f"per message: server {server_us:.0f} us, clients {client_us:.0f} us; load "
            f"average {load0:.2f} -> {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        print(
            f"lost {lost}, duplicated {dup}; server RSS {rss0:.0f} MB idle, "
            f"{max(rss_peak):.0f} MB peak; redis RSS {results['memory_mb']['redis'] or 0:.0f} MB"
        )
        results["machine"] = f"{platform.node()} {os.cpu_count()} cores, {platform.platform()}"
        results["args"] = vars(a) | {"json": str(a.json) if a.json else None}
        if a.json:
            a.json.write_text(json.dumps(results, indent=2))
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            serve.kill()
        shutil.rmtree(data, ignore_errors=True)
    return 0 if results.get("lost") == 0 and results.get("duplicated") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
