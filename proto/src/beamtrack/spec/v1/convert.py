"""The one converter between the job contract (``beamtrack.spec.contract``) and the gRPC messages
of ``jobs.proto``: the state enum both ways, a public job to ``pb.Job`` and back (every field of
``JobPublic``: the result and the scan values travel as JSON text), so the REST and gRPC clients
give the same models."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from beamtrack.spec.contract import JobPublic, JobState

from . import jobs_pb2 as pb

#: JobState value -> pb.JobState number, from the names (JOB_STATE_<NAME>); a test checks parity.
STATE_TO_PB: dict[str, pb.JobState] = {s.value: getattr(pb, f"JOB_STATE_{s.name}") for s in JobState}
PB_TO_STATE: dict[int, str] = {int(v): k for k, v in STATE_TO_PB.items()}


def job_to_pb(job: JobPublic | Mapping[str, Any]) -> pb.Job:
    """``pb.Job`` of a public job (None times become 0, None strings empty, ``result`` and
    ``values`` JSON text)."""
    j = job if isinstance(job, JobPublic) else JobPublic.model_validate(job)
    return pb.Job(
        id=j.id,
        owner=j.owner,
        name=j.name,
        state=STATE_TO_PB[j.state],
        priority=j.priority,
        device=j.device,
        step=j.progress.step,
        total_steps=j.progress.total_steps,
        created_at=j.created_at,
        started_at=j.started_at or 0.0,
        finished_at=j.finished_at or 0.0,
        attempts=j.attempts,
        error=j.error or "",
        cancel_requested=j.cancel_requested,
        result_json=json.dumps(j.result) if j.result is not None else "",
        artifacts_expired=j.artifacts_expired,
        scan_id=j.scan_id or "",
        variant=j.variant,
        values_json=json.dumps(j.values) if j.values is not None else "",
        cached_from=j.cached_from or "",
    )


def job_from_pb(msg: pb.Job) -> dict[str, Any]:
    """The public job a ``pb.Job`` carries, as the REST body has it (``JobPublic.model_validate``
    of it, or of a subclass such as the SDK's ``Job``, gives the model)."""
    return {
        "id": msg.id,
        "owner": msg.owner,
        "name": msg.name,
        "state": PB_TO_STATE.get(msg.state, "unspecified"),
        "priority": msg.priority,
        "device": msg.device,
        "progress": {
            "step": msg.step,
            "total_steps": msg.total_steps,
            "fraction": (msg.step / msg.total_steps) if msg.total_steps else 0.0,
        },
        "created_at": msg.created_at,
        "started_at": msg.started_at or None,
        "finished_at": msg.finished_at or None,
        "attempts": msg.attempts,
        "error": msg.error or None,
        "cancel_requested": msg.cancel_requested,
        "result": json.loads(msg.result_json) if msg.result_json else None,
        "artifacts_expired": msg.artifacts_expired,
        "scan_id": msg.scan_id or None,
        "variant": msg.variant if msg.HasField("variant") else None,
        "values": json.loads(msg.values_json) if msg.values_json else None,
        "cached_from": msg.cached_from or None,
    }
