"""REST routes of parameter scans: /v1/scans (submit, list, state, cancel, results table, events).

A scan is a base JobSpec plus parameters addressed by path (beamtrack.spec.scan); each variant
runs as an ordinary job that records its ``scan_id``, ``variant`` and parameter ``values``.

``GET /v1/scans/{id}/events`` is the scan's live event stream as server-sent events, resumable
with ``?after=`` or ``Last-Event-ID``: ``state`` ({state: queued, variants}) at submit, ``variant``
({variant, job_id, state, attempts}) at each state change of a variant, ``result`` ({state,
counts}) once every variant has ended; the stream ends with it. It goes through the stream hub
as a job's stream does (beamtrack.server.streams): an idle stream holds no thread, sends a
comment line every ``stream_block_ms`` (keep-alive), counts against the user's stream limit (429
beyond) and is released when the client goes.
"""

# No "from __future__ import annotations": FastAPI resolves the route annotations, some of
# which (Caller) are local to the router factory.

import csv
import io
import json
import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from beamtrack.spec.contract import PRIORITY_MAX, PRIORITY_MIN
from beamtrack.workers.errors import InvalidArgument
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .limits import check_spec_size
from .service import MAX_PAGE, JobService, Principal
from .streams import StreamHub, Subscription

PARQUET = "application/vnd.apache.parquet"


class SubmitScan(BaseModel):
    """POST /v1/scans body."""

    model_config = ConfigDict(extra="forbid")

    scan: dict[str, Any] = Field(
        description="The ScanSpec: base JobSpec, mode, parameters by path, "
        "variants / samples / seed, columns, use_cache"
    )
    priority: int = Field(
        0, ge=PRIORITY_MIN, le=PRIORITY_MAX, description="Of every variant: higher runs first; FIFO within a priority"
    )
    device: Literal["auto", "serial", "openmp", "cuda"] = "auto"
    hook_module: str | None = Field(None, description="A hook module run with every variant")


class ScanCounts(BaseModel):
    queued: int
    running: int
    succeeded: int
    failed: int
    cancelled: int


class ScanPublic(BaseModel):
    """A scan as GET /v1/scans/{id} shows it; ``counts`` are its variants by state."""

    id: str
    owner: str
    name: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    variants: int
    counts: ScanCounts
    parameters: list[str]
    priority: int
    device: str
    created_at: float
    cancel_requested: bool


class ScanList(BaseModel):
    items: list[ScanPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


def scans_router(
    service: JobService,
    principal: Callable[..., Principal],
    hub: StreamHub,
    event_stream: Callable[[Subscription], StreamingResponse],
    *,
    max_spec_bytes: int,
) -> APIRouter:
    """The /v1/scans routes over ``service``; the event streams are ``hub`` subscriptions, sent
    as ``event_stream`` makes them (the SSE response of a job's stream)."""
    Caller = Annotated[Principal, Depends(principal)]
    router = APIRouter(prefix="/v1/scans", tags=["scans"])

    @router.post("", status_code=201, response_model=ScanPublic)
    def submit_scan(body: SubmitScan, who: Caller) -> dict[str, Any]:
        check_spec_size(len(json.dumps(body.scan, separators=(",", ":"))), max_spec_bytes)
        return service.submit_scan(
            who, body.scan, priority=body.priority, device=body.device, hook_module=body.hook_module
        )

    @router.get("", response_model=ScanList)
    def list_scans(
        who: Caller,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        cursor: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        items, nxt = service.list_scans(who, limit=limit, cursor=cursor)
        return {"items": items, "next_cursor": nxt}

    @router.get("/{scan_id}", response_model=ScanPublic)
    def get_scan(scan_id: str, who: Caller) -> dict[str, Any]:
        return service.get_scan(who, scan_id)

    @router.delete("/{scan_id}", status_code=202, response_model=ScanPublic)
    def cancel_scan(scan_id: str, who: Caller) -> dict[str, Any]:
        return service.cancel_scan(who, scan_id)

    @router.get("/{scan_id}/events", response_model=None)
    async def scan_events(
        scan_id: str,
        who: Caller,
        after: Annotated[str | None, Query(description="resume after this event id")] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        return event_stream(await hub.open_scan(who, scan_id, after or last_event_id))

    @router.get("/{scan_id}/results", response_model=None)
    def scan_results(
        scan_id: str,
        who: Caller,
        format: Annotated[Literal["json", "csv", "parquet"], Query()] = "json",
    ) -> Response:
        columns, rows = service.scan_results(who, scan_id)
        if format == "json":
            return JSONResponse({"scan_id": scan_id, "columns": columns, "rows": _finite(rows)})
        if format == "csv":
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows({c: _cell(r.get(c)) for c in columns} for r in rows)
            return PlainTextResponse(buf.getvalue(), media_type="text/csv")
        return Response(_parquet(columns, rows), media_type=PARQUET)

    return router


def _cell(v: Any) -> Any:
    """A table cell as a scalar: lists and dicts (a parameter may set one) as JSON text."""
    return json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict)) else v


def _finite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with NaN/Infinity as null (JSON has neither)."""
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in rows]


def _parquet(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    """The table as a Parquet file (pyarrow; a column's type is inferred from its values)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a server dependency
        msg = "parquet output needs pyarrow on the server; use format=csv or json"
        raise InvalidArgument(f"format: {msg}", details=[{"loc": "format", "msg": msg}]) from None
    data = {c: [_cell(r.get(c)) for r in rows] for c in columns}
    try:
        table = pa.table(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed types in one parameter column: every cell as text
        table = pa.table({c: [None if v is None else str(v) for v in vals] for c, vals in data.items()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()
