"""A job worker no running job owns is killed (found by the chaos test on a fresh CI machine).

A JobRunner actor is detached, so it outlives the server that started it. If that server dies
after the worker wrote its job's terminal state and before its reap killed the actor, the actor
sits idle holding its CPUs; two such strays on a 2-CPU cluster stop every later job from being
scheduled. The next server's reconcile kills job actors of its prefix that no running job owns,
once seen so twice in a row. Real Redis, real Ray (the test's local cluster), real REST.
"""

from __future__ import annotations

import pytest

from .conftest import fodo_spec, wait_for

pytestmark = pytest.mark.integration


def test_an_idle_worker_of_an_ended_job_is_killed_and_a_running_ones_is_kept(
    ray_local: None, server_factory, rest
) -> None:
    import ray
    from beamtrack.server.scheduler import NAMESPACE, Scheduler, actor_name
    from ray.exceptions import RayActorError

    server = server_factory(scheduler=False)
    c = rest(server)
    ended = c.submit(fodo_spec())
    c.cancel(ended["id"])  # queued, so cancelled at once: an ended job
    running = c.submit(fodo_spec(npart=300))
    sched = Scheduler(server.store, server.settings, server.redis_url)
    claimed = sched.store.claim()
    assert claimed == (running["id"], 1)
    prefix = server.store.prefix

    class Idle:  # defined here so Ray ships it by value (a worker cannot import the tests)
        """Stands in for a JobRunner whose run ended: answers, holds no job."""

        def ping(self) -> int:
            return 1

        def wait_done(self) -> None:
            return None

    cls = ray.remote(Idle)

    def start(name: str):
        return cls.options(name=name, namespace=NAMESPACE, lifetime="detached", num_cpus=0).remote()

    stray = start(actor_name(prefix, ended["id"], 1))
    kept = start(actor_name(prefix, running["id"], 1))
    other = start(f"other{prefix}-job-{ended['id']}-1")  # another service's (its own prefix)
    try:
        assert ray.get([stray.ping.remote(), kept.ping.remote(), other.ping.remote()], timeout=60) == [1, 1, 1]
        sched.recover()  # first sighting: the stray may be a replica's worker just starting
        assert ray.get(stray.ping.remote(), timeout=30) == 1
        sched.recover()

        def dead() -> bool:
            # ray.kill is asynchronous: a ping sent before the kill lands may still be answered
            try:
                ray.get(stray.ping.remote(), timeout=10)
            except RayActorError:
                return True
            return False

        wait_for(dead, 60, "the stray worker to be killed")
        assert ray.get([kept.ping.remote(), other.ping.remote()], timeout=30) == [1, 1]
    finally:
        for actor in (stray, kept, other):
            ray.kill(actor, no_restart=True)
