"""REST front door (FastAPI): /v1/jobs and friends; OpenAPI docs at /docs."""

# No "from __future__ import annotations": FastAPI resolves the route annotations, some of
# which (Caller) are local to create_app.

import csv
import io
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from beamtrack.workers.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from beamtrack.workers.store import PRIORITY_MAX, PRIORITY_MIN
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from .metrics import Metrics
from .service import MAX_PAGE, JobService, Principal, job_public

HTTP_STATUS: dict[type[ServiceError], int] = {
    InvalidArgument: 422, Unauthenticated: 401, NotFound: 404, Conflict: 409, Unavailable: 503,
}


def http_status(exc: ServiceError) -> int:
    """The HTTP status of a service error (the one mapping; gRPC has its twin)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_body(code: str, message: str, details: list[dict[str, str]]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class SubmitJob(BaseModel):
    """POST /v1/jobs body."""

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] = Field(description="The JobSpec (shared/spec/README.md)")
    priority: int = Field(0, ge=PRIORITY_MIN, le=PRIORITY_MAX,
                          description="Higher runs first; FIFO within a priority")
    device: Literal["auto", "serial", "openmp", "cuda"] = "auto"
    hook_module: str | None = Field(None, description="Python hook module source: defines any of "
                                    "before_period, after_period, before_element, after_element, "
                                    "before_slice; runs in the hook sandbox (refused where the "
                                    "sandbox cannot run)")


class Progress(BaseModel):
    step: int
    total_steps: int
    fraction: float


class JobPublic(BaseModel):
    """A job as GET /v1/jobs/{id} shows it; times are Unix seconds."""

    id: str
    owner: str
    name: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    priority: int
    device: str
    progress: Progress
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    error: str | None
    cancel_requested: bool
    result: dict[str, Any] | None


class JobList(BaseModel):
    items: list[JobPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


class Artifact(BaseModel):
    name: str
    size: int


def create_app(
    service: JobService, metrics: Metrics, ready: Callable[[], dict[str, bool]],
) -> FastAPI:
    """The FastAPI application serving ``service``."""
    app = FastAPI(title="beamtrack", version="0.1.0",
                  description="Beam-dynamics simulation service (REST mirror of beamtrack.v1)")

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(error_body(exc.code, exc.message, exc.details),
                            status_code=http_status(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path", "header")]
            details.append({"loc": ".".join(loc) or "body", "msg": str(e["msg"])})
        message = "; ".join(f"{d['loc']}: {d['msg']}" for d in details)
        return JSONResponse(error_body("INVALID_ARGUMENT", message, details), status_code=422)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Any) -> Response:
        t0 = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels(request.method, path, str(response.status_code)).observe(
            time.perf_counter() - t0)
        return response

    def principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
        return service.authenticate(authorization)

    Caller = Annotated[Principal, Depends(principal)]
    jobs = APIRouter(prefix="/v1/jobs", tags=["jobs"])

    @jobs.post("", status_code=201, response_model=JobPublic)
    def submit_job(body: SubmitJob, who: Caller) -> dict[str, Any]:
        rec = service.submit(who, body.spec, priority=body.priority, device=body.device,
                             hook_module=body.hook_module)
        metrics.submitted.labels("rest").inc()
        return job_public(rec)

    @jobs.get("", response_model=JobList)
    def list_jobs(
        who: Caller,
        state: Annotated[Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
                         Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        recs, nxt = service.list(who, state=state, limit=limit, cursor=cursor)
        return {"items": [job_public(r) for r in recs], "next_cursor": nxt}

    @jobs.get("/{job_id}", response_model=JobPublic)
    def get_job(job_id: str, who: Caller) -> dict[str, Any]:
        return job_public(service.get(who, job_id))

    @jobs.delete("/{job_id}", status_code=202, response_model=JobPublic)
    def cancel_job(job_id: str, who: Caller) -> dict[str, Any]:
        return job_public(service.cancel(who, job_id))

    @jobs.get("/{job_id}/diagnostics", response_model=None)
    def get_diagnostics(
        job_id: str, who: Caller,
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
    def job_events(
        job_id: str, who: Caller,
        after: Annotated[str | None, Query(description="resume after this event id")] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        events = service.events(who, job_id, after or last_event_id)

        def sse() -> Iterator[str]:
            # one chunk per batch read from Redis: a thread hop per event would be the cost
            for batch in events:
                if not batch:
                    yield ": keep-alive\n\n"
                    continue
                metrics.stream_events.labels("sse").inc(len(batch))
                yield "".join(f"id: {ev.id}\nevent: {ev.kind}\ndata: {ev.raw}\n\n"
                              for ev in batch)

        return StreamingResponse(sse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    app.include_router(jobs)

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
