"""Scheduler: hands queued jobs to Ray, one JobRunner actor per running job, or one PackRunner
actor per pack of scan variants that share a pack key (packed execution, up to ``pack_size``).
A PackRunner whose pack ended cleanly runs the next pack the scheduler launches right after it
(up to ``PACK_WORKER_PACKS`` packs a worker process: no new worker process, imports and kernel
loads per pack); one not taken by the end of that launch round is killed, as every other
finished actor is.

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
import contextlib
import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from beamtrack.spec.contract import JobState
from beamtrack.workers.errors import Unavailable
from beamtrack.workers.pack_runner import PackRunner
from beamtrack.workers.runner import WORKER_RETRY_S, JobRunner
from beamtrack.workers.sharded import ShardLost
from beamtrack.workers.store import JobStore
from beamtrack.workers.transfer import Transfer, forget, pull, store_marker
from ray.exceptions import GetTimeoutError, OutOfMemoryError, RayActorError, RayError, WorkerCrashedError

from .metrics import Metrics
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
#: Packs one PackRunner worker process runs at most (then it is killed and a fresh one starts).
PACK_WORKER_PACKS = 32
#: A re-attached worker that has not started its run this long after the job was claimed never will:
#: its run call was owned by a server that died before the actor took it [s].
NEVER_STARTED_S = 120.0


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
    #: found running by ``recover`` (launched by an earlier server), not launched here
    reattached: bool = False
    #: the worker's Ray actor name ('' for the tests' hand-made runs)
    name: str = ""
    #: packs its worker process has run, this one included (a PackRunner is kept for the next)
    packs: int = 1

    @property
    def members(self) -> list[tuple[str, int]]:
        """The (job id, attempt) of every job this worker runs."""
        return self.pack or [(self.job_id, self.attempt)]


def actor_name(prefix: str, job_id: str, attempt: int) -> str:
    return f"{prefix}-job-{job_id}-{attempt}"


class Scheduler:
    """Background thread: claim queued jobs while the cluster has room, watch their actors."""

    def __init__(
        self,
        store: JobStore,
        settings: Settings,
        redis_url: str,
        *,
        poll_s: float = 0.05,
        metrics: Metrics | None = None,
    ):
        # its own connection, retrying through Redis outages: no transition may be dropped
        self.store = JobStore.from_url(
            redis_url, prefix=store.prefix, stream_maxlen=store.stream_maxlen, retry_s=WORKER_RETRY_S
        )
        self.settings = settings
        self.redis_url = redis_url
        self.poll_s = poll_s
        self.metrics = metrics
        #: when this scheduler requeued a job (epoch s): its queue wait starts there
        self._requeued_at: dict[str, float] = {}
        self.running: dict[str, Running] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpus = 1.0
        self._gpus = 0.0
        self._resources_at = 0.0
        self.last_tick = 0.0
        self._reconciled_at = time.monotonic()
        #: job actors no running job owned at the last reconcile (killed if still so at the next)
        self._strays: set[str] = set()
        self._swept_at = 0.0
        self._actor_cls = ray.remote(JobRunner)
        self._pack_cls = ray.remote(PackRunner)
        #: PackRunner workers whose pack ended cleanly at a reap, waiting for the next launch
        #: round: (actor, its name, packs it ran); each holds its CPUs until taken or killed
        self._spare_packs: list[tuple[Any, str, int]] = []
        self.transfer = Transfer(
            store_id=store_marker(settings.artifacts),
            always_upload=settings.artifact_transfer == "always",
            max_bytes=int(settings.artifact_upload_max_mb * 2**20),
            ttl_s=max(1, int(settings.artifact_ttl_s)),
            failed_ttl_s=max(1, int(settings.failed_artifact_ttl_s)),
        )

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
        self._kill_spares()
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

    def _pack_size(self, lead: Any) -> int:
        """How many variants the pack of ``lead`` (a claimed scan variant with a pack key) takes:
        ``pack_size`` at most, at most ``pack_particles`` particles in all, and no more than an
        even share of the scan's queued variants over the free job slots (this one included), so
        that a scan fills the slots at once instead of running in waves of full packs."""
        free = max(1, self.capacity() - sum(r.slots for r in self.running.values()))
        queued = self.store.queued_in_scan(lead)
        share = -(-(queued + 1) // free)
        by_particles = max(1, self.settings.pack_particles // max(1, _npart(lead.spec)))
        return max(1, min(self.settings.pack_size, by_particles, share))

    # -- metrics ---------------------------------------------------------------------------------
    def _failed(self, reason: str, n: int = 1) -> None:
        if self.metrics is not None and n:
            self.metrics.failures.labels(reason).inc(n)

    def _requeued(self, job_id: str, out: str) -> None:
        """Count the outcome of a requeue: a retry, or a failure after the last attempt."""
        if out == "queued":
            self._requeued_at[job_id] = time.time()
            if self.metrics is not None:
                self.metrics.retries.inc()
        elif out == "failed":
            self._failed("worker_lost")

    def _observe_wait(self, job_id: str, created_at: float) -> None:
        since = self._requeued_at.pop(job_id, None) or created_at
        if self.metrics is not None and since:
            self.metrics.queue_wait.observe(max(0.0, time.time() - since))

    def _observe_end(self, run: Running) -> None:
        """At reap: the run time of each of the worker's jobs, and the failures its worker
        recorded itself (a job error, its memory watch, its own wall-clock stop)."""
        if self.metrics is None:
            return
        elapsed = time.monotonic() - run.started
        for _ in run.members:
            self.metrics.run_time.observe(elapsed)
        try:
            recs = self.store.jobs(job_id for job_id, _ in run.members)  # one round trip for a pack
        except Exception:  # noqa: BLE001 - metrics only
            return
        for rec in recs:
            if rec.state == JobState.FAILED:
                self._failed(failure_reason(rec.error))

    # -- recovery --------------------------------------------------------------------------------
    def _drop_if_never_started(self, job_id: str) -> None:
        """Kill the re-attached worker of a job whose run never began (claimed NEVER_STARTED_S ago, no
        worker recorded): its reap then requeues the job as a lost worker."""
        run = self.running.get(job_id)
        if run is None or not run.reattached or run.pack:
            return
        try:
            rec = self.store.get(job_id)
        except Exception:  # noqa: BLE001 - a vanished record has nothing to recover
            return
        if rec.worker or not rec.started_at or time.time() - rec.started_at < NEVER_STARTED_S:
            return
        log.warning(
            "job %s: its re-attached worker never started the run; killing it", job_id, extra={"job_id": job_id}
        )
        try:
            ray.kill(run.actor, no_restart=True)
        except RayError:
            pass

    def recover(self) -> None:
        """Re-attach to actors of jobs the store says are running, requeue the orphans."""
        watched = {job_id for run in self.running.values() for job_id, _ in run.members}
        packs: dict[str, list[tuple[str, int]]] = {}
        for job_id in self.store.running_ids():
            if job_id in watched:
                self._drop_if_never_started(job_id)
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
                out = self.store.requeue(
                    job_id,
                    rec.attempts,
                    "worker lost while the server was down",
                    max_attempts=self.settings.max_attempts,
                )
                self._requeued(job_id, out)
                log.warning("job %s had no live worker; now %s", job_id, out, extra={"job_id": job_id})
                continue
            self.running[job_id] = Running(
                job_id,
                rec.attempts,
                actor,
                actor.wait_done.remote(),
                gpu=False,
                slots=_workers(rec.spec),
                reattached=True,
                name=name,
            )
            log.info("re-attached to job %s attempt %d", job_id, rec.attempts, extra={"job_id": job_id})
        for name, members in packs.items():
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                for job_id, attempt in members:
                    out = self.store.requeue(
                        job_id,
                        attempt,
                        "worker lost while the server was down",
                        max_attempts=self.settings.max_attempts,
                    )
                    self._requeued(job_id, out)
                    log.warning("job %s had no live pack worker; now %s", job_id, out, extra={"job_id": job_id})
                continue
            lead = members[0]
            self.running[lead[0]] = Running(
                lead[0], lead[1], actor, actor.wait_done.remote(), gpu=False, pack=members, reattached=True, name=name
            )
            log.info("re-attached to a pack of %d jobs (%s)", len(members), name)
        self._kill_strays()

    def _kill_strays(self) -> None:
        """Kill the job actors of this prefix that no running job owns, seen so at two reconciles
        in a row. A worker whose job ended while no server watched it (its server died between
        the worker's terminal write and the reap that kills the actor) is detached and idle, and
        would hold its CPUs forever. Two sightings leave alone an actor another replica is just
        starting; killing one whose replica reaps it anyway is harmless (the store's attempt
        fence keeps the job's terminal state)."""
        start = f"{self.store.prefix}-job-"
        try:
            named = ray.util.list_named_actors(all_namespaces=True)
        except RayError:
            return
        candidates = {
            a["name"]
            for a in named
            if isinstance(a, dict) and a.get("namespace") == NAMESPACE and str(a.get("name", "")).startswith(start)
        }
        watched = {run.name for run in self.running.values()}
        candidates -= watched
        if candidates:
            owned = set()
            for job_id in self.store.running_ids():
                try:
                    rec = self.store.get(job_id)
                except Exception:  # noqa: BLE001 - a vanished record owns nothing
                    continue
                owned.add(rec.pack or actor_name(self.store.prefix, job_id, rec.attempts))
            candidates -= owned
        for name in candidates & self._strays:
            log.warning("killing worker %s: no running job owns it", name)
            try:
                ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
            except (ValueError, RayError):
                pass
        self._strays = candidates

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
            self.sweep_scans()
        self._enforce_wall_time(now)
        try:
            while sum(r.slots for r in self.running.values()) < self.capacity():
                claimed = self.store.claim()
                if claimed is None:
                    break
                self._launch(*claimed)
        finally:
            self._kill_spares()  # the pack workers no launch took: their CPUs back to the cluster
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
            if self.store.finish(
                job_id, attempt, JobState.FAILED, error="device: cuda was asked for but the cluster has no GPU"
            ):
                self._failed("error")
            log.warning("job %s: cuda asked for, the cluster has no GPU", job_id, extra={"job_id": job_id})
            return
        shares = _workers(rec.spec)
        if shares > 1 and shares * self.settings.job_cpus > self._cpus and not self.settings.autoscale_headroom:
            if self.store.finish(
                job_id,
                attempt,
                JobState.FAILED,
                error=f"workers: {shares} needs {shares * self.settings.job_cpus:g} CPUs "
                f"(BEAMTRACK_JOB_CPUS each), the cluster has {self._cpus:g}",
            ):
                self._failed("error")
            return
        kind = "cuda" if use_gpu else (None if rec.device == "auto" else rec.device)
        name = actor_name(self.store.prefix, job_id, attempt)
        packed = bool(rec.pack_key) and self.settings.pack_size > 1
        # a CPU pack reuses a pack worker whose pack just ended (its name is the pack's, in the
        # members' records, so a restarted scheduler re-attaches as to any pack); anything else
        # needs a new actor and the CPUs of a waiting pack worker
        spare = self._spare_packs.pop() if packed and not use_gpu and self._spare_packs else None
        if spare is None:
            self._kill_spares(1)
        else:
            name = spare[1]
        pack: list[tuple[str, int]] = []
        if packed:
            limit = self._pack_size(rec) - 1
            pack = [(job_id, attempt), *self.store.claim_pack(rec, limit=limit, name=name)]
        try:
            if spare is not None:
                actor = spare[0]
            else:
                actor = (
                    (self._pack_cls if pack else self._actor_cls)
                    .options(
                        name=name,
                        namespace=NAMESPACE,
                        lifetime="detached",
                        num_cpus=self.settings.job_cpus,
                        num_gpus=1 if use_gpu else 0,
                        max_restarts=0,
                    )
                    .remote(
                        self.redis_url,
                        self.store.prefix,
                        str(self.settings.artifacts),
                        self.settings.hook_limits,
                        self.settings.job_limits,
                        self.transfer,
                    )
                )
            if pack:
                ref = actor.run_pack.remote(pack, kind)  # a Ray actor handle
            else:
                ref = actor.run.remote(job_id, attempt, kind)  # a Ray actor handle
        except RayError as exc:
            if spare is not None:  # the pack worker kept for this pack is gone or broken
                with contextlib.suppress(RayError):
                    ray.kill(spare[0], no_restart=True)
            for member, member_attempt in pack or [(job_id, attempt)]:
                out = self.store.requeue(
                    member, member_attempt, f"could not start a worker: {exc}", max_attempts=self.settings.max_attempts
                )
                self._requeued(member, out)
                log.warning("job %s: could not start a worker: %s; now %s", member, exc, out, extra={"job_id": member})
            return
        packs = spare[2] + 1 if spare is not None else 1
        self.running[job_id] = Running(
            job_id, attempt, actor, ref, use_gpu, pack=pack, slots=shares, name=name, packs=packs
        )
        self._observe_wait(job_id, rec.created_at)
        if pack[1:]:
            try:
                for member_rec in self.store.jobs(member for member, _ in pack[1:]):  # one round trip
                    self._observe_wait(member_rec.id, member_rec.created_at)
            except Exception:  # noqa: BLE001 - metrics only
                pass
        log.info(
            "job %s attempt %d: worker %s%s",
            job_id,
            attempt,
            "started" if spare is None else f"{name} reused ({packs} packs)",
            f" (a pack of {len(pack)})" if pack else "",
            extra={"job_id": job_id},
        )

    def _reap(self, run: Running, ref: Any) -> None:
        """Record how the job's worker ended, then forget it. The store write comes first: if
        Redis is unreachable the job stays watched and the next tick tries again."""
        # a pack's jobs share its worker's fate; the store's attempt fence leaves alone the ones
        # the worker had already finished
        clean = False
        try:
            ray.get(ref, timeout=10)
            clean = True
            self._observe_end(run)
        except LOST as exc:
            for job_id, attempt in run.members:
                if killed_for_memory(exc):
                    # a rerun would be killed again: fail it, naming the cause
                    if self.store.finish(
                        job_id,
                        attempt,
                        JobState.FAILED,
                        error=f"out of memory: the worker was killed for memory ({type(exc).__name__})",
                    ):
                        self._failed("out_of_memory")
                    log.warning("job %s attempt %d: killed for memory", job_id, attempt, extra={"job_id": job_id})
                else:
                    reason = f"worker lost: {type(exc).__name__}"
                    out = self.store.requeue(job_id, attempt, reason, max_attempts=self.settings.max_attempts)
                    self._requeued(job_id, out)
                    log.warning("job %s attempt %d: %s; now %s", job_id, attempt, reason, out, extra={"job_id": job_id})
        except (RayError, GetTimeoutError) as exc:
            cause = getattr(exc, "cause", None)
            for job_id, attempt in run.members:
                if isinstance(exc, OutOfMemoryError):
                    if self.store.finish(job_id, attempt, JobState.FAILED, error=f"out of memory: {_first_line(exc)}"):
                        self._failed("out_of_memory")
                elif isinstance(cause, ShardLost):
                    # an actor holding a share of the job's beam died: run it again, as for a lost worker
                    out = self.store.requeue(
                        job_id, attempt, f"worker lost: {cause}", max_attempts=self.settings.max_attempts
                    )
                    self._requeued(job_id, out)
                elif isinstance(cause, Unavailable):
                    # the worker could not reach the store for minutes: run it again
                    out = self.store.requeue(
                        job_id, attempt, f"job store unreachable: {cause}", max_attempts=self.settings.max_attempts
                    )
                    self._requeued(job_id, out)
                else:
                    if self.store.finish(
                        job_id,
                        attempt,
                        JobState.FAILED,
                        error=f"worker error: {type(exc).__name__}: {_first_line(exc)}",
                    ):
                        self._failed("error")
                log.warning(
                    "job %s attempt %d: worker ended with %s",
                    job_id,
                    attempt,
                    type(exc).__name__,
                    extra={"job_id": job_id},
                )
        del self.running[run.job_id]
        if clean and run.pack and not run.gpu and run.name and run.packs < PACK_WORKER_PACKS:
            self._spare_packs.append((run.actor, run.name, run.packs))  # for the next launch round
        else:
            try:
                ray.kill(run.actor, no_restart=True)
            except RayError:
                pass
        for job_id, _ in run.members:
            try:
                pull(self.store, job_id, Path(self.settings.artifacts))
            except Exception:  # noqa: BLE001 - the upload stays; the first artifact request pulls it
                log.exception("job %s: could not pull its uploaded artifacts", job_id, extra={"job_id": job_id})

    def _kill_spares(self, n: int | None = None) -> None:
        """Kill ``n`` (all when None) of the pack workers waiting for a next pack."""
        while self._spare_packs and (n is None or n > 0):
            actor, _name, _packs = self._spare_packs.pop(0)
            try:
                ray.kill(actor, no_restart=True)
            except RayError:
                pass
            if n is not None:
                n -= 1

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
                self.store.finish(run.job_id, run.attempt, JobState.CANCELLED, result={"steps": 0})
                del self.running[run.job_id]

    def _enforce_wall_time(self, now: float) -> None:
        """Kill the worker of a job that ran past its wall-clock limit and did not stop."""
        limit = self.settings.job_wall_s + WALL_GRACE_S
        for run in [r for r in self.running.values() if now - r.started > limit]:
            log.warning(
                "job %s: past its wall-clock limit; killing its worker", run.job_id, extra={"job_id": run.job_id}
            )
            for job_id, attempt in run.members:
                if self.store.finish(
                    job_id,
                    attempt,
                    JobState.FAILED,
                    error=f"wall-clock limit: the job ran past its limit of "
                    f"{self.settings.job_wall_s:,.0f} s (BEAMTRACK_JOB_WALL_S) "
                    "and did not stop; its worker was killed",
                ):
                    self._failed("wall_clock")
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
        for job_id in self.store.expired(ok_before=now - s.artifact_ttl_s, bad_before=now - s.failed_artifact_ttl_s):
            if not job_id.isalnum():
                continue
            shutil.rmtree(Path(s.artifacts) / job_id, ignore_errors=True)
            forget(self.store, job_id)
            self.store.forget_artifacts(job_id)
            swept.append(job_id)
        if swept:
            log.info("retention: removed the artifacts of %d jobs", len(swept))
        return swept

    def sweep_scans(self, now: float | None = None) -> builtins.list[str]:
        """Remove the scans past their retention (record, variant list, event stream; the
        variants are jobs, kept as jobs are): ``artifact_ttl_s`` after the last variant of a
        scan with a succeeded variant ended, ``failed_artifact_ttl_s`` for the others. Returns
        the scan ids removed."""
        now = time.time() if now is None else now
        s = self.settings
        swept = self.store.expired_scans(ok_before=now - s.artifact_ttl_s, bad_before=now - s.failed_artifact_ttl_s)
        for scan_id in swept:
            self.store.delete_scan(scan_id)
        if swept:
            log.info("retention: removed %d scans", len(swept))
        return swept


def failure_reason(error: str) -> str:
    """The coarse reason of a failed job's error text (a label of beamtrack_job_failures_total)."""
    text = error.lower()
    if "out of memory" in text or "memory limit" in text:
        return "out_of_memory"
    if "wall-clock" in text or "wall clock" in text:
        return "wall_clock"
    if "worker lost" in text:
        return "worker_lost"
    return "error"


def _workers(spec_json: str) -> int:
    """The ``workers`` of a job's stored spec (1 when it has none)."""
    try:
        return max(1, int(json.loads(spec_json).get("workers", 1)))
    except (ValueError, TypeError, AttributeError):
        return 1


def _npart(spec_json: str) -> int:
    """The ``beam.npart`` of a job's stored spec (1 when it cannot be read)."""
    try:
        return max(1, int(json.loads(spec_json)["beam"]["npart"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        return 1


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Ray's carry the remote traceback after it)."""
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__
