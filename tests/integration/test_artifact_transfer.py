"""Artifacts handed from worker to server through Redis (beamtrack.workers.transfer): chunked
round trip, attempt fencing, the size cap, and service jobs whose worker uploads (the path a
worker on another node takes) next to the shared-directory fast path. Real redis-server, real
local Ray, real servers."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from beamtrack.workers.runner import JobRunner, scratch_root
from beamtrack.workers.store import JobState, JobStore
from beamtrack.workers.transfer import (
    CHUNK_BYTES,
    Transfer,
    UploadTooLarge,
    forget,
    pull,
    upload,
    uploaded,
)

from .conftest import fodo_spec, wait_for

pytestmark = pytest.mark.integration


def art_keys(store: JobStore) -> list[str]:
    return sorted(store.r.scan_iter(match=f"{store.prefix}:art:*"))


def running_job(store: JobStore) -> tuple[str, int]:
    store.submit(owner="alice", name="t", spec_json="{}")
    claimed = store.claim()
    assert claimed is not None
    return claimed


def test_chunked_round_trip_fencing_and_cap(redis_server: Any, tmp_path: Path) -> None:
    store = JobStore.from_url(redis_server.url, prefix=f"t{uuid.uuid4().hex[:10]}")
    job_id, attempt = running_job(store)
    src = tmp_path / "src"
    sizes = {"empty": 0, "one": 1, "diags/exact": CHUNK_BYTES, "diags/openPMD/big.h5": 2 * CHUNK_BYTES + 3}
    for name, size in sizes.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(os.urandom(size))
    # over the cap: nothing is sent
    with pytest.raises(UploadTooLarge, match="BEAMTRACK_ARTIFACT_UPLOAD_MAX_MB"):
        upload(store, job_id, attempt, src, max_bytes=CHUNK_BYTES, ttl_s=60)
    assert art_keys(store) == []
    assert upload(store, job_id, attempt, src, max_bytes=1 << 30, ttl_s=60) == sum(sizes.values())
    # 1 + 1 + 1 + 3 chunks, the key set and the manifest, each with the retention as its TTL
    keys = art_keys(store)
    assert len(keys) == 8 and all(0 < store.r.ttl(k) <= 60 for k in keys)
    # an attempt that no longer runs commits nothing and leaves no chunk behind
    assert upload(store, job_id, attempt + 1, src, max_bytes=1 << 30, ttl_s=60) == 0
    assert art_keys(store) == keys
    store.finish(job_id, attempt, JobState.SUCCEEDED)
    dest = tmp_path / "store"
    assert pull(store, job_id, dest)
    for name in sizes:
        assert (dest / job_id / name).read_bytes() == (src / name).read_bytes()
    assert art_keys(store) == [] and not uploaded(store, job_id)
    assert [p.name for p in dest.iterdir()] == [job_id]  # no assembly directory left
    assert not pull(store, job_id, dest)


def test_an_upload_not_whole_or_leaving_its_directory_is_refused(redis_server: Any, tmp_path: Path) -> None:
    store = JobStore.from_url(redis_server.url, prefix=f"t{uuid.uuid4().hex[:10]}")
    job_id, attempt = running_job(store)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"x" * 10)
    upload(store, job_id, attempt, src, max_bytes=1 << 20, ttl_s=60)
    store.r.delete(f"{store.prefix}:art:{job_id}:{attempt}:0:0")
    dest = tmp_path / "store"
    with pytest.raises(ValueError, match="missing"):
        pull(store, job_id, dest)
    assert list(dest.iterdir()) == []  # neither the job's directory nor a half-assembled one
    store.r.hset(f"{store.prefix}:art:{job_id}", "manifest", '[{"name": "../../escaped", "size": 0, "chunks": 0}]')
    with pytest.raises(ValueError, match="leaves the job's directory"):
        pull(store, job_id, dest)
    assert list(dest.iterdir()) == [] and not (tmp_path / "escaped").exists()


def test_a_lost_attempts_chunks_are_dropped_by_the_next_commit(redis_server: Any, tmp_path: Path) -> None:
    store = JobStore.from_url(redis_server.url, prefix=f"t{uuid.uuid4().hex[:10]}")
    job_id, attempt = running_job(store)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"first attempt")
    upload(store, job_id, attempt, src, max_bytes=1 << 20, ttl_s=60)
    assert store.requeue(job_id, attempt, "worker lost", max_attempts=3) == "queued"
    claimed = store.claim()
    assert claimed == (job_id, attempt + 1)
    (src / "a").write_bytes(b"second attempt")
    upload(store, job_id, attempt + 1, src, max_bytes=1 << 20, ttl_s=60)
    assert all(f":art:{job_id}:{attempt}:" not in k for k in art_keys(store))
    assert pull(store, job_id, tmp_path / "store")
    assert (tmp_path / "store" / job_id / "a").read_bytes() == b"second attempt"
    # retention's cleanup of an upload nobody pulled
    upload(store, job_id, attempt + 1, src, max_bytes=1 << 20, ttl_s=60)
    forget(store, job_id)
    assert art_keys(store) == []


def test_service_jobs_by_upload_and_by_shared_directory(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Path
) -> None:
    uploading = server_factory(scheduler=True, artifact_transfer="always")
    c = rest(uploading)
    job = c.submit(fodo_spec(npart=5000, periods=3))
    scratch = Path(tempfile.gettempdir()) / "beamtrack-jobs" / f"{uploading.store.prefix}-{job['id']}"
    wait_for(lambda: uploading.store.get(job["id"]).diag_count > 0, what="rows")
    # the worker writes to its own scratch directory, not into the server's store
    assert scratch.is_dir() and not (uploading.settings.artifacts / job["id"]).exists()
    final = c.wait(job["id"], timeout=120)
    assert final["state"] == "succeeded", final
    assert not scratch.exists()
    names = {a["name"] for a in c.artifacts(job["id"])}
    assert names == set(final["result"]["artifacts"])
    assert "diags/openPMD/monitor.h5" in names
    c.download(job["id"], tmp_path / "out")
    lines = (tmp_path / "out" / "diags" / "reduced_beam_characteristics.0").read_text().splitlines()
    assert len(lines) - 1 == len(c.diagnostics(job["id"]))
    assert art_keys(uploading.store) == []
    uploading.stop(kill_actors=True)

    # the default: a worker that sees the server's directory writes into it
    shared = server_factory(scheduler=True)
    c = rest(shared)
    job = c.submit(fodo_spec(npart=4000, periods=3))  # not the job above: no cache hit
    wait_for(lambda: shared.store.get(job["id"]).diag_count > 0, what="rows")
    assert (shared.settings.artifacts / job["id"]).is_dir()
    assert c.wait(job["id"], timeout=120)["state"] == "succeeded"
    assert art_keys(shared.store) == []


def test_a_job_over_the_upload_cap_is_refused_at_submit(server_factory: Any, rest: Any) -> None:
    """Every worker uploads (``always``): a job whose estimated output is over the cap of an
    upload is refused before anything is stored, naming the field and the setting."""
    from beamtrack.client import ApiError

    c = rest(server_factory(artifact_transfer="always", artifact_upload_max_mb=1))
    with pytest.raises(ApiError) as info:
        c.submit(fodo_spec(npart=20000, periods=2))
    err = info.value
    assert err.status == 422
    assert any("BEAMTRACK_ARTIFACT_UPLOAD_MAX_MB" in d["msg"] and d["loc"].startswith("spec.") for d in err.details), (
        err.details
    )
    assert c.list_jobs()[0] == []
    c.submit(fodo_spec(npart=100, periods=1))  # a small one fits


def test_a_job_whose_upload_is_over_the_cap_fails(redis_server: Any, tmp_path: Path) -> None:
    """The worker's own check (its output may exceed the estimate): the job fails naming the
    setting, nothing is left in Redis or in the node's scratch."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    runner = JobRunner(
        redis_server.url,
        prefix,
        str(tmp_path / "server-store"),
        transfer=Transfer(always_upload=True, max_bytes=1 << 20),
    )
    store = runner.store
    store.submit(owner="alice", name="big", spec_json=json.dumps(fodo_spec(npart=20000, periods=2)))
    claimed = store.claim()
    assert claimed is not None
    assert runner.run(*claimed) == "failed"
    rec = store.get(claimed[0])
    assert "BEAMTRACK_ARTIFACT_UPLOAD_MAX_MB" in rec.error, rec.error
    assert rec.result["artifacts"] == [] and art_keys(store) == []
    assert not (scratch_root() / f"{prefix}-{claimed[0]}").exists()


def test_scratch_of_jobs_no_longer_running_is_swept(redis_server: Any, tmp_path: Path) -> None:
    """A worker killed before its upload leaves its job's scratch directory on its node; the
    next uploading job started on that node removes it (and keeps those of running jobs)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    runner = JobRunner(
        redis_server.url, prefix, str(tmp_path / "server-store"), transfer=Transfer(store_id="elsewhere")
    )
    store = runner.store
    running, attempt = running_job(store)
    ended, ended_attempt = running_job(store)
    store.finish(ended, ended_attempt, JobState.FAILED, error="worker lost")
    unknown = uuid.uuid4().hex
    dirs = {job_id: scratch_root() / f"{prefix}-{job_id}" for job_id in (running, ended, unknown)}
    for path in dirs.values():
        (path / "diags").mkdir(parents=True)
    try:
        assert runner.uploads()
        assert sorted(runner.sweep_scratch()) == sorted([ended, unknown])
        assert dirs[running].is_dir() and not dirs[ended].exists() and not dirs[unknown].exists()
    finally:
        for path in dirs.values():
            shutil.rmtree(path, ignore_errors=True)
