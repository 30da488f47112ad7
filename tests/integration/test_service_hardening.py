"""Issue 8, items 4, 8, 11 and 13 against real servers on 127.0.0.1 and the test's real Redis:
events a hostile worker writes straight into a job's stream, the per-user stream limit, streams
releasing what they hold when the client goes, inputs that used to answer 500, request-size
limits, and TCP_NODELAY on accepted connections."""

from __future__ import annotations

import asyncio
import json
import math
import socket
from typing import Any

import grpc
import httpx
import orjson
import pytest
from beamtrack.server.process import listen_socket
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc
from beamtrack.workers.sandbox import hook_module_problem
from beamtrack.workers.store import JobState
from beamtrack.workers.store_async import CLIENT_NAME

from .conftest import TOKENS, fodo_spec, wait_for

pytestmark = pytest.mark.integration

AUTH = {"authorization": f"Bearer {TOKENS['alice']}"}
MD = [("authorization", f"Bearer {TOKENS['alice']}")]
#: (kind, payload) pairs a hostile worker may store; each must reach every client as an event.
HOSTILE = [
    ("custom", '{"name": "x", "value": NaN, "step": 3}'),
    ("custom", '{"name": "y", "value": Infinity, "step": 1e30}'),
    ("custom", '{"name": "z", "value": -Infinity, "step": ' + "9" * 40 + "}"),
    ("custom", '{"name": 5, "value": "text", "step": NaN}'),
    ("diag", '{"step": 1e30, "s": NaN, "x": "abc", "y": [1, 2], "z": ' + "9" * 400 + "}"),
    ("diag", "[1, 2, 3]"),
    ("state", '{"state": "bogus", "attempt": 1e30, "reason": {"nested": true}}'),
    ("log", "not json at all"),
    ("log", '{\n"msg": "a payload over two lines"}'),
    ("diag\nevent: forged", '{"msg": "a kind with a line break"}'),
    ("custom", "[" * 100_000 + "]" * 100_000),
    ("result", '{"state": "nope", "steps": -1e300, "wall_time_s": "x", "artifacts": [1, null]}'),
]


#: compact diagnostics rows (``diag_rows``) a hostile worker may store: not base64, the wrong
#: length for their columns, columns nobody stored, stored columns that are no list of names, no
#: columns id; each must reach every client as an event (SSE: ``{}``, as undecodable JSON)
HOSTILE_COMPACT = [
    {"k": "diag", "c": "good", "b": "not base64!"},
    {"k": "diag", "c": "good", "b": "AAAAAAAAAAA="},
    {"k": "diag", "c": "nobody", "b": "AAAAAAAAAAAAAAAAAAAAAA=="},
    {"k": "diag", "c": "notalist", "b": "AAAAAAAAAAAAAAAAAAAAAA=="},
    {"k": "diag", "b": "AAAAAAAAAAAAAAAAAAAAAA=="},
    {"k": "diag", "c": "good", "b": "AAAAAAAA8D8AAAAAAADgPw=="},  # a good one among them: step 1, s 0.5
]


def _running_job(server: Any, rest: Any) -> str:
    job_id = rest(server).submit(fodo_spec(npart=10))["id"]
    claimed = server.store.claim()
    assert claimed is not None and claimed[0] == job_id
    return str(job_id)


def _sse_events(server: Any, job_id: str, **params: str) -> list[tuple[str, str, Any]]:
    """(id, event, data) of a whole SSE response; data parsed as strict JSON (orjson)."""
    out: list[tuple[str, str, Any]] = []
    with httpx.stream(
        "GET", f"http://127.0.0.1:{server.http_port}/v1/jobs/{job_id}/events", params=params, headers=AUTH, timeout=30
    ) as resp:
        assert resp.status_code == 200
        ev: dict[str, str] = {}
        for line in resp.iter_lines():
            if line == "":
                if ev:
                    out.append((ev.get("id", ""), ev.get("event", ""), orjson.loads(ev["data"])))
                ev = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                assert name not in ev, f"field {name!r} twice in one event"
                ev[name] = value
    return out


def test_hostile_events_reach_every_client(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    job_id = _running_job(server, rest)
    key = server.store.stream_key(job_id)
    prefix = server.settings.key_prefix
    server.store.r.set(f"{prefix}:diagcols:good", '["step", "s"]')
    server.store.r.set(f"{prefix}:diagcols:notalist", '{"step": 1}')
    for fields in [
        *({"k": k, "d": d} for k, d in HOSTILE[:-1]),
        *HOSTILE_COMPACT,
        {"k": "result", "d": HOSTILE[-1][1]},
    ]:
        server.store.r.xadd(key, fields)
    stored = len(server.store.r.xrange(key))  # queued, running and the hostile ones

    # gRPC, per event and batched: every stored event once, ending at the forged result
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        stub = pb_grpc.JobServiceStub(ch)
        req = pb.StreamDiagnosticsRequest(id=job_id)
        events = list(stub.StreamDiagnostics(req, metadata=MD, timeout=30))
        batched = [e for b in stub.StreamEvents(req, metadata=MD, timeout=30) for e in b.events]
    assert len(events) == len(batched) == stored
    assert [e.id for e in events] == [e.id for e in batched]
    custom = [e.custom for e in events if e.HasField("custom")]
    assert math.isnan(custom[0].value) and custom[0].step == 3
    assert math.isnan(custom[1].value) and custom[1].step == 2**63 - 1  # clamped to int64
    assert math.isnan(custom[2].value) and custom[2].step == 2**63 - 1
    assert custom[3].name == "5" and math.isnan(custom[3].value) and custom[3].step == 0
    diag = next(e.diagnostics for e in events if e.HasField("diagnostics"))
    assert diag.step == 2**63 - 1 and math.isnan(diag.s)
    assert all(math.isnan(diag.values[c]) for c in ("x", "y", "z"))
    forged = [e.state for e in events if e.HasField("state")][-1]
    assert forged.state == pb.JOB_STATE_UNSPECIFIED and forged.attempt == 2**31 - 1
    assert events[-1].HasField("result") and events[-1].result.steps == -(2**63)
    assert list(events[-1].result.artifacts) == ["1", ""]
    # the SDK's readers carry them too
    assert len(list(grpc_client(server).events(job_id))) == stored

    # SSE: one event per stored entry, each data line valid JSON, NaN and Infinity as null
    sse = _sse_events(server, job_id)
    assert [i for i, _, _ in sse] == [e.id for e in events]
    customs = [d for _, k, d in sse if k == "custom"]
    assert customs[0] == {"name": "x", "value": None, "step": 3}
    assert customs[1]["value"] is None and customs[2]["value"] is None
    assert {k for _, k, _ in sse} == {"state", "custom", "diag", "log", "result"}
    assert [d for _, k, d in sse if k == "diag"][-len(HOSTILE_COMPACT) :] == [{}] * 5 + [{"step": 1, "s": 0.5}]
    assert len(list(rest(server).events(job_id))) == stored

    # the server carries on: the job still finishes, and its stream resumes past the forgery
    assert server.store.finish(job_id, 1, JobState.SUCCEEDED, result={"steps": 0})
    tail = list(rest(server).events(job_id, after=sse[-1][0]))
    assert [e.kind for e in tail] == ["state", "result"]
    assert tail[-1].data["state"] == "succeeded"


def test_stream_limit_per_user(server_factory: Any, rest: Any) -> None:
    server = server_factory(max_streams_per_user=3)
    job_id = _running_job(server, rest)
    url = f"http://127.0.0.1:{server.http_port}/v1/jobs/{job_id}/events"

    async def scenario() -> None:
        async with httpx.AsyncClient(headers=AUTH, timeout=30) as c:
            held = [await c.send(c.build_request("GET", url), stream=True) for _ in range(3)]
            assert all(r.status_code == 200 for r in held)
            over = await c.get(url)
            assert over.status_code == 429
            err = over.json()["error"]
            assert err["code"] == "RESOURCE_EXHAUSTED" and err["details"][0]["loc"] == "streams"
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
                stub = pb_grpc.JobServiceStub(ch)
                call = stub.StreamEvents(pb.StreamDiagnosticsRequest(id=job_id), metadata=MD)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await call.read()
                assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            # the limit is per user: the admin still opens one on alice's job
            admin = await c.send(
                c.build_request("GET", url, headers={"authorization": f"Bearer {TOKENS['admin']}"}), stream=True
            )
            assert admin.status_code == 200
            await admin.aclose()
            await held[0].aclose()
            await asyncio.to_thread(
                wait_for, lambda: server.call(lambda: server.hub.active) == 2, 10, "the closed stream's slot"
            )
            again = await c.send(c.build_request("GET", url), stream=True)
            assert again.status_code == 200
            for r in (*held[1:], again):
                await r.aclose()

    asyncio.run(scenario())
    wait_for(lambda: server.call(lambda: server.hub.active) == 0, 10, "all slots free")


def _stream_connections(server: Any) -> int:
    return sum(1 for c in server.store.r.client_list() if c.get("name") == CLIENT_NAME)


def test_streams_release_everything_on_disconnect(server_factory: Any, rest: Any) -> None:
    server = server_factory()
    jobs = [_running_job(server, rest) for _ in range(3)]
    base = f"http://127.0.0.1:{server.http_port}/v1/jobs"

    async def scenario() -> tuple[int, int, int]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(headers=AUTH, timeout=30, limits=limits) as c,
            grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch,
        ):
            stub = pb_grpc.JobServiceStub(ch)
            sse = [await c.send(c.build_request("GET", f"{base}/{jobs[i % 3]}/events"), stream=True) for i in range(30)]
            calls = [stub.StreamEvents(pb.StreamDiagnosticsRequest(id=jobs[i % 3]), metadata=MD) for i in range(30)]
            for call in calls:  # the first batch (queued, running) proves the call is open
                assert (await call.read()).events
            assert all(r.status_code == 200 for r in sse)
            active = await asyncio.to_thread(server.call, lambda: server.hub.active)
            followed = await asyncio.to_thread(server.call, lambda: server.hub.followed_jobs)
            conns = await asyncio.to_thread(_stream_connections, server)
            for r in sse:
                await r.aclose()
            for call in calls:
                call.cancel()
            return active, followed, conns

    active, followed, conns = asyncio.run(scenario())
    assert (active, followed) == (60, 3)
    # 60 open streams share the pool (at most 16) and the one blocking connection
    assert 1 <= conns <= 17
    wait_for(
        lambda: server.call(lambda: (server.hub.active, server.hub.followed_jobs)) == (0, 0),
        15,
        "every stream released after the clients went",
    )
    # the hub is idle again: a new stream still gets live events
    job_id = jobs[0]
    server.store.publish(job_id, "log", {"msg": "after the crowd left"})
    got = []
    for ev in rest(server).events(job_id):
        got.append(ev)
        if ev.kind == "log":
            break
    assert got[-1].data == {"msg": "after the crowd left"}


def test_live_events_arrive_on_open_streams(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    """An event published while streams wait reaches them (the hub wakes its subscribers),
    and the result ends them."""
    server = server_factory()
    job_id = _running_job(server, rest)
    out: dict[str, list[Any]] = {"sse": [], "grpc": []}

    def follow_sse() -> None:
        out["sse"] = [ev.kind for ev in rest(server).events(job_id)]

    def follow_grpc() -> None:
        out["grpc"] = [ev.kind for ev in grpc_client(server).events(job_id)]

    import threading

    threads = [threading.Thread(target=follow_sse), threading.Thread(target=follow_grpc)]
    for t in threads:
        t.start()
    wait_for(lambda: server.call(lambda: server.hub.active) == 2, 10, "two open streams")
    server.store.publish_rows(job_id, 1, [{"step": 1, "s": 0.1}])
    assert server.store.finish(job_id, 1, JobState.SUCCEEDED, result={"steps": 1})
    for t in threads:
        t.join(30)
    assert out["sse"] == out["grpc"] == ["state", "state", "diag", "state", "result"]


@pytest.mark.parametrize(
    "source", ["-" * 100_000 + "1", "1" + "+1" * 100_000, "x" + ".y" * 100_000, "def before_period(sim):\n  x = 1\0"]
)
def test_hostile_hook_modules_answer_422(server_factory: Any, source: str) -> None:
    assert hook_module_problem(source)  # a reason, not an exception
    server = server_factory()
    r = httpx.post(
        f"http://127.0.0.1:{server.http_port}/v1/jobs",
        headers=AUTH,
        timeout=30,
        json={"spec": fodo_spec(npart=10), "hook_module": source},
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == "hook_module"


def test_malformed_inputs_answer_4xx(server_factory: Any, rest: Any) -> None:
    server = server_factory()
    job_id = rest(server).submit(fodo_spec(npart=10))["id"]
    base = f"http://127.0.0.1:{server.http_port}"
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as c:

        def error(resp: httpx.Response, status: int) -> dict[str, Any]:
            assert resp.status_code == status, resp.text
            body = resp.json()["error"]
            assert set(body) == {"code", "message", "details"}
            return dict(body)

        for name in ("%00", "a%00b", "diags/%00/x.h5"):
            error(c.get(f"/v1/jobs/{job_id}/artifacts/{name}"), 404)
        bad = ("9" * 30, "1-" + "9" * 30, "18446744073709551616-0", "5-", "-5", "\u00b2", "1-\u0663")
        bad_rows = ("1-0.", "1-0.x", "1-0.-1", "1-0." + "9" * 10, "1-0.1.2", ".3", "1-0.\u0663")  # row ids
        for after in bad + bad_rows:
            body = error(c.get(f"/v1/jobs/{job_id}/events", params={"after": after}), 422)
            assert body["details"][0]["loc"] == "after"
            body = error(c.get(f"/v1/jobs/{job_id}/events", headers={"last-event-id": after.encode()}), 422)
            assert body["details"][0]["loc"] == "after"
        for cursor in ("\u00b2", "9" * 40):
            error(c.get("/v1/jobs", params={"cursor": cursor}), 422)
        assert error(c.get("/v1/nothing-here"), 404)["code"] == "NOT_FOUND"
        assert error(c.put("/v1/jobs"), 405)["code"] == "UNIMPLEMENTED"
        deep = '{"spec": ' + "[" * 100_000 + "]" * 100_000 + "}"
        assert error(c.post("/v1/jobs", content=deep, headers={"content-type": "application/json"}), 400)["code"] == (
            "INVALID_ARGUMENT"
        )
        error(c.post("/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}), 422)

    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        stub = pb_grpc.JobServiceStub(ch)
        for after in ("9" * 30, "5-", "\u00b2", "1-0.x"):
            with pytest.raises(grpc.RpcError) as info:
                list(stub.StreamEvents(pb.StreamDiagnosticsRequest(id=job_id, after_id=after), metadata=MD, timeout=30))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as info:
            stub.ListJobs(pb.ListJobsRequest(cursor="\u00b2"), metadata=MD, timeout=30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_spec_and_request_size_limits(server_factory: Any) -> None:
    server = server_factory(max_spec_bytes=64 * 1024)
    base = f"http://127.0.0.1:{server.http_port}"
    spec = fodo_spec(npart=10)
    spec["description"] = "x" * (100 * 1024)  # an unknown field, but the size is seen first
    r = httpx.post(f"{base}/v1/jobs", headers=AUTH, json={"spec": spec}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["details"][0]["loc"] == "spec"
    huge = json.dumps({"spec": spec, "pad": "y" * (2 << 20)}).encode()
    r = httpx.post(f"{base}/v1/jobs", headers=AUTH | {"content-type": "application/json"}, content=huge, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["details"][0]["loc"] == "body"

    def chunks() -> Any:
        for k in range(0, len(huge), 65536):
            yield huge[k : k + 65536]

    r = httpx.post(
        f"{base}/v1/jobs", headers=AUTH | {"content-type": "application/json"}, content=chunks(), timeout=30
    )  # chunked: no length announced
    assert r.status_code == 413 and r.json()["error"]["details"][0]["loc"] == "body"
    ok = httpx.post(f"{base}/v1/jobs", headers=AUTH, json={"spec": fodo_spec(npart=10)}, timeout=30)
    assert ok.status_code == 201

    with grpc.insecure_channel(
        f"127.0.0.1:{server.grpc_port}", options=[("grpc.max_send_message_length", 8 << 20)]
    ) as ch:
        stub = pb_grpc.JobServiceStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            stub.SubmitJob(pb.SubmitJobRequest(spec_json=json.dumps(spec)), metadata=MD, timeout=30)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec" in (info.value.details() or "")
        with pytest.raises(grpc.RpcError) as info:
            stub.SubmitJob(pb.SubmitJobRequest(spec_json="z" * (4 << 20)), metadata=MD, timeout=30)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_accepted_connections_get_tcp_nodelay() -> None:
    """asyncio sets TCP_NODELAY on a connection only when the listening socket's proto is
    IPPROTO_TCP (a socket made with proto 0 gets Nagle's ~40 ms stalls on keep-alive)."""
    seen: list[int] = []

    async def scenario() -> None:
        sock = listen_socket("127.0.0.1", 0)

        def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            s = writer.get_extra_info("socket")
            seen.append(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        srv = await asyncio.start_server(on_conn, sock=sock)
        port = sock.getsockname()[1]
        _, w = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        w.close()
        srv.close()
        await srv.wait_closed()

    asyncio.run(scenario())
    assert seen and seen[0] != 0
