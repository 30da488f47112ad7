"""PackRunner: runs a pack of claimed scan variants in one worker (packed execution).

The scheduler claims up to ``pack_size`` queued variants of one scan with the same pack key
(``JobStore.claim_pack``) and hands them to one PackRunner actor. Each variant is still its own
job: its record is started, it publishes its own diagnostics rows (a retry skips the rows an
earlier attempt already published, as ``JobRunner`` does), its progress, its files (uploaded
like a single job's when the worker has its own scratch directory) and its terminal state.
The variants whose engine ``pack_signature`` agree are tracked together by
``beamtrack.engine.packed.PackedRun`` (one kernel launch per fused group for all of them); one
that differs is tracked alone in the same worker. A cancel or a limit stops only its variant.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beamtrack.spec import SpecError, load_spec

from .runner import (
    CANCEL_POLL_S,
    FLUSH_INTERVAL_S,
    FLUSH_ROWS,
    LIMIT_POLL_S,
    JobRunner,
    _clean_row,
    _hook_error,
    limit_exceeded,
    tree_bytes,
)
from .store import JobState


@dataclass
class _Variant:
    """One job of the pack while it runs."""

    job_id: str
    attempt: int
    owner: str
    out_dir: Path
    sim: Any
    skip: int
    seen: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    state: JobState = JobState.SUCCEEDED
    error: str = ""
    over_limit: str = ""


class PackRunner(JobRunner):
    """Runs packs of job attempts; see the module docstring."""

    def run_pack(self, members: list[tuple[str, int]], kind: str | None = None) -> list[str]:
        """Run attempt ``a`` of each job ``j`` in ``members`` [(j, a), ...] together; returns the
        terminal states they recorded, in order."""
        worker = f"{socket.gethostname()}:{os.getpid()}"
        t0 = time.monotonic()
        states: dict[str, str] = {}
        variants: list[_Variant] = []
        for job_id, attempt in members:
            v = self._prepare(job_id, attempt, kind, worker, len(members), states)
            if v is not None:
                variants.append(v)
        last_flush = [time.monotonic()]
        pending = [0]

        def flush() -> None:
            batches = [(v.job_id, v.attempt, v.rows) for v in variants if v.rows]
            if batches:
                self.store.publish_rows_many(batches)
                for v in variants:
                    v.rows = []
            pending[0] = 0
            last_flush[0] = time.monotonic()

        for v in variants:
            v.sim.diagnostics_listeners.append(self._row_listener(v, pending, last_flush, flush))
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(variants, done, t0), name="cancel-pack", daemon=True)
        watcher.start()
        try:
            self._track(variants)
        finally:
            done.set()
            watcher.join()
            for v in variants:
                try:
                    v.sim.finalize()
                except Exception as exc:  # noqa: BLE001
                    if v.state is JobState.SUCCEEDED:
                        v.state, v.error = JobState.FAILED, f"finalize: {type(exc).__name__}: {exc}"
            flush()
        for v in variants:
            states[v.job_id] = self._finish(v, t0).value
        return [states[job_id] for job_id, _ in members]

    # -- one variant -------------------------------------------------------------------------------
    def _prepare(
        self, job_id: str, attempt: int, kind: str | None, worker: str, size: int, states: dict[str, str]
    ) -> _Variant | None:
        """Start the variant's record and build its Simulation; None (its state in ``states``)
        when it ended already: cancelled before it started, or a spec or setup failure."""
        store = self.store
        rec = store.get(job_id)
        store.mark_started(job_id, worker=worker, total_steps=0)
        if rec.cancel_requested:
            store.record_disk(job_id, rec.owner, 0)
            store.finish(job_id, attempt, JobState.CANCELLED, result={"steps": 0})
            states[job_id] = JobState.CANCELLED.value
            return None
        try:
            spec = load_spec(rec.spec)
        except SpecError as exc:
            store.record_disk(job_id, rec.owner, 0)
            store.finish(job_id, attempt, JobState.FAILED, error=f"invalid spec: {exc}")
            states[job_id] = JobState.FAILED.value
            return None
        from beamtrack.engine import Simulation

        out_dir = self._out_dir(job_id)
        if out_dir.exists():
            shutil.rmtree(out_dir)  # a retry starts from a clean directory
        out_dir.mkdir(parents=True, mode=0o700)
        try:
            sim = Simulation.from_spec(spec, out_dir, kind=kind)
        except Exception as exc:  # noqa: BLE001 - any setup failure fails the variant with its reason
            why = f"out of memory: {exc}" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
            store.record_disk(job_id, rec.owner, tree_bytes(out_dir))
            self._deliver(job_id, attempt, out_dir, JobState.FAILED)
            store.finish(job_id, attempt, JobState.FAILED, error=why)
            states[job_id] = JobState.FAILED.value
            return None
        store.mark_started(job_id, worker=worker, total_steps=int(sim.total_steps))
        store.publish(
            job_id,
            "log",
            {
                "msg": f"attempt {attempt} started on {worker} (kind={kind or 'auto'}, "
                f"{sim.total_steps} steps) in a pack of {size} variants"
            },
        )
        return _Variant(job_id, attempt, rec.owner, out_dir, sim, skip=rec.diag_count)

    @staticmethod
    def _row_listener(v: _Variant, pending: list[int], last_flush: list[float], flush: Any) -> Any:
        def on_row(row: dict[str, float]) -> None:
            v.seen += 1
            if v.seen <= v.skip:
                return  # an earlier attempt published this row
            v.rows.append(_clean_row(row))
            pending[0] += 1
            if pending[0] >= FLUSH_ROWS or time.monotonic() - last_flush[0] > FLUSH_INTERVAL_S:
                flush()

        return on_row

    def _watch(self, variants: list[_Variant], done: threading.Event, t0: float) -> None:
        """Stop the variants whose cancel was requested or that went over a limit."""
        next_check = 0.0
        while not done.wait(CANCEL_POLL_S):
            live = [v for v in variants if not v.over_limit]
            for v, flag in zip(live, self.store.cancels_requested(v.job_id for v in live), strict=True):
                if flag:
                    v.sim.request_stop()
            now = time.monotonic()
            if now >= next_check:
                next_check = now + LIMIT_POLL_S
                for v in live:
                    v.over_limit = limit_exceeded(self.limits, elapsed_s=now - t0, out_dir=v.out_dir)
                    if v.over_limit:
                        v.sim.request_stop()

    @staticmethod
    def _track(variants: list[_Variant]) -> None:
        """Track the variants: those with one engine pack signature together, the others alone."""
        from beamtrack.engine import TrackingCancelled
        from beamtrack.engine.packed import PackedRun, pack_signature

        groups: dict[Any, list[_Variant]] = {}
        alone: list[_Variant] = []
        for v in variants:
            sig = pack_signature(v.sim)
            (alone if sig is None else groups.setdefault(sig, [])).append(v)

        def record(v: _Variant, exc: BaseException) -> None:
            if isinstance(exc, TrackingCancelled):
                v.state = JobState.CANCELLED
            elif isinstance(exc, MemoryError):
                v.state, v.error = JobState.FAILED, f"out of memory: {exc}"
            else:
                v.state, v.error = JobState.FAILED, _hook_error(exc)

        for group in groups.values():
            try:
                run = PackedRun([v.sim for v in group])
                run.track_particles()
            except Exception as exc:  # noqa: BLE001 - the pack's variants fail with the reason
                for v in group:
                    record(v, exc)
                continue
            for i, exc in run.errors.items():
                record(group[i], exc)
        for v in alone:
            try:
                v.sim.track_particles()
            except Exception as exc:  # noqa: BLE001
                record(v, exc)

    def _finish(self, v: _Variant, t0: float) -> JobState:
        store = self.store
        state, error = v.state, v.error
        if v.over_limit:
            state, error = JobState.FAILED, v.over_limit
        steps = int(v.sim.tracking_step)
        store.set_step(v.job_id, steps)
        store.record_disk(v.job_id, v.owner, tree_bytes(v.out_dir))
        names, upload_error = self._deliver(v.job_id, v.attempt, v.out_dir, state)
        if upload_error:
            state, error = JobState.FAILED, upload_error
        result = {"steps": steps, "wall_time_s": time.monotonic() - t0, "artifacts": names}
        store.finish(v.job_id, v.attempt, state, error=error, result=result)
        return state
