"""Resource limits, output paths and retention through the real service (issue 8, items 1 and 5).

Real Redis, real Ray, real REST on 127.0.0.1. The expected costs come from the resource model in
beamtrack.spec.resources (its constants are measured, see its docstring); the tests pick specs
far from the limits, so they check the policy, not the model's last digit.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from beamtrack.client import ApiError

from .conftest import fodo_spec, wait_for

pytestmark = pytest.mark.integration


def refused(client: Any, spec: dict, **kw: Any) -> Any:
    with pytest.raises(ApiError) as info:
        client.submit(spec, **kw)
    return info.value


def details(err: Any) -> dict[str, str]:
    """loc -> its messages, joined (one field may be over several limits)."""
    out: dict[str, str] = {}
    for d in err.details:
        out[d["loc"]] = (out[d["loc"]] + " | " if d["loc"] in out else "") + d["msg"]
    return out


@pytest.mark.parametrize("name", ["/tmp/x", "../../../j/diags/openPMD/monitor", "..", "a\x00b"])
def test_a_monitor_name_that_is_a_path_is_refused_and_nothing_written(
    server_factory, rest, tmp_path: Path, name: str
) -> None:
    server = server_factory()
    c = rest(server)
    spec = fodo_spec()
    assert spec["lattice"]["elements"][0]["type"] == "BeamMonitor"
    spec["lattice"]["elements"][0]["name"] = name
    err = refused(c, spec)
    assert err.status == 422
    assert "pattern" in details(err)["spec.lattice.elements[0].name"]
    assert c.list_jobs()[0] == []


@pytest.mark.parametrize(
    "mutate, loc, limit",
    [
        (lambda s: s["beam"].update(npart=300_000_000), "spec.beam.npart", "BEAMTRACK_JOB_MEMORY_MB"),
        (
            lambda s: (
                s.update(space_charge={"mode": "3D", "n_cell": [1024, 1024, 1024]})
                or s["beam"].update(bunch_charge_C=1e-9)
            ),
            "spec.space_charge.n_cell",
            "BEAMTRACK_JOB_MEMORY_MB",
        ),
        (
            lambda s: s["beam"].update(npart=10_000_000) or s["lattice"].update(periods=1000),
            "spec.beam.npart",
            "BEAMTRACK_JOB_DISK_MB",
        ),
        (
            lambda s: s["beam"].update(npart=1_000_000) or s["lattice"].update(periods=10_000_000),
            "spec.lattice.periods",
            "BEAMTRACK_JOB_WALL_S",
        ),
    ],
    ids=["npart-memory", "grid-memory", "monitor-disk", "wall-time"],
)
def test_a_job_over_a_per_job_limit_is_refused_naming_the_field(
    server_factory, rest, mutate, loc: str, limit: str
) -> None:
    server = server_factory(job_memory_mb=8192, job_disk_mb=10240, job_wall_s=3600)
    c = rest(server)
    spec = fodo_spec()
    mutate(spec)
    err = refused(c, spec)
    assert err.status == 422 and err.code == "INVALID_ARGUMENT"
    assert loc in details(err), err.details
    assert limit in details(err)[loc]
    assert c.list_jobs()[0] == []


def test_the_per_user_disk_quota_counts_queued_jobs(server_factory, rest) -> None:
    """A quota of 2.5 times one job's estimated output holds two queued jobs, not three; other
    users have quotas of their own."""
    from beamtrack.spec import load_spec
    from beamtrack.spec.resources import estimate

    spec = fodo_spec(npart=10_000)
    one_job = estimate(load_spec(spec)).disk.amount
    server = server_factory(user_disk_mb=2.5 * one_job / 2**20)
    alice, bob = rest(server, "alice"), rest(server, "bob")
    alice.submit(spec)
    alice.submit(spec)
    err = refused(alice, spec)
    assert err.status == 422
    assert "BEAMTRACK_USER_DISK_MB" in details(err)["spec.beam.npart"]
    assert len(alice.list_jobs()[0]) == 2
    bob.submit(spec)


def test_priority_above_the_user_ceiling_needs_an_admin(server_factory, rest) -> None:
    server = server_factory(user_priority_max=10)
    err = refused(rest(server, "alice"), fodo_spec(), priority=11)
    assert err.status == 403 and err.code == "PERMISSION_DENIED"
    assert "priority" in details(err)
    rest(server, "alice").submit(fodo_spec(), priority=10)
    assert rest(server, "admin").submit(fodo_spec(), priority=1000)["priority"] == 1000


@pytest.mark.slow
def test_a_job_past_its_wall_clock_limit_fails_and_is_not_retried(ray_local, server_factory, rest) -> None:
    """2e5 particles x 10 periods of the FODO cell (75 slices, a monitor each period): several
    seconds on one core, far under the submit-time estimate's optimistic bound of 2e9 pushes/s,
    and over a 1 s wall-clock limit."""
    server = server_factory(scheduler=True, job_wall_s=1.0)
    c = rest(server)
    job = c.submit(fodo_spec(npart=200_000, periods=10))
    done = wait_for(lambda: (j := c.get(job["id"]))["state"] in ("succeeded", "failed") and j, 180, "the job")
    assert done["state"] == "failed", done
    assert done["error"].startswith("wall-clock limit"), done["error"]
    assert done["attempts"] == 1


def test_retention_removes_the_artifacts_of_ended_jobs_and_frees_the_quota(ray_local, server_factory, rest) -> None:
    server = server_factory(scheduler=True, artifact_ttl_s=3600, failed_artifact_ttl_s=60)
    c = rest(server)
    job = c.submit(fodo_spec(npart=2000))
    wait_for(lambda: c.get(job["id"])["state"] == "succeeded", 120, "the job")
    job_dir = server.settings.artifacts / job["id"]
    assert any(job_dir.rglob("*.h5"))
    sched = server.scheduler
    used = sched.store.disk_usage("alice")
    assert used > 0
    # measured: what the job wrote is what the quota charges
    assert used == sum(p.stat().st_size for p in job_dir.rglob("*") if p.is_file())
    assert sched.sweep_artifacts(now=time.time() + 1800) == []  # not yet due
    assert sched.sweep_artifacts(now=time.time() + 3601) == [job["id"]]
    assert not job_dir.exists()
    assert c.get(job["id"])["artifacts_expired"] is True
    assert c.artifacts(job["id"]) == []
    assert sched.store.disk_usage("alice") == 0


def test_cancelled_jobs_are_swept_sooner(ray_local, server_factory, rest) -> None:
    server = server_factory(scheduler=False, artifact_ttl_s=3600, failed_artifact_ttl_s=60)
    c = rest(server)
    job = c.submit(fodo_spec())
    c.cancel(job["id"])
    from beamtrack.server.scheduler import Scheduler

    sched = Scheduler(server.store, server.settings, server.redis_url)
    (server.settings.artifacts / job["id"]).mkdir(parents=True)
    assert sched.sweep_artifacts(now=time.time() + 61) == [job["id"]]
    assert not (server.settings.artifacts / job["id"]).exists()
