"""Programmable elements in specs (issue 8, "Also broken"): a spec's Programmable element has no
code, so tracking it fails naming the element (a one-line error from `beamtrack run`, a failed
job in the service); a hook module gives it code through its ``programmable`` dict, run in the
sandbox on the shared beam, with the same result as the same functions set in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import fodo_spec

pytestmark = pytest.mark.integration

KICK = """\
import numpy as np

def kick(arrays, refpart):
    alive = arrays["state"] == 0
    arrays["momentum_x"] += np.where(alive, -0.5 * 50.0 * (arrays["position_x"] ** 2 - arrays["position_y"] ** 2), 0.0)

def ref(refpart):
    refpart.s = refpart.s + 0.25

programmable = {"sext": {"beam_particles": kick, "ref_particle": ref}}
"""


def spec_with_programmable(npart: int = 500) -> dict[str, Any]:
    spec = fodo_spec(npart=npart)
    spec["lattice"]["elements"].insert(1, {"type": "Programmable", "name": "sext", "ds": 0.25})
    return spec


def test_spec_programmable_without_code_is_a_one_line_cli_error(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec_with_programmable(100)))
    proc = subprocess.run(
        [sys.executable, "-m", "beamtrack.engine.cli", "run", str(path), "-o", str(tmp_path / "out"), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert "Programmable element 'sext' (lattice position 1) has no code" in lines[0]


def test_sandboxed_programmable_matches_in_process(tmp_path: Path) -> None:
    from beamtrack.engine import Simulation
    from beamtrack.workers.sandbox.supervisor import HookSandbox

    ns: dict[str, Any] = {}
    exec(compile(KICK, "<kick>", "exec"), ns)
    local = Simulation.from_spec(spec_with_programmable(), tmp_path / "local", kind="serial")
    el = next(e for e in local.lattice if e.name == "sext")
    el.beam_particles, el.ref_particle = ns["kick"], ns["ref"]
    local.track_particles()
    local.finalize()

    sim = Simulation.from_spec(spec_with_programmable(), tmp_path / "boxed", kind="serial")
    with HookSandbox(KICK) as box:
        assert box.start(sim) == ["sext.beam_particles", "sext.ref_particle"]
        sim.track_particles()
        assert box.calls == 2
    sim.finalize()
    np.testing.assert_allclose(sim.beam.real, local.beam.real, rtol=1e-12, atol=0)
    # the reference went through the sandbox's ref_particle (s += 0.25, z kept) and back
    assert (sim.reference.s, sim.reference.z) == (local.reference.s, local.reference.z)
    el.ref_particle = None
    straight = Simulation.from_spec(spec_with_programmable(), tmp_path / "straight", kind="serial")
    next(e for e in straight.lattice if e.name == "sext").beam_particles = ns["kick"]
    straight.track_particles()
    straight.finalize()
    assert straight.reference.z == pytest.approx(sim.reference.z + 0.25)


@pytest.mark.parametrize(
    ("source", "expect"),
    [
        (
            "programmable = {'nope': {'beam_particles': print}}\n",
            "names 'nope', which is not a Programmable element of the lattice (its Programmable elements: 'sext')",
        ),
        (
            "programmable = {'sext': {'kick': print}}\n",
            "programmable['sext']['kick'] must be one of push, beam_particles, ref_particle",
        ),
        (
            "def r(ref):\n    ref.pt = 0.5\nprogrammable = {'sext': {'ref_particle': r}}\n",
            "Programmable element 'sext' ref_particle set the reference particle's pt to 0.5; it must be <= -1",
        ),
        (
            "def r(ref):\n    ref.mass = 1.0\nprogrammable = {'sext': {'ref_particle': r}}\n",
            "Programmable element 'sext' ref_particle raised AttributeError: reference particle: 'mass' cannot be set",
        ),
        (
            "def k(a, r):\n    r.s = 1.0\nprogrammable = {'sext': {'beam_particles': k}}\n",
            "Programmable element 'sext' beam_particles raised AttributeError: the reference particle is read-only",
        ),
        (
            "import os\ndef k(a, r):\n    os.fork()\nprogrammable = {'sext': {'beam_particles': k}}\n",
            "Programmable element 'sext' beam_particles broke the sandbox: process creation: os.fork",
        ),
    ],
)
def test_programmable_errors_name_the_element(source: str, expect: str, tmp_path: Path) -> None:
    from beamtrack.engine import Simulation
    from beamtrack.workers.runner import _hook_error
    from beamtrack.workers.sandbox.supervisor import HookSandbox

    sim = Simulation.from_spec(spec_with_programmable(64), tmp_path, kind="serial")
    try:
        with HookSandbox(source) as box:
            box.start(sim)
            sim.track_particles()
        error = ""
    except Exception as exc:  # noqa: BLE001 - the job's error, as the runner records it
        error = _hook_error(exc)
    finally:
        sim.finalize()
    assert expect in error


TORCH_SURROGATE = """\
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()

@torch.no_grad()
def kick(arrays, refpart):
    x = torch.from_numpy(arrays["position_x"])
    y = torch.from_numpy(arrays["position_y"])
    out = net(torch.stack([x, y], dim=1) * 1e3) * 1e-6
    torch.from_numpy(arrays["momentum_x"]).add_(out[:, 0])
    torch.from_numpy(arrays["momentum_y"]).add_(out[:, 1])

programmable = {"sext": {"beam_particles": kick}}
"""


def test_torch_surrogate_runs_in_the_sandbox(tmp_path: Path) -> None:
    """A small PyTorch model as a Programmable element: torch imports under the Landlock
    read-only rules and runs within the default memory limit (1 GiB beyond the host's own)."""
    pytest.importorskip("torch")
    from beamtrack.engine import Simulation
    from beamtrack.workers.sandbox.supervisor import HookSandbox

    ns: dict[str, Any] = {}
    exec(compile(TORCH_SURROGATE, "<surrogate>", "exec"), ns)
    local = Simulation.from_spec(spec_with_programmable(), tmp_path / "local", kind="serial")
    next(e for e in local.lattice if e.name == "sext").beam_particles = ns["kick"]
    local.track_particles()
    local.finalize()
    sim = Simulation.from_spec(spec_with_programmable(), tmp_path / "boxed", kind="serial")
    with HookSandbox(TORCH_SURROGATE) as box:
        box.start(sim)
        sim.track_particles()
    sim.finalize()
    np.testing.assert_allclose(sim.beam.real, local.beam.real, rtol=1e-12, atol=0)


def test_service_job_with_programmable(ray_local: None, server_factory: Any, rest: Any) -> None:
    """Through the service: without code the job fails naming the element; with the hook
    module's code it succeeds."""
    server = server_factory(scheduler=True)
    c = rest(server)
    bare = c.submit(spec_with_programmable(200))["id"]
    coded = c.submit(spec_with_programmable(200), hook_module=KICK)["id"]
    last = list(c.events(bare))[-1].data
    assert last["state"] == "failed" and "Programmable element 'sext'" in last["error"], last
    assert "has no code" in last["error"]
    assert list(c.events(coded))[-1].data["state"] == "succeeded"
