"""Synchronous gRPC client of beamtrack.v1.JobService; returns the protobuf messages."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from beamtrack.spec.v1 import jobs_pb2 as pb
from beamtrack.spec.v1 import jobs_pb2_grpc as pb_grpc

from .rest import load_spec_arg

DEFAULT_TARGET = "127.0.0.1:50051"
STATE_NAMES = {pb.JOB_STATE_QUEUED: "queued", pb.JOB_STATE_RUNNING: "running",
               pb.JOB_STATE_SUCCEEDED: "succeeded", pb.JOB_STATE_FAILED: "failed",
               pb.JOB_STATE_CANCELLED: "cancelled"}
STATE_VALUES = {v: k for k, v in STATE_NAMES.items()}


class GrpcClient:
    """gRPC client. ``target`` and ``token`` default to $BEAMTRACK_GRPC and $BEAMTRACK_TOKEN.

    Errors are ``grpc.RpcError`` with the service's status codes (INVALID_ARGUMENT, ...).
    """

    def __init__(self, target: str | None = None, token: str | None = None, *,
                 timeout: float = 30.0):
        self.target = target or os.environ.get("BEAMTRACK_GRPC") or DEFAULT_TARGET
        token = token or os.environ.get("BEAMTRACK_TOKEN")
        self._md = [("authorization", f"Bearer {token}")] if token else []
        self.timeout = timeout
        self._channel = grpc.insecure_channel(self.target)
        self._stub = pb_grpc.JobServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> GrpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, spec: dict[str, Any] | str | Path, *, priority: int = 0,
               device: str = "auto", hook_module: str | None = None) -> pb.Job:
        req = pb.SubmitJobRequest(spec_json=json.dumps(load_spec_arg(spec)), priority=priority,
                                  device=device, hook_module=hook_module or "")
        return self._stub.SubmitJob(req, metadata=self._md, timeout=self.timeout)

    def get(self, job_id: str) -> pb.Job:
        return self._stub.GetJob(pb.GetJobRequest(id=job_id), metadata=self._md,
                                 timeout=self.timeout)

    def list(self, *, state: str | None = None, limit: int = 50, cursor: str | None = None
             ) -> tuple[list[pb.Job], str | None]:
        req = pb.ListJobsRequest(state=STATE_VALUES.get(state or "", 0), limit=limit,
                                 cursor=cursor or "")
        resp = self._stub.ListJobs(req, metadata=self._md, timeout=self.timeout)
        return list(resp.jobs), (resp.next_cursor or None)

    def cancel(self, job_id: str) -> pb.Job:
        return self._stub.CancelJob(pb.CancelJobRequest(id=job_id), metadata=self._md,
                                    timeout=self.timeout)

    def stream(self, job_id: str, *, after: str | None = None, reconnects: int = 5
               ) -> Iterator[pb.JobEvent]:
        """StreamDiagnostics until the result event; an UNAVAILABLE connection is resumed from
        the last event seen (``after_id``), so nothing is lost or repeated."""
        last = after or ""
        failures = 0
        while True:
            call = self._stub.StreamDiagnostics(
                pb.StreamDiagnosticsRequest(id=job_id, after_id=last), metadata=self._md)
            try:
                for ev in call:
                    last = ev.id
                    failures = 0
                    yield ev
                    if ev.WhichOneof("payload") == "result":
                        return
                return
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or failures >= reconnects:
                    raise
                failures += 1
                time.sleep(min(0.2 * 2**failures, 5.0))
            finally:
                call.cancel()
