"""Synchronous gRPC client of beamtrack.v1.JobService. Jobs come back as the REST client's models
(``models.Job``, converted from ``pb.Job`` by ``beamtrack.spec.v1.convert``, the one converter) and
events in its ``Event`` form, so code written against ``Client`` runs on ``GrpcClient`` unchanged;
``stream`` gives the protobuf ``JobEvent`` messages themselves."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import grpc
from beamtrack.spec.contract import JobState
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc
from beamtrack.spec.v1.convert import PB_TO_STATE, STATE_TO_PB, job_from_pb

from .grpc_errors import TypedErrorStub, grpc_error
from .models import Job
from .polling import iter_pages, wait_finished
from .rest import Event, SpecArg, load_spec_arg

DEFAULT_TARGET = "127.0.0.1:50051"
STATE_NAMES = PB_TO_STATE
STATE_VALUES = STATE_TO_PB


def job_model(msg: pb.Job) -> Job:
    """The SDK's ``Job`` of a ``pb.Job`` (the same model ``Client`` returns for that job)."""
    return Job.model_validate(job_from_pb(msg))


class GrpcClient:
    """gRPC client. ``target`` and ``token`` default to $BEAMTRACK_GRPC and $BEAMTRACK_TOKEN.

    Errors are ``grpc.RpcError`` with the service's status codes (INVALID_ARGUMENT, ...), each also
    of the job contract's class for its code (``grpc_errors``: ``except NotFound`` works).
    """

    def __init__(self, target: str | None = None, token: str | None = None, *, timeout: float = 30.0):
        self.target = target or os.environ.get("BEAMTRACK_GRPC") or DEFAULT_TARGET
        token = token or os.environ.get("BEAMTRACK_TOKEN")
        self._md = [("authorization", f"Bearer {token}")] if token else []
        self.timeout = timeout
        self._channel = grpc.insecure_channel(self.target)
        self._stub = TypedErrorStub(pb_grpc.JobServiceStub(self._channel))
        self._batched = True  # StreamEvents until a server answers UNIMPLEMENTED

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, spec: SpecArg, *, priority: int = 0, device: str = "auto", hook_module: str | None = None) -> Job:
        """Queue a job (a JobSpec, a Simulation, a dict, a JSON/YAML file or JSON text); returns it
        (``.id`` names it)."""
        req = pb.SubmitJobRequest(
            spec_json=json.dumps(load_spec_arg(spec)), priority=priority, device=device, hook_module=hook_module or ""
        )
        return job_model(self._stub.SubmitJob(req, metadata=self._md, timeout=self.timeout))

    def get(self, job_id: str) -> Job:
        """The job now."""
        return job_model(self._stub.GetJob(pb.GetJobRequest(id=job_id), metadata=self._md, timeout=self.timeout))

    def list_jobs(
        self, *, state: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Job], str | None]:
        """One page of jobs, newest first, and the cursor of the next page (None at the end);
        ``state`` one of the contract's JobState values (ValueError otherwise)."""
        req = pb.ListJobsRequest(
            state=STATE_VALUES[JobState(state).value] if state else pb.JOB_STATE_UNSPECIFIED,
            limit=limit,
            cursor=cursor or "",
        )
        resp = self._stub.ListJobs(req, metadata=self._md, timeout=self.timeout)
        return [job_model(j) for j in resp.jobs], (resp.next_cursor or None)

    def iter_jobs(self, *, state: str | None = None, page_size: int = 100) -> Iterator[Job]:
        """Every job (the caller's; all for an admin), following the pages."""
        return iter_pages(lambda st, n, cur: self.list_jobs(state=st, limit=n, cursor=cur), state, page_size)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; returns it (state cancelled, or cancel_requested)."""
        msg = self._stub.CancelJob(pb.CancelJobRequest(id=job_id), metadata=self._md, timeout=self.timeout)
        return job_model(msg)

    def wait(self, job_id: str, *, timeout: float = 600.0, poll_s: float = 0.2) -> Job:
        """Poll until the job is finished; TimeoutError after ``timeout`` seconds."""
        return wait_finished(self.get, job_id, timeout, poll_s)

    # -- scans ------------------------------------------------------------------------------------
    def submit_scan(
        self, scan: dict[str, Any], *, priority: int = 0, device: str = "auto", hook_module: str | None = None
    ) -> pb.Scan:
        """Queue a ScanSpec given as a dict (as ``Client.submit_scan``; its ``base`` a JobSpec
        dict, file name or model)."""
        body = {**scan, "base": load_spec_arg(scan["base"])} if "base" in scan else scan
        req = pb.SubmitScanRequest(
            scan_json=json.dumps(body), priority=priority, device=device, hook_module=hook_module or ""
        )
        out: pb.Scan = self._stub.SubmitScan(req, metadata=self._md, timeout=self.timeout)
        return out

    def get_scan(self, scan_id: str) -> pb.Scan:
        out: pb.Scan = self._stub.GetScan(pb.GetScanRequest(id=scan_id), metadata=self._md, timeout=self.timeout)
        return out

    def list_scans(self, *, limit: int = 50, cursor: str | None = None) -> tuple[list[pb.Scan], str | None]:
        req = pb.ListScansRequest(limit=limit, cursor=cursor or "")
        resp = self._stub.ListScans(req, metadata=self._md, timeout=self.timeout)
        return list(resp.scans), (resp.next_cursor or None)

    def cancel_scan(self, scan_id: str) -> pb.Scan:
        out: pb.Scan = self._stub.CancelScan(pb.GetScanRequest(id=scan_id), metadata=self._md, timeout=self.timeout)
        return out

    def scan_results(self, scan_id: str) -> dict[str, Any]:
        """The results table as ``Client.scan_results`` gives it: ``{"scan_id", "columns", "rows"}``."""
        resp = self._stub.GetScanResults(pb.GetScanRequest(id=scan_id), metadata=self._md, timeout=self.timeout)
        return {"scan_id": resp.scan_id, "columns": list(resp.columns), "rows": json.loads(resp.rows_json or "[]")}

    def scan_events(self, scan_id: str, *, after: str | None = None, reconnects: int = 5) -> Iterator[pb.ScanEvent]:
        """The scan's events (submitted, variant, result) until its result event; an UNAVAILABLE
        connection is resumed from the last event seen."""
        last = after or ""
        failures = 0
        while True:
            call = self._stub.StreamScanEvents(pb.StreamScanEventsRequest(id=scan_id, after_id=last), metadata=self._md)
            try:
                for ev in call:
                    last = ev.id
                    failures = 0
                    yield ev
                    if ev.HasField("result"):
                        return
                return
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or failures >= reconnects:
                    raise grpc_error(exc) from None
                failures += 1
                time.sleep(min(0.2 * 2**failures, 5.0))
            finally:
                call.cancel()

    def stream(self, job_id: str, *, after: str | None = None, reconnects: int = 5) -> Iterator[pb.JobEvent]:
        """The job's events as ``JobEvent`` messages until the result event, each diagnostics
        row with its ``values`` map filled (as StreamDiagnostics sends them); an UNAVAILABLE
        connection is resumed from the last event seen (``after_id``), so nothing is lost or
        repeated. ``events`` is the faster way to read rows (no map is built)."""
        for ev, columns in self._follow(job_id, after, reconnects):
            if columns and ev.HasField("diagnostics"):
                row = ev.diagnostics
                row.values.update(zip(columns, row.data, strict=True))
            yield ev

    def events(self, job_id: str, *, after: str | None = None, reconnects: int = 5) -> Iterator[Event]:
        """The job's events in the REST client's ``Event`` form, resumed like ``stream``: kind
        state, diag, log, custom or result; a diagnostics row is the same dict ``Client.events``
        gives (its columns, int step, None for non-finite values), the other kinds carry the
        proto's fields (state: state, attempt, reason; result: state, error, steps,
        wall_time_s, artifacts)."""
        for ev, columns in self._follow(job_id, after, reconnects):
            kind = ev.WhichOneof("payload")
            if kind == "diagnostics":
                row = ev.diagnostics
                items = zip(columns, row.data, strict=True) if columns else row.values.items()
                data: dict[str, Any] = {k: None if v != v else v for k, v in items}
                if data.get("step") is not None:
                    data["step"] = int(data["step"])
                yield Event(ev.id, "diag", data)
            elif kind == "state":
                yield Event(
                    ev.id,
                    "state",
                    {
                        "state": STATE_NAMES.get(ev.state.state, "?"),
                        "attempt": ev.state.attempt,
                        "reason": ev.state.reason,
                    },
                )
            elif kind == "result":
                r = ev.result
                yield Event(
                    ev.id,
                    "result",
                    {
                        "state": STATE_NAMES.get(r.state, "?"),
                        "error": r.error,
                        "steps": r.steps,
                        "wall_time_s": r.wall_time_s,
                        "artifacts": list(r.artifacts),
                    },
                )
            elif kind == "custom":
                yield Event(ev.id, "custom", {"name": ev.custom.name, "value": ev.custom.value, "step": ev.custom.step})
            else:
                yield Event(ev.id, "log", {"msg": ev.log.message})

    def _follow(self, job_id: str, after: str | None, reconnects: int) -> Iterator[tuple[pb.JobEvent, tuple[str, ...]]]:
        """(event, diagnostics columns in force) pairs until the result event, from the batched
        StreamEvents; once a server answers UNIMPLEMENTED, from StreamDiagnostics (columns then
        empty: its rows carry ``values`` maps). Resumes after UNAVAILABLE."""
        last = after or ""
        failures = 0
        while True:
            req = pb.StreamDiagnosticsRequest(id=job_id, after_id=last)
            batched = self._batched
            call = (self._stub.StreamEvents if batched else self._stub.StreamDiagnostics)(req, metadata=self._md)
            try:
                if batched:
                    columns: tuple[str, ...] = ()
                    for batch in call:
                        if batch.columns:
                            columns = tuple(batch.columns)
                        for ev in batch.events:
                            last = ev.id
                            failures = 0
                            yield ev, columns
                            if ev.HasField("result"):
                                return
                else:
                    for ev in call:
                        last = ev.id
                        failures = 0
                        yield ev, ()
                        if ev.HasField("result"):
                            return
                return
            except grpc.RpcError as exc:
                code = exc.code()
                if batched and code == grpc.StatusCode.UNIMPLEMENTED:
                    self._batched = False  # an older server: one message per event
                    continue
                if code != grpc.StatusCode.UNAVAILABLE or failures >= reconnects:
                    raise grpc_error(exc) from None
                failures += 1
                time.sleep(min(0.2 * 2**failures, 5.0))
            finally:
                call.cancel()
