"""One job across K Ray actors (spec ``workers: K``): the Ray transport of ``beamtrack.engine.sharded``.

The job's JobRunner actor (the scheduler made it, with the job's CPUs) is the coordinator: it runs
share 0 in a thread of its own process and starts K - 1 ``ShardActor``s, each with the same CPUs
(and GPU),
owned by it (they die with it). Every lockstep round the coordinator collects the K shares' payloads
(share 0 from its thread, the others as the results of ``ShardActor.step``), combines them with
``ShardReducer`` (diagnostics rows, the charge grid's sum and its field solve, the gathered
BeamMonitor output) and sends the one reply to all, put once in Ray's object store. Nothing passes
through the API server. Rows go to the runner's listeners (the job's stream); files are written by
the coordinator into the job's directory, the BeamMonitor output as one openPMD series.

A share's actor that dies makes the run raise ``ShardLost``: the runner lets it out of ``run``, and the
scheduler requeues the job as for a lost worker (the retry skips the rows already published).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class ShardLost(RuntimeError):
    """An actor holding a share of the job's beam died (worker crash, node loss)."""


class ShardActor:
    """Share ``index`` of ``count`` of a job, tracked in a thread; ``step`` posts a reply, returns the next
    message (see ``beamtrack.engine.sharded``)."""

    def __init__(self, spec_json: str, index: int, count: int, kind: str | None):
        from beamtrack.engine.sharded import ShardSimulation, ThreadShard
        from beamtrack.spec import load_spec

        spec = load_spec(spec_json)
        self.shard = ThreadShard(lambda c: ShardSimulation.for_share(spec, index, count, c, kind))
        self.compute_s = 0.0

    def where(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> tuple[str, Any]:
        """Draw the beam, keep the share, track to the first exchange (not counted in ``seconds``)."""
        self.shard.start()
        return self.shard.receive()

    def step(self, reply: Any) -> tuple[str, Any]:
        t0 = time.perf_counter()
        self.shard.post(reply)
        msg = self.shard.receive()
        self.compute_s += time.perf_counter() - t0
        return msg

    def seconds(self) -> float:
        """Time this actor spent between a reply and its next message (tracking its share) [s], after ``start``."""
        return self.compute_s


def _assigned(resource: str, default: float) -> float:
    """How much of ``resource`` (CPU, GPU) Ray gave this actor (``default`` outside an actor)."""
    try:
        import ray

        if ray.is_initialized():
            return float(ray.get_runtime_context().get_assigned_resources().get(resource, default))
    except Exception:  # noqa: BLE001 - not inside a Ray worker
        pass
    return default


class ShardedRun:
    """What JobRunner.run needs of a Simulation, for a job split across ``spec.workers`` actors:
    ``diagnostics_listeners``, ``total_steps``, ``tracking_step``, ``track_particles``, ``request_stop``,
    ``finalize``. The shares start (and draw their beams) here."""

    def __init__(
        self,
        spec: Any,
        out_dir: Path,
        kind: str | None,
        *,
        hooks: bool = False,
        log: Callable[[str], Any] | None = None,
        num_cpus: float | None = None,
    ):
        import ray
        from beamtrack.engine.sharded import ShardReducer, ShardSimulation, ThreadShard

        if hooks:
            raise NotImplementedError(
                "workers > 1 does not support a hook module (hooks see one worker's particles only)"
            )
        count = int(spec.workers)
        self.count = count
        self.diagnostics_listeners: list[Callable[[dict[str, float]], Any]] = []
        self.tracking_step = 0
        self._stop = False
        self._ended = False
        # every share actor gets what the scheduler gave this one (BEAMTRACK_JOB_CPUS, a GPU for device cuda)
        cpus = _assigned("CPU", 1.0) if num_cpus is None else num_cpus
        gpus = _assigned("GPU", 0.0) if num_cpus is None else 0.0
        remote = ray.remote(ShardActor).options(num_cpus=cpus, num_gpus=gpus, max_restarts=0, max_task_retries=0)
        spec_json = spec.model_dump_json()
        self._actors: list[Any] = [remote.remote(spec_json, i, count, kind) for i in range(1, count)]  # handles
        self._local = ThreadShard(lambda c: ShardSimulation.for_share(spec, 0, count, c, kind))
        self._local.start()
        try:
            refs = [a.start.remote() for a in self._actors]
            self._first = [self._local.receive(), *self._get(refs)]
        except BaseException:
            self._abort()
            raise
        if self._first[0][0] == "error":
            self._abort()
            raise self._first[0][1]
        sim = self._local.sim
        assert sim is not None
        self.total_steps = int(sim.total_steps)
        self.reducer = ShardReducer(sim, out_dir)
        self.reducer.listeners.append(self._row)
        if log is not None:
            where = ray.get([a.where.remote() for a in self._actors]) if self._actors else []
            here = f"{socket.gethostname()}:{os.getpid()}"
            log(
                f"{count} shares of {spec.beam.npart} particles: share 0 on {here}, "
                + ", ".join(f"share {i} on {w}" for i, w in enumerate(where, 1))
            )
        self.wall_s = 0.0

    def _row(self, row: dict[str, float]) -> None:
        self.tracking_step = int(row["step"])
        for fn in self.diagnostics_listeners:
            fn(row)

    def _get(self, refs: list[Any]) -> list[tuple[str, Any]]:
        import ray
        from ray.exceptions import RayActorError, WorkerCrashedError

        try:
            return list(ray.get(refs))
        except (RayActorError, WorkerCrashedError) as exc:
            raise ShardLost(f"a share's worker was lost: {type(exc).__name__}") from exc

    def request_stop(self) -> None:
        self._stop = True

    def track_particles(self) -> None:
        import ray
        from beamtrack.engine.sharded import ENDED, drive

        last = [m for m in self._first]

        def send(reply: Any) -> list[tuple[str, Any]]:
            ref = ray.put(reply)
            self._local.post(reply)
            refs = [(i, a.step.remote(ref)) for i, a in enumerate(self._actors, 1) if last[i][0] not in ENDED]
            last[0] = self._local.receive()
            for (i, _), msg in zip(refs, self._get([r for _, r in refs]), strict=True):
                last[i] = msg
            return list(last)

        t0 = time.perf_counter()
        try:
            self.tracking_step = drive(self.reducer, self._first, send, lambda: self._stop)
        except ShardLost:
            self._abort()
            raise
        finally:
            self.wall_s = time.perf_counter() - t0
            self._ended = True

    def timings(self) -> dict[str, float]:
        """wall [s] of the lockstep loop, the reducer's seconds (combining, field solves, writes), the most
        seconds one share tracked, and the reducer's rounds."""
        import ray

        shares = ray.get([a.seconds.remote() for a in self._actors]) if self._actors else []
        return {
            "wall_s": self.wall_s,
            "reduce_s": float(sum(self.reducer.timings.values())),
            "max_share_s": max(shares, default=0.0),
            "rounds": float(self.reducer.rounds),
            **{f"reduce_{k}_s": v for k, v in self.reducer.timings.items()},
        }

    def _abort(self) -> None:
        """Stop share 0's thread and kill the share actors (after a loss or a failed start)."""
        import ray
        from beamtrack.engine.sharded import STOP

        for a in self._actors:
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        while self._local.last[0] not in ("done", "error", "cancelled") and self._local._thread.is_alive():
            self._local.post(STOP)
            self._local.receive()
        self._actors = []

    def finalize(self) -> None:
        """Close the job's files and release the share actors."""
        import ray

        if hasattr(self, "reducer"):
            self.reducer.close()
        for a in self._actors:
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors = []
