"""JobService: the transport-agnostic operations behind both front doors (REST and gRPC).

Authentication, visibility (a user sees only their own jobs, an admin all), validation with
field-named errors, and the artifact store all live here; the routes and the servicer only
translate wire formats.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beamtrack.spec import SpecError, load_spec
from beamtrack.workers.errors import InvalidArgument, NotFound, Unauthenticated
from beamtrack.workers.sandbox import hook_module_problem, sandbox_unsupported
from beamtrack.workers.store import (
    DEVICES,
    PRIORITY_MAX,
    PRIORITY_MIN,
    JobRecord,
    JobState,
    JobStore,
    StreamEvent,
)

from .settings import Settings, hash_token

HOOK_REFUSED = "hook modules need the hook sandbox, which cannot run on this server"
MAX_PAGE = 500


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user: str
    admin: bool = False


class JobService:
    """Submit, inspect, list, cancel and follow jobs on behalf of an authenticated caller."""

    def __init__(self, store: JobStore, settings: Settings):
        self.store = store
        self.settings = settings
        self.artifact_root = settings.artifacts
        self._tokens = {t.sha256: Principal(t.user, t.admin) for t in settings.api_tokens}

    # -- auth ----------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <token>`` value; Unauthenticated else."""
        if not authorization:
            raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("malformed Authorization header; expected 'Bearer <token>'")
        principal = self._tokens.get(hash_token(token.strip()))
        if principal is None:
            raise Unauthenticated("invalid API token")
        return principal

    # -- operations ----------------------------------------------------------------------------
    def submit(
        self, who: Principal, spec: Any, *, priority: int = 0, device: str = "auto",
        hook_module: str | None = None,
    ) -> JobRecord:
        """Validate and queue a job. ``spec`` is a dict or JSON text of a JobSpec."""
        if hook_module:
            _check_hook_module(hook_module, enabled=self.settings.hook_sandbox)
        if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            msg = f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}"
            raise InvalidArgument(f"priority: {msg}", details=[{"loc": "priority", "msg": msg}])
        device = device or "auto"
        if device not in DEVICES:
            msg = f"must be one of {', '.join(DEVICES)}"
            raise InvalidArgument(f"device: {msg}", details=[{"loc": "device", "msg": msg}])
        try:
            job_spec = load_spec(spec)
        except SpecError as exc:
            details = [{"loc": f"spec.{e['loc']}" if e["loc"] != "(root)" else "spec",
                        "msg": e["msg"]} for e in exc.errors]
            raise InvalidArgument(
                "invalid job spec: " + "; ".join(f"{d['loc']}: {d['msg']}" for d in details),
                details=details,
            ) from None
        spec_json = job_spec.model_dump_json()
        return self.store.submit(owner=who.user, name=job_spec.name, spec_json=spec_json,
                                 priority=priority, device=device, hook_module=hook_module or "")

    def get(self, who: Principal, job_id: str) -> JobRecord:
        """The job, if the caller may see it (else NotFound, as for an unknown id)."""
        if not job_id or len(job_id) > 64 or not job_id.isalnum():
            raise NotFound(f"job {job_id!r} not found")
        rec = self.store.get(job_id)
        if not who.admin and rec.owner != who.user:
            raise NotFound(f"job {job_id} not found")
        return rec

    def list(
        self, who: Principal, *, state: str | None = None, limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[builtins.list[JobRecord], str | None]:
        """A page of the caller's jobs (all jobs for an admin), newest first."""
        if state is not None and state not in {s.value for s in JobState}:
            msg = f"must be one of {', '.join(s.value for s in JobState)}"
            raise InvalidArgument(f"state: {msg}", details=[{"loc": "state", "msg": msg}])
        if not 1 <= limit <= MAX_PAGE:
            msg = f"must be between 1 and {MAX_PAGE}"
            raise InvalidArgument(f"limit: {msg}", details=[{"loc": "limit", "msg": msg}])
        seq: int | None = None
        if cursor:
            if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
                raise InvalidArgument("cursor: not a cursor returned by this API",
                                      details=[{"loc": "cursor", "msg": "invalid cursor"}])
            seq = int(cursor)
        owner = None if who.admin else who.user
        recs, nxt = self.store.list(owner=owner, state=state, limit=limit, cursor=seq)
        return recs, (str(nxt) if nxt is not None else None)

    def cancel(self, who: Principal, job_id: str) -> JobRecord:
        """Cancel a queued job, or ask a running one to stop; Conflict when already finished."""
        self.get(who, job_id)
        self.store.cancel(job_id)
        return self.store.get(job_id)

    def events(
        self, who: Principal, job_id: str, after: str | None = None,
    ) -> Iterator[builtins.list[StreamEvent]]:
        """Batches of the job's events after cursor ``after`` until its result (an empty batch
        is a keep-alive tick)."""
        self.get(who, job_id)
        cursor = after or "0-0"
        if not _valid_stream_id(cursor):
            raise InvalidArgument("after: not an event id returned by this API",
                                  details=[{"loc": "after", "msg": "invalid event id"}])
        return self.store.follow(job_id, cursor, block_ms=self.settings.stream_block_ms)

    def diagnostics(self, who: Principal, job_id: str) -> builtins.list[dict[str, float]]:
        """Every reduced-diagnostics row the job has published so far."""
        self.get(who, job_id)
        return self.store.diagnostics(job_id)

    def artifacts(self, who: Principal, job_id: str) -> builtins.list[dict[str, Any]]:
        """Files the job wrote: ``[{"name": relative path, "size": bytes}]``."""
        self.get(who, job_id)
        root = self.artifact_root / job_id
        if not root.is_dir():
            return []
        return [{"name": str(p.relative_to(root)), "size": p.stat().st_size}
                for p in sorted(root.rglob("*")) if p.is_file()]

    def artifact_path(self, who: Principal, job_id: str, name: str) -> Path:
        """Absolute path of one artifact; NotFound for anything outside the job's directory."""
        self.get(who, job_id)
        root = (self.artifact_root / job_id).resolve()
        if "\x00" in name:  # no file name holds NUL; os calls would raise ValueError on it
            raise NotFound(f"artifact {name!r} of job {job_id} not found")
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound(f"artifact {name!r} of job {job_id} not found")
        return path


def _check_hook_module(source: str, *, enabled: bool) -> None:
    """InvalidArgument unless hooks are enabled, this host can sandbox them and ``source`` is an
    acceptable hook module (size, syntax, defines a hook; nothing of it is run here)."""
    reason = sandbox_unsupported() if enabled else "disabled by the setting BEAMTRACK_HOOK_SANDBOX"
    if reason:
        msg = f"{HOOK_REFUSED}: {reason}"
        raise InvalidArgument(msg, details=[{"loc": "hook_module", "msg": msg}])
    problem = hook_module_problem(source)
    if problem:
        raise InvalidArgument(f"hook_module: {problem}",
                              details=[{"loc": "hook_module", "msg": problem}])


def _valid_stream_id(cursor: str) -> bool:
    """A Redis stream entry id ``ms[-seq]``, both parts unsigned 64-bit (what Redis accepts)."""
    ms, dash, seq = cursor.partition("-")
    return (_u64(ms) and (not dash or _u64(seq)))


def _u64(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit() and int(text) < 2**64


def job_public(rec: JobRecord) -> dict[str, Any]:
    """The public JSON form of a job (REST bodies, CLI output)."""
    return {
        "id": rec.id,
        "owner": rec.owner,
        "name": rec.name,
        "state": rec.state.value,
        "priority": rec.priority,
        "device": rec.device,
        "progress": {
            "step": rec.step,
            "total_steps": rec.total_steps,
            "fraction": (rec.step / rec.total_steps) if rec.total_steps else 0.0,
        },
        "created_at": rec.created_at,
        "started_at": rec.started_at,
        "finished_at": rec.finished_at,
        "attempts": rec.attempts,
        "error": rec.error or None,
        "cancel_requested": rec.cancel_requested,
        "result": rec.result or None,
    }


