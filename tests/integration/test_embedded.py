"""The embedded default (`beamtrack serve`): one redis-server per data directory, nothing left
behind by a killed server, and every socket of the service on loopback (issue 8, items 7 and 12).

Real processes throughout: redis-server, `beamtrack serve` in a subprocess with its local Ray.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis
from beamtrack.workers.redis_server import DataDirInUse, RedisServer, find_redis_server

from .conftest import wait_for

pytestmark = pytest.mark.integration


def redis_servers_of(data_dir: Path) -> list[psutil.Process]:
    """Live redis-server processes working in ``data_dir`` (redis-server rewrites its command
    line; its working directory is its --dir)."""
    out = []
    for p in psutil.process_iter(["name"]):
        try:
            if p.info["name"].startswith("redis-") and Path(p.cwd()) == data_dir.resolve():
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def test_a_second_owner_of_a_data_dir_is_refused(tmp_path: Path) -> None:
    first = RedisServer(tmp_path).start()
    try:
        with pytest.raises(DataDirInUse, match="in use"):
            RedisServer(tmp_path).start()
        assert len(redis_servers_of(tmp_path)) == 1
        assert redis.Redis.from_url(first.url).ping()
    finally:
        first.stop()
    # once the owner stopped, the directory is free again
    RedisServer(tmp_path).start().stop()


def test_an_orphaned_server_is_stopped_and_its_data_kept(tmp_path: Path) -> None:
    """An owner killed with SIGKILL (no cleanup) left its redis-server running, as a server
    started in another session would be: the next owner stops it (SIGTERM flushes the AOF) and
    replays the AOF, so the data survives and only one server ever appends to it."""
    orphan_server = RedisServer(tmp_path)
    port = orphan_server.port
    args = [
        find_redis_server(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(tmp_path.resolve()),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--daemonize",
        "no",
    ]
    orphan = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        wait_for(lambda: _pings(client), 20, "the orphan redis-server")
        client.set("kept", "yes")
        (tmp_path / "redis.owner").write_text(json.dumps({"owner_pid": 999_999, "redis_pid": orphan.pid, "port": port}))
        new = RedisServer(tmp_path).start()
        try:
            assert orphan.wait(20) == 0  # stopped cleanly by SIGTERM
            assert [p.pid for p in redis_servers_of(tmp_path)] == [new.proc.pid]
            assert redis.Redis.from_url(new.url).get("kept") == b"yes"
        finally:
            new.stop()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def listening_addresses(root: psutil.Process) -> list[tuple[str, str, int]]:
    """(process name, address, port) of every listening TCP socket and bound UDP socket of
    ``root`` and its descendants."""
    procs = [root, *root.children(recursive=True)]
    out = []
    for p in procs:
        try:
            conns = p.net_connections(kind="inet")
            name = p.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN or (c.type == 2 and not c.raddr):
                out.append((name, c.laddr.ip, c.laddr.port))
    return out


def is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


@pytest.mark.slow
def test_embedded_serve_binds_loopback_only_and_leaves_no_orphan_when_killed(tmp_path: Path) -> None:
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "PYTHONUNBUFFERED": "1"}
    data = tmp_path / "data"
    cmd = [
        str(Path(sys.executable).parent / "beamtrack-serve"),
        "--http-port",
        "0",
        "--grpc-port",
        "0",
        "--data-dir",
        str(data),
        "--num-cpus",
        "1",
    ]
    log = (tmp_path / "serve.log").open("w+")
    serve = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_for(
            lambda: "beamtrack service ready" in Path(log.name).read_text() or serve.poll() is not None,
            120,
            "beamtrack serve to be ready",
        )
        assert serve.poll() is None, Path(log.name).read_text()[-3000:]
        # Ray's workers start lazily; give the node a moment to open what it opens at start
        time.sleep(2)
        socks = listening_addresses(psutil.Process(serve.pid))
        assert socks, "found no listening sockets of the service"
        public = [s for s in socks if not is_loopback(s[1])]
        assert public == [], f"listening beyond loopback: {public}"
        assert len(redis_servers_of(data / "redis")) == 1

        os.kill(serve.pid, signal.SIGKILL)
        serve.wait(10)
        wait_for(lambda: not redis_servers_of(data / "redis"), 20, "the killed server's redis-server to exit")
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
        for p in redis_servers_of(data / "redis"):
            p.kill()
        log.close()
