"""Operations: /metrics series (job counts by state, queue-wait and run-time histograms,
failures, retries, stream clients, Redis/Ray health), the JSON access log (one line per request,
with the user, never the token), and the embedded token kept across restarts."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import TOKENS, fodo_spec, wait_for

pytestmark = pytest.mark.integration


def scrape(server: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{server.http_port}/metrics", timeout=30).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_metrics_after_a_job(ray_local: None, server_factory: Any, rest: Any) -> None:
    server = server_factory(scheduler=True)
    c = rest(server)
    job = c.submit(fodo_spec(npart=500))
    events = list(c.events(job["id"]))
    assert events[-1].data["state"] == "succeeded", events[-1].data
    # the run time is observed when the scheduler reaps the worker, just after the result
    wait_for(
        lambda: scrape(server).get(("beamtrack_job_run_seconds_count", ()), 0) >= 1,
        timeout=30,
        what="the run-time histogram",
    )
    m = scrape(server)
    assert m[("beamtrack_job_queue_wait_seconds_count", ())] >= 1
    assert m[("beamtrack_job_queue_wait_seconds_sum", ())] >= 0
    assert m[("beamtrack_job_run_seconds_sum", ())] > 0
    counts = {**server.store.counts(), **server.store.finished_counts()}
    assert counts["succeeded"] >= 1
    for state, n in counts.items():
        assert m[("beamtrack_jobs", (("state", state),))] == n, state
    for reason in ("worker_lost", "out_of_memory", "wall_clock", "error"):
        assert m[("beamtrack_job_failures_total", (("reason", reason),))] == 0
    assert m[("beamtrack_job_retries_total", ())] == 0
    assert m[("beamtrack_stream_clients", ())] == 0
    assert m[("beamtrack_redis_up", ())] == 1
    assert m[("beamtrack_ray_up", ())] == 1


def test_failure_reason_and_no_scheduler(server_factory: Any) -> None:
    from beamtrack.server.scheduler import failure_reason

    assert failure_reason("out of memory: the worker was killed for memory (X)") == "out_of_memory"
    assert failure_reason("wall-clock limit: the job ran past its limit") == "wall_clock"
    assert failure_reason("worker lost 3 times, giving up: worker lost: X") == "worker_lost"
    assert failure_reason("spec: bad element") == "error"
    server = server_factory(scheduler=False)
    m = scrape(server)
    assert m[("beamtrack_redis_up", ())] == 1
    assert m[("beamtrack_jobs", (("state", "failed_or_cancelled"),))] == 0


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        from beamtrack.server.logs import JsonFormatter

        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_access_log_json_without_token(server_factory: Any) -> None:
    server = server_factory(scheduler=False)
    handler = _Lines()
    access = logging.getLogger("beamtrack.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    base = f"http://127.0.0.1:{server.http_port}"
    token = TOKENS["alice"]
    try:
        with httpx.Client(base_url=base, timeout=30) as h:
            r1 = h.get("/v1/jobs", params={"limit": 5, "token": token}, headers={"Authorization": f"Bearer {token}"})
            r2 = h.get("/v1/jobs", headers={"Authorization": "Bearer wrong-token-0123456789"})
            r3 = h.get("/healthz")
        assert (r1.status_code, r2.status_code, r3.status_code) == (200, 401, 200)
        wait_for(lambda: len(handler.lines) >= 3, timeout=10, what="three access lines")
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    assert len(handler.lines) == 3, handler.lines
    recs = [json.loads(line) for line in handler.lines]
    for rec in recs:
        assert {"time", "level", "logger", "message", "method", "path", "status", "duration_ms"} <= set(rec), rec
        assert rec["logger"] == "beamtrack.access"
    assert recs[0]["user"] == "alice" and recs[0]["status"] == 200
    assert recs[0]["path"].startswith("/v1/jobs?") and "token=***" in recs[0]["path"]
    assert "user" not in recs[1] and recs[1]["status"] == 401
    assert recs[2]["path"] == "/healthz"
    text = "\n".join(handler.lines)
    assert token not in text and "wrong-token" not in text and "Bearer" not in text


def test_json_formatter_job_id() -> None:
    from beamtrack.server.logs import JsonFormatter, scrub_query

    rec = logging.LogRecord("beamtrack.scheduler", logging.WARNING, __file__, 1, "job %s lost", ("abc",), None)
    rec.job_id = "abc"
    out = json.loads(JsonFormatter().format(rec))
    assert out["job_id"] == "abc" and out["message"] == "job abc lost" and out["level"] == "WARNING"
    assert scrub_query("a=1&api_key=x&Token=y&b") == "a=1&api_key=***&Token=***&b"


def test_local_token_stable_across_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from beamtrack.server.process import local_token
    from beamtrack.server.settings import hash_token

    monkeypatch.delenv("BEAMTRACK_LOCAL_TOKEN", raising=False)
    first, entry = local_token(tmp_path / "data")
    again, entry2 = local_token(tmp_path / "data")
    assert first == again and entry.sha256 == entry2.sha256 == hash_token(first)
    path = tmp_path / "data" / "token"
    assert path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    other, _ = local_token(tmp_path / "elsewhere")
    assert other != first
    monkeypatch.setenv("BEAMTRACK_LOCAL_TOKEN", "env-token-0123456789")
    assert local_token(tmp_path / "data")[0] == "env-token-0123456789"
