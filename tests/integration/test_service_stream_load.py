"""Issue 8 item 4 as a bounded load test: 2,000 idle SSE streams and 300 idle gRPC streams held
against one server while unary calls over both doors still answer; then every stream is
dropped and the server's count of open streams returns to zero. Timings live in
bench/load_streams.py and BENCHMARKS.md; this test only asserts that everything answers."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import httpx
import pytest
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc

from .conftest import TOKENS, fodo_spec, wait_for
from .stream_followers import close_followers, open_sse

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SSE_STREAMS, GRPC_STREAMS, CHANNELS = 2000, 300, 3
AUTH = {"authorization": f"Bearer {TOKENS['alice']}"}
MD = [("authorization", f"Bearer {TOKENS['alice']}")]


def test_thousands_of_idle_streams_leave_the_server_answering(server_factory: Any, rest: Any) -> None:
    server = server_factory(max_streams_per_user=10_000, stream_block_ms=5000)
    jobs = [rest(server).submit(fodo_spec(npart=10))["id"] for _ in range(20)]
    for _ in jobs:
        assert server.store.claim() is not None  # running: their streams stay open
    base = f"http://127.0.0.1:{server.http_port}"

    async def scenario() -> int:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(
            base_url=base, headers=AUTH, limits=limits, timeout=httpx.Timeout(60, read=None)
        ) as c:
            sse = await open_sse(c, [f"/v1/jobs/{job_id}/events" for job_id in jobs[:20]], SSE_STREAMS, 64)
            channels = [grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") for _ in range(CHANNELS)]
            stubs = [pb_grpc.JobServiceStub(ch) for ch in channels]
            calls = [
                stubs[i % CHANNELS].StreamEvents(pb.StreamDiagnosticsRequest(id=jobs[i % 20]), metadata=MD)
                for i in range(GRPC_STREAMS)
            ]
            firsts = await asyncio.gather(*(call.read() for call in calls))
            assert all(b.events for b in firsts)
            held = await asyncio.to_thread(server.call, lambda: server.hub.active)

            # unary calls over both doors answer while every stream is held
            async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as other:
                for job_id in jobs:
                    assert (await other.get(f"/v1/jobs/{job_id}")).status_code == 200
                assert (await other.get("/v1/jobs", params={"limit": 5})).status_code == 200
            for job_id in jobs:
                job = await stubs[0].GetJob(pb.GetJobRequest(id=job_id), metadata=MD, timeout=30)
                assert job.id == job_id

            await close_followers(sse, calls, channels)
            return held

    held = asyncio.run(scenario())
    assert held == SSE_STREAMS + GRPC_STREAMS
    wait_for(lambda: server.call(lambda: server.hub.active) == 0, 60, "every stream released")
