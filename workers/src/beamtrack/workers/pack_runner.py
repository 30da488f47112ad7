"""PackRunner: runs a pack of claimed scan variants in one worker (packed execution).

The scheduler claims up to ``pack_size`` queued variants of one scan with the same pack key
(``JobStore.claim_pack``) and hands them to one PackRunner actor. Each variant is still its own
job: its record is started, it publishes its own diagnostics rows (a retry skips the rows an
earlier attempt already published, as ``JobRunner`` does), its progress, its files (uploaded
like a single job's when the worker has its own scratch directory) and its terminal state. Its
files are the pack's recorded output (``beamtrack.engine.packed_output``) until first read: the
server writes them out then (``JobService.job_dir``); its record lists the files they become.
The variants whose engine ``pack_signature`` agree are tracked together by
``beamtrack.engine.packed.PackedRun`` (one kernel launch per fused group for all of them); one
that differs is tracked alone in the same worker. A cancel or a limit stops only its variant.
"""

from __future__ import annotations

import math
import os
import queue
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from beamtrack.spec import SpecError, load_spec

from .diag_rows import encode_block
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
from .store import FinishedRun, JobRecord, JobState


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
    #: the rows of a packed run waiting to be published (each a row of values in the
    #: publisher's ``columns``), and the step of the last
    values: list[np.ndarray] = field(default_factory=list)
    last_step: int = 0
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
        variants = self._prepare_all(members, kind, worker, states)
        rows = _RowPublisher(self.store, variants)
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(variants, done, t0), name="cancel-pack", daemon=True)
        watcher.start()
        runs: list[tuple[Any, list[_Variant]]] = []
        try:
            self._track(variants, rows, runs)
        finally:
            done.set()
            watcher.join()
            failed: dict[str, BaseException] = {}
            finalized: set[str] = set()
            for run, group in runs:  # a pack's files written a few at a time (PackedRun.finalize)
                errors = run.finalize()
                finalized.update(v.job_id for v in group)
                failed.update((group[i].job_id, exc) for i, exc in errors.items())
            for v in variants:
                if v.job_id not in finalized:
                    try:
                        v.sim.finalize()
                    except Exception as exc:  # noqa: BLE001
                        failed[v.job_id] = exc
                why = failed.get(v.job_id)
                if why is not None and v.state is JobState.SUCCEEDED:
                    v.state, v.error = JobState.FAILED, f"finalize: {type(why).__name__}: {why}"
            rows.close()
        for v, state in zip(variants, self._finish_all(variants, t0), strict=True):
            states[v.job_id] = state.value
        return [states[job_id] for job_id, _ in members]

    # -- the variants ----------------------------------------------------------------------------
    def _prepare_all(
        self, members: list[tuple[str, int]], kind: str | None, worker: str, states: dict[str, str]
    ) -> list[_Variant]:
        """Start the members' records and build their Simulations (the store's reads and writes
        batched); a member that ended already (cancelled before it started, a spec or setup
        failure) has its state in ``states`` instead."""
        store = self.store
        recs = {r.id: r for r in store.jobs(job_id for job_id, _ in members)}
        store.mark_started_many([(job_id, worker, 0) for job_id, _ in members])
        variants: list[_Variant] = []
        draws: dict[Any, Any] = {}  # variants of one beam draw it once (Simulation.from_spec)
        for job_id, attempt in members:
            v = self._prepare(recs.get(job_id) or store.get(job_id), attempt, kind, states, draws)  # NotFound: gone
            if v is not None:
                variants.append(v)
        size = len(members)
        store.start_many(
            [
                (
                    v.job_id,
                    worker,
                    int(v.sim.total_steps),
                    f"attempt {v.attempt} started on {worker} (kind={kind or 'auto'}, "
                    f"{v.sim.total_steps} steps) in a pack of {size} variants",
                )
                for v in variants
            ]
        )
        return variants

    def _prepare(
        self, rec: JobRecord, attempt: int, kind: str | None, states: dict[str, str], draws: dict[Any, Any]
    ) -> _Variant | None:
        """The variant's Simulation (its beam drawn with the pack's ``draws`` memo); None (its state
        in ``states``) when it ended already."""
        store, job_id = self.store, rec.id
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
            sim = Simulation.from_spec(spec, out_dir, kind=kind, draws=draws)
        except Exception as exc:  # noqa: BLE001 - any setup failure fails the variant with its reason
            why = f"out of memory: {exc}" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
            store.record_disk(job_id, rec.owner, tree_bytes(out_dir))
            self._deliver(job_id, attempt, out_dir, JobState.FAILED)
            store.finish(job_id, attempt, JobState.FAILED, error=why)
            states[job_id] = JobState.FAILED.value
            return None
        return _Variant(job_id, attempt, rec.owner, out_dir, sim, skip=rec.diag_count)

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
    def _track(variants: list[_Variant], rows: _RowPublisher, runs: list[tuple[Any, list[_Variant]]]) -> None:
        """Track the variants: those with one engine pack signature together (each PackedRun and
        its variants appended to ``runs``), the others alone. Their rows go to ``rows``: a pack's
        in one table a step, the others' one row at a time."""
        from beamtrack.engine import TrackingCancelled
        from beamtrack.engine.packed import PackedRun, pack_signature, tabled

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
                runs.append((run, group))
                run.on_rows = rows.table_listener(group)
                for v in group:
                    if not tabled(v.sim):
                        v.sim.diagnostics_listeners.append(rows.row_listener(v))
                run.track_particles()
            except Exception as exc:  # noqa: BLE001 - the pack's variants fail with the reason
                for v in group:
                    record(v, exc)
                continue
            for i, error in run.errors.items():
                record(group[i], error)
        for v in alone:
            v.sim.diagnostics_listeners.append(rows.row_listener(v))
            try:
                v.sim.track_particles()
            except Exception as exc:  # noqa: BLE001
                record(v, exc)

    def _finish_all(self, variants: list[_Variant], t0: float) -> list[JobState]:
        """Record each variant's end (its files delivered first), all in one round trip."""
        from beamtrack.engine.packed_output import PACKED_FILE, packed_files

        runs: list[FinishedRun] = []
        for v in variants:
            state, error = v.state, v.error
            if v.over_limit:
                state, error = JobState.FAILED, v.over_limit
            names, n_bytes = _walk(v.out_dir)
            if PACKED_FILE in names:  # the recorded output: the files it becomes when first read
                names = sorted({n for n in names if n != PACKED_FILE} | set(packed_files(v.out_dir) or ()))
            if v.out_dir != self.artifact_dir / v.job_id and self.transfer is not None:
                _, upload_error = self._deliver(v.job_id, v.attempt, v.out_dir, state)  # an upload
                if upload_error:
                    state, error = JobState.FAILED, upload_error
                    names = []
            steps = int(v.sim.tracking_step)
            result = {"steps": steps, "wall_time_s": time.monotonic() - t0, "artifacts": names}
            runs.append(FinishedRun(v.job_id, v.attempt, v.owner, state, steps, n_bytes, error, result))
        self.store.finish_many(runs)
        return [r.state for r in runs]


class _RowPublisher:
    """The diagnostics rows of a pack's variants, to the job store in batches, and at the end
    (``close``). A packed run's rows come as one table a step (``table_listener``) and go out
    as compact entries (``diag_rows``) of up to ``ENTRY_ROWS`` rows of a variant: every
    ``ENTRY_ROWS`` steps or ``TABLE_FLUSH_S`` (one Redis entry a step and variant cost the
    redis-server more CPU than the pack's tracking: 1.3-1.6 s for a 1,000-variant scan of
    examples/fodo.json). A variant tracked alone, or with rows of other columns, gives them one
    at a time as JSON rows (``row_listener``), sent every ``FLUSH_ROWS`` rows or
    ``FLUSH_INTERVAL_S``, as a single job's. Each variant skips the rows an earlier attempt
    published (``skip``).

    The batches are sent by a thread of their own, in order, while the pack tracks on (the wait
    for Redis to store a batch was a fifth of a pack's time on two cores); at most
    ``SEND_QUEUE`` batches wait, then tracking waits for them. A failed send is raised by the
    next flush (in a listener: the pack drops those variants) and by ``close``, which returns
    once every batch is stored (before the jobs' terminal states are written)."""

    #: batches waiting for the sender thread before a flush waits for it
    SEND_QUEUE = 8
    #: most rows of a variant in one compact entry (~7.5 kB of base64 for ImpactX's columns;
    #: stream readers size their reads by it: store.READ_ENTRIES)
    ENTRY_ROWS = 16
    #: longest wait of a packed run's rows before they are sent [s] (how live a variant's
    #: stream and progress are)
    TABLE_FLUSH_S = 0.5

    def __init__(self, store: Any, variants: list[_Variant]):
        self.store = store
        self.variants = variants
        self.pending = 0
        #: the steps of a packed run's table since the last flush (rows a variant waits with)
        self.steps = 0
        self.last_flush = time.monotonic()
        #: the column names of the compact rows waiting in the variants' ``values``
        self.columns: tuple[str, ...] = ()
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=self.SEND_QUEUE)
        self._error: BaseException | None = None
        self._sender = threading.Thread(target=self._send, name="pack-rows", daemon=True)
        self._sender.start()

    def _count(self, n: int) -> None:
        self.pending += n
        if self.pending >= FLUSH_ROWS or time.monotonic() - self.last_flush > FLUSH_INTERVAL_S:
            self.flush()

    def _count_step(self) -> None:
        self.steps += 1
        if self.steps >= self.ENTRY_ROWS or time.monotonic() - self.last_flush > self.TABLE_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Hand the waiting rows to the sender thread (a variant's table rows as one entry)."""
        self._raise()
        batches = [(v.job_id, v.attempt, v.rows) for v in self.variants if v.rows]
        values = [
            (v.job_id, v.attempt, [encode_block(np.stack(v.values))], len(v.values), v.last_step)
            for v in self.variants
            if v.values
        ]
        if batches or values:
            self._queue.put((batches, self.columns, values))
            for v in self.variants:
                v.rows, v.values = [], []
        self.pending = self.steps = 0
        self.last_flush = time.monotonic()

    def close(self) -> None:
        """Send what waits, wait until every batch is stored, end the thread; raise a failed send."""
        try:
            self.flush()
        finally:
            self._queue.put(None)
            self._sender.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _send(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # a batch failed: the later ones are not sent (the retry skips by count)
            batches, columns, values = item
            try:
                if batches:
                    self.store.publish_rows_many(batches)
                if values:
                    self.store.publish_row_values_many(columns, values)
            except BaseException as exc:  # noqa: BLE001 - raised in the tracking thread
                self._error = exc

    def row_listener(self, v: _Variant) -> Any:
        def on_row(row: dict[str, float]) -> None:
            v.seen += 1
            if v.seen <= v.skip:
                return  # an earlier attempt published this row
            v.rows.append(_json_safe(row))
            self._count(1)

        return on_row

    def table_listener(self, group: list[_Variant]) -> Any:
        """``PackedRun.on_rows`` for the pack of ``group`` (its variants in the run's order)."""

        def on_rows(
            which: list[int], steps: list[int], periods: list[int], s: list[float], names: list[str], table: Any
        ) -> None:
            columns = ("step", "period", "s", *names)
            if columns != self.columns:
                self.flush()  # the waiting rows have the other columns
                self.columns = columns
            full = np.empty((len(which), len(columns)))
            full[:, 0], full[:, 1], full[:, 2], full[:, 3:] = steps, periods, s, table
            for i, values, step in zip(which, full, steps, strict=True):
                v = group[i]
                v.seen += 1
                if v.seen <= v.skip:
                    continue  # an earlier attempt published this row
                v.values.append(values)
                v.last_step = step
            self._count_step()

        return on_rows


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """``_clean_row(row)`` for a pack's row (Python floats, int step and period): the row itself
    when every value is finite (their sum is; ~1 us against ~15 us), else the cleaned copy."""
    if math.isfinite(sum(row.values())):
        return row
    return _clean_row(row)


def _walk(out_dir: Path) -> tuple[list[str], int]:
    """``list_artifacts(out_dir)`` and ``tree_bytes(out_dir)`` in one walk of the directory."""
    names: list[str] = []
    total = 0
    stack = [out_dir]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                        names.append(str(Path(entry.path).relative_to(out_dir)))
        except FileNotFoundError:
            continue
    return sorted(names), total
