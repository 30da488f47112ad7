"""Many jobs through worker, server and Redis kills (issue 8, "Proof"): nothing is lost or repeated.

Real processes: a redis-server with AOF, the test's local Ray, and `beamtrack serve` as a separate
process joining that Ray (so it can be killed with SIGKILL and restarted; its detached job actors
survive it and the next server re-attaches). While the jobs run: a worker is killed with SIGKILL,
the server is killed with SIGKILL and restarted, redis-server is killed with SIGKILL and restarted
on the same port and AOF, and a worker is killed again.

Counted at the end, each must be zero: jobs not succeeded, diagnostics rows missing from or
repeated in a job's stream (the stream must equal, row for row, the reduced-diagnostics file the
job's successful attempt wrote), hook values missing or repeated (each hook job emits one value
per period). Redis runs with ``appendfsync always`` so that "zero lost" is exact (with
``everysec`` a Redis crash may lose its last second, Redis's documented trade-off).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from beamtrack.client import ApiError, Client
from beamtrack.server.settings import hash_token
from beamtrack.workers.redis_server import RedisServer

from .conftest import TOKENS, fodo_spec, wait_for
from .test_service_jobs import read_reduced

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: 60 keeps the suite inside its time budget; BEAMTRACK_CHAOS_JOBS=200 is the issue's size (passed:
#: 200 jobs, 203 attempts, 0 lost or repeated, 325 s on the shared 2-core machine under load ~7).
N_JOBS = int(os.environ.get("BEAMTRACK_CHAOS_JOBS", "60"))
HOOK_EVERY = 10  # every 10th job carries a sandboxed hook module
PERIODS = 2
HOOK = "def after_period(sim):\n    sim.emit('period', float(sim.tracking_period))\n"


class AlwaysFsyncRedis(RedisServer):
    def start(self, timeout: float = 20.0) -> RedisServer:
        out = super().start(timeout)
        redis.Redis.from_url(self.url).config_set("appendfsync", "always")
        return out


class ServeProcess:
    """`beamtrack serve --no-embedded` in its own process, joined to the test's Ray."""

    def __init__(self, tmp: Path, redis_url: str, ray_address: str, prefix: str, n: int):
        self.log_path = tmp / f"serve{n}.log"
        tokens = [{"user": "alice", "sha256": hash_token(TOKENS["alice"]), "admin": False}]
        env = {
            **os.environ,
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "PYTHONUNBUFFERED": "1",
            "BEAMTRACK_API_TOKENS": json.dumps(tokens),
            "BEAMTRACK_KEY_PREFIX": prefix,
            "BEAMTRACK_ARTIFACT_DIR": str(tmp / "artifacts"),
            "BEAMTRACK_MAX_RUNNING": "2",
        }
        cmd = [
            str(Path(sys.executable).parent / "beamtrack-serve"),
            "--no-embedded",
            "--redis-url",
            redis_url,
            "--ray-address",
            ray_address,
            "--http-port",
            "0",
            "--grpc-port",
            "0",
            "--data-dir",
            str(tmp / "srv"),
        ]
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        text = wait_for(lambda: self._ready(), 120, "beamtrack serve to be ready")
        self.port = int(re.search(r"REST\s+http://127\.0\.0\.1:(\d+)", text).group(1))

    def _ready(self) -> str | None:
        text = self.log_path.read_text()
        if self.proc.poll() is not None:
            raise AssertionError(f"beamtrack serve exited: {text[-3000:]}")
        return text if "beamtrack service ready" in text else None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()


def kill_a_worker(c: Client, ids: list[str]) -> str:
    """SIGKILL the worker process of a running job with published rows; returns its job id."""

    def running() -> str | None:
        for job_id in ids:
            try:
                j = c.get(job_id)
            except ApiError:
                return None
            if j["state"] == "running" and j["progress"]["step"] > 0:
                return job_id
        return None

    job_id = wait_for(running, 120, "a running job")
    rec = redis_record(c, job_id)
    os.kill(int(rec.rsplit(":", 1)[1]), signal.SIGKILL)
    return job_id


_store: dict[str, Any] = {}


def redis_record(c: Client, job_id: str) -> str:
    r, prefix = _store["redis"], _store["prefix"]
    return wait_for(lambda: (w := r.hget(f"{prefix}:job:{job_id}", "worker")) and ":" in w and w, 30, "worker")


def terminal_count(c: Client, ids: list[str]) -> int:
    try:
        return sum(1 for j in c.iter_jobs() if j["state"] in ("succeeded", "failed", "cancelled"))
    except (ApiError, OSError):
        return 0


def situation(c: Client, servers: list[ServeProcess]) -> str:
    """What a stuck run looks like: job states, Ray's named actors, the last server's log tail."""
    import ray

    try:
        states: dict[str, int] = {}
        for j in c.iter_jobs():
            states[j["state"]] = states.get(j["state"], 0) + 1
    except (ApiError, OSError) as exc:
        states = {f"listing failed: {exc}": 0}
    actors = [a.get("name") for a in ray.util.list_named_actors(all_namespaces=True) if isinstance(a, dict)]
    log = servers[-1].log_path.read_text()[-4000:]
    return f"job states: {states}\nnamed actors: {actors}\nlast server log:\n{log}"


def test_no_job_row_or_hook_value_is_lost_or_repeated(ray_local: None, tmp_path: Path) -> None:
    import ray

    gcs = ray.get_runtime_context().gcs_address
    prefix = f"chaos{uuid.uuid4().hex[:8]}"
    rs = AlwaysFsyncRedis(tmp_path / "redis").start()
    port = rs.port
    _store.update(redis=redis.Redis.from_url(rs.url, decode_responses=True), prefix=prefix)
    servers = [ServeProcess(tmp_path, rs.url, gcs, prefix, 0)]
    t0 = time.monotonic()
    c: Client | None = None
    try:
        c = Client(f"http://127.0.0.1:{servers[-1].port}", TOKENS["alice"], timeout=30)
        ids, hooked = [], set()
        for i in range(N_JOBS):
            spec = fodo_spec(npart=200, periods=PERIODS, name=f"chaos{i}")
            spec["beam"]["seed"] = i  # distinct specs: none is served from the result cache
            job = c.submit(spec, hook_module=HOOK if i % HOOK_EVERY == 0 else None)
            ids.append(job["id"])
            if i % HOOK_EVERY == 0:
                hooked.add(job["id"])

        def at(n: int) -> None:
            try:
                wait_for(lambda: terminal_count(c, ids) >= n, 600, f"{n} jobs ended")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{situation(c, servers)}") from None

        at(N_JOBS // 20)
        kill_a_worker(c, ids)
        at(N_JOBS // 5)
        servers[-1].kill()
        servers.append(ServeProcess(tmp_path, rs.url, gcs, prefix, 1))
        c.close()
        c = Client(f"http://127.0.0.1:{servers[-1].port}", TOKENS["alice"], timeout=30)
        at(2 * N_JOBS // 5)
        os.kill(rs.proc.pid, signal.SIGKILL)
        rs.proc.wait()
        rs.stop()
        time.sleep(2.0)
        rs = AlwaysFsyncRedis(tmp_path / "redis", port=port).start()
        at(3 * N_JOBS // 5)
        kill_a_worker(c, ids)
        finals = [c.wait(job_id, timeout=600) for job_id in ids]
        elapsed = time.monotonic() - t0

        not_succeeded = [(f["id"], f["state"], f["error"]) for f in finals if f["state"] != "succeeded"]
        lost_rows = repeated_rows = lost_values = repeated_values = 0
        missing_files: list[Any] = []
        for job_id in ids:
            events = list(c.events(job_id))
            steps = [int(e.data["step"]) for e in events if e.kind == "diag"]
            reduced = tmp_path / "artifacts" / job_id / "diags" / "reduced_beam_characteristics.0"
            if not reduced.exists():
                missing_files.append((job_id, c.get(job_id), [e.data for e in events if e.kind != "diag"]))
                continue
            on_disk = [int(r["step"]) for r in read_reduced(reduced)]
            repeated_rows += len(steps) - len(set(steps))
            lost_rows += len(set(on_disk) - set(steps))
            if job_id in hooked:
                values = [(e.data["step"], e.data["value"]) for e in events if e.kind == "custom"]
                repeated_values += len(values) - len(set(values))
                lost_values += PERIODS - len(set(values))
        print(
            f"{N_JOBS} jobs through 2 worker kills, a server kill and a Redis kill in {elapsed:.0f} s; "
            f"attempts: {sum(f['attempts'] for f in finals)}"
        )
        assert not_succeeded == []
        assert missing_files == []
        assert all(not f.get("cached_from") for f in finals)
        assert (lost_rows, repeated_rows, lost_values, repeated_values) == (0, 0, 0, 0)
    finally:
        if c is not None:
            c.close()
        for s in servers:
            if s.proc.poll() is None:
                s.proc.terminate()
                s.proc.wait(30)
        for name in ray.util.list_named_actors(all_namespaces=True):
            if isinstance(name, dict) and name.get("name", "").startswith(prefix):
                ray.kill(ray.get_actor(name["name"], namespace=name["namespace"]))
        rs.stop()
