"""gRPC front door: a thin servicer of beamtrack.v1.JobService over the same JobService."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from typing import Any, TypeVar

import grpc
import orjson
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc
from beamtrack.workers.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from beamtrack.workers.store import JobRecord, StreamEvent

from .metrics import Metrics
from .service import JobService, Principal

GRPC_CODE: dict[type[ServiceError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Conflict: grpc.StatusCode.FAILED_PRECONDITION,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}
STATE_TO_PB = {
    "queued": pb.JOB_STATE_QUEUED, "running": pb.JOB_STATE_RUNNING,
    "succeeded": pb.JOB_STATE_SUCCEEDED, "failed": pb.JOB_STATE_FAILED,
    "cancelled": pb.JOB_STATE_CANCELLED,
}
PB_TO_STATE = {v: k for k, v in STATE_TO_PB.items()}


def grpc_code(exc: ServiceError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in GRPC_CODE:
            return GRPC_CODE[cls]
    return grpc.StatusCode.INTERNAL


def job_pb(rec: JobRecord) -> pb.Job:
    return pb.Job(
        id=rec.id, owner=rec.owner, name=rec.name, state=STATE_TO_PB[rec.state.value],
        priority=rec.priority, device=rec.device, step=rec.step, total_steps=rec.total_steps,
        created_at=rec.created_at, started_at=rec.started_at or 0.0,
        finished_at=rec.finished_at or 0.0, attempts=rec.attempts, error=rec.error,
        cancel_requested=rec.cancel_requested,
    )


def event_pb(ev: StreamEvent) -> pb.JobEvent:
    d = ev.data
    if ev.kind == "diag":
        values = {k: float(v) if v is not None else float("nan") for k, v in d.items()}
        return pb.JobEvent(id=ev.id, diagnostics=pb.DiagnosticsRow(
            step=int(d.get("step") or 0), s=float(d.get("s") or 0.0), values=values))
    if ev.kind == "state":
        return pb.JobEvent(id=ev.id, state=pb.StateChange(
            state=STATE_TO_PB[d["state"]], attempt=int(d.get("attempt", 0)),
            reason=str(d.get("reason") or d.get("error") or "")))
    if ev.kind == "result":
        return pb.JobEvent(id=ev.id, result=pb.JobResult(
            state=STATE_TO_PB[d["state"]], error=str(d.get("error") or ""),
            steps=int(d.get("steps") or 0), wall_time_s=float(d.get("wall_time_s") or 0.0),
            artifacts=list(d.get("artifacts") or [])))
    if ev.kind == "custom":
        return pb.JobEvent(id=ev.id, custom=pb.CustomValue(
            name=str(d.get("name", "")), value=float(d.get("value", 0.0)),
            step=int(d.get("step", 0))))
    return pb.JobEvent(id=ev.id, log=pb.LogLine(message=str(d.get("msg", ""))))


NAN = float("nan")
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
                d = _loads(ev.raw)
                keys = tuple(d)
                if keys != self.columns:
                    if rows:  # the rows already packed are under the old header
                        yield out
                        out, size = pb.JobEventBatch(), 0
                    out.columns.extend(keys)
                    self.columns = keys
                out.events.append(pb.JobEvent(id=ev.id, diagnostics=pb.DiagnosticsRow(
                    step=int(d.get("step") or 0), s=float(d.get("s") or 0.0),
                    data=[NAN if v is None else v for v in d.values()])))
                rows = True
            else:
                out.events.append(event_pb(ev))
            size += len(ev.raw)
            if len(out.events) >= BATCH_EVENTS or size >= BATCH_BYTES:
                yield out
                out, size, rows = pb.JobEventBatch(), 0, False
        if out.events:
            yield out


T = TypeVar("T")


class JobServicer(pb_grpc.JobServiceServicer):
    """Translates beamtrack.v1 messages to JobService calls; errors become status codes."""

    def __init__(self, service: JobService, metrics: Metrics):
        self.service = service
        self.metrics = metrics

    def _who(self, context: grpc.ServicerContext) -> Principal:
        md = dict(context.invocation_metadata())
        return self.service.authenticate(md.get("authorization"))

    def _call(self, name: str, context: grpc.ServicerContext,
              fn: Callable[[Principal], T]) -> T:
        try:
            out = fn(self._who(context))
        except ServiceError as exc:
            code = grpc_code(exc)
            self.metrics.grpc_requests.labels(name, code.name).inc()
            context.abort(code, exc.message)
        self.metrics.grpc_requests.labels(name, "OK").inc()
        return out

    def SubmitJob(self, request: pb.SubmitJobRequest, context: grpc.ServicerContext) -> pb.Job:
        def go(who: Principal) -> pb.Job:
            rec = self.service.submit(who, request.spec_json or "{}", priority=request.priority,
                                      device=request.device or "auto",
                                      hook_module=request.hook_module or None)
            self.metrics.submitted.labels("grpc").inc()
            return job_pb(rec)
        return self._call("SubmitJob", context, go)

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return self._call("GetJob", context, lambda who: job_pb(self.service.get(who, request.id)))

    def ListJobs(self, request: pb.ListJobsRequest,
                 context: grpc.ServicerContext) -> pb.ListJobsResponse:
        def go(who: Principal) -> pb.ListJobsResponse:
            recs, nxt = self.service.list(
                who, state=PB_TO_STATE.get(request.state), limit=request.limit or 50,
                cursor=request.cursor or None)
            return pb.ListJobsResponse(jobs=[job_pb(r) for r in recs], next_cursor=nxt or "")
        return self._call("ListJobs", context, go)

    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> pb.Job:
        return self._call("CancelJob", context,
                          lambda who: job_pb(self.service.cancel(who, request.id)))

    def StreamDiagnostics(self, request: pb.StreamDiagnosticsRequest,
                          context: grpc.ServicerContext) -> Iterator[pb.JobEvent]:
        events: Any = self._call("StreamDiagnostics", context, lambda who: self.service.events(
            who, request.id, request.after_id or None))
        try:
            for batch in events:
                if not context.is_active():
                    return
                self.metrics.stream_events.labels("grpc").inc(len(batch))
                for ev in batch:
                    yield event_pb(ev)
        except ServiceError as exc:
            context.abort(grpc_code(exc), exc.message)

    def StreamEvents(self, request: pb.StreamDiagnosticsRequest,
                     context: grpc.ServicerContext) -> Iterator[pb.JobEventBatch]:
        events: Any = self._call("StreamEvents", context, lambda who: self.service.events(
            who, request.id, request.after_id or None))
        packer = EventPacker()
        try:
            for batch in events:
                if not context.is_active():
                    return
                if not batch:
                    continue
                self.metrics.stream_events.labels("grpc").inc(len(batch))
                yield from packer.pack(batch)
        except ServiceError as exc:
            context.abort(grpc_code(exc), exc.message)


def create_grpc_server(
    service: JobService, metrics: Metrics, address: str, *, max_workers: int = 64,
) -> tuple[grpc.Server, int]:
    """A started-ready (not yet started) gRPC server bound to ``address``; returns it and the
    bound port (``address`` may end in :0)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers,
                                                    thread_name_prefix="grpc"))
    pb_grpc.add_JobServiceServicer_to_server(JobServicer(service, metrics), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"gRPC could not bind {address}")
    return server, port
