"""Fixtures of the service tests: a real redis-server on a free port, a real local Ray, real
uvicorn + gRPC servers on 127.0.0.1 (ports chosen by the OS)."""

from __future__ import annotations

import copy
import gc
import json
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789", "admin": "admin-token-0123456789"}


def wait_for(pred: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``pred`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def fodo_spec(*, npart: int = 1000, periods: int = 1, name: str = "fodo") -> dict[str, Any]:
    """examples/fodo.json, resized."""
    spec = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec = copy.deepcopy(spec.get("spec", spec))
    spec["name"] = name
    spec["beam"]["npart"] = npart
    spec["lattice"]["periods"] = periods
    return spec


@pytest.fixture(autouse=True)
def no_unclosed_sockets() -> Iterator[None]:
    """Fails a test that leaves a socket for the garbage collector (an HTTP or gRPC client never
    closed): the collector runs at the test's end and each unclosed socket it finalizes is named.
    pyproject ignores ResourceWarning as a warning, because one raised at the collector's own
    moment would fail whatever later test happened to be running."""
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning) and "socket" in str(w.message)]
    assert not leaks, f"{len(leaks)} socket(s) left open: {leaks[:5]}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from beamtrack.workers.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        namespace="beamtrack",
        logging_level=logging.WARNING,
        _node_ip_address="127.0.0.1",
    )
    yield
    ray.shutdown()


@pytest.fixture
def server_factory(redis_server: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``make(scheduler=False, **settings)`` -> a started ServerProcess; every server made in
    a test shares the test's key prefix and artifact directory (so a restart sees the same
    jobs) and is stopped at the end."""
    from beamtrack.server.process import ServerProcess
    from beamtrack.server.settings import ApiToken, Settings, hash_token

    prefix = f"t{uuid.uuid4().hex[:10]}"
    made: list[ServerProcess] = []

    def make(*, scheduler: bool = False, redis_url: str | None = None, **kw: Any) -> ServerProcess:
        if scheduler:
            pytest.importorskip("ray")
            import ray

            if not ray.is_initialized():
                raise RuntimeError("request the ray_local fixture for a scheduler")
        tokens = [ApiToken(user=u, sha256=hash_token(t), admin=(u == "admin")) for u, t in TOKENS.items()]
        url = redis_url or redis_server.url
        kw.setdefault("stream_block_ms", 200)
        settings = Settings(
            redis_url=url,
            http_port=0,
            grpc_port=0,
            data_dir=tmp_path,
            key_prefix=prefix,
            api_tokens=tokens,
            scheduler=scheduler,
            **kw,
        )
        server = ServerProcess(settings, url).start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop(kill_actors=True)


@pytest.fixture
def rest(server_factory: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """``rest(server, user)`` -> a beamtrack.client.Client for that user, closed at the end of the test."""
    from beamtrack.client import Client

    made: list[Client] = []

    def make(server: Any, user: str = "alice") -> Client:
        made.append(Client(f"http://127.0.0.1:{server.http_port}", TOKENS[user], timeout=30))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def grpc_client() -> Iterator[Callable[..., Any]]:
    """``grpc_client(server, user)`` -> a beamtrack.client.GrpcClient for that user, closed at the end of the test."""
    from beamtrack.client import GrpcClient

    made: list[GrpcClient] = []

    def make(server: Any, user: str = "alice") -> GrpcClient:
        made.append(GrpcClient(f"127.0.0.1:{server.grpc_port}", TOKENS[user]))
        return made[-1]

    yield make
    for c in made:
        c.close()
