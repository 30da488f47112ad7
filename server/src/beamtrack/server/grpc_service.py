"""gRPC front door: a thin servicer of beamtrack.v1.JobService over the same JobService."""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent import futures
from typing import Any, TypeVar

import grpc
import orjson
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc
from beamtrack.spec.v1.convert import PB_TO_STATE, STATE_TO_PB, job_to_pb
from beamtrack.workers.errors import (
    InvalidArgument,
    ServiceError,
)
from beamtrack.workers.store import JobRecord, StreamEvent

from .limits import check_spec_size
from .metrics import Metrics
from .service import JobService, Principal, job_public
from .streams import StreamHub


def grpc_code(exc: ServiceError) -> grpc.StatusCode:
    """The gRPC status of a service error (defined with the class, in beamtrack.spec.contract)."""
    return grpc.StatusCode[exc.grpc_status]


def job_pb(rec: JobRecord) -> pb.Job:
    """``pb.Job`` of a record: its public form, through the contract's one converter."""
    return job_to_pb(job_public(rec))


NAN = float("nan")
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)


def _f64(v: Any) -> float:
    """A stored value as a protobuf double: numbers as they are, non-finite ones and anything
    that is not a number (null, text, lists: a worker may store anything) as NaN."""
    if isinstance(v, float):
        return v if math.isfinite(v) else NAN
    if isinstance(v, int):
        try:
            return float(v)
        except OverflowError:
            return NAN
    return NAN


def _int(v: Any, bounds: tuple[int, int] = INT64) -> int:
    """A stored value as a protobuf integer: clamped to the field's range; 0 for what is not a
    finite number."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return 0
        v = int(v)
    if not isinstance(v, int):
        return 0
    return min(max(v, bounds[0]), bounds[1])


def _str(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v, default=str)


def _state(v: Any) -> pb.JobState:
    return STATE_TO_PB.get(v, pb.JOB_STATE_UNSPECIFIED) if isinstance(v, str) else (pb.JOB_STATE_UNSPECIFIED)


def _payload(ev: StreamEvent) -> dict[str, Any]:
    """The event's payload as a dict; what is not a JSON object comes as ``{}`` (logged events
    keep their text as the message)."""
    try:
        d = _loads(ev.raw)
    except (ValueError, RecursionError):
        return {}
    return d if isinstance(d, dict) else {}


def event_pb(ev: StreamEvent) -> pb.JobEvent:
    """The JobEvent of a stored event. Total: any payload a worker may have stored becomes a
    message (non-finite and non-numeric values NaN, integers clamped to their field)."""
    d = _payload(ev)
    if ev.kind == "diag":
        values = {str(k): _f64(v) for k, v in d.items()}
        return pb.JobEvent(
            id=ev.id, diagnostics=pb.DiagnosticsRow(step=_int(d.get("step")), s=_f64(d.get("s", 0.0)), values=values)
        )
    if ev.kind == "state":
        return pb.JobEvent(
            id=ev.id,
            state=pb.StateChange(
                state=_state(d.get("state")),
                attempt=_int(d.get("attempt"), INT32),
                reason=_str(d.get("reason") or d.get("error")),
            ),
        )
    if ev.kind == "result":
        arts = d.get("artifacts")
        return pb.JobEvent(
            id=ev.id,
            result=pb.JobResult(
                state=_state(d.get("state")),
                error=_str(d.get("error")),
                steps=_int(d.get("steps")),
                wall_time_s=_f64(d.get("wall_time_s") or 0.0),
                artifacts=[_str(a) for a in arts] if isinstance(arts, list) else [],
            ),
        )
    if ev.kind == "custom":
        return pb.JobEvent(
            id=ev.id,
            custom=pb.CustomValue(name=_str(d.get("name")), value=_f64(d.get("value", 0.0)), step=_int(d.get("step"))),
        )
    msg = d.get("msg") if d else ev.raw
    return pb.JobEvent(id=ev.id, log=pb.LogLine(message=_str(msg)))


#: Most events, and about the most payload bytes, one JobEventBatch carries (well under gRPC's
#: 4 MiB default message limit; a diagnostics row is ~0.4 kB on the wire, ~1.4 kB as JSON).
BATCH_EVENTS = 512
BATCH_BYTES = 1 << 20


def _loads(raw: str) -> dict[str, Any]:
    """A stored payload decoded: orjson (several times faster than json on a diagnostics row),
    json for what orjson refuses (NaN/Infinity tokens, which json.dumps writes)."""
    try:
        out: dict[str, Any] = orjson.loads(raw)
    except orjson.JSONDecodeError:
        out = json.loads(raw)
    return out


class EventPacker:
    """Packs one StreamEvents call's events into JobEventBatch messages: diagnostics rows
    columnar (``DiagnosticsRow.data`` in the order of the header ``columns``), other events as
    in StreamDiagnostics. A batch carries ``columns`` when it is the call's first to need them
    or they changed; ``self.columns`` is the header the client has after the last batch."""

    def __init__(self) -> None:
        self.columns: tuple[str, ...] = ()

    def pack(self, events: Iterable[StreamEvent]) -> Iterator[pb.JobEventBatch]:
        """Batches of ``events``, in order."""
        out = pb.JobEventBatch()
        size = 0
        rows = False  # out holds diagnostics rows (under self.columns)
        for ev in events:
            if ev.kind == "diag":
                # a columnar row needs a column: an empty or non-object payload is a bare step
                d = _payload(ev) or {"step": None}
                keys = tuple(str(k) for k in d)
                if keys != self.columns:
                    if rows:  # the rows already packed are under the old header
                        yield out
                        out, size = pb.JobEventBatch(), 0
                    out.columns.extend(keys)
                    self.columns = keys
                out.events.append(
                    pb.JobEvent(
                        id=ev.id,
                        diagnostics=pb.DiagnosticsRow(
                            step=_int(d.get("step")), s=_f64(d.get("s", 0.0)), data=[_f64(v) for v in d.values()]
                        ),
                    )
                )
                rows = True
            else:
                out.events.append(event_pb(ev))
            size += len(ev.raw)
            if len(out.events) >= BATCH_EVENTS or size >= BATCH_BYTES:
                yield out
                out, size, rows = pb.JobEventBatch(), 0, False
        if out.events:
            yield out


def _counts_pb(counts: dict[str, Any]) -> pb.ScanCounts:
    return pb.ScanCounts(
        **{k: _int(counts.get(k), INT32) for k in ("queued", "running", "succeeded", "failed", "cancelled")}
    )


def scan_pb(scan: dict[str, Any]) -> pb.Scan:
    """``pb.Scan`` of a scan's public form (``service.scan_public``)."""
    return pb.Scan(
        id=scan["id"],
        owner=scan["owner"],
        name=scan["name"],
        state=_state(scan["state"]),
        variants=_int(scan["variants"], INT32),
        counts=_counts_pb(scan["counts"]),
        parameters=list(scan["parameters"]),
        priority=scan["priority"],
        device=scan["device"],
        created_at=scan["created_at"],
        cancel_requested=scan["cancel_requested"],
    )


def scan_event_pb(ev: StreamEvent) -> pb.ScanEvent:
    """The ScanEvent of a stored scan event (written by the store's scripts: ``state``,
    ``variant``, ``result``)."""
    d = _payload(ev)
    if ev.kind == "variant":
        return pb.ScanEvent(
            id=ev.id,
            variant=pb.ScanVariantChange(
                variant=_int(d.get("variant"), INT32),
                job_id=_str(d.get("job_id")),
                state=_state(d.get("state")),
                attempts=_int(d.get("attempts"), INT32),
            ),
        )
    if ev.kind == "result":
        counts = d.get("counts")
        return pb.ScanEvent(
            id=ev.id,
            result=pb.ScanFinished(
                state=_state(d.get("state")), counts=_counts_pb(counts if isinstance(counts, dict) else {})
            ),
        )
    return pb.ScanEvent(id=ev.id, submitted=pb.ScanSubmitted(variants=_int(d.get("variants"), INT32)))


class ScanServicer:
    """The scan calls of beamtrack.v1.JobService (mixed into JobServicer): JobService's scan
    operations, as the REST routes of routes_scans call them."""

    service: JobService
    metrics: Metrics
    hub: StreamHub
    max_spec_bytes: int
    _call: Callable[..., Any]
    _who: Callable[[Any], Principal]

    def SubmitScan(self, request: pb.SubmitScanRequest, context: Any) -> pb.Scan:
        def go(who: Principal) -> pb.Scan:
            check_spec_size(len(request.scan_json.encode()), self.max_spec_bytes)
            try:
                scan = json.loads(request.scan_json or "{}")
            except ValueError as exc:
                msg = f"not JSON: {exc}"
                raise InvalidArgument(f"scan: {msg}", details=[{"loc": "scan", "msg": msg}]) from None
            out = self.service.submit_scan(
                who,
                scan,
                priority=request.priority,
                device=request.device or "auto",
                hook_module=request.hook_module or None,
            )
            return scan_pb(out)

        out: pb.Scan = self._call("SubmitScan", context, go)
        return out

    def GetScan(self, request: pb.GetScanRequest, context: Any) -> pb.Scan:
        out: pb.Scan = self._call("GetScan", context, lambda who: scan_pb(self.service.get_scan(who, request.id)))
        return out

    def ListScans(self, request: pb.ListScansRequest, context: Any) -> pb.ListScansResponse:
        def go(who: Principal) -> pb.ListScansResponse:
            items, nxt = self.service.list_scans(who, limit=request.limit or 50, cursor=request.cursor or None)
            return pb.ListScansResponse(scans=[scan_pb(i) for i in items], next_cursor=nxt or "")

        out: pb.ListScansResponse = self._call("ListScans", context, go)
        return out

    def CancelScan(self, request: pb.GetScanRequest, context: Any) -> pb.Scan:
        out: pb.Scan = self._call("CancelScan", context, lambda who: scan_pb(self.service.cancel_scan(who, request.id)))
        return out

    def GetScanResults(self, request: pb.GetScanRequest, context: Any) -> pb.ScanResults:
        def go(who: Principal) -> pb.ScanResults:
            columns, rows = self.service.scan_results(who, request.id)
            finite = [
                {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()} for r in rows
            ]
            return pb.ScanResults(scan_id=request.id, columns=columns, rows_json=json.dumps(finite))

        out: pb.ScanResults = self._call("GetScanResults", context, go)
        return out

    async def StreamScanEvents(
        self, request: pb.StreamScanEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.ScanEvent]:
        # through the stream hub, as a job's stream: no thread while it waits, the same limit
        try:
            who = self._who(context)
            sub = await self.hub.open_scan(who, request.id, request.after_id or None)
        except ServiceError as exc:
            code = grpc_code(exc)
            self.metrics.grpc_requests.labels("StreamScanEvents", code.name).inc()
            await context.abort(code, exc.message)
        self.metrics.grpc_requests.labels("StreamScanEvents", "OK").inc()
        try:
            async for batch in sub.batches():
                if batch:
                    self.metrics.stream_events.labels("grpc").inc(len(batch))
                for ev in batch:
                    yield scan_event_pb(ev)
        except ServiceError as exc:
            await context.abort(grpc_code(exc), exc.message)
        finally:
            sub.close()


T = TypeVar("T")


class JobServicer(ScanServicer, pb_grpc.JobServiceServicer):
    """Translates beamtrack.v1 messages to JobService calls; errors become status codes.

    Unary calls are plain functions (grpc.aio runs them on its thread pool); the streams are
    coroutines on the server's event loop, fed by the StreamHub, so an idle stream holds no
    thread and no Redis connection."""

    def __init__(self, service: JobService, metrics: Metrics, hub: StreamHub, *, max_spec_bytes: int):
        self.service = service
        self.metrics = metrics
        self.hub = hub
        self.max_spec_bytes = max_spec_bytes

    def _who(self, context: Any) -> Principal:
        md = dict(context.invocation_metadata() or ())
        return self.service.authenticate(md.get("authorization"))

    def _call(self, name: str, context: Any, fn: Callable[[Principal], T]) -> T:
        try:
            out = fn(self._who(context))
        except ServiceError as exc:
            code = grpc_code(exc)
            self.metrics.grpc_requests.labels(name, code.name).inc()
            context.abort(code, exc.message)
        self.metrics.grpc_requests.labels(name, "OK").inc()
        return out

    def SubmitJob(self, request: pb.SubmitJobRequest, context: Any) -> pb.Job:
        def go(who: Principal) -> pb.Job:
            check_spec_size(len(request.spec_json.encode()), self.max_spec_bytes)
            rec = self.service.submit(
                who,
                request.spec_json or "{}",
                priority=request.priority,
                device=request.device or "auto",
                hook_module=request.hook_module or None,
            )
            self.metrics.submitted.labels("grpc").inc()
            return job_pb(rec)

        return self._call("SubmitJob", context, go)

    def GetJob(self, request: pb.GetJobRequest, context: Any) -> pb.Job:
        return self._call("GetJob", context, lambda who: job_pb(self.service.get(who, request.id)))

    def ListJobs(self, request: pb.ListJobsRequest, context: Any) -> pb.ListJobsResponse:
        def go(who: Principal) -> pb.ListJobsResponse:
            recs, nxt = self.service.list_jobs(
                who, state=PB_TO_STATE.get(request.state), limit=request.limit or 50, cursor=request.cursor or None
            )
            return pb.ListJobsResponse(jobs=[job_pb(r) for r in recs], next_cursor=nxt or "")

        return self._call("ListJobs", context, go)

    def CancelJob(self, request: pb.CancelJobRequest, context: Any) -> pb.Job:
        return self._call("CancelJob", context, lambda who: job_pb(self.service.cancel(who, request.id)))

    async def _batches(
        self, name: str, request: pb.StreamDiagnosticsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[builtins.list[StreamEvent]]:
        """The hub's batches for the call; a refusal or failure ends the call with its code."""
        try:
            who = self._who(context)
            sub = await self.hub.open(who, request.id, request.after_id or None)
        except ServiceError as exc:
            code = grpc_code(exc)
            self.metrics.grpc_requests.labels(name, code.name).inc()
            await context.abort(code, exc.message)
        self.metrics.grpc_requests.labels(name, "OK").inc()
        try:
            async for batch in sub.batches():
                if batch:
                    self.metrics.stream_events.labels("grpc").inc(len(batch))
                yield batch
        except ServiceError as exc:
            await context.abort(grpc_code(exc), exc.message)
        finally:
            sub.close()

    async def StreamDiagnostics(
        self, request: pb.StreamDiagnosticsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.JobEvent]:
        async for batch in self._batches("StreamDiagnostics", request, context):
            for ev in batch:
                yield event_pb(ev)

    async def StreamEvents(
        self, request: pb.StreamDiagnosticsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.JobEventBatch]:
        packer = EventPacker()
        async for batch in self._batches("StreamEvents", request, context):
            for out in packer.pack(batch):
                yield out


def create_grpc_server(
    service: JobService,
    metrics: Metrics,
    hub: StreamHub,
    address: str,
    *,
    max_workers: int = 32,
    max_spec_bytes: int = 1 << 20,
    max_message_bytes: int = 4 << 20,
) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server (not yet started; create it on the loop that will run it) bound to
    ``address``; returns it and the bound port (``address`` may end in :0). Unary calls run on
    ``max_workers`` threads; streams run on the loop. Requests over ``max_message_bytes`` are
    refused by gRPC itself (RESOURCE_EXHAUSTED)."""
    server = grpc.aio.server(
        migration_thread_pool=futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        options=[("grpc.max_receive_message_length", max_message_bytes)],
    )
    pb_grpc.add_JobServiceServicer_to_server(JobServicer(service, metrics, hub, max_spec_bytes=max_spec_bytes), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"gRPC could not bind {address}")
    return server, port
