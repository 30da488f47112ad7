"""Scheduler: hands queued jobs to Ray, one JobRunner actor per running job.

Claims are atomic in the store, so several server replicas may each run a scheduler. Actors are
named and detached: a scheduler that restarts while Ray stays up re-attaches to the actors still
running; a job whose actor is gone (worker crash, Ray restart) is requeued with bounded retries.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import ray
from beamtrack.workers.runner import JobRunner
from beamtrack.workers.store import JobState, JobStore
from ray.exceptions import GetTimeoutError, RayActorError, RayError, WorkerCrashedError

from .settings import Settings

log = logging.getLogger("beamtrack.scheduler")
NAMESPACE = "beamtrack"
#: Errors meaning "the worker is gone", as opposed to an error raised by the job itself.
LOST = (RayActorError, WorkerCrashedError)


@dataclass
class Running:
    job_id: str
    attempt: int
    actor: Any
    ref: Any
    gpu: bool


def actor_name(prefix: str, job_id: str, attempt: int) -> str:
    return f"{prefix}-job-{job_id}-{attempt}"


class Scheduler:
    """Background thread: claim queued jobs while the cluster has room, watch their actors."""

    def __init__(self, store: JobStore, settings: Settings, redis_url: str, *, poll_s: float = 0.05):
        self.store = store
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
        self._actor_cls = ray.remote(JobRunner)

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
        """How many jobs may run at once."""
        if self.settings.max_running:
            return self.settings.max_running
        return max(1, int(self._cpus // self.settings.job_cpus))

    # -- recovery --------------------------------------------------------------------------------
    def recover(self) -> None:
        """Re-attach to actors of jobs the store says are running, requeue the orphans."""
        for job_id in self.store.running_ids():
            if job_id in self.running:
                continue
            try:
                rec = self.store.get(job_id)
            except Exception:  # noqa: BLE001 - a vanished record has nothing to recover
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
                                           actor.wait_done.remote(), gpu=False)
            log.info("re-attached to job %s attempt %d", job_id, rec.attempts)

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
        while len(self.running) < self.capacity():
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
        if rec.device == "cuda" and self._gpus < 1:
            self.store.finish(job_id, attempt, JobState.FAILED,
                              error="device: cuda was asked for but the cluster has no GPU")
            return
        kind = "cuda" if use_gpu else (None if rec.device == "auto" else rec.device)
        try:
            actor = self._actor_cls.options(
                name=actor_name(self.store.prefix, job_id, attempt), namespace=NAMESPACE,
                lifetime="detached", num_cpus=self.settings.job_cpus, num_gpus=1 if use_gpu else 0,
                max_restarts=0,
            ).remote(self.redis_url, self.store.prefix, str(self.settings.artifacts),
                     self.settings.hook_limits)
            ref = actor.run.remote(job_id, attempt, kind)  # type: ignore[attr-defined]  # a Ray actor handle
        except RayError as exc:
            self.store.requeue(job_id, attempt, f"could not start a worker: {exc}",
                               max_attempts=self.settings.max_attempts)
            return
        self.running[job_id] = Running(job_id, attempt, actor, ref, use_gpu)

    def _reap(self, run: Running, ref: Any) -> None:
        del self.running[run.job_id]
        try:
            ray.get(ref, timeout=10)
        except LOST as exc:
            reason = f"worker lost: {type(exc).__name__}"
            out = self.store.requeue(run.job_id, run.attempt, reason,
                                     max_attempts=self.settings.max_attempts)
            log.warning("job %s attempt %d: %s; now %s", run.job_id, run.attempt, reason, out)
        except (RayError, GetTimeoutError) as exc:
            self.store.finish(run.job_id, run.attempt, JobState.FAILED,
                              error=f"worker error: {type(exc).__name__}: {exc}")
        try:
            ray.kill(run.actor, no_restart=True)
        except RayError:
            pass
