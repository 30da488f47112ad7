"""Hook events on retry (issue 8 item 10: 2 of 40 custom values repeated after a worker kill just
after an emit). The runner runs attempt 1 in this process against a real Redis; the "kill" is a
BaseException raised by the store right after it published the 3rd custom value, after which
nothing more of that attempt reaches Redis (as after kill -9). Attempt 2 reruns the seeded,
deterministic job; the stream must then hold every row and every custom value exactly once, in
the order of one uninterrupted run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import fodo_spec

pytestmark = pytest.mark.integration

HOOKS = """\
def after_period(sim):
    sim.emit("a", sim.tracking_period)
    sim.emit("b", 10 * sim.tracking_period)
"""


class Killed(BaseException):
    """The worker process dies here."""


def _custom(store: Any, job_id: str) -> list[tuple[str, float, int]]:
    out = []
    for ev in store.read_events(job_id, "0-0", count=100_000):
        if ev.kind == "custom":
            d = ev.data
            out.append((d["name"], d["value"], d["step"]))
    return out


def test_a_retry_publishes_no_custom_value_twice(redis_server: Any, tmp_path: Path) -> None:
    from beamtrack.workers.runner import JobRunner
    from beamtrack.workers.store import JobStore

    prefix = f"retry{uuid.uuid4().hex[:8]}"
    store = JobStore.from_url(redis_server.url, prefix=prefix)
    spec = fodo_spec(npart=200, periods=4)
    job_id = store.submit(owner="u", name="retry", spec_json=json.dumps(spec), hook_module=HOOKS).id
    claimed = store.claim()
    assert claimed is not None and claimed[0] == job_id

    first = JobRunner(redis_server.url, prefix, str(tmp_path / "a1"))
    dead = False
    publish, publish_rows = first.store.publish, first.store.publish_rows
    customs = 0

    def dying_publish(jid: str, kind: str, data: dict[str, Any]) -> str:
        nonlocal dead, customs
        if dead:
            raise Killed
        out = publish(jid, kind, data)
        if kind == "custom":
            customs += 1
            if customs == 3:  # the first value of period 1: just after an emit
                dead = True
                raise Killed
        return out

    def dying_rows(*args: Any, **kwargs: Any) -> int:
        if dead:
            raise Killed
        return publish_rows(*args, **kwargs)

    first.store.publish = dying_publish  # type: ignore[method-assign]
    first.store.publish_rows = dying_rows  # type: ignore[method-assign]
    with pytest.raises(Killed):
        first.run(job_id, claimed[1])
    assert len(_custom(store, job_id)) == 3

    assert store.requeue(job_id, claimed[1], "worker lost", max_attempts=3) == "queued"
    again = store.claim()
    assert again is not None and again == (job_id, claimed[1] + 1)
    assert JobRunner(redis_server.url, prefix, str(tmp_path / "a2")).run(job_id, again[1]) == "succeeded"

    # the reference: one uninterrupted run of the same job
    ref_id = store.submit(owner="u", name="ref", spec_json=json.dumps(spec), hook_module=HOOKS).id
    ref = store.claim()
    assert ref is not None and ref[0] == ref_id
    assert JobRunner(redis_server.url, prefix, str(tmp_path / "ref")).run(ref_id, ref[1]) == "succeeded"
    want = _custom(store, ref_id)
    assert [(n, v) for n, v, _ in want] == [(n, float(p * k)) for p in range(4) for n, k in (("a", 1), ("b", 10))]
    assert _custom(store, job_id) == want
    assert [r["step"] for r in store.diagnostics(job_id)] == [r["step"] for r in store.diagnostics(ref_id)]
