"""Scan event streams through the stream hub (issue 8 item 4 for scans, issue 11), and scan
retention, against a real redis-server and uvicorn + grpc.aio on 127.0.0.1.

Many idle scan followers (SSE and gRPC) hold no thread each, so ordinary requests still answer;
a follower past the per-user limit is refused as a job's is (429 / RESOURCE_EXHAUSTED); a
closed follower frees its slot. An ended scan (record, variant list, event stream) is removed
by the scheduler's retention sweep once its retention passed, and its stream stays bounded by
``stream_maxlen``. Timings of idle streams live in bench/load_streams.py, not here."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import grpc
import httpx
import pytest
from beamtrack.server.scheduler import Scheduler
from beamtrack.spec.contract import JobState
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc

from .conftest import TOKENS, fodo_spec, wait_for
from .stream_followers import close_followers, open_sse

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

K = "lattice.elements[name=quad1].k"
AUTH = {"authorization": f"Bearer {TOKENS['alice']}"}
MD = [("authorization", f"Bearer {TOKENS['alice']}")]
SSE_STREAMS, GRPC_STREAMS, CHANNELS = 200, 100, 2


def _scan(c: Any, ks: list[float]) -> dict[str, Any]:
    """A scan of the FODO cell's quad1 strength; not served from the cache (every variant queued)."""
    spec = fodo_spec(npart=10, name="streamscan")
    out: dict[str, Any] = c.scan(spec, {K: ks}, use_cache=False)
    return out


def _active(server: Any) -> int:
    n: int = server.call(lambda: server.hub.active)
    return n


def test_many_scan_followers_leave_the_server_answering(server_factory: Any, rest: Any) -> None:
    """200 SSE and 100 gRPC followers of queued (idle) scans, all held at once: the hub counts
    all 300, the server runs far fewer threads than followers (a thread each before), and unary
    calls over both doors answer; dropping them all frees every slot."""
    server = server_factory(max_streams_per_user=10_000, stream_block_ms=5000)
    c = rest(server)
    scans = [_scan(c, [0.9 + 0.01 * i, 1.1])["id"] for i in range(5)]
    base = f"http://127.0.0.1:{server.http_port}"
    threads_before = threading.active_count()

    async def scenario() -> tuple[int, int]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(
            base_url=base, headers=AUTH, limits=limits, timeout=httpx.Timeout(60, read=None)
        ) as client:
            sse = await open_sse(client, [f"/v1/scans/{scan_id}/events" for scan_id in scans[:5]], SSE_STREAMS, 32)
            channels = [grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") for _ in range(CHANNELS)]
            stubs = [pb_grpc.JobServiceStub(ch) for ch in channels]
            calls = [
                stubs[i % CHANNELS].StreamScanEvents(pb.StreamScanEventsRequest(id=scans[i % 5]), metadata=MD)
                for i in range(GRPC_STREAMS)
            ]
            firsts = await asyncio.gather(*(call.read() for call in calls))
            # each follower got the scan's first event, its submit (2 variants)
            assert all(e.WhichOneof("payload") == "submitted" and e.submitted.variants == 2 for e in firsts)
            held = await asyncio.to_thread(_active, server)
            threads = threading.active_count()

            # ordinary calls over both doors answer while every follower is held
            async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as other:
                for scan_id in scans:
                    r = await other.get(f"/v1/scans/{scan_id}")
                    assert r.status_code == 200 and r.json()["state"] == "queued"
                assert (await other.get("/v1/jobs", params={"limit": 5})).status_code == 200
            for scan_id in scans:
                got = await stubs[0].GetScan(pb.GetScanRequest(id=scan_id), metadata=MD, timeout=30)
                assert got.id == scan_id

            await close_followers(sse, calls, channels)
            return held, threads

    held, threads = asyncio.run(scenario())
    assert held == SSE_STREAMS + GRPC_STREAMS
    # the server runs in this process: a thread per follower would add 300
    assert threads - threads_before < 100, (threads_before, threads)
    wait_for(lambda: _active(server) == 0, 60, "every scan stream released")
    assert server.call(lambda: server.hub.followed_jobs) == 0


def test_scan_followers_share_the_per_user_stream_limit(server_factory: Any, rest: Any) -> None:
    """With 3 streams per user, a job stream and two scan streams fill alice's slots: a fourth
    scan follower is refused with 429 (SSE) and RESOURCE_EXHAUSTED (gRPC), naming ``streams``,
    as a job follower is; the admin's streams count apart; a closed follower's slot is reused."""
    server = server_factory(max_streams_per_user=3)
    c = rest(server)
    job_id = c.submit(fodo_spec(npart=10))["id"]
    claimed = server.store.claim()  # running: its stream stays open
    assert claimed is not None and claimed[0] == job_id
    scan_id = _scan(c, [0.9, 1.1])["id"]
    base = f"http://127.0.0.1:{server.http_port}"
    scan_url = f"{base}/v1/scans/{scan_id}/events"

    async def scenario() -> None:
        async with httpx.AsyncClient(headers=AUTH, timeout=30) as client:
            urls = (f"{base}/v1/jobs/{job_id}/events", scan_url, scan_url)
            held = [await client.send(client.build_request("GET", u), stream=True) for u in urls]
            assert all(r.status_code == 200 for r in held)
            over = await client.get(scan_url)
            assert over.status_code == 429
            err = over.json()["error"]
            assert err["code"] == "RESOURCE_EXHAUSTED" and err["details"][0]["loc"] == "streams"
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
                stub = pb_grpc.JobServiceStub(ch)
                call = stub.StreamScanEvents(pb.StreamScanEventsRequest(id=scan_id), metadata=MD)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await call.read()
                assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "streams" in (info.value.details() or "")
            admin = await client.send(
                client.build_request("GET", scan_url, headers={"authorization": f"Bearer {TOKENS['admin']}"}),
                stream=True,
            )
            assert admin.status_code == 200
            await admin.aclose()
            await held[1].aclose()
            await asyncio.to_thread(wait_for, lambda: _active(server) == 2, 10, "the closed follower's slot")
            again = await client.send(client.build_request("GET", scan_url), stream=True)
            assert again.status_code == 200
            for r in (held[0], held[2], again):
                await r.aclose()

    asyncio.run(scenario())
    wait_for(lambda: _active(server) == 0, 10, "all slots free")


def _finish_all(server: Any, job_ids: list[str], state: JobState) -> None:
    """Claim the queued variants and end each in ``state`` (as a worker would)."""
    while server.store.claim() is not None:
        pass
    for job_id in job_ids:
        assert server.store.finish(
            job_id, 1, state, result={"steps": 0}, error="" if state == JobState.SUCCEEDED else "x"
        )


def _scan_keys(server: Any, scan_id: str) -> int:
    store = server.store
    return int(
        store.r.exists(store.scan_key(scan_id), store._k("scan", scan_id, "jobs"), store.scan_stream_key(scan_id))
    )


def test_retention_removes_ended_scans(server_factory: Any, rest: Any) -> None:
    """A scan with a succeeded variant is kept ``artifact_ttl_s`` (3600 s here) after its last
    variant ended, one with none ``failed_artifact_ttl_s`` (60 s); an unfinished scan is never
    removed. Removed: its record, variant list, event stream and listing; its variants stay as
    jobs. The sweep is run with a ``now`` in the future, as for jobs' artifacts."""
    server = server_factory(artifact_ttl_s=3600, failed_artifact_ttl_s=60)
    c = rest(server)
    ok, bad, live = (_scan(c, [0.9 + 0.01 * i, 1.1]) for i in range(3))
    ok_jobs = server.store.scan_job_ids(ok["id"])
    live_jobs = server.store.scan_job_ids(live["id"])
    _finish_all(server, ok_jobs, JobState.SUCCEEDED)
    server.store.finish(live_jobs[0], 1, JobState.SUCCEEDED, result={"steps": 0})  # one of two ended
    c.cancel_scan(bad["id"])  # its variants are running: asked to stop, then they end cancelled
    for job_id in server.store.scan_job_ids(bad["id"]):
        server.store.finish(job_id, 1, JobState.CANCELLED, error="cancelled")
    assert c.get_scan(ok["id"])["state"] == "succeeded" and c.get_scan(bad["id"])["state"] == "cancelled"

    sched = Scheduler(server.store, server.settings, server.redis_url)
    now = time.time()
    assert sched.sweep_scans(now=now + 30) == []  # nothing due yet
    assert sched.sweep_scans(now=now + 61) == [bad["id"]]
    assert sched.sweep_scans(now=now + 1800) == []
    assert sched.sweep_scans(now=now + 3601) == [ok["id"]]
    assert sched.sweep_scans(now=now + 10 * 86_400) == []  # the unfinished scan stays

    for gone in (ok, bad):
        assert _scan_keys(server, gone["id"]) == 0
        r = httpx.get(f"http://127.0.0.1:{server.http_port}/v1/scans/{gone['id']}", headers=AUTH, timeout=30)
        assert r.status_code == 404
        ev = httpx.get(f"http://127.0.0.1:{server.http_port}/v1/scans/{gone['id']}/events", headers=AUTH, timeout=30)
        assert ev.status_code == 404
    assert [s["id"] for s in c.list_scans()[0]] == [live["id"]]
    assert _scan_keys(server, live["id"]) == 3
    assert all(c.get(j)["state"] == "succeeded" for j in ok_jobs)  # the variants are kept as jobs


def test_scan_stream_is_bounded_by_stream_maxlen(server_factory: Any, rest: Any) -> None:
    """1,500 variants cancelled at once write 1,502 scan events (submit, 1,500 variant changes,
    result); with ``stream_maxlen`` 1000 the stream keeps about 1000 (Redis trims ``MAXLEN ~``
    by whole macro nodes of 100 entries, so at most 1000 + 100), the result event last."""
    server = server_factory(stream_maxlen=1000)
    c = rest(server)
    scan = c.scan(fodo_spec(npart=10, name="manyvariants"), {K: [0.5 + 1e-4 * i for i in range(1500)]}, use_cache=False)
    c.cancel_scan(scan["id"])
    store = server.store
    key = store.scan_stream_key(scan["id"])
    n = int(store.r.xlen(key))
    assert 1000 <= n <= 1100, n
    (last,) = store.r.xrevrange(key, "+", "-", count=1)
    assert last[1]["k"] == "result"
    events = list(c.scan_events(scan["id"]))
    assert events[-1].kind == "result" and events[-1].data["state"] == "cancelled"
