"""REST front door (FastAPI): /v1/jobs and friends; OpenAPI docs at /docs."""

# No "from __future__ import annotations": FastAPI resolves the route annotations, some of
# which (Caller) are local to create_app.

import csv
import io
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

import orjson
import redis
from beamtrack.spec.contract import PRIORITY_MAX, PRIORITY_MIN, Artifact, JobList, JobPublic
from beamtrack.workers.errors import (
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from beamtrack.workers.store import StreamEvent
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import body_too_large, check_spec_size, request_limit
from .logs import scrub_query
from .metrics import Metrics
from .routes_scans import scans_router
from .routes_twiss import twiss_router
from .service import MAX_PAGE, JobService, Principal, job_public
from .streams import StreamHub, Subscription

#: One line per HTTP request (method, path with token-like query values scrubbed, status,
#: duration, user); never a header.
access_log = logging.getLogger("beamtrack.access")
#: The error code of an HTTP status the framework answers itself (unknown route, bad method).
STATUS_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


def http_status(exc: ServiceError) -> int:
    """The HTTP status of a service error (defined with the class, in beamtrack.spec.contract)."""
    return exc.http_status


def error_body(code: str, message: str, details: list[dict[str, str]]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class SubmitJob(BaseModel):
    """POST /v1/jobs body."""

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] = Field(description="The JobSpec (shared/spec/README.md)")
    priority: int = Field(0, ge=PRIORITY_MIN, le=PRIORITY_MAX, description="Higher runs first; FIFO within a priority")
    device: Literal["auto", "serial", "openmp", "cuda"] = "auto"
    hook_module: str | None = Field(
        None,
        description="Python hook module source: defines any of "
        "before_period, after_period, before_element, after_element, "
        "before_slice; runs in the hook sandbox (refused where the "
        "sandbox cannot run)",
    )


def _finite(v: Any) -> Any:
    """``v`` with every non-finite float replaced by None (JSON has no NaN) and integers
    beyond 64 bits as floats (None past a double's range), as strict parsers read them."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**64:
        try:
            return float(v)
        except OverflowError:
            return None
    if isinstance(v, dict):
        return {str(k): _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def sse_data(raw: str) -> str:
    """A stored payload as one line of valid JSON: as stored when it is (the usual case: no
    re-encoding), else re-encoded with null for NaN/Infinity; what does not decode at all (a
    worker may store anything) is sent as ``{}``."""
    if "\n" not in raw and "\r" not in raw:
        try:
            orjson.loads(raw)
            return raw
        except orjson.JSONDecodeError:
            pass
    try:
        return json.dumps(_finite(json.loads(raw)), separators=(",", ":"))
    except (ValueError, RecursionError):
        return "{}"


def sse_chunk(batch: list[StreamEvent]) -> str:
    """Server-sent events of one batch, in order."""
    return "".join(
        f"id: {ev.id}\nevent: {ev.kind if ev.kind.isidentifier() else 'log'}\ndata: {sse_data(ev.raw)}\n\n"
        for ev in batch
    )


class EventStream(StreamingResponse):
    """An SSE response over a hub subscription; the subscription is closed however the
    response ends (finished, client gone, server stopping)."""

    def __init__(self, sub: Subscription, metrics: Metrics):
        self.sub = sub
        self.metrics = metrics
        super().__init__(self._sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def _sse(self) -> AsyncIterator[str]:
        # one chunk per batch read from Redis
        try:
            async for batch in self.sub.batches():
                if not batch:
                    yield ": keep-alive\n\n"
                    continue
                self.metrics.stream_events.labels("sse").inc(len(batch))
                yield sse_chunk(batch)
        except ServiceError as exc:
            # the stream has started: the error goes in-band, as an event of its own
            body = json.dumps(error_body(exc.code, exc.message, exc.details))
            yield f"event: error\ndata: {body}\n\n"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.sub.close()


class _Observe:
    """Pure ASGI middleware (no per-chunk hop, unlike BaseHTTPMiddleware): request latency by
    route and status, and the request-size limit (413 before the body is parsed)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: int):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        headers = dict(scope["headers"])
        try:
            size = int(headers.get(b"content-length", b"0"))
        except ValueError:
            size = 0
        if size > self.max_body:
            await _error_response(body_too_large(size, self.max_body))(scope, receive, send_status)
        elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            # no length announced: read the body here, up to the limit, then hand it on
            chunks: list[bytes] = []
            seen = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                seen += len(chunks[-1])
                if seen > self.max_body:
                    await _error_response(body_too_large(seen, self.max_body))(scope, receive, send_status)
                    break
                if not message.get("more_body", False):
                    await self.app(scope, _replay(b"".join(chunks), receive), send_status)
                    break
        else:
            await self.app(scope, receive, send_status)
        route = scope.get("route")
        elapsed = time.perf_counter() - t0
        self.metrics.requests.labels(scope["method"], getattr(route, "path", "unmatched"), str(status[0])).observe(
            elapsed
        )
        # the access log: never a header (the token is in Authorization), query values scrubbed
        query = scrub_query(scope.get("query_string", b"").decode("latin-1"))
        path = scope.get("path", "") + (f"?{query}" if query else "")
        state = scope.get("state") or {}
        client = scope.get("client")
        access_log.info(
            "%s %s %d %.1f ms",
            scope["method"],
            path,
            status[0],
            elapsed * 1e3,
            extra={
                "method": scope["method"],
                "path": path,
                "status": status[0],
                "duration_ms": round(elapsed * 1e3, 3),
                "user": state.get("user", ""),
                "client": client[0] if client else None,
            },
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives ``body`` as the whole request, then what ``receive`` gives."""
    whole: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return whole.pop() if whole else await receive()

    return replay


def _error_response(exc: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=http_status(exc), headers=headers)


def create_app(
    service: JobService,
    metrics: Metrics,
    ready: Callable[[], dict[str, bool]],
    hub: StreamHub,
    *,
    max_spec_bytes: int = 1 << 20,
) -> FastAPI:
    """The FastAPI application serving ``service``; live streams come from ``hub``."""
    app = FastAPI(
        title="beamtrack",
        version="0.1.0",
        description="Beam-dynamics simulation service (REST mirror of beamtrack.v1)",
        docs_url=None,
        redoc_url=None,
    )  # offline docs: routes_dashboard

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODE.get(exc.status_code, "INTERNAL" if exc.status_code >= 500 else "INVALID_ARGUMENT")
        msg = str(exc.detail)
        loc = "body" if exc.status_code == 400 else "path"
        return JSONResponse(
            error_body(code, msg, [{"loc": loc, "msg": msg}]), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        # the traceback goes to the server log, never to the client
        msg = "internal error"
        return JSONResponse(error_body("INTERNAL", msg, []), status_code=500)

    @app.exception_handler(redis.ConnectionError)
    @app.exception_handler(redis.TimeoutError)
    async def _redis_down(_: Request, exc: redis.RedisError) -> JSONResponse:
        return _error_response(Unavailable(f"job store unavailable: {exc}"))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path", "header")]
            details.append({"loc": ".".join(loc) or "body", "msg": str(e["msg"])})
        message = "; ".join(f"{d['loc']}: {d['msg']}" for d in details)
        return JSONResponse(error_body("INVALID_ARGUMENT", message, details), status_code=422)

    app.add_middleware(_Observe, metrics=metrics, max_body=request_limit(max_spec_bytes))

    def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        who = service.authenticate(authorization)
        request.state.user = who.user  # for the access log
        return who

    Caller = Annotated[Principal, Depends(principal)]
    jobs = APIRouter(prefix="/v1/jobs", tags=["jobs"])

    @jobs.post("", status_code=201, response_model=JobPublic)
    def submit_job(body: SubmitJob, who: Caller) -> dict[str, Any]:
        check_spec_size(_json_size(body.spec), max_spec_bytes)
        rec = service.submit(who, body.spec, priority=body.priority, device=body.device, hook_module=body.hook_module)
        metrics.submitted.labels("rest").inc()
        return job_public(rec)

    @jobs.get("", response_model=JobList)
    def list_jobs(
        who: Caller,
        state: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        recs, nxt = service.list_jobs(who, state=state, limit=limit, cursor=cursor)
        return {"items": [job_public(r) for r in recs], "next_cursor": nxt}

    @jobs.get("/{job_id}", response_model=JobPublic)
    def get_job(job_id: str, who: Caller) -> dict[str, Any]:
        return job_public(service.get(who, job_id))

    @jobs.delete("/{job_id}", status_code=202, response_model=JobPublic)
    def cancel_job(job_id: str, who: Caller) -> dict[str, Any]:
        return job_public(service.cancel(who, job_id))

    @jobs.get("/{job_id}/diagnostics", response_model=None)
    def get_diagnostics(
        job_id: str,
        who: Caller,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response:
        rows = service.diagnostics(who, job_id)
        if format == "json":
            return JSONResponse({"job_id": job_id, "rows": rows})
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return PlainTextResponse(buf.getvalue(), media_type="text/csv")

    @jobs.get("/{job_id}/artifacts", response_model=list[Artifact])
    def list_artifacts(job_id: str, who: Caller) -> list[dict[str, Any]]:
        return service.artifacts(who, job_id)

    @jobs.get("/{job_id}/artifacts/{name:path}", response_model=None)
    def get_artifact(job_id: str, name: str, who: Caller) -> FileResponse:
        path = service.artifact_path(who, job_id, name)
        return FileResponse(path, media_type="application/octet-stream", filename=path.name)

    @jobs.get("/{job_id}/events", response_model=None)
    async def job_events(
        job_id: str,
        who: Caller,
        after: Annotated[str | None, Query(description="resume after this event id")] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        return EventStream(await hub.open(who, job_id, after or last_event_id), metrics)

    app.include_router(jobs)
    app.include_router(
        scans_router(service, principal, hub, lambda sub: EventStream(sub, metrics), max_spec_bytes=max_spec_bytes)
    )
    app.include_router(twiss_router(service, principal))
    from .routes_dashboard import install_dashboard  # imports this module's SubmitJob

    install_dashboard(app, service, principal)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=None)
    def readyz() -> JSONResponse:
        checks = ready()
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], response_model=None)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON."""
    try:
        return len(orjson.dumps(value))
    except TypeError:  # integers beyond 64 bits
        return len(json.dumps(value, separators=(",", ":")))
