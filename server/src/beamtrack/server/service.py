"""JobService: the transport-agnostic operations behind both front doors (REST and gRPC).

Authentication, visibility (a user sees only their own jobs, an admin all), validation with
field-named errors, and the artifact store all live here; the routes and the servicer only
translate wire formats.
"""

from __future__ import annotations

import builtins
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beamtrack.spec import JobSpec, SpecError, load_spec, parse_scan
from beamtrack.spec.contract import (
    DEVICES,
    PRIORITY_MAX,
    PRIORITY_MIN,
    InvalidArgument,
    JobPublic,
    JobState,
    NotFound,
    PermissionDenied,
    Progress,
    Unauthenticated,
)
from beamtrack.spec.resources import ResourceEstimate, estimate, mib
from beamtrack.spec.scan import expand_variants
from beamtrack.workers.cache import cache_key, cache_key_of_canonical
from beamtrack.workers.packing import pack_key
from beamtrack.workers.sandbox import hook_module_problem, sandbox_unsupported
from beamtrack.workers.store import (
    JobRecord,
    JobStore,
    NewJob,
    ScanRecord,
    StreamEvent,
    scan_state,
)
from beamtrack.workers.transfer import pull

from .settings import Settings, hash_token

log = logging.getLogger("beamtrack.server")
#: The first columns of a scan's results table; the parameter paths and diagnostics follow.
SCAN_ROW_COLUMNS = ("variant", "job_id", "state", "attempts", "cached_from")
#: The most per-variant limit errors one refused scan lists.
MAX_SCAN_ERRORS = 20
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
        self,
        who: Principal,
        spec: Any,
        *,
        priority: int = 0,
        device: str = "auto",
        hook_module: str | None = None,
    ) -> JobRecord:
        """Validate and queue a job. ``spec`` is a dict or JSON text of a JobSpec. A job whose
        identical spec already succeeded is served from the result cache (stored succeeded,
        ``cached_from`` naming the job whose results it shares)."""
        self._check_options(who, priority=priority, device=device, hook_module=hook_module)
        try:
            job_spec = load_spec(spec)
        except SpecError as exc:
            details = [
                {"loc": f"spec.{e['loc']}" if e["loc"] != "(root)" else "spec", "msg": e["msg"]} for e in exc.errors
            ]
            raise InvalidArgument(
                "invalid job spec: " + "; ".join(f"{d['loc']}: {d['msg']}" for d in details),
                details=details,
            ) from None
        if job_spec.workers > 1 and hook_module:
            msg = "a job with workers > 1 cannot have a hook module (hooks see one worker's particles only)"
            raise InvalidArgument(f"hook_module: {msg}", details=[{"loc": "hook_module", "msg": msg}])
        est = self._check_limits(who, job_spec)
        spec_json = job_spec.model_dump_json()
        device = device or "auto"
        key = cache_key(spec_json, hook_module=hook_module or "", device=device)
        if self.settings.result_cache:
            hit = self.store.cache_lookup(who.user, [key]).get(key)
            if hit is not None:
                (job_id,) = self.store.submit_jobs(
                    owner=who.user,
                    priority=priority,
                    device=device,
                    jobs=[NewJob(job_spec.name, spec_json, hook_module or "", cache_key=key, cached=hit)],
                )
                return self.store.get(job_id)
        rec = self.store.submit(
            owner=who.user,
            name=job_spec.name,
            spec_json=spec_json,
            priority=priority,
            device=device,
            hook_module=hook_module or "",
            disk_estimate=int(est.disk.amount),
        )
        self.store.cache_add(who.user, key, rec.id)
        return rec

    def _check_options(self, who: Principal, *, priority: int, device: str, hook_module: str | None) -> None:
        """InvalidArgument / PermissionDenied naming the submit option that is refused."""
        if hook_module:
            _check_hook_module(hook_module, enabled=self.settings.hook_sandbox)
        if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            msg = f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}"
            raise InvalidArgument(f"priority: {msg}", details=[{"loc": "priority", "msg": msg}])
        if priority > self.settings.user_priority_max and not who.admin:
            msg = (
                f"priority {priority} is above {self.settings.user_priority_max}, the highest a "
                "non-admin token may ask for (BEAMTRACK_USER_PRIORITY_MAX)"
            )
            raise PermissionDenied(f"priority: {msg}", details=[{"loc": "priority", "msg": msg}])
        device = device or "auto"
        if device not in DEVICES:
            msg = f"must be one of {', '.join(DEVICES)}"
            raise InvalidArgument(f"device: {msg}", details=[{"loc": "device", "msg": msg}])

    def _check_limits(self, who: Principal, job_spec: JobSpec, *, quota: bool = True) -> ResourceEstimate:
        """The spec's resource estimate; InvalidArgument naming the field that drives a cost over
        a per-job limit or (unless not ``quota``) over the user's disk quota (nothing is stored
        then)."""
        s = self.settings
        est = estimate(job_spec)
        over: list[dict[str, str]] = []
        checks = [
            (est.memory, s.job_memory_mb * 2**20, "memory", "the per-job memory limit", "JOB_MEMORY_MB"),
            (est.disk, s.job_disk_mb * 2**20, "output", "the per-job disk limit", "JOB_DISK_MB"),
        ]
        if s.artifact_transfer == "always":  # every job's files will travel through Redis
            checks.append(
                (
                    est.disk,
                    s.artifact_upload_max_mb * 2**20,
                    "output",
                    "the limit of an upload through the job store",
                    "ARTIFACT_UPLOAD_MAX_MB",
                )
            )
        for cost, limit, what, name, env in checks:
            if cost.amount > limit:
                over.append(
                    {
                        "loc": f"spec.{cost.loc}",
                        "msg": f"{cost.why} need about {mib(cost.amount)} of {what}, over "
                        f"{name} of {mib(limit)} (BEAMTRACK_{env})",
                    }
                )
        if est.time_s.amount > s.job_wall_s:
            over.append(
                {
                    "loc": f"spec.{est.time_s.loc}",
                    "msg": f"{est.time_s.why} take at least {est.time_s.amount:,.0f} s, over the "
                    f"per-job wall-clock limit of {s.job_wall_s:,.0f} s (BEAMTRACK_JOB_WALL_S)",
                }
            )
        if not over and quota:
            problem = self._quota_problem(who, est.disk.amount, est.disk.why)
            if problem:
                over.append({"loc": f"spec.{est.disk.loc}", "msg": problem})
        if over:
            raise InvalidArgument(
                "job over its resource limits: " + "; ".join(f"{d['loc']}: {d['msg']}" for d in over),
                details=over,
            )
        return est

    def _quota_problem(self, who: Principal, amount: float, why: str) -> str:
        """Why ``amount`` [B] more output would take the user over their disk quota ('' if not)."""
        used = self.store.disk_usage(who.user)
        quota = self.settings.user_disk_mb * 2**20
        if used + amount <= quota:
            return ""
        return (
            f"{why} need about {mib(amount)} of output; user {who.user} already holds "
            f"{mib(used)} of a disk quota of {mib(quota)} (BEAMTRACK_USER_DISK_MB)"
        )

    def get(self, who: Principal, job_id: str) -> JobRecord:
        """The job, if the caller may see it (else NotFound, as for an unknown id)."""
        if not job_id or len(job_id) > 64 or not job_id.isalnum():
            raise NotFound(f"job {job_id!r} not found")
        rec = self.store.get(job_id)
        if not who.admin and rec.owner != who.user:
            raise NotFound(f"job {job_id} not found")
        return rec

    def list_jobs(
        self,
        who: Principal,
        *,
        state: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[builtins.list[JobRecord], str | None]:
        """A page of the caller's jobs (all jobs for an admin), newest first."""
        if state is not None and state not in {s.value for s in JobState}:
            msg = f"must be one of {', '.join(s.value for s in JobState)}"
            raise InvalidArgument(f"state: {msg}", details=[{"loc": "state", "msg": msg}])
        seq = _page(limit, cursor)
        owner = None if who.admin else who.user
        recs, nxt = self.store.list_jobs(owner=owner, state=state, limit=limit, cursor=seq)
        return recs, (str(nxt) if nxt is not None else None)

    def cancel(self, who: Principal, job_id: str) -> JobRecord:
        """Cancel a queued job, or ask a running one to stop; Conflict when already finished."""
        self.get(who, job_id)
        self.store.cancel(job_id)
        return self.store.get(job_id)

    def events(
        self,
        who: Principal,
        job_id: str,
        after: str | None = None,
    ) -> Iterator[builtins.list[StreamEvent]]:
        """Batches of the job's events after cursor ``after`` until its result (an empty batch
        is a keep-alive tick)."""
        self.get(who, job_id)
        cursor = after or "0-0"
        if not _valid_stream_id(cursor):
            raise InvalidArgument(
                "after: not an event id returned by this API", details=[{"loc": "after", "msg": "invalid event id"}]
            )
        return self.store.follow(job_id, cursor, block_ms=self.settings.stream_block_ms)

    def diagnostics(self, who: Principal, job_id: str) -> builtins.list[dict[str, float]]:
        """Every reduced-diagnostics row the job has published so far (a cached job's: those
        of the job it was served from)."""
        rec = self.get(who, job_id)
        return self.store.diagnostics(rec.cached_from or job_id)

    def job_dir(self, job_id: str) -> Path:
        """The job's directory in this server's artifact store; an upload of a worker on
        another node that is still in Redis is pulled into it first, and the recorded output of
        a packed run (``beamtrack.engine.packed_output``) written out into its files."""
        root = self.artifact_root / job_id
        if not root.is_dir() and job_id.isalnum():
            try:
                pull(self.store, job_id, self.artifact_root)
            except ValueError:
                log.exception("job %s: its uploaded artifacts are not whole", job_id)
        from beamtrack.engine.packed_output import PACKED_FILE, materialize

        if (root / PACKED_FILE).is_file():
            try:
                materialize(root)
            except Exception:
                log.exception("job %s: its packed output could not be written out", job_id)
        return root

    def artifacts(self, who: Principal, job_id: str) -> builtins.list[dict[str, Any]]:
        """Files the job wrote: ``[{"name": relative path, "size": bytes}]``."""
        rec = self.get(who, job_id)
        root = self.job_dir(rec.cached_from or job_id)
        if not root.is_dir():
            return []
        from beamtrack.engine.packed_output import internal_file

        return [
            {"name": name, "size": p.stat().st_size}
            for p in sorted(root.rglob("*"))
            if p.is_file() and not internal_file(name := str(p.relative_to(root)))
        ]

    def artifact_path(self, who: Principal, job_id: str, name: str) -> Path:
        """Absolute path of one artifact; NotFound for anything outside the job's directory."""
        rec = self.get(who, job_id)
        root = self.job_dir(rec.cached_from or job_id).resolve()
        if "\x00" in name:  # no file name holds NUL; os calls would raise ValueError on it
            raise NotFound(f"artifact {name!r} of job {job_id} not found")
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFound(f"artifact {name!r} of job {job_id} not found")
        return path

    # -- scans -----------------------------------------------------------------------------------
    def submit_scan(
        self,
        who: Principal,
        scan: Any,
        *,
        priority: int = 0,
        device: str = "auto",
        hook_module: str | None = None,
    ) -> dict[str, Any]:
        """Validate a ScanSpec, expand it and queue every variant as a job of the new scan (all
        or nothing): each variant is checked against the per-job limits and the variants' disk
        estimates together against the user's quota; variants whose identical spec already
        succeeded are served from the result cache. Returns the scan's public form."""
        self._check_options(who, priority=priority, device=device, hook_module=hook_module)
        device = device or "auto"
        try:
            scan_spec = parse_scan(scan)
            variants = expand_variants(scan_spec, max_variants=self.settings.max_scan_variants)
        except SpecError as exc:
            details = [
                {"loc": "scan" if e["loc"] in ("(root)", "(scan)") else f"scan.{e['loc']}", "msg": e["msg"]}
                for e in exc.errors
            ]
            raise InvalidArgument(
                "invalid scan: " + "; ".join(f"{d['loc']}: {d['msg']}" for d in details),
                details=details,
            ) from None
        jobs: builtins.list[NewJob] = []
        over: builtins.list[dict[str, str]] = []
        hook = hook_module or ""
        pack_memo: dict[int, Any] = {}
        for i, variant in enumerate(variants):
            spec = variant.spec
            try:
                est = self._check_limits(who, spec, quota=False)
            except InvalidArgument as exc:
                over.extend(
                    {"loc": f"scan.variants[{i}].{d['loc'].removeprefix('spec.')}", "msg": d["msg"]}
                    for d in exc.details
                )
                if len(over) >= MAX_SCAN_ERRORS:
                    break
                continue
            # the stored spec is the canonical JSON with the name first (one encoding per variant)
            canonical = variant.canonical
            spec_json = f'{{"name":{json.dumps(spec.name)},{canonical[1:]}'
            jobs.append(
                NewJob(
                    spec.name,
                    spec_json,
                    hook,
                    int(est.disk.amount),
                    cache_key_of_canonical(canonical, hook_module=hook, device=device),
                    i,
                    variant.values,
                    pack_key=pack_key(spec, hook_module=hook, memo=pack_memo),
                )
            )
        if over:
            raise InvalidArgument(
                "scan variants over their resource limits: " + "; ".join(f"{d['loc']}: {d['msg']}" for d in over),
                details=over,
            )
        if self.settings.result_cache and scan_spec.use_cache:
            hits = self.store.cache_lookup(who.user, [j.cache_key for j in jobs])
            for job in jobs:
                job.cached = hits.get(job.cache_key)
        need = sum(j.disk_estimate for j in jobs if j.cached is None)
        problem = self._quota_problem(who, need, f"the scan's {len(jobs)} variants together")
        if problem:
            raise InvalidArgument(f"scan: {problem}", details=[{"loc": "scan", "msg": problem}])
        scan_id = uuid.uuid4().hex
        self.store.submit_jobs(
            owner=who.user,
            jobs=jobs,
            priority=priority,
            device=device,
            scan={
                "id": scan_id,
                "name": scan_spec.name or scan_spec.base.name,
                "spec": scan_spec.model_dump_json(),
                "paths": scan_spec.paths(),
                "columns": scan_spec.columns,
            },
        )
        return self.get_scan(who, scan_id)

    def _scan(self, who: Principal, scan_id: str) -> ScanRecord:
        if not scan_id or len(scan_id) > 64 or not scan_id.isalnum():
            raise NotFound(f"scan {scan_id!r} not found")
        rec = self.store.get_scan(scan_id)
        if not who.admin and rec.owner != who.user:
            raise NotFound(f"scan {scan_id} not found")
        return rec

    def get_scan(self, who: Principal, scan_id: str) -> dict[str, Any]:
        """The scan's public form: state and the count of variants in each state."""
        rec = self._scan(who, scan_id)
        return scan_public(rec, self.store.scan_counts(scan_id))

    def list_scans(
        self, who: Principal, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """A page of the caller's scans (all for an admin), newest first."""
        seq = _page(limit, cursor)
        recs, nxt = self.store.list_scans(owner=None if who.admin else who.user, limit=limit, cursor=seq)
        return ([scan_public(r, self.store.scan_counts(r.id)) for r in recs], str(nxt) if nxt is not None else None)

    def cancel_scan(self, who: Principal, scan_id: str) -> dict[str, Any]:
        """Cancel every unfinished variant (queued at once, running asked to stop); finished
        variants keep their results."""
        self._scan(who, scan_id)
        self.store.cancel_scan(scan_id)
        return self.get_scan(who, scan_id)

    def scan_results(self, who: Principal, scan_id: str) -> tuple[builtins.list[str], builtins.list[dict[str, Any]]]:
        """The scan's table: its columns, and one row per variant (variant, job_id, state,
        attempts (its tries: more than one after a retry), cached_from, the parameter values by path, then the chosen columns of the last
        diagnostics row of each succeeded variant; None where a variant has no such value)."""
        rec = self._scan(who, scan_id)
        jobs = self.store.jobs(self.store.scan_job_ids(scan_id))
        done = [j for j in jobs if j.state is JobState.SUCCEEDED]
        last = dict(
            zip((j.id for j in done), self.store.last_diagnostics([j.cached_from or j.id for j in done]), strict=True)
        )
        diag_cols = list(rec.columns or [])
        if rec.columns is None:
            for last_row in last.values():
                diag_cols.extend(k for k in last_row or {} if k not in diag_cols)
        columns = [*SCAN_ROW_COLUMNS, *rec.paths, *(c for c in diag_cols if c not in rec.paths)]
        rows = []
        for j in jobs:
            row: dict[str, Any] = {
                "variant": j.variant,
                "job_id": j.id,
                "state": j.state.value,
                "attempts": j.attempts,
                "cached_from": j.cached_from or None,
            }
            row.update({p: j.values.get(p) for p in rec.paths})
            diag = last.get(j.id) or {}
            row.update({c: diag.get(c) for c in diag_cols if c not in rec.paths})
            rows.append(row)
        return columns, rows


def _check_hook_module(source: str, *, enabled: bool) -> None:
    """InvalidArgument unless hooks are enabled, this host can sandbox them and ``source`` is an
    acceptable hook module (size, syntax, defines a hook; nothing of it is run here)."""
    reason = sandbox_unsupported() if enabled else "disabled by the setting BEAMTRACK_HOOK_SANDBOX"
    if reason:
        msg = f"{HOOK_REFUSED}: {reason}"
        raise InvalidArgument(msg, details=[{"loc": "hook_module", "msg": msg}])
    problem = hook_module_problem(source)
    if problem:
        raise InvalidArgument(f"hook_module: {problem}", details=[{"loc": "hook_module", "msg": problem}])


def _page(limit: int, cursor: str | None) -> int | None:
    """A list call's page size checked and its cursor (a seq returned by the API) parsed; InvalidArgument
    naming ``limit`` or ``cursor`` otherwise."""
    if not 1 <= limit <= MAX_PAGE:
        msg = f"must be between 1 and {MAX_PAGE}"
        raise InvalidArgument(f"limit: {msg}", details=[{"loc": "limit", "msg": msg}])
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidArgument(
            "cursor: not a cursor returned by this API", details=[{"loc": "cursor", "msg": "invalid cursor"}]
        )
    return int(cursor)


def _valid_stream_id(cursor: str) -> bool:
    """An event id (``store.stream_ids``): a Redis stream entry id ``ms[-seq]``, both parts
    unsigned 64-bit (what Redis accepts), with ``.row`` for a row inside a compact entry."""
    entry, dot, row = cursor.partition(".")
    ms, dash, seq = entry.partition("-")
    return _u64(ms) and (not dash or _u64(seq)) and (not dot or (0 < len(row) <= 9 and row.isascii() and row.isdigit()))


def _u64(text: str) -> bool:
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit() and int(text) < 2**64


def job_public(rec: JobRecord) -> dict[str, Any]:
    """The public form of a job (``beamtrack.spec.contract.JobPublic``) as JSON-ready data: REST
    bodies, the CLI, and (through ``beamtrack.spec.v1.convert``) gRPC."""
    return JobPublic(
        id=rec.id,
        owner=rec.owner,
        name=rec.name,
        state=rec.state.value,
        priority=rec.priority,
        device=rec.device,
        progress=Progress(
            step=rec.step,
            total_steps=rec.total_steps,
            fraction=(rec.step / rec.total_steps) if rec.total_steps else 0.0,
        ),
        created_at=rec.created_at,
        started_at=rec.started_at,
        finished_at=rec.finished_at,
        attempts=rec.attempts,
        error=rec.error or None,
        cancel_requested=rec.cancel_requested,
        result=rec.result or None,
        artifacts_expired=rec.artifacts_expired,
        scan_id=rec.scan_id or None,
        variant=rec.variant,
        values=rec.values or None,
        cached_from=rec.cached_from or None,
    ).model_dump()


def scan_public(rec: ScanRecord, counts: dict[str, int]) -> dict[str, Any]:
    """The public JSON form of a scan (REST bodies, CLI output)."""
    return {
        "id": rec.id,
        "owner": rec.owner,
        "name": rec.name,
        "state": scan_state(counts, cancel_requested=rec.cancel_requested),
        "variants": rec.n,
        "counts": counts,
        "parameters": rec.paths,
        "priority": rec.priority,
        "device": rec.device,
        "created_at": rec.created_at,
        "cancel_requested": rec.cancel_requested,
    }
