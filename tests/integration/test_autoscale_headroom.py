"""On an autoscaling cluster (BEAMTRACK_AUTOSCALE_HEADROOM > 0) the scheduler starts jobs whose
actors wait for a node, since a waiting actor is what makes Ray's autoscaler add one (KubeRay's
GPU group starts at 0 pods): a `device: cuda` job on a cluster with no GPU waits instead of
failing, CPU jobs run beside it, and its cancel ends it although no worker ever started. Real
local Ray (2 CPUs, no GPU: the waiting actor's node never comes), real Redis and servers."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import fodo_spec, wait_for

pytestmark = pytest.mark.integration


def test_a_cuda_job_waits_for_a_gpu_node_and_its_cancel_ends_it(
    ray_local: None, server_factory: Any, rest: Any
) -> None:
    server = server_factory(scheduler=True, autoscale_headroom=1)
    c = rest(server)
    gpu_job = c.submit(fodo_spec(npart=100, name="gpu"), device="cuda")
    wait_for(lambda: c.get(gpu_job["id"])["state"] == "running", what="the cuda job started")
    cpu_job = c.submit(fodo_spec(npart=300, name="cpu"))
    assert c.wait(cpu_job["id"], timeout=120)["state"] == "succeeded"
    rec = server.store.get(gpu_job["id"])
    # still waiting for a GPU node: no worker has started it, and it did not fail
    assert rec.state.value == "running" and rec.worker == "" and not rec.error
    c.cancel(gpu_job["id"])
    final = c.wait(gpu_job["id"], timeout=60)
    assert final["state"] == "cancelled" and final["attempts"] == 1
    # its output estimate is no longer charged to the owner's quota
    assert server.store.r.hget(f"{server.store.prefix}:disk:alice", gpu_job["id"]) == "0"
