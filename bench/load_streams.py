"""Idle-stream load and keep-alive latency of one server (bounded, loopback only).

Starts a private redis-server and one ServerProcess (no scheduler, no Ray) on 127.0.0.1, then:
1. keep-alive: ``--requests`` sequential GET /v1/jobs/{id} on one keep-alive connection, with the
   listening socket made as the server makes it (proto IPPROTO_TCP, so asyncio sets
   TCP_NODELAY) and, with ``--proto0``, as it was made before (proto 0: no TCP_NODELAY);
2. idle streams: opens ``--sse`` SSE and ``--grpc`` gRPC streams on running jobs (nothing is
   published, so they stay idle) and measures the latency of ``--requests`` unary calls over
   REST and over gRPC while they are held, against the same calls with no stream open; with
   ``--scans`` the streams follow queued scans instead (GET /v1/scans/{id}/events,
   StreamScanEvents).
Client and server share this process (and its GIL), so the latencies are upper bounds.

    .venv/bin/python bench/load_streams.py --sse 2000 --grpc 300 --requests 300 [--proto0] [--scans]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
from beamtrack.server import process
from beamtrack.server.process import ServerProcess
from beamtrack.server.settings import ApiToken, Settings, hash_token
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc
from beamtrack.workers.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
MD = [("authorization", f"Bearer {TOKEN}")]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summary(name: str, seconds: list[float]) -> dict[str, float]:
    ms = [1e3 * s for s in seconds]
    out = {"p50_ms": statistics.median(ms), "p99_ms": pct(ms, 0.99), "max_ms": max(ms)}
    print(
        f"{name}: p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms, max {out['max_ms']:.2f} ms ({len(ms)} calls)",
        flush=True,
    )
    return out


def proto0_socket(host: str, port: int) -> socket.socket:
    """The listening socket as it was made before the fix (proto 0)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def unary(base: str, grpc_port: int, job_id: str, n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"rest": [], "grpc": []}
    async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=60) as c:
        await c.get(f"/v1/jobs/{job_id}")
        for _ in range(n):
            t0 = time.perf_counter()
            r = await c.get(f"/v1/jobs/{job_id}")
            out["rest"].append(time.perf_counter() - t0)
            assert r.status_code == 200
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as ch:
        stub = pb_grpc.JobServiceStub(ch)
        await stub.GetJob(pb.GetJobRequest(id=job_id), metadata=MD)
        for _ in range(n):
            t0 = time.perf_counter()
            await stub.GetJob(pb.GetJobRequest(id=job_id), metadata=MD, timeout=60)
            out["grpc"].append(time.perf_counter() - t0)
    return out


async def idle_phase(a: argparse.Namespace, server: ServerProcess, jobs: list[str], scans: list[str]) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.http_port}"
    results: dict[str, Any] = {}
    quiet = await unary(base, server.grpc_port, jobs[0], a.requests)
    results["no_streams"] = {k: summary(f"{k} unary, no stream open", v) for k, v in quiet.items()}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, headers=AUTH, limits=limits, timeout=httpx.Timeout(60, read=None)) as c:
        sem = asyncio.Semaphore(64)

        async def open_sse(i: int) -> httpx.Response:
            async with sem:
                url = f"/v1/scans/{scans[i % len(scans)]}/events" if scans else f"/v1/jobs/{jobs[i % len(jobs)]}/events"
                r = await c.send(c.build_request("GET", url), stream=True)
                assert r.status_code == 200
                return r

        t0 = time.perf_counter()
        sse = await asyncio.gather(*(open_sse(i) for i in range(a.sse)))
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") for _ in range(4)]
        stubs = [pb_grpc.JobServiceStub(ch) for ch in channels]
        calls: list[Any] = [
            stubs[i % 4].StreamScanEvents(pb.StreamScanEventsRequest(id=scans[i % len(scans)]), metadata=MD)
            if scans
            else stubs[i % 4].StreamEvents(pb.StreamDiagnosticsRequest(id=jobs[i % len(jobs)]), metadata=MD)
            for i in range(a.grpc)
        ]
        await asyncio.gather(*(call.read() for call in calls))
        opened = time.perf_counter() - t0
        held = server.hub.active
        what = "scan" if scans else "job"
        print(f"opened {a.sse} SSE + {a.grpc} gRPC {what} streams in {opened:.1f} s (hub holds {held})", flush=True)
        busy = await unary(base, server.grpc_port, jobs[0], a.requests)
        results["with_streams"] = {k: summary(f"{k} unary, {held} streams held", v) for k, v in busy.items()}
        results["streams_held"], results["open_seconds"] = held, opened
        conns = sum(1 for cl in server.store.r.client_list() if cl.get("name") == "beamtrack-streams")
        results["redis_connections_of_streams"] = conns
        print(f"Redis connections the streams use: {conns}", flush=True)
        for r in sse:
            await r.aclose()
        for call in calls:
            call.cancel()
        for ch in channels:
            await ch.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sse", type=int, default=2000, help="idle SSE streams (max 5000)")
    ap.add_argument("--grpc", type=int, default=300, help="idle gRPC streams (max 2000)")
    ap.add_argument("--requests", type=int, default=300, help="unary calls measured per phase")
    ap.add_argument(
        "--proto0", action="store_true", help="also measure keep-alive with the old proto-0 listening socket"
    )
    ap.add_argument("--scans", action="store_true", help="the idle streams follow queued scans, not running jobs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    a.sse, a.grpc = min(a.sse, 5000), min(a.grpc, 2000)
    data = Path(tempfile.mkdtemp(prefix="beamtrack-bench-"))
    redis_server = RedisServer(data / "redis").start()
    settings = Settings(
        redis_url=redis_server.url,
        http_port=0,
        grpc_port=0,
        data_dir=data,
        api_tokens=[ApiToken(user="bench", sha256=hash_token(TOKEN))],
        scheduler=False,
        max_streams_per_user=10_000,
        stream_block_ms=5000,
    )
    results: dict[str, Any] = {}
    try:
        variants = [("nodelay", process.listen_socket)]
        if a.proto0:
            variants.insert(0, ("proto0", proto0_socket))
        for name, make in variants:
            process.listen_socket = make  # type: ignore[assignment]
            server = ServerProcess(settings, redis_server.url).start()
            spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
            spec = spec.get("spec", spec)
            job = server.service.submit(server.service.authenticate(f"Bearer {TOKEN}"), spec)
            with httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", headers=AUTH) as c:
                c.get(f"/v1/jobs/{job.id}")
                lat = []
                for _ in range(a.requests):
                    t0 = time.perf_counter()
                    c.get(f"/v1/jobs/{job.id}").raise_for_status()
                    lat.append(time.perf_counter() - t0)
            results[f"keepalive_{name}"] = summary(f"keep-alive GET, {name} socket", lat)
            if name == "nodelay":
                jobs = [
                    server.service.submit(server.service.authenticate(f"Bearer {TOKEN}"), spec).id for _ in range(20)
                ]
                for _ in range(21):
                    server.store.claim()
                scans = []
                if a.scans:  # 20 scans of 2 variants, left queued: their streams stay idle
                    who = server.service.authenticate(f"Bearer {TOKEN}")
                    k = "lattice.elements[name=quad1].k"
                    scans = [
                        server.service.submit_scan(
                            who, {"base": spec, "parameters": {k: [0.9 + 0.01 * i, 1.1]}, "use_cache": False}
                        )["id"]
                        for i in range(20)
                    ]
                results["idle"] = asyncio.run(idle_phase(a, server, jobs, scans))
            server.stop()
        results["machine"] = (
            f"{platform.node()} {os.cpu_count()} cores, {platform.platform()}, load {os.getloadavg()[0]:.2f}"
        )
        results["args"] = vars(a) | {"json": str(a.json) if a.json else None}
        if a.json:
            a.json.write_text(json.dumps(results, indent=2))
    finally:
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
