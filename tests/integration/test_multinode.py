"""A real multi-node Ray cluster on this machine: a Ray head and two Ray worker nodes, each in a
network namespace of its own (``ip netns`` + veth on a bridge, addresses 10.213.<k>.<n>) and in
its own PID, UTS and mount namespaces (so each looks like a host of its own: its own hostname,
only its own processes, and a worker node does not see the server's artifact directory: a tmpfs
covers it). The API server is an external driver with a Ray node of its own (``ray start
--num-cpus=0``, then ``beamtrack serve --no-embedded --ray-address HEAD``: the commands of the
compose file), in a namespace of its own; Redis listens on the host's end of the bridge.

Proved: jobs run on both worker nodes (the records' ``worker`` field), a worker node killed
mid-job has its job finish on the other node with every diagnostics row exactly once, and the
artifacts of jobs that ran on remote nodes are fetched through the API (uploaded via Redis).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import fodo_spec, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

BIN = Path(sys.executable).parent
COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
TOKEN = "multinode-token-0123456789"
NEEDS = [t for t in ("ip", "unshare", "mount", "redis-server") if shutil.which(t) is None]
SKIP = "needs root (network namespaces)" if os.geteuid() != 0 else f"needs {', '.join(NEEDS)}" if NEEDS else ""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


def free_subnet() -> int:
    """A k with 10.213.k.0/24 unused on this host (tests running at once take different ones)."""
    used = sh("ip", "-o", "addr").stdout
    for _ in range(100):
        k = 1 + secrets.randbelow(250)
        if f"10.213.{k}." not in used:
            return k
    raise RuntimeError("no free 10.213.k.0/24 subnet")


@dataclass
class Cluster:
    """Namespaces, links and processes made by the test; ``close`` removes every one."""

    tag: str
    k: int
    tmp: Path
    namespaces: list[str] = field(default_factory=list)
    host_link: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def ip(self, n: int) -> str:
        return f"10.213.{self.k}.{n}"

    def add_host(self, name: str, n: int) -> str:
        """A namespace ``name`` with address .n on the bridge."""
        ns = f"{self.tag}-{name}"
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        inner, outer = f"{self.tag}{n}i", f"{self.tag}{n}o"
        sh("ip", "link", "add", inner, "type", "veth", "peer", "name", outer)
        sh("ip", "link", "set", inner, "netns", ns)
        sh("ip", "link", "set", outer, "netns", self.namespaces[0])
        sh("ip", "netns", "exec", self.namespaces[0], "ip", "link", "set", outer, "master", "br0", "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.ip(n)}/24", "dev", inner)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", inner, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        return ns

    def open(self) -> None:
        switch = f"{self.tag}-sw"
        sh("ip", "netns", "add", switch)
        self.namespaces.append(switch)
        sh("ip", "netns", "exec", switch, "ip", "link", "add", "br0", "type", "bridge")
        sh("ip", "netns", "exec", switch, "ip", "link", "set", "br0", "up")
        # the host's own end: the test talks to the API and Redis listens here
        self.host_link = f"{self.tag}h"
        sh("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", f"{self.tag}hp")
        sh("ip", "link", "set", f"{self.tag}hp", "netns", switch)
        sh("ip", "netns", "exec", switch, "ip", "link", "set", f"{self.tag}hp", "master", "br0", "up")
        sh("ip", "addr", "add", f"{self.ip(254)}/24", "dev", self.host_link)
        sh("ip", "link", "set", self.host_link, "up")

    def start(
        self, ns: str | None, hostname: str, script: str, env: dict[str, str], log: str
    ) -> subprocess.Popen[bytes]:
        """Run ``script`` (sh) as pid 1 of new PID/UTS/mount namespaces inside network
        namespace ``ns`` (None: the host's network, for Redis)."""
        prefix = (
            []
            if ns is None
            else [
                "ip",
                "netns",
                "exec",
                ns,
                "unshare",
                "--uts",
                "--pid",
                "--fork",
                "--mount",
                "--mount-proc",
                "sh",
                "-c",
                f"hostname {hostname} && {script}",
            ]
        )
        args = prefix or ["sh", "-c", script]
        with open(self.tmp / log, "wb") as out:
            proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill_host(self, ns: str) -> None:
        """SIGKILL every process in network namespace ``ns``: the node is gone at once."""
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for ns in self.namespaces:
            self.kill_host(ns)
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        if self.host_link:
            sh("ip", "link", "del", self.host_link, check=False)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.tmp.glob("*.log"))
        )


def compose_command(service: str, hosts: dict[str, str], node_ip: str) -> str:
    """The command of ``service`` in docker-compose.yml as one shell line, its host names
    replaced by ``hosts`` and Ray's node address given (the compose network has a default
    route to find it by; these namespaces have none)."""
    spec = yaml.safe_load(COMPOSE.read_text())["services"][service]
    command = spec["command"]
    line = command[2] if command[:2] == ["sh", "-c"] else " ".join(command)
    for name, address in hosts.items():
        line = line.replace(name, address)
    return line.replace("ray start ", f"ray start --node-ip-address={node_ip} ")


def sampled(spec: dict[str, Any], every: int) -> dict[str, Any]:
    """``spec`` with its BeamMonitors writing every ``every``-th period only (a few MiB)."""
    for element in spec["lattice"]["elements"]:
        if element["type"] == "BeamMonitor":
            element["period_sample_intervals"] = every
    return spec


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if SKIP:
        pytest.skip(SKIP)
    c = Cluster(tag=f"bt{secrets.token_hex(3)}", k=free_subnet(), tmp=tmp_path)
    try:
        c.open()
        yield c
    except BaseException:
        print(c.logs())
        raise
    finally:
        c.close()


def test_jobs_across_nodes_node_loss_and_remote_artifacts(
    cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from beamtrack.client import Client
    from beamtrack.server.settings import hash_token
    from beamtrack.workers.store import JobStore

    c = cluster
    head, w1, w2, api = (c.add_host(n, i) for n, i in (("head", 1), ("w1", 2), ("w2", 3), ("api", 4)))
    redis_port = 6379
    redis_url = f"redis://{c.ip(254)}:{redis_port}/0"
    data_dir = tmp_path / "api"
    artifacts = data_dir / "artifacts"
    artifacts.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "BEAMTRACK_"))}
    env.update(
        {
            "PATH": f"{BIN}:{env.get('PATH', '')}",
            # several nodes: Ray must not be told it runs on one machine only
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1",
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
            # a dead node is noticed in ~3 s, not Ray's default ~30 s
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_timeout_ms": "1000",
            "RAY_health_check_failure_threshold": "3",
        }
    )
    c.start(
        None,
        "",
        f"exec redis-server --bind {c.ip(254)} --port {redis_port} --protected-mode no "
        f"--save '' --appendonly no --dir {tmp_path}",
        env,
        "redis.log",
    )
    # the services' commands of docker-compose.yml, with this network's addresses (and a
    # tmpfs as each node's /tmp/ray: Ray's sessions, as on hosts of their own)
    hosts = {"redis://redis:6379/0": redis_url, "ray-head:": f"{c.ip(1)}:"}
    own_tmp = "mkdir -p /tmp/ray && mount -t tmpfs tmpfs /tmp/ray && "
    c.start(head, "bt-head", own_tmp + "exec " + compose_command("ray-head", hosts, c.ip(1)), env, "head.log")
    for ns, n, name in ((w1, 2, "bt-worker-1"), (w2, 3, "bt-worker-2")):
        # a worker node does not see the API's disk: its files must travel through Redis
        worker = compose_command("ray-worker", hosts, c.ip(n)).replace(
            "--num-cpus=${BEAMTRACK_WORKER_CPUS:-2}", "--num-cpus=1"
        )
        c.start(ns, name, f"{own_tmp}mount -t tmpfs tmpfs {data_dir} && exec {worker}", env, f"{name}.log")
    api_env = dict(
        env, BEAMTRACK_API_TOKENS=json.dumps([{"user": "ana", "sha256": hash_token(TOKEN)}]), BEAMTRACK_MAX_ATTEMPTS="5"
    )
    serve = compose_command("server", hosts, c.ip(4))
    assert serve.startswith("ray start ") and " && exec beamtrack serve " in serve, serve
    c.start(api, "bt-api", f"{own_tmp}{serve} --http-port 8000 --data-dir {data_dir}", api_env, "api.log")

    client = Client(f"http://{c.ip(4)}:8000", TOKEN, timeout=30)
    request.addfinalizer(client.close)

    def ready() -> bool:
        try:
            return httpx.get(f"http://{c.ip(4)}:8000/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout=150, what="the API server (and its Ray node) up")
    store = JobStore.from_url(redis_url, prefix="bt")
    long_job = client.submit(sampled(fodo_spec(npart=20000, periods=120, name="long"), 60))
    short_job = client.submit(sampled(fodo_spec(npart=20000, periods=40, name="short"), 20))

    def both_running() -> tuple[str, str] | None:
        a, b = store.get(long_job["id"]), store.get(short_job["id"])
        if a.diag_count and b.diag_count:
            return a.worker, b.worker
        return None

    workers = wait_for(both_running, timeout=120, what="both jobs running with rows")
    hosts = {w.split(":")[0] for w in workers}
    assert hosts == {"bt-worker-1", "bt-worker-2"}, workers  # one job on each node
    # kill the long job's node mid-job
    total = store.get(long_job["id"]).total_steps
    wait_for(lambda: store.get(long_job["id"]).diag_count > total // 4, timeout=120, what="the long job a quarter done")
    lost_host = workers[0].split(":")[0]
    c.kill_host(w1 if lost_host == "bt-worker-1" else w2)

    short_final = client.wait(short_job["id"], timeout=120)
    long_final = client.wait(long_job["id"], timeout=180)
    assert short_final["state"] == "succeeded", short_final
    events = list(client.events(long_job["id"]))
    reasons = [e.data.get("reason", "") for e in events if e.kind == "state"]
    # a retry placed before Ray declared the node dead may be lost with it once more
    assert long_final["state"] == "succeeded" and long_final["attempts"] >= 2, (long_final["error"], reasons)
    assert any("worker lost" in r for r in reasons)
    rec = store.get(long_job["id"])
    assert rec.worker.split(":")[0] == ({"bt-worker-1", "bt-worker-2"} - {lost_host}).pop()
    steps = [e.data["step"] for e in events if e.kind == "diag"]
    assert steps == list(range(steps[0], steps[0] + len(steps))), "a row lost or repeated"
    assert steps[-1] == long_final["progress"]["total_steps"]

    # both jobs ran on nodes that do not see the API's disk: their files came through Redis
    for job, final in ((long_job, long_final), (short_job, short_final)):
        names = {a["name"] for a in client.artifacts(job["id"])}
        assert names == set(final["result"]["artifacts"]) and "diags/openPMD/monitor.h5" in names
        out = tmp_path / "fetched" / job["id"]
        client.download(job["id"], out)
        lines = (out / "diags" / "reduced_beam_characteristics.0").read_text().splitlines()
        col = lines[0].split().index("step")
        on_disk = [int(float(ln.split()[col])) for ln in lines[1:] if ln.strip()]
        assert on_disk == [r["step"] for r in client.diagnostics(job["id"])]
    assert sorted(store.r.scan_iter(match="bt:art:*")) == []
    assert (artifacts / long_job["id"]).is_dir()  # pulled into the API's own store
    store.close()
