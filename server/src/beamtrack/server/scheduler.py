"""Scheduler: hands queued jobs to Ray, one JobRunner actor per running job, or one PackRunner
actor per pack of scan variants that share a pack key (packed execution, up to ``pack_size``).

Claims are atomic in the store, so several server replicas may each run a scheduler. Actors are
named and detached: a scheduler that restarts while Ray stays up re-attaches to the actors still
running; a job whose actor is gone (worker crash, Ray restart) is requeued with bounded retries.

The scheduler's store retries through Redis outages (a transition is never dropped: a job leaves
``running`` only after its terminal write succeeded), and every ``RECONCILE_S`` it looks again
for running jobs that have no live worker. A job past its wall-clock limit (plus a grace for the
worker's own clean stop) is killed and failed. Artifacts past their retention are removed.
"""

from __future__ import annotations

import builtins
import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from beamtrack.workers.errors import Unavailable
from beamtrack.workers.pack_runner import PackRunner
from beamtrack.workers.runner import WORKER_RETRY_S, JobRunner
from beamtrack.workers.sharded import ShardLost
from beamtrack.workers.store import JobState, JobStore
from beamtrack.workers.transfer import Transfer, forget, pull, store_marker
from ray.exceptions import GetTimeoutError, OutOfMemoryError, RayActorError, RayError, WorkerCrashedError

from .settings import Settings

log = logging.getLogger("beamtrack.scheduler")
NAMESPACE = "beamtrack"
#: Errors meaning "the worker is gone", as opposed to an error raised by the job itself.
LOST = (RayActorError, WorkerCrashedError)
#: How often running jobs are checked for a live worker, and artifacts for expiry [s].
RECONCILE_S = 10.0
RETENTION_S = 60.0
#: Time a job past its wall-clock limit gets to stop by itself before its worker is killed [s].
WALL_GRACE_S = 30.0


def killed_for_memory(exc: BaseException) -> bool:
    """Whether Ray reports this lost worker as killed by its memory monitor. (A worker killed by
    the kernel's OOM killer looks like any other lost worker to Ray, whose message only lists OOM
    among the possible causes; the submit-time estimate and the worker's own memory watch keep
    jobs under their limit, so such a loss is retried like a crash.)"""
    if isinstance(exc, OutOfMemoryError):
        return True
    text = str(exc).lower()
    return "running low on memory" in text or "killed by the memory monitor" in text


@dataclass
class Running:
    job_id: str
    attempt: int
    actor: Any
    ref: Any
    gpu: bool
    started: float = field(default_factory=time.monotonic)
    #: A pack (packed execution): every (job id, attempt) its worker runs, the lead first.
    pack: list[tuple[str, int]] = field(default_factory=list)
    #: job slots it takes: spec ``workers`` (its coordinator and share actors, job_cpus each)
    slots: int = 1

    @property
    def members(self) -> list[tuple[str, int]]:
        """The (job id, attempt) of every job this worker runs."""
        return self.pack or [(self.job_id, self.attempt)]


def actor_name(prefix: str, job_id: str, attempt: int) -> str:
    return f"{prefix}-job-{job_id}-{attempt}"


class Scheduler:
    """Background thread: claim queued jobs while the cluster has room, watch their actors."""

    def __init__(self, store: JobStore, settings: Settings, redis_url: str, *, poll_s: float = 0.05):
        # its own connection, retrying through Redis outages: no transition may be dropped
        self.store = JobStore.from_url(redis_url, prefix=store.prefix, stream_maxlen=store.stream_maxlen,
                                       retry_s=WORKER_RETRY_S)
        self.settings = settings
        self.redis_url = redis_url
        self.poll_s = poll_s
        self.running: dict[str, Running] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpus = 1.0
        self._gpus = 0.0
        self._resources_at = 0.0
        self.last_tick = 0.0
        self._reconciled_at = time.monotonic()
        self._swept_at = 0.0
        self._actor_cls = ray.remote(JobRunner)
        self._pack_cls = ray.remote(PackRunner)
        self.transfer = Transfer(
            store_id=store_marker(settings.artifacts),
            always_upload=settings.artifact_transfer == "always",
            max_bytes=int(settings.artifact_upload_max_mb * 2**20),
            ttl_s=max(1, int(settings.artifact_ttl_s)),
            failed_ttl_s=max(1, int(settings.failed_artifact_ttl_s)))

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._refresh_resources(force=True)
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="beamtrack-scheduler", daemon=True)
        self._thread.start()

    def stop(self, *, kill_actors: bool = False) -> None:
        """Stop scheduling. Running actors keep going (a restarted scheduler re-attaches)
        unless ``kill_actors``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if kill_actors:
            for run in list(self.running.values()):
                ray.kill(run.actor, no_restart=True)
        self.running.clear()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- capacity --------------------------------------------------------------------------------
    def _refresh_resources(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._resources_at > 5.0:
            res = ray.cluster_resources()
            self._cpus = float(res.get("CPU", 1.0))
            self._gpus = float(res.get("GPU", 0.0))
            self._resources_at = now

    def capacity(self) -> int:
        """How many jobs may run at once. On an autoscaling cluster a few more than its CPUs
        hold now: their actors wait for a node, which is what asks the autoscaler for one."""
        if self.settings.max_running:
            return self.settings.max_running
        return max(1, int(self._cpus // self.settings.job_cpus)) + self.settings.autoscale_headroom

    # -- recovery --------------------------------------------------------------------------------
    def recover(self) -> None:
        """Re-attach to actors of jobs the store says are running, requeue the orphans."""
        watched = {job_id for run in self.running.values() for job_id, _ in run.members}
        packs: dict[str, list[tuple[str, int]]] = {}
        for job_id in self.store.running_ids():
            if job_id in watched:
                continue
            try:
                rec = self.store.get(job_id)
            except Exception:  # noqa: BLE001 - a vanished record has nothing to recover
                continue
            if rec.pack:
                packs.setdefault(rec.pack, []).append((job_id, rec.attempts))
                continue
            name = actor_name(self.store.prefix, job_id, rec.attempts)
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                out = self.store.requeue(job_id, rec.attempts, "worker lost while the server "
                                         "was down", max_attempts=self.settings.max_attempts)
                log.warning("job %s had no live worker; now %s", job_id, out)
                continue
            self.running[job_id] = Running(job_id, rec.attempts, actor,
                                           actor.wait_done.remote(), gpu=False, slots=_workers(rec.spec))
            log.info("re-attached to job %s attempt %d", job_id, rec.attempts)
        for name, members in packs.items():
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                for job_id, attempt in members:
                    out = self.store.requeue(job_id, attempt, "worker lost while the server was down",
                                             max_attempts=self.settings.max_attempts)
                    log.warning("job %s had no live pack worker; now %s", job_id, out)
                continue
            lead = members[0]
            self.running[lead[0]] = Running(lead[0], lead[1], actor, actor.wait_done.remote(), gpu=False,
                                            pack=members)
            log.info("re-attached to a pack of %d jobs (%s)", len(members), name)

    # -- main loop -------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self.last_tick = time.time()
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - keep scheduling through transient errors
                log.exception("scheduler tick failed")
                self._stop.wait(1.0)

    def _tick(self) -> None:
        self._refresh_resources()
        now = time.monotonic()
        if now - self._reconciled_at > RECONCILE_S:
            self._reconciled_at = now
            self.recover()
            self._cancel_waiting()
        if now - self._swept_at > RETENTION_S:
            self._swept_at = now
            self.sweep_artifacts()
        self._enforce_wall_time(now)
        while sum(r.slots for r in self.running.values()) < self.capacity():
            claimed = self.store.claim()
            if claimed is None:
                break
            self._launch(*claimed)
        if not self.running:
            self._stop.wait(self.poll_s)
            return
        refs = [r.ref for r in self.running.values()]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=self.poll_s)
        for ref in ready:
            run = next(r for r in self.running.values() if r.ref == ref)
            self._reap(run, ref)

    def _launch(self, job_id: str, attempt: int) -> None:
        rec = self.store.get(job_id)
        gpus_busy = sum(1 for r in self.running.values() if r.gpu)
        use_gpu = rec.device == "cuda" or (rec.device == "auto" and self._gpus - gpus_busy >= 1)
        if rec.device == "cuda" and self._gpus < 1 and not self.settings.autoscale_headroom:
            self.store.finish(job_id, attempt, JobState.FAILED,
                              error="device: cuda was asked for but the cluster has no GPU")
            return
        shares = _workers(rec.spec)
        if shares > 1 and shares * self.settings.job_cpus > self._cpus and not self.settings.autoscale_headroom:
            self.store.finish(job_id, attempt, JobState.FAILED,
                              error=f"workers: {shares} needs {shares * self.settings.job_cpus:g} CPUs "
                                    f"(BEAMTRACK_JOB_CPUS each), the cluster has {self._cpus:g}")
            return
        kind = "cuda" if use_gpu else (None if rec.device == "auto" else rec.device)
        name = actor_name(self.store.prefix, job_id, attempt)
        pack: list[tuple[str, int]] = []
        if rec.pack_key and self.settings.pack_size > 1:
            pack = [(job_id, attempt), *self.store.claim_pack(rec, limit=self.settings.pack_size - 1, name=name)]
        try:
            actor = (self._pack_cls if pack else self._actor_cls).options(
                name=name, namespace=NAMESPACE,
                lifetime="detached", num_cpus=self.settings.job_cpus, num_gpus=1 if use_gpu else 0,
                max_restarts=0,
            ).remote(self.redis_url, self.store.prefix, str(self.settings.artifacts),
                     self.settings.hook_limits, self.settings.job_limits, self.transfer)
            if pack:
                ref = actor.run_pack.remote(pack, kind)  # type: ignore[attr-defined,union-attr]  # a Ray actor handle
            else:
                ref = actor.run.remote(job_id, attempt, kind)  # type: ignore[attr-defined,union-attr]  # a Ray actor handle
        except RayError as exc:
            for member, member_attempt in pack or [(job_id, attempt)]:
                self.store.requeue(member, member_attempt, f"could not start a worker: {exc}",
                                   max_attempts=self.settings.max_attempts)
            return
        self.running[job_id] = Running(job_id, attempt, actor, ref, use_gpu, pack=pack, slots=shares)

    def _reap(self, run: Running, ref: Any) -> None:
        """Record how the job's worker ended, then forget it. The store write comes first: if
        Redis is unreachable the job stays watched and the next tick tries again."""
        # a pack's jobs share its worker's fate; the store's attempt fence leaves alone the ones
        # the worker had already finished
        try:
            ray.get(ref, timeout=10)
        except LOST as exc:
            for job_id, attempt in run.members:
                if killed_for_memory(exc):
                    # a rerun would be killed again: fail it, naming the cause
                    self.store.finish(job_id, attempt, JobState.FAILED,
                                      error="out of memory: the worker was killed for memory "
                                            f"({type(exc).__name__})")
                else:
                    reason = f"worker lost: {type(exc).__name__}"
                    out = self.store.requeue(job_id, attempt, reason,
                                             max_attempts=self.settings.max_attempts)
                    log.warning("job %s attempt %d: %s; now %s", job_id, attempt, reason, out)
        except (RayError, GetTimeoutError) as exc:
            cause = getattr(exc, "cause", None)
            for job_id, attempt in run.members:
                if isinstance(exc, OutOfMemoryError):
                    self.store.finish(job_id, attempt, JobState.FAILED,
                                      error=f"out of memory: {_first_line(exc)}")
                elif isinstance(cause, ShardLost):
                    # an actor holding a share of the job's beam died: run it again, as for a lost worker
                    self.store.requeue(job_id, attempt, f"worker lost: {cause}",
                                       max_attempts=self.settings.max_attempts)
                elif isinstance(cause, Unavailable):
                    # the worker could not reach the store for minutes: run it again
                    self.store.requeue(job_id, attempt, f"job store unreachable: {cause}",
                                       max_attempts=self.settings.max_attempts)
                else:
                    self.store.finish(job_id, attempt, JobState.FAILED,
                                      error=f"worker error: {type(exc).__name__}: {_first_line(exc)}")
        del self.running[run.job_id]
        try:
            ray.kill(run.actor, no_restart=True)
        except RayError:
            pass
        for job_id, _ in run.members:
            try:
                pull(self.store, job_id, Path(self.settings.artifacts))
            except Exception:  # noqa: BLE001 - the upload stays; the first artifact request pulls it
                log.exception("job %s: could not pull its uploaded artifacts", job_id)

    def _cancel_waiting(self) -> None:
        """End cancelled jobs whose worker never started (an actor waiting for a node the
        autoscaler has not added yet): no worker is there to see the cancel."""
        for run in [r for r in self.running.values() if not r.pack]:
            rec = self.store.get(run.job_id)
            if rec.cancel_requested and not rec.worker:
                try:
                    ray.kill(run.actor, no_restart=True)
                except RayError:
                    pass
                self.store.record_disk(run.job_id, rec.owner, 0)
                self.store.finish(run.job_id, run.attempt, JobState.CANCELLED,
                                  result={"steps": 0})
                del self.running[run.job_id]

    def _enforce_wall_time(self, now: float) -> None:
        """Kill the worker of a job that ran past its wall-clock limit and did not stop."""
        limit = self.settings.job_wall_s + WALL_GRACE_S
        for run in [r for r in self.running.values() if now - r.started > limit]:
            log.warning("job %s: past its wall-clock limit; killing its worker", run.job_id)
            for job_id, attempt in run.members:
                self.store.finish(job_id, attempt, JobState.FAILED,
                                  error=f"wall-clock limit: the job ran past its limit of "
                                        f"{self.settings.job_wall_s:,.0f} s (BEAMTRACK_JOB_WALL_S) "
                                        "and did not stop; its worker was killed")
            del self.running[run.job_id]
            try:
                ray.kill(run.actor, no_restart=True)
            except RayError:
                pass

    def sweep_artifacts(self, now: float | None = None) -> builtins.list[str]:
        """Remove the artifacts of jobs past their retention; returns the job ids swept."""
        now = time.time() if now is None else now
        s = self.settings
        swept = []
        for job_id in self.store.expired(ok_before=now - s.artifact_ttl_s,
                                         bad_before=now - s.failed_artifact_ttl_s):
            if not job_id.isalnum():
                continue
            shutil.rmtree(Path(s.artifacts) / job_id, ignore_errors=True)
            forget(self.store, job_id)
            self.store.forget_artifacts(job_id)
            swept.append(job_id)
        if swept:
            log.info("retention: removed the artifacts of %d jobs", len(swept))
        return swept


def _workers(spec_json: str) -> int:
    """The ``workers`` of a job's stored spec (1 when it has none)."""
    try:
        return max(1, int(json.loads(spec_json).get("workers", 1)))
    except (ValueError, TypeError, AttributeError):
        return 1


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Ray's carry the remote traceback after it)."""
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__
