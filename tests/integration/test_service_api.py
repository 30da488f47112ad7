"""Service API against a real redis-server and real uvicorn/gRPC servers (no scheduler: jobs
stay queued, so queue order, errors, auth and pagination are seen exactly)."""

from __future__ import annotations

import json
from typing import Any

import grpc
import httpx
import pytest
from beamtrack.client import ApiError, Job
from beamtrack.spec.contract import JobState

from .conftest import TOKENS, fodo_spec

pytestmark = pytest.mark.integration


def test_submit_get_list_rest_and_grpc(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    c, g = rest(server), grpc_client(server)
    job = c.submit(fodo_spec())
    assert job["state"] == "queued" and job["owner"] == "alice" and job["name"] == "fodo"
    assert c.get(job["id"])["id"] == job["id"]
    gjob = g.submit(fodo_spec(name="viagrpc"), priority=7)
    assert isinstance(gjob, Job) and gjob.state == JobState.QUEUED and gjob.priority == 7
    assert gjob == c.get(gjob.id)  # the same model, field by field, over either transport
    assert g.get(job["id"]).name == "fodo"
    assert c.get(gjob.id)["name"] == "viagrpc"
    ids = {j["id"] for j in c.iter_jobs()}
    assert ids == {job["id"], gjob.id}
    gjobs, _ = g.list_jobs()
    assert {j.id for j in gjobs} == ids


def test_invalid_spec_names_the_field(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    bad = fodo_spec()
    bad["beam"]["npart"] = -5
    with pytest.raises(ApiError) as e:
        rest(server).submit(bad)
    assert e.value.status == 422 and e.value.code == "INVALID_ARGUMENT"
    assert e.value.details[0]["loc"] == "spec.beam.npart"
    with pytest.raises(grpc.RpcError) as ge:
        grpc_client(server).submit(bad)
    assert ge.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.beam.npart" in (ge.value.details() or "")
    bad2 = fodo_spec()
    bad2["lattice"]["elements"][1]["ds"] = "long"
    with pytest.raises(ApiError) as e2:
        rest(server).submit(bad2)
    assert e2.value.details[0]["loc"].startswith("spec.lattice.elements[1]")


def test_bad_request_fields_are_422_not_tracebacks(server_factory: Any) -> None:
    server = server_factory()
    url = f"http://127.0.0.1:{server.http_port}"
    h = {"Authorization": f"Bearer {TOKENS['alice']}"}
    cases: list[tuple[Any, str]] = [
        ({"spec": fodo_spec(), "priority": "high"}, "priority"),
        ({"spec": fodo_spec(), "priority": 5000}, "priority"),
        ({"spec": fodo_spec(), "device": "tpu"}, "device"),
        ({"spec": fodo_spec(), "colour": 1}, "colour"),
        ({"spec": "not an object"}, "spec"),
        ({}, "spec"),
    ]
    for body, field in cases:
        r = httpx.post(f"{url}/v1/jobs", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        err = r.json()["error"]
        assert err["code"] == "INVALID_ARGUMENT" and err["details"][0]["loc"] == field, err
    r = httpx.post(f"{url}/v1/jobs", content=b"{not json", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_ARGUMENT"
    r = httpx.get(f"{url}/v1/jobs", params={"limit": 0}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == "limit"
    r = httpx.get(f"{url}/v1/jobs", params={"cursor": "abc"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == "cursor"


def test_hook_module_refused_when_disabled_or_invalid(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    off = server_factory(hook_sandbox=False)
    with pytest.raises(ApiError) as e:
        rest(off).submit(fodo_spec(), hook_module="def after_period(sim): pass\n")
    assert e.value.status == 422 and "sandbox" in e.value.message
    assert e.value.details[0]["loc"] == "hook_module"
    with pytest.raises(grpc.RpcError) as ge:
        grpc_client(off).submit(fodo_spec(), hook_module="def after_period(sim): pass\n")
    assert ge.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sandbox" in (ge.value.details() or "")
    on = server_factory()
    for source, expect in (
        ("x = 1\n", "defines none of the hook functions"),
        ("def after_period(sim):\n  return (\n", "syntax error at line"),
    ):
        with pytest.raises(ApiError) as e:
            rest(on).submit(fodo_spec(), hook_module=source)
        assert e.value.status == 422 and expect in e.value.message
        assert e.value.details[0]["loc"] == "hook_module"
        with pytest.raises(grpc.RpcError) as ge:
            grpc_client(on).submit(fodo_spec(), hook_module=source)
        assert ge.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert expect in (ge.value.details() or "")


def test_auth_wrong_token_and_other_users(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    from beamtrack.client import Client, GrpcClient

    server = server_factory()
    url = f"http://127.0.0.1:{server.http_port}"
    alice_job = rest(server, "alice").submit(fodo_spec())
    bob = rest(server, "bob")
    bob_job = bob.submit(fodo_spec(name="bobs"))
    for token in (None, "wrong-token"):
        with Client(url, token) as anonymous, pytest.raises(ApiError) as e:
            anonymous.list_jobs()
        assert e.value.status == 401 and e.value.code == "UNAUTHENTICATED"
    r = httpx.get(f"{url}/v1/jobs", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    with GrpcClient(f"127.0.0.1:{server.grpc_port}", "wrong-token") as wrong, pytest.raises(grpc.RpcError) as ge:
        wrong.list_jobs()
    assert ge.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # bob cannot see, cancel or stream alice's job: it does not exist for him
    assert {j["id"] for j in bob.iter_jobs()} == {bob_job["id"]}
    for call in (bob.get, bob.cancel, bob.diagnostics, bob.artifacts, lambda i: list(bob.events(i))):
        with pytest.raises(ApiError) as e:
            call(alice_job["id"])
        assert e.value.status == 404
    with pytest.raises(grpc.RpcError) as ge:
        grpc_client(server, "bob").get(alice_job["id"])
    assert ge.value.code() == grpc.StatusCode.NOT_FOUND
    # the admin sees everyone's
    admin = rest(server, "admin")
    assert {j["id"] for j in admin.iter_jobs()} == {alice_job["id"], bob_job["id"]}
    assert admin.get(alice_job["id"])["owner"] == "alice"


def test_pagination_and_state_filter(server_factory: Any, rest: Any) -> None:
    server = server_factory()
    c = rest(server)
    ids = [c.submit(fodo_spec(name=f"j{i}"))["id"] for i in range(5)]
    c.cancel(ids[1])
    pages, cursor = [], None
    while True:
        items, cursor = c.list_jobs(limit=2, cursor=cursor)
        pages.append([j["id"] for j in items])
        if cursor is None:
            break
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[0:1]]
    queued, nxt = c.list_jobs(state="queued", limit=10)
    assert [j["id"] for j in queued] == [ids[4], ids[3], ids[2], ids[0]] and nxt is None
    cancelled, _ = c.list_jobs(state="cancelled")
    assert [j["id"] for j in cancelled] == [ids[1]]


def test_priority_order_fifo_within_priority(server_factory: Any, rest: Any) -> None:
    server = server_factory()
    c = rest(server)
    low = c.submit(fodo_spec(name="low"), priority=-1)["id"]
    a = c.submit(fodo_spec(name="a"))["id"]
    high = c.submit(fodo_spec(name="high"), priority=10)["id"]
    b = c.submit(fodo_spec(name="b"))["id"]
    assert server.store.queued_ids() == [high, a, b, low]


def test_cancel_queued_and_finished(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    c = rest(server)
    job = c.submit(fodo_spec())
    assert c.cancel(job["id"])["state"] == "cancelled"
    assert job["id"] not in server.store.queued_ids()
    with pytest.raises(ApiError) as e:
        c.cancel(job["id"])
    assert e.value.status == 409 and e.value.code == "FAILED_PRECONDITION"
    with pytest.raises(grpc.RpcError) as ge:
        grpc_client(server).cancel(job["id"])
    assert ge.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(ApiError) as e:
        c.get("0123456789abcdef")
    assert e.value.status == 404 and e.value.code == "NOT_FOUND"
    with pytest.raises(grpc.RpcError) as ge:
        grpc_client(server).get("nosuchjob")
    assert ge.value.code() == grpc.StatusCode.NOT_FOUND
    # the stream of a cancelled job replays and ends with its result
    kinds = [(ev.kind, ev.data.get("state")) for ev in c.events(job["id"])]
    assert kinds == [("state", "queued"), ("state", "cancelled"), ("result", "cancelled")]
    gk = [ev.WhichOneof("payload") for ev in grpc_client(server).stream(job["id"])]
    assert gk == ["state", "state", "result"]


def test_terminal_states_are_final(server_factory: Any, rest: Any) -> None:
    from beamtrack.workers.store import JobState

    server = server_factory()
    store = server.store
    job_id = rest(server).submit(fodo_spec())["id"]
    claimed = store.claim()
    assert claimed == (job_id, 1)
    assert store.finish(job_id, 1, JobState.SUCCEEDED, result={"steps": 3})
    assert not store.finish(job_id, 1, JobState.FAILED, error="late")
    assert store.requeue(job_id, 1, "late crash", max_attempts=5) == "stale"
    assert store.get(job_id).state is JobState.SUCCEEDED
    with pytest.raises(ValueError):
        store.finish(job_id, 1, JobState.RUNNING)


def test_redis_restart_with_aof_loses_nothing(server_factory: Any, rest: Any, tmp_path: Any) -> None:
    from beamtrack.workers.redis_server import RedisServer

    redis = RedisServer(tmp_path / "aof").start()
    try:
        server = server_factory(redis_url=redis.url)
        c = rest(server)
        ids = [c.submit(fodo_spec(name=f"j{i}"), priority=i % 2)["id"] for i in range(4)]
        order = server.store.queued_ids()
        events = {i: [ev.id for ev in server.store.read_events(i)] for i in ids}
        server.stop()
        redis.stop()
        redis = RedisServer(tmp_path / "aof", port=redis.port).start()
        server2 = server_factory(redis_url=redis.url)
        assert server2.store.queued_ids() == order
        assert {j["id"] for j in rest(server2).iter_jobs()} == set(ids)
        assert {i: [ev.id for ev in server2.store.read_events(i)] for i in ids} == events
    finally:
        redis.stop()


def test_health_ready_metrics_docs(server_factory: Any, rest: Any) -> None:
    server = server_factory()
    rest(server).submit(fodo_spec())
    url = f"http://127.0.0.1:{server.http_port}"
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] is True
    metrics = httpx.get(f"{url}/metrics").text
    assert 'beamtrack_jobs_submitted_total{transport="rest"} 1.0' in metrics
    assert 'beamtrack_jobs{state="queued"} 1.0' in metrics
    assert "beamtrack_http_request_seconds_bucket" in metrics
    openapi = httpx.get(f"{url}/openapi.json").json()
    assert "/v1/jobs/{job_id}/events" in openapi["paths"]
    assert httpx.get(f"{url}/docs").status_code == 200


def test_settings_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    from beamtrack.server.settings import Settings
    from pydantic import ValidationError

    for var in ("BEAMTRACK_API_TOKENS", "BEAMTRACK_EMBEDDED", "BEAMTRACK_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValidationError, match="api_tokens"):
        Settings(redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(ValidationError, match="loopback"):
        Settings(embedded=True, host="0.0.0.0")
    monkeypatch.setenv("BEAMTRACK_API_TOKENS", json.dumps([{"user": "u", "sha256": "abc"}]))
    with pytest.raises(ValidationError, match="sha256"):
        Settings(redis_url="redis://127.0.0.1:1/0")
    monkeypatch.setenv("BEAMTRACK_API_TOKENS", json.dumps([{"user": "u", "sha256": "a" * 64}]))
    monkeypatch.setenv("BEAMTRACK_MAX_ATTEMPTS", "4")
    s = Settings(redis_url="redis://127.0.0.1:1/0")
    assert s.api_tokens[0].user == "u" and s.max_attempts == 4
