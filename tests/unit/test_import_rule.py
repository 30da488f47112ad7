"""The dependency rule of DESIGN.md: spec <- engine <- workers <- server, spec <- client.

Statically, by import-linter over every module (the contracts are in pyproject.toml, imports inside
functions count too); at run time, importing the engine (and the spec) loads none of the service stack.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICE_STACK = ("ray", "redis", "fastapi", "grpc", "starlette", "uvicorn")


def test_import_contracts_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_engine_imports_without_the_service_stack() -> None:
    code = (
        "import sys, beamtrack.spec, beamtrack.engine, beamtrack.engine.elements, beamtrack.engine.spacecharge\n"
        f"print(sorted(m for m in {SERVICE_STACK!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip() == "[]"
