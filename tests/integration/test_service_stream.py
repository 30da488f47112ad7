"""The batched, columnar gRPC stream (StreamEvents) against the per-event one
(StreamDiagnostics) and SSE: same events, same ids, same values, same resume semantics. Streams
are written through the real JobStore into the test's real Redis (no Ray needed)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from beamtrack.server.grpc_service import BATCH_EVENTS, JobServicer
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc
from beamtrack.workers.store import JobState

from .conftest import TOKENS, fodo_spec

pytestmark = pytest.mark.integration

COLUMNS = ["step", "s"] + [
    f"{q}_{a}" for q in ("mean", "min", "max", "sigma", "emittance", "alpha", "beta") for a in ("x", "y", "t")
]


def row(i: int, columns: list[str] = COLUMNS) -> dict[str, Any]:
    r: dict[str, Any] = {c: (i * 0.001 + k) * 1e-3 for k, c in enumerate(columns)}
    r["step"], r["s"] = i + 1, 0.01 * (i + 1)
    if i == 7:
        r["alpha_t"] = None  # a non-finite value, stored as null
    return r


def finished_job(server: Any, rest: Any, rows: list[dict[str, Any]]) -> str:
    """A job whose stream holds: queued, running, a log line, ``rows`` (with a custom value in
    the middle), succeeded, result."""
    job_id = rest(server).submit(fodo_spec(npart=10))["id"]
    claimed = server.store.claim()
    assert claimed is not None and claimed[0] == job_id
    store, attempt = server.store, claimed[1]
    store.publish(job_id, "log", {"msg": "attempt 1 started"})
    half = len(rows) // 2
    store.publish_rows(job_id, attempt, rows[:half])
    store.publish(job_id, "custom", {"name": "tune", "value": 0.25, "step": half})
    store.publish_rows(job_id, attempt, rows[half:])
    assert store.finish(job_id, attempt, JobState.SUCCEEDED, result={"steps": len(rows)})
    return job_id


def raw_batches(server: Any, job_id: str, after: str = "") -> list[pb.JobEventBatch]:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        stub = pb_grpc.JobServiceStub(ch)
        req = pb.StreamDiagnosticsRequest(id=job_id, after_id=after)
        return list(stub.StreamEvents(req, metadata=[("authorization", f"Bearer {TOKENS['alice']}")]))


def raw_events(server: Any, job_id: str) -> list[pb.JobEvent]:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        stub = pb_grpc.JobServiceStub(ch)
        req = pb.StreamDiagnosticsRequest(id=job_id)
        return list(stub.StreamDiagnostics(req, metadata=[("authorization", f"Bearer {TOKENS['alice']}")]))


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_batched_stream_carries_every_event_once(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    rows = [row(i) for i in range(1300)]  # more than one Redis read and one batch
    job_id = finished_job(server, rest, rows)

    batches = raw_batches(server, job_id)
    assert len(batches) >= 3 and all(len(b.events) <= BATCH_EVENTS for b in batches)
    assert list(batches[0].columns) == COLUMNS  # the header once per call...
    assert all(not b.columns for b in batches[1:])  # ...and not again while it holds
    flat = [ev for b in batches for ev in b.events]
    old = raw_events(server, job_id)
    assert [e.id for e in flat] == [e.id for e in old]
    assert [e.WhichOneof("payload") for e in flat] == [e.WhichOneof("payload") for e in old]
    kinds = [e.WhichOneof("payload") for e in flat]
    assert kinds.count("diagnostics") == len(rows) and kinds.count("custom") == 1
    assert kinds[-1] == "result" and kinds.count("result") == 1
    for new, ref in zip(flat, old, strict=True):
        if new.WhichOneof("payload") == "diagnostics":
            assert not new.diagnostics.values and len(new.diagnostics.data) == len(COLUMNS)
            assert (new.diagnostics.step, new.diagnostics.s) == (ref.diagnostics.step, ref.diagnostics.s)
            assert all(same(v, ref.diagnostics.values[c]) for c, v in zip(COLUMNS, new.diagnostics.data, strict=True))
        else:
            assert new == ref

    # the SDK: stream() fills the values maps as StreamDiagnostics sends them ...
    g = grpc_client(server)
    streamed = list(g.stream(job_id))
    assert [e.id for e in streamed] == [e.id for e in old]
    for new, ref in zip(streamed, old, strict=True):
        if ref.WhichOneof("payload") == "diagnostics":
            assert dict(new.diagnostics.values).keys() == dict(ref.diagnostics.values).keys()
            assert all(same(new.diagnostics.values[c], v) for c, v in ref.diagnostics.values.items())
    # ... and events() gives the REST client's Event form, row for row
    sse = list(rest(server).events(job_id))
    via_grpc = list(g.events(job_id))
    assert [(e.id, e.kind) for e in via_grpc] == [(e.id, e.kind) for e in sse]
    diag_g = [e.data for e in via_grpc if e.kind == "diag"]
    assert diag_g == [e.data for e in sse if e.kind == "diag"] == rows
    assert diag_g[7]["alpha_t"] is None and isinstance(diag_g[0]["step"], int)


def test_batched_stream_resumes_mid_batch(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    rows = [row(i) for i in range(700)]
    job_id = finished_job(server, rest, rows)
    g = grpc_client(server)
    full = list(g.events(job_id))
    for cut in (0, 1, 5, 400, BATCH_EVENTS, len(full) - 2):
        after = full[cut].id
        # a new call sends the header again, with the first row it carries
        with_rows = [
            b for b in raw_batches(server, job_id, after=after) if any(e.HasField("diagnostics") for e in b.events)
        ]
        assert all(list(b.columns) == (COLUMNS if k == 0 else []) for k, b in enumerate(with_rows))
        tail = list(g.events(job_id, after=after))
        assert [(e.id, e.data) for e in tail] == [(e.id, e.data) for e in full[cut + 1 :]]
    assert list(g.events(job_id, after=full[-1].id)) == []


def test_column_change_starts_a_new_header(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    server = server_factory()
    wider = [*COLUMNS, "charge_C"]
    rows = [row(i) for i in range(30)] + [row(i, wider) for i in range(30, 60)]
    rows += [row(i) for i in range(60, 90)]
    job_id = finished_job(server, rest, rows)
    headers = [list(b.columns) for b in raw_batches(server, job_id) if b.columns]
    assert headers == [COLUMNS, wider, COLUMNS]
    got = [e.data for e in grpc_client(server).events(job_id) if e.kind == "diag"]
    assert got == rows == [e.data for e in rest(server).events(job_id) if e.kind == "diag"]


def test_sdk_falls_back_to_per_event_stream(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    """An older server without StreamEvents (UNIMPLEMENTED): the SDK reads StreamDiagnostics."""
    server = server_factory()
    rows = [row(i) for i in range(50)]
    job_id = finished_job(server, rest, rows)

    class OldServicer(JobServicer):
        StreamEvents = pb_grpc.JobServiceServicer.StreamEvents  # the generated UNIMPLEMENTED

    async def start_old() -> tuple[grpc.aio.Server, int]:
        old = grpc.aio.server()
        pb_grpc.add_JobServiceServicer_to_server(
            OldServicer(server.service, server.metrics, server.hub, max_spec_bytes=1 << 20), old
        )
        port = old.add_insecure_port("127.0.0.1:0")
        await old.start()
        return old, port

    old, port = asyncio.run_coroutine_threadsafe(start_old(), server._loop).result(10)
    try:
        from beamtrack.client import GrpcClient

        g = GrpcClient(f"127.0.0.1:{port}", TOKENS["alice"])
        events: Iterator[Any] = g.events(job_id)
        got = [e.data for e in events if e.kind == "diag"]
        assert got == rows and g._batched is False
        streamed = list(g.stream(job_id))
        assert streamed[-1].HasField("result")
        assert [e.id for e in streamed] == [e.id for e in grpc_client(server).stream(job_id)]
        g.close()
    finally:
        asyncio.run_coroutine_threadsafe(old.stop(None), server._loop).result(10)


def test_compact_rows_read_as_the_json_rows(server_factory: Any, rest: Any, grpc_client: Any) -> None:
    """Rows published compact (``diag_rows``: values only, as a pack publishes them) reach every
    reader as the rows the JSON path gives, on a second server whose column caches start empty:
    SSE (the servers' async store), both gRPC streams, GET diagnostics, a fresh JobStore's
    ``diagnostics`` and ``last_diagnostics``, resumed after every row (also inside an entry of
    several rows, as a pack stores a variant's rows); NaN reads as None, step as an int, the
    job's progress step and row count as for JSON rows."""
    import numpy as np
    from beamtrack.workers.diag_rows import encode_block, encode_rows
    from beamtrack.workers.store import JobStore

    server = server_factory()
    rows = [row(i) for i in range(12)]
    json_job = finished_job(server, rest, rows)
    compact_job = rest(server).submit(fodo_spec(npart=11))["id"]  # another spec: no result-cache hit
    claimed = server.store.claim()
    assert claimed is not None and claimed[0] == compact_job
    store, attempt = server.store, claimed[1]
    cols = list(rows[0])
    table = np.array([[np.nan if r[c] is None else r[c] for c in cols] for r in rows])
    store.publish(compact_job, "log", {"msg": "attempt 1 started"})
    # entries of one row, of four, of one; then one of all six others
    first = [encode_rows(table[:1])[0], encode_block(table[1:5]), encode_block(table[5:6])]
    assert store.publish_row_values_many(cols, [(compact_job, attempt, first, 6, rows[5]["step"])]) == 6
    store.publish(compact_job, "custom", {"name": "tune", "value": 0.25, "step": 6})
    assert (
        store.publish_row_values_many(cols, [(compact_job, attempt, [encode_block(table[6:])], 6, rows[-1]["step"])])
        == 6
    )
    assert sum(f["k"] == "diag" for _i, f in store.r.xrange(store.stream_key(compact_job))) == 4
    assert store.finish(compact_job, attempt, JobState.SUCCEEDED, result={"steps": len(rows)})

    fresh = server_factory()  # its stores have read no columns yet
    c, g = rest(fresh), grpc_client(fresh)
    for job_id in (json_job, compact_job):
        assert [e.data for e in c.events(job_id) if e.kind == "diag"] == rows
        assert [e.data for e in g.events(job_id) if e.kind == "diag"] == rows
        assert c.diagnostics(job_id) == rows
        assert c.get(job_id)["progress"]["step"] == rows[-1]["step"]
    # the same events, ids and payloads on the per-event gRPC stream, and resumed after the 4th row
    compact_events = raw_events(fresh, compact_job)
    assert [e.WhichOneof("payload") for e in compact_events] == [
        e.WhichOneof("payload") for e in raw_events(fresh, json_job)
    ]
    events = list(c.events(compact_job))
    assert len({e.id for e in events}) == len(events)  # one id an event, rows inside an entry too
    diag_ids = [e.id for e in events if e.kind == "diag"]
    for n, event_id in enumerate(diag_ids):  # SSE resumed after each row: exactly the rest
        assert [e.data for e in c.events(compact_job, after=event_id) if e.kind == "diag"] == rows[n + 1 :]
    for n in (2, 6, 9):  # gRPC resumed inside an entry, at an entry's end and start
        assert [e.data for e in g.events(compact_job, after=diag_ids[n]) if e.kind == "diag"] == rows[n + 1 :]
    cold = JobStore.from_url(fresh.settings.redis_url, prefix=fresh.settings.key_prefix)
    assert cold.diagnostics(compact_job) == rows
    assert cold.last_diagnostics([compact_job, json_job]) == [rows[-1], rows[-1]]
    assert cold.get(compact_job).diag_count == len(rows)


@pytest.mark.parametrize("door", ["sse", "grpc"])
@pytest.mark.parametrize("row_index", [0, 2])
def test_a_stream_resumed_inside_the_newest_entry_waits_for_more(
    server_factory: Any, rest: Any, grpc_client: Any, door: str, row_index: int
) -> None:
    """A follower of a running job resumed after row 0 of its newest compact entry (of three
    rows) gets the rest of that entry, then waits (the StreamHub's blocking read) and gets the
    rows published later, then the result: nothing twice, nothing lost. Resumed after row 2
    (the entry's last row by its index, which the API names by the entry's id) it waits at once."""
    import threading

    import numpy as np
    from beamtrack.workers.diag_rows import encode_block

    server = server_factory()
    job_id = rest(server).submit(fodo_spec(npart=13))["id"]
    claimed = server.store.claim()
    assert claimed is not None and claimed[0] == job_id
    store, attempt = server.store, claimed[1]
    rows = [row(i) for i in range(7)]
    cols = list(rows[0])
    table = np.array([[np.nan if r[c] is None else r[c] for c in cols] for r in rows])
    assert store.publish_row_values_many(cols, [(job_id, attempt, [encode_block(table[:3])], 3, 3)]) == 3
    (entry,) = [i for i, f in store.r.xrange(store.stream_key(job_id)) if f["k"] == "diag"]

    def later() -> None:
        time.sleep(1.0)  # the follower is waiting by then
        store.publish_row_values_many(cols, [(job_id, attempt, [encode_block(table[3:])], 4, 7)])
        store.finish(job_id, attempt, JobState.SUCCEEDED, result={"steps": 7})

    client = rest(server) if door == "sse" else grpc_client(server)
    events = client.events(job_id, after=f"{entry}.{row_index}")
    if row_index == 0:
        first = [next(events), next(events)]
        assert [e.data for e in first] == rows[1:3] and first[-1].id == entry
    writer = threading.Thread(target=later)
    writer.start()
    t0 = time.monotonic()
    rest_of = list(events)
    writer.join()
    assert time.monotonic() - t0 > 0.5  # it waited for the later rows
    assert [e.data for e in rest_of if e.kind == "diag"] == rows[3:]
    assert rest_of[-1].kind == "result"


def test_a_read_holds_about_count_events_whatever_the_entries_hold(
    server_factory: Any, rest: Any, grpc_client: Any
) -> None:
    """``read_events`` asks Redis for READ_ENTRIES entries at a time until it has ``count``
    events: entries of 16 rows (a pack's largest) give at most count + 16 x READ_ENTRIES events a
    read (not 16 x count), entries of one row fill the count over several reads; every reader
    gets every row once, in order, across the reads."""
    import numpy as np
    from beamtrack.workers.diag_rows import encode_block
    from beamtrack.workers.store import READ_ENTRIES

    server = server_factory()
    store = server.store
    rows = [row(i) for i in range(16 * 200)]
    cols = list(rows[0])
    table = np.array([[np.nan if r[c] is None else r[c] for c in cols] for r in rows])
    job_id = rest(server).submit(fodo_spec(npart=17))["id"]
    claimed = store.claim()
    assert claimed is not None and claimed[0] == job_id
    blocks = [encode_block(table[i : i + 16]) for i in range(0, len(rows), 16)]
    assert store.publish_row_values_many(cols, [(job_id, claimed[1], blocks, len(rows), rows[-1]["step"])]) == len(rows)
    assert store.finish(job_id, claimed[1], JobState.SUCCEEDED, result={"steps": len(rows)})
    first = store.read_events(job_id, "0-0", count=1000)
    assert 1000 <= len(first) <= 1000 + 16 * READ_ENTRIES
    json_job = finished_job(server, rest, [row(i) for i in range(1300)])
    assert len(store.read_events(json_job, "0-0", count=1000)) >= 1000  # one-row entries: several reads
    c, g = rest(server), grpc_client(server)
    assert [e.data for e in c.events(job_id) if e.kind == "diag"] == rows
    assert [e.data for e in g.events(job_id) if e.kind == "diag"] == rows
