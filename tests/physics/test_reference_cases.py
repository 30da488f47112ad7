"""Every reference case in shared/spec/cases without space charge passes via `beamtrack run`.

Expected numbers and tolerances come from the case files (ImpactX's examples and analysis scripts);
shared/spec/check_case.py runs the CLI and checks them exactly as the spec README describes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.physics

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "spec"
CASES = sorted(SHARED.glob("cases/*.json"))
BIN = Path(sys.executable).parent


def _has_space_charge(path: Path) -> bool:
    return json.loads(path.read_text())["spec"].get("space_charge") is not None


@pytest.mark.parametrize("case", [c for c in CASES if not _has_space_charge(c)], ids=lambda p: p.stem)
def test_reference_case(case: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SHARED / "check_case.py"), str(case), "--cmd", str(BIN / "beamtrack"), "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " 0 failed" in proc.stdout


def test_cases_exist() -> None:
    assert len(CASES) >= 5, f"shared/spec/cases not found beside the checkout ({SHARED})"
