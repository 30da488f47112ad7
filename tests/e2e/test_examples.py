"""The examples run as a user would run them, and give what they claim."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_fodo_api_example(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "fodo_api.py"), "--out", str(tmp_path), "--npart", "5000"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(re.findall(r"^period \d+: ", proc.stdout, flags=re.M)) == 10
    assert (tmp_path / "diags" / "openPMD" / "monitor.h5").exists()


@pytest.mark.slow
def test_surrogate_element_example() -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import surrogate_element
    finally:
        sys.path.pop(0)
    # a 2x32 tanh network trained 400 steps reproduces the sextupole kick to a few percent rms
    assert surrogate_element.main() < 0.1


def test_cli_bad_spec_names_field(tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(
        '{"name": "x", "reference": {"species": "muon", "kin_energy_MeV": 1}, "beam": {"npart": -1, '
        '"distribution": {"type": "Waterbag"}}, "lattice": {"elements": [{"type": "Quad", "ds": 1}]}}'
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "beamtrack"), "run", str(spec), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    err = proc.stderr
    assert "Traceback" not in err
    for field in ("reference.species", "beam.npart", "beam.distribution", "lattice.elements[0].k"):
        assert field in err, err


def test_cli_missing_file_and_bad_json(tmp_path: Path) -> None:
    bt = str(Path(sys.executable).parent / "beamtrack")
    proc = subprocess.run([bt, "run", str(tmp_path / "nope.json")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "b.json").write_text("{not json")
    proc = subprocess.run([bt, "run", str(tmp_path / "b.json")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
