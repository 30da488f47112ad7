"""The client CLI against a live service, and the embedded ``beamtrack serve`` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, TOKENS, fodo_spec

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def cli(server: Any, *args: str, user: str = "alice") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BEAMTRACK_URL=f"http://127.0.0.1:{server.http_port}", BEAMTRACK_TOKEN=TOKENS[user])
    return subprocess.run([str(BIN / "beamtrack-client"), *args], env=env, capture_output=True, text=True, timeout=120)


def test_client_cli(ray_local: None, server_factory: Any, tmp_path: Path) -> None:
    server = server_factory(scheduler=True)
    spec_file = tmp_path / "fodo.json"
    spec_file.write_text(json.dumps(fodo_spec(npart=1000)))
    grpc_target = f"127.0.0.1:{server.grpc_port}"
    out = cli(server, "--grpc", grpc_target, "submit", str(spec_file), "--watch")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    job_id = lines[0]
    assert any(ln.startswith("step ") and "sigma_x=" in ln for ln in lines)
    assert lines[-1].startswith("[result] succeeded")
    status = cli(server, "status", job_id, "--json")
    assert json.loads(status.stdout)["state"] == "succeeded"
    listing = cli(server, "list")
    assert job_id in listing.stdout
    fetched = cli(server, "fetch", job_id, "--out", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "out" / "diags" / "openPMD" / "monitor.h5").stat().st_size > 0
    assert (tmp_path / "out" / "diagnostics.csv").read_text().startswith("step,period,s,")
    watch = cli(server, "watch", job_id, "--quiet")
    assert watch.returncode == 0 and "[result] succeeded" in watch.stdout
    again = cli(server, "cancel", job_id)
    assert again.returncode == 1 and "FAILED_PRECONDITION" in again.stderr
    # a hook module sent with --hook runs in the sandbox; what it emits arrives on the stream
    hook_file = tmp_path / "hooks.py"
    hook_file.write_text(
        "def after_period(sim):\n    sim.emit('n_alive', float((sim.beam.arrays()['state'] == 0).sum()))\n"
    )
    hooked = cli(server, "submit", str(spec_file), "--hook", str(hook_file), "--watch")
    assert hooked.returncode == 0, hooked.stderr
    assert "[custom] n_alive = 1000.0" in hooked.stdout
    missing_hook = cli(server, "submit", str(spec_file), "--hook", str(tmp_path / "nope.py"))
    assert missing_hook.returncode == 2 and "nope.py" in missing_hook.stderr and "Traceback" not in missing_hook.stderr


def test_client_cli_errors_are_one_line(server_factory: Any, tmp_path: Path) -> None:
    server = server_factory()
    bad = fodo_spec()
    bad["beam"]["npart"] = "many"
    spec_file = tmp_path / "bad.json"
    spec_file.write_text(json.dumps(bad))
    out = cli(server, "submit", str(spec_file))
    assert out.returncode == 1
    assert "INVALID_ARGUMENT" in out.stderr and "spec.beam.npart" in out.stderr
    assert "Traceback" not in out.stderr
    wrong = cli(server, "list", user="alice")
    assert wrong.returncode == 0
    env_bad = subprocess.run(
        [str(BIN / "beamtrack-client"), "--url", f"http://127.0.0.1:{server.http_port}", "--token", "nope", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert env_bad.returncode == 1 and "UNAUTHENTICATED" in env_bad.stderr
    missing = cli(server, "submit", str(tmp_path / "missing.json"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_embedded_serve_example_end_to_end(tmp_path: Path) -> None:
    """scripts/service_example.sh: beamtrack serve (own Redis, own Ray), submit, stream, fetch,
    stop."""
    out_dir = tmp_path / "out"
    env = dict(os.environ, BEAMTRACK_BIN=str(BIN), RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "service_example.sh"), str(ROOT / "examples" / "fodo.json"), str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[result] succeeded" in proc.stdout
    assert "== service stopped" in proc.stdout
    assert (out_dir / "diags" / "openPMD" / "monitor.h5").stat().st_size > 0
    assert (out_dir / "diags" / "reduced_beam_characteristics.0").exists()
