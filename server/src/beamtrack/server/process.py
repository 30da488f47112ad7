"""Assemble and run one server process: store, JobService, scheduler, uvicorn, gRPC.

``ServerProcess`` is what ``beamtrack serve`` and the integration tests run; ``Embedded`` adds a
private redis-server and a local Ray for the embedded default.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import uvicorn
from beamtrack.workers.redis_server import RedisServer
from beamtrack.workers.store import JobStore
from beamtrack.workers.store_async import AsyncStreams

from .grpc_service import create_grpc_server
from .limits import request_limit
from .metrics import Metrics
from .rest import create_app
from .scheduler import Scheduler
from .service import JobService
from .settings import ApiToken, Settings, hash_token
from .streams import StreamHub

log = logging.getLogger("beamtrack.server")
#: Threads for sync routes (streams hold none: they wait on the event loop).
HTTP_THREADS = 64
#: Threads for unary gRPC calls.
GRPC_THREADS = 32


def raise_fd_limit() -> int:
    """Raise this process's open-file soft limit to its hard limit (each open stream is a
    socket); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d", soft)
    return soft


def listen_socket(host: str, port: int) -> socket.socket:
    """The HTTP listening socket. Made with proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY
    on accepted sockets only when ``sock.proto`` says TCP, and without it a keep-alive response
    written in two sends waits ~40 ms on Nagle's algorithm and the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class ServerProcess:
    """REST + gRPC servers (and, if enabled, the scheduler) over one Redis.

    Both front doors and the StreamHub run on one event loop in one thread ("serve"); sync
    REST routes and unary gRPC calls run on thread pools beside it."""

    def __init__(self, settings: Settings, redis_url: str):
        self.settings = settings
        self.redis_url = redis_url
        self.store = JobStore.from_url(redis_url, prefix=settings.key_prefix, stream_maxlen=settings.stream_maxlen)
        self.service = JobService(self.store, settings)
        self.hub = StreamHub(
            AsyncStreams(self.store, redis_url),
            block_ms=settings.stream_block_ms,
            max_per_user=settings.max_streams_per_user,
        )
        self.metrics = Metrics(
            self._job_counts,
            stream_clients=self.hub.clients,
            redis_up=lambda: float(self.store.ping()),
            ray_up=self._ray_up,
        )
        self.scheduler: Scheduler | None = None
        self.app = create_app(self.service, self.metrics, self._ready, self.hub, max_spec_bytes=settings.max_spec_bytes)
        self.http_port = 0
        self.grpc_port = 0
        self._uvicorn: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _job_counts(self) -> dict[str, int]:
        return {**self.store.counts(), **self.store.finished_counts()}

    def _ray_up(self) -> float:
        """1 when this process is connected to Ray and (if it runs one) its scheduler is alive:
        the Ray side of /readyz."""
        import ray

        if not ray.is_initialized():
            return 0.0
        if self.settings.scheduler:
            return float(self.scheduler is not None and self.scheduler.alive())
        return 1.0

    def _ready(self) -> dict[str, bool]:
        checks = {"redis": self.store.ping()}
        if self.settings.scheduler:
            checks["scheduler"] = self.scheduler is not None and self.scheduler.alive()
        return checks

    def start(self) -> ServerProcess:
        s = self.settings
        s.artifacts.mkdir(parents=True, exist_ok=True)
        raise_fd_limit()
        if s.scheduler:
            self.scheduler = Scheduler(self.store, s, self.redis_url, metrics=self.metrics)
            self.scheduler.start()
        sock = listen_socket(s.host, s.http_port)
        self.http_port = sock.getsockname()[1]
        # uvicorn's own access log is off: _Observe writes one line per request
        # (beamtrack.access), without the Authorization header or token-like query values
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        self._uvicorn = uvicorn.Server(config)
        server = self._uvicorn
        started = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            try:
                anyio.to_thread.current_default_thread_limiter().total_tokens = HTTP_THREADS
                self.hub.start()
                self._grpc, self.grpc_port = create_grpc_server(
                    self.service,
                    self.metrics,
                    self.hub,
                    f"{s.host}:{s.grpc_port}",
                    max_workers=GRPC_THREADS,
                    max_spec_bytes=s.max_spec_bytes,
                    max_message_bytes=request_limit(s.max_spec_bytes),
                )
                await self._grpc.start()
            except BaseException as exc:
                failure.append(exc)
                started.set()
                raise
            started.set()
            try:
                await server.serve(sockets=[sock])
            finally:
                await self._grpc.stop(grace=1)
                await self.hub.close()

        def serve() -> None:
            try:
                asyncio.run(main())
            except Exception:
                if not failure:
                    log.exception("the server loop failed")

        self._http_thread = threading.Thread(target=serve, name="serve", daemon=True)
        self._http_thread.start()
        if not started.wait(30) or failure:
            raise RuntimeError(f"the gRPC server did not start: {failure[:1]}")
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._http_thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.02)
        return self

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the serving loop and return its result (tests read the hub's
        counters this way)."""
        if self._loop is None:
            raise RuntimeError("not started")

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def stop(self, *, kill_actors: bool = False) -> None:
        """Stop accepting, end streams, stop the scheduler (actors keep running unless told)."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._loop is not None and self._grpc is not None and self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._grpc.stop(grace=1), self._loop)
            except RuntimeError:
                pass  # the loop just ended
        if self._http_thread is not None:
            self._http_thread.join(10)
        if self.scheduler is not None:
            self.scheduler.stop(kill_actors=kill_actors)
        self.store.close()


class Embedded:
    """The embedded default: private redis-server (AOF in data_dir/redis) and a local Ray."""

    def __init__(
        self,
        data_dir: Path,
        *,
        redis_url: str | None = None,
        ray_address: str | None = None,
        num_cpus: int | None = None,
    ):
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.ray_address = ray_address
        self.num_cpus = num_cpus
        self.redis: RedisServer | None = None

    def start(self) -> str:
        """Start what is missing; returns the Redis URL to use."""
        import ray

        if self.redis_url is None:
            self.redis = RedisServer(self.data_dir / "redis").start()
            self.redis_url = self.redis.url
        if not ray.is_initialized():
            if self.ray_address:
                # a cluster of several nodes: Ray must not be told it runs on one machine only
                ray.init(address=self.ray_address, namespace="beamtrack", logging_level=logging.WARNING)
            else:
                # a local Ray of one node: set, Ray binds its GCS and raylet to loopback
                os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
                ray.init(
                    address="local",
                    namespace="beamtrack",
                    include_dashboard=False,
                    num_cpus=self.num_cpus,
                    logging_level=logging.WARNING,
                    _node_ip_address="127.0.0.1",
                )
        return self.redis_url

    def stop(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        if self.redis is not None:
            self.redis.stop()


def local_token(data_dir: Path) -> tuple[str, ApiToken]:
    """The embedded mode's token: BEAMTRACK_LOCAL_TOKEN, else the one ``data_dir/token`` holds
    from an earlier start (so clients keep working across restarts), else a fresh random one;
    written to ``data_dir/token`` (mode 0600) so local clients can read it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "token"
    token = os.environ.get("BEAMTRACK_LOCAL_TOKEN", "")
    if not token:
        try:
            token = path.read_text().strip()
        except (FileNotFoundError, UnicodeDecodeError):
            token = ""
        if len(token) < 16 or any(c.isspace() for c in token):
            token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left with a wider mode is narrowed
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, ApiToken(user="local", sha256=hash_token(token), admin=True)
