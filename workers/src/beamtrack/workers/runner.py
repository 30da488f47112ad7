"""JobRunner: runs one claimed job through beamtrack.engine and reports to the job store.

The scheduler wraps this class as a Ray actor (one per running job); it is a plain class so it
can also run in-process. The engine is imported inside ``run`` so that importing this module
(which the server does to create actors) does not load NumPy and the kernels.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beamtrack.spec import SpecError, load_spec

from .errors import NotFound
from .sharded import ShardedRun, ShardLost
from .store import JobState, JobStore
from .transfer import Transfer, UploadTooLarge, shares_store, upload

#: Rows are sent to Redis in batches: at most this many seconds or rows wait in the buffer.
FLUSH_INTERVAL_S = 0.05
FLUSH_ROWS = 500
#: How often the cancel watcher looks at the job's cancel flag [s].
CANCEL_POLL_S = 0.2
#: How often the watcher measures the job's memory and output against its limits [s].
LIMIT_POLL_S = 1.0
#: How long a worker's store writes keep retrying while Redis is unreachable [s].
WORKER_RETRY_S = 300.0


@dataclass(frozen=True)
class JobLimits:
    """What one job may use while it runs: resident memory of the worker process [MiB], bytes
    written under its artifact directory [MiB], wall time [s]. Past one, the job stops at its
    next step and fails naming the limit (not retried: a rerun would hit it again)."""

    memory_mb: float = float("inf")
    disk_mb: float = float("inf")
    wall_s: float = float("inf")


def tree_bytes(path: Path) -> int:
    """Total size of the regular files under ``path`` [B] (symlinks are not followed)."""
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total


def resident_mb() -> float:
    """Resident memory of this process [MiB] (Linux /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def limit_exceeded(limits: JobLimits, *, elapsed_s: float, out_dir: Path) -> str:
    """The job's error when it is over one of ``limits``, else ''."""
    if elapsed_s > limits.wall_s:
        return (
            f"wall-clock limit: the job ran {elapsed_s:,.0f} s, over its limit of "
            f"{limits.wall_s:,.0f} s (BEAMTRACK_JOB_WALL_S)"
        )
    rss = resident_mb()
    if rss > limits.memory_mb:
        return (
            f"out of memory: the worker held {rss:,.0f} MiB, over the job's limit of "
            f"{limits.memory_mb:,.0f} MiB (BEAMTRACK_JOB_MEMORY_MB)"
        )
    if math.isfinite(limits.disk_mb):
        written = tree_bytes(out_dir) / 2**20
        if written > limits.disk_mb:
            return (
                f"disk quota: the job wrote {written:,.0f} MiB, over its limit of "
                f"{limits.disk_mb:,.0f} MiB (BEAMTRACK_JOB_DISK_MB)"
            )
    return ""


def _clean_row(row: dict[str, Any]) -> dict[str, float | int | None]:
    """JSON-safe copy of a diagnostics row: floats, int step and period, None for NaN/inf."""
    out: dict[str, float | int | None] = {}
    for key, value in row.items():
        v = float(value)
        if key in ("step", "period"):
            out[key] = int(v)
        else:
            out[key] = v if math.isfinite(v) else None
    return out


def custom_counts(store: JobStore, job_id: str) -> dict[int, int]:
    """Custom values already in the job's stream, counted per tracking step."""
    counts: dict[int, int] = {}
    cursor = "0-0"
    while True:
        events = store.read_events(job_id, cursor, count=5000)
        if not events:
            return counts
        for ev in events:
            if ev.kind == "custom":
                step = int(ev.data.get("step", -1))
                counts[step] = counts.get(step, 0) + 1
        cursor = events[-1].id


def scratch_root() -> Path:
    """Where workers that upload their jobs' files write them first (this node's disk)."""
    return Path(tempfile.gettempdir()) / "beamtrack-jobs"


def list_artifacts(out_dir: Path) -> list[str]:
    """Relative paths of every file under ``out_dir``, sorted."""
    if not out_dir.is_dir():
        return []
    return sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())


def _hook_error(exc: BaseException) -> str:
    """The job's error for ``exc``: a sandbox's own message (it names the hook and the reason)
    when a sandboxed hook failed, else the exception's type and message."""
    from .sandbox.errors import SandboxError

    cause = exc if isinstance(exc, SandboxError) else exc.__cause__
    if isinstance(cause, SandboxError):
        return str(cause)
    return f"{type(exc).__name__}: {exc}"


class JobRunner:
    """Runs job attempts: engine calls, diagnostics to the stream, cancel, terminal state."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        artifact_dir: str,
        hook_limits: dict[str, Any] | None = None,
        job_limits: dict[str, float] | None = None,
        transfer: Transfer | None = None,
    ):
        self.store = JobStore.from_url(redis_url, prefix=prefix, retry_s=WORKER_RETRY_S)
        self.artifact_dir = Path(artifact_dir)
        #: how the job's files reach the server (beamtrack.workers.transfer); without one the
        #: artifact directory is taken to be the server's (in-process runs)
        self.transfer = transfer
        #: SandboxLimits fields (cpu_s, wall_s, memory_mb, fsize_mb) for jobs with a hook module
        self.hook_limits = dict(hook_limits or {})
        self.limits = JobLimits(**(job_limits or {}))

    def pid(self) -> int:
        """The worker process id (tests kill it to simulate a crash)."""
        return os.getpid()

    def wait_done(self) -> bool:
        """Returns once a running ``run`` call has finished (calls on one actor are serial)."""
        return True

    def uploads(self) -> bool:
        """Whether this worker's jobs upload their files (it does not see the server's artifact
        directory, or is told to upload always)."""
        t = self.transfer
        return t is not None and (t.always_upload or not shares_store(self.artifact_dir, t.store_id))

    def _out_dir(self, job_id: str) -> Path:
        """Where the job writes: the server's artifact directory, or this node's scratch."""
        if self.uploads():
            self.sweep_scratch()
            return scratch_root() / f"{self.store.prefix}-{job_id}"
        return self.artifact_dir / job_id

    def sweep_scratch(self) -> list[str]:
        """Remove this node's scratch directories of jobs that are no longer running (left by
        workers killed before their upload); returns the job ids swept."""
        swept = []
        root = scratch_root()
        head = f"{self.store.prefix}-"
        for path in root.glob(head + "*") if root.is_dir() else []:
            job_id = path.name[len(head) :]
            if not job_id.isalnum():
                continue
            try:
                state = self.store.get(job_id).state
            except NotFound:
                state = None
            if state is not JobState.RUNNING:
                shutil.rmtree(path, ignore_errors=True)
                swept.append(job_id)
        return swept

    def _deliver(self, job_id: str, attempt: int, out_dir: Path, state: JobState) -> tuple[list[str], str]:
        """Hand the job's files to the server (an upload when ``out_dir`` is this worker's own
        scratch directory, which is then removed); returns their names and an error ('' when
        none)."""
        names = list_artifacts(out_dir)
        if out_dir == self.artifact_dir / job_id or self.transfer is None:
            return names, ""
        t = self.transfer
        try:
            upload(
                self.store,
                job_id,
                attempt,
                out_dir,
                max_bytes=t.max_bytes,
                ttl_s=t.ttl_s if state is JobState.SUCCEEDED else t.failed_ttl_s,
            )
        except UploadTooLarge as exc:
            return [], f"artifacts: {exc}"
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        return names, ""

    def run(self, job_id: str, attempt: int, kind: str | None = None) -> str:
        """Run attempt ``attempt`` of ``job_id``; returns the terminal state it recorded."""
        store = self.store
        rec = store.get(job_id)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        store.mark_started(job_id, worker=worker, total_steps=0)
        if rec.cancel_requested:
            store.record_disk(job_id, rec.owner, 0)
            store.finish(job_id, attempt, JobState.CANCELLED, result={"steps": 0})
            return JobState.CANCELLED.value
        try:
            spec = load_spec(rec.spec)
        except SpecError as exc:
            store.record_disk(job_id, rec.owner, 0)
            store.finish(job_id, attempt, JobState.FAILED, error=f"invalid spec: {exc}")
            return JobState.FAILED.value

        from beamtrack.engine import Simulation, TrackingCancelled

        out_dir = self._out_dir(job_id)
        if out_dir.exists():
            shutil.rmtree(out_dir)  # a retry starts from a clean directory
        out_dir.mkdir(parents=True, mode=0o700)
        t0 = time.monotonic()
        try:
            sim: Simulation | ShardedRun
            if spec.workers > 1:  # one job across spec.workers actors (beamtrack.workers.sharded)
                sim = ShardedRun(
                    spec,
                    out_dir,
                    kind,
                    hooks=bool(rec.hook_module),
                    log=lambda msg: store.publish(job_id, "log", {"msg": msg}),
                )
            else:
                sim = Simulation.from_spec(spec, out_dir, kind=kind)
        except ShardLost:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise  # the scheduler requeues the job, as for a lost worker
        except Exception as exc:  # noqa: BLE001 - any setup failure fails the job with its reason
            why = f"out of memory: {exc}" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
            store.record_disk(job_id, rec.owner, tree_bytes(out_dir))
            self._deliver(job_id, attempt, out_dir, JobState.FAILED)
            store.finish(job_id, attempt, JobState.FAILED, error=why)
            return JobState.FAILED.value
        store.mark_started(job_id, worker=worker, total_steps=int(sim.total_steps))
        store.publish(
            job_id,
            "log",
            {"msg": f"attempt {attempt} started on {worker} (kind={kind or 'auto'}, {sim.total_steps} steps)"},
        )

        # A retry reruns the same seeded, deterministic simulation: rows an earlier attempt
        # already published are skipped, so a stream never carries a row twice.
        skip = rec.diag_count
        seen = 0
        buffer: list[dict[str, Any]] = []
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush
            if buffer:
                store.publish_rows(job_id, attempt, buffer)
                buffer.clear()
            last_flush = time.monotonic()

        def on_row(row: dict[str, float]) -> None:
            nonlocal seen
            seen += 1
            if seen <= skip:
                return
            buffer.append(_clean_row(row))
            if len(buffer) >= FLUSH_ROWS or time.monotonic() - last_flush > FLUSH_INTERVAL_S:
                flush()

        sim.diagnostics_listeners.append(on_row)

        # A retry's hooks emit again: the n-th value emitted at step k was published by an
        # earlier attempt when the stream already holds n custom values of step k.
        published = custom_counts(store, job_id) if attempt > 1 else {}
        emitted: dict[int, int] = {}

        def on_emit(name: str, value: float | None, step: int) -> None:
            n = emitted[step] = emitted.get(step, 0) + 1
            if n <= published.get(step, 0):
                return
            flush()  # keeps the stream in tracking order: rows before the value come first
            store.publish(job_id, "custom", {"name": name, "value": value, "step": step})

        sandbox = None
        if rec.hook_module:
            from .sandbox.supervisor import HookSandbox, SandboxLimits

            sandbox = HookSandbox(rec.hook_module, limits=SandboxLimits(**self.hook_limits), on_emit=on_emit)
            try:
                names = sandbox.start(sim)
            except Exception as exc:  # noqa: BLE001 - SandboxError or OS failure: the job fails
                sandbox.close()
                sim.finalize()
                names, _ = self._deliver(job_id, attempt, out_dir, JobState.FAILED)
                store.finish(
                    job_id, attempt, JobState.FAILED, error=_hook_error(exc), result={"steps": 0, "artifacts": names}
                )
                return JobState.FAILED.value
            store.publish(job_id, "log", {"msg": f"hook sandbox started: {', '.join(names)}"})
        done = threading.Event()
        over_limit = ""

        def watch_cancel() -> None:
            nonlocal over_limit
            next_check = 0.0
            while not done.wait(CANCEL_POLL_S):
                if store.is_cancel_requested(job_id):
                    sim.request_stop()
                    return
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + LIMIT_POLL_S
                    over_limit = limit_exceeded(self.limits, elapsed_s=now - t0, out_dir=out_dir)
                    if over_limit:
                        sim.request_stop()
                        return

        watcher = threading.Thread(target=watch_cancel, name=f"cancel-{job_id}", daemon=True)
        watcher.start()
        state, error = JobState.SUCCEEDED, ""
        lost: ShardLost | None = None
        try:
            sim.track_particles()
        except ShardLost as exc:
            lost = exc
        except TrackingCancelled:
            state = JobState.CANCELLED
        except MemoryError as exc:
            state, error = JobState.FAILED, f"out of memory: {exc}"
        except Exception as exc:  # noqa: BLE001 - the job fails with the reason, the worker lives
            state, error = JobState.FAILED, _hook_error(exc)
        finally:
            done.set()
            watcher.join()
            try:
                sim.finalize()
            except Exception as exc:  # noqa: BLE001
                if state is JobState.SUCCEEDED:
                    state, error = JobState.FAILED, f"finalize: {type(exc).__name__}: {exc}"
            if sandbox is not None:
                sandbox.close()
            flush()
        if lost is not None:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise lost  # the scheduler requeues the job, as for a lost worker
        if over_limit:
            state, error = JobState.FAILED, over_limit
        steps = int(sim.tracking_step)
        store.set_step(job_id, steps)
        store.record_disk(job_id, rec.owner, tree_bytes(out_dir))
        names, upload_error = self._deliver(job_id, attempt, out_dir, state)
        if upload_error:
            state, error = JobState.FAILED, upload_error
        result = {
            "steps": steps,
            "wall_time_s": time.monotonic() - t0,
            "artifacts": names,
        }
        store.finish(job_id, attempt, state, error=error, result=result)
        return state.value
