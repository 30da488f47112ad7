"""Per-user fair share in the claim order (real redis-server, the store alone): priority first,
then the owner served least recently, then submit order; a huge low-priority scan does not hold
back a later job of another user, and cancel and requeue keep the owners' queues exact."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from beamtrack.workers.store import JobStore, NewJob

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis_server: Any) -> JobStore:
    return JobStore.from_url(redis_server.url, prefix=f"fs{uuid.uuid4().hex[:8]}")


def scan_of(store: JobStore, owner: str, n: int, priority: int = 0) -> list[str]:
    jobs = [NewJob(f"{owner}-{i}", "{}", variant=i) for i in range(n)]
    return store.submit_jobs(
        owner=owner,
        jobs=jobs,
        priority=priority,
        scan={"id": uuid.uuid4().hex, "name": owner, "spec": "{}", "paths": [], "columns": None},
    )


def claim_ids(store: JobStore, n: int) -> list[str]:
    out = []
    for _ in range(n):
        got = store.claim()
        assert got is not None
        out.append(got[0])
    return out


def test_big_low_priority_scan_does_not_starve_later_jobs(store: JobStore) -> None:
    big = scan_of(store, "alice", 10_000, priority=-10)
    high = store.submit(owner="bob", name="urgent", spec_json="{}", priority=5).id
    same = store.submit(owner="carol", name="same", spec_json="{}", priority=-10).id
    first = claim_ids(store, 4)
    assert first[0] == high  # higher priority first
    # then alice and carol alternate at priority -10: carol's one job is not behind 10,000
    assert first[1:] == [big[0], same, big[1]]
    assert claim_ids(store, 3) == big[2:5]


def test_equal_priority_owners_alternate_and_cancel_requeue_stay_exact(store: JobStore) -> None:
    a = scan_of(store, "alice", 6)
    b = [store.submit(owner="bob", name=f"b{i}", spec_json="{}").id for i in range(3)]
    assert store.cancel(b[1]) == "cancelled"
    got = claim_ids(store, 4)
    assert got == [a[0], b[0], a[1], b[2]]
    # a requeued job goes back to its owner's queue at its old place
    attempt = store.get(a[1]).attempts
    assert store.requeue(a[1], attempt, "worker lost", max_attempts=3) == "queued"
    assert claim_ids(store, 5) == [a[1], a[2], a[3], a[4], a[5]]
    assert store.claim() is None
    assert store.counts()["queued"] == 0
