"""PALS lattice files (``lattice.load_file("x.pals.yaml")``) against ImpactX 26.10 itself: the same file and the same
injected particles through both codes (tests/oracle/scripts/pals_lattice.py, as ImpactX and renamed as beamtrack).

Where the expected numbers come from: ImpactX 26.10 (PyPI impactx-noacc in .venv-impactx, scripts/setup_oracle.sh)
running the same script. Bounds: every coordinate of every particle to 1e-12 of that coordinate's largest magnitude
(the elements are drifts, ChrQuad and ExactQuad, which agree with ImpactX at round-off; measured 3.2e-13 at most,
in t after the 125 slices of the FODO cell), the reference particle to 1e-12 (measured 8e-15). The file of ImpactX's own PALS example (examples/pals/fodo.pals.yaml) comes from
the fetched ImpactX repository ($IMPACTX_REPO, else /work/.mirror/BLAST-ImpactX+impactx/repo); without one, the same
lattice written here (FODO_PALS) stands in. Errors: for each malformed file both codes raise the same exception type
with the same message (ImpactX's PALS reader and the pals-schema package it uses).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from oracle_run import ROOT, run_script_both

pytestmark = pytest.mark.physics

SCRIPTS = ROOT / "tests" / "oracle" / "scripts"
REPO = Path(os.environ.get("IMPACTX_REPO", "/work/.mirror/BLAST-ImpactX+impactx/repo"))
RTOL = 1e-12
#: ImpactX's examples/pals/fodo.pals.yaml, the lattice only (used where no ImpactX repository is fetched)
FODO_PALS = """PALS:
  facility:
    - fodo_cell:
        kind: BeamLine
        line:
          - drift1: {kind: Drift, length: 0.25}
          - quad1: {kind: Quadrupole, length: 1.0, MagneticMultipoleP: {Kn1: 1.0}}
          - drift2: {kind: Drift, length: 0.5}
          - quad2: {kind: Quadrupole, length: 1.0, MagneticMultipoleP: {Kn1: -1.0}}
          - drift3: {kind: Drift, length: 0.25}
    - fodo_lattice: {kind: Lattice, branches: [fodo_cell]}
    - use: fodo_lattice
"""
#: A JSON PALS file with what ImpactX's reader resolves: elements defined once in the facility and referenced by name,
#: nested and repeated lines, a quadrupole by its gradient Bn1 [T/m] (unit 1; Bn1 wins over a Kn1 given with it),
#: a lattice of one branch selected by a final "use"
LINE_PALS = {
    "PALS": {
        "facility": [
            {"d1": {"kind": "Drift", "length": 0.35}},
            {"qf": {"kind": "Quadrupole", "length": 0.3, "MagneticMultipoleP": {"Bn1": 9.0}}},
            {"qd": {"kind": "Quadrupole", "length": 0.3, "MagneticMultipoleP": {"Kn1": -1.6}}},
            {"cell": {"kind": "BeamLine", "line": ["qf", "d1", {"d2": {"kind": "Drift", "length": 0.1}}, "qd", "d1"]}},
            {
                "ring": {
                    "kind": "BeamLine",
                    "line": [
                        "cell",
                        "cell",
                        {"qk": {"kind": "Quadrupole", "length": 0.2, "MagneticMultipoleP": {"Bn1": -4.0, "Kn1": 7.0}}},
                    ],
                }
            },
            {"lat": {"kind": "Lattice", "branches": ["ring"]}},
            {"use": "lat"},
        ]
    }
}


def _fodo_file(dest: Path) -> Path:
    """ImpactX's examples/pals/fodo.pals.yaml from the fetched repository, else FODO_PALS."""
    path = dest / "fodo.pals.yaml"
    git_dir = REPO if (REPO / "HEAD").exists() else REPO / ".git"
    r = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", "HEAD:examples/pals/fodo.pals.yaml"], capture_output=True, text=True
    )
    path.write_text(r.stdout if r.returncode == 0 and r.stdout else FODO_PALS)
    return path


def _compare_final_beams(ix_run: Path, bt_run: Path) -> None:
    ix, bt = dict(np.load(ix_run / "final.npz")), dict(np.load(bt_run / "final.npz"))
    assert ix["ids"].size == 2000
    np.testing.assert_array_equal(bt["ids"], ix["ids"])
    scale = np.abs(ix["coords"]).max(axis=1, keepdims=True)
    err = (np.abs(bt["coords"] - ix["coords"]) / scale).max(axis=1)
    assert (err <= RTOL).all(), f"max relative deviation per coordinate {err}"
    np.testing.assert_allclose(bt["ref"], ix["ref"], rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("min_model", ["linear", "paraxial", "exact"])
def test_impactx_fodo_pals_example_tracks_as_impactx(min_model: str, tmp_path: Path) -> None:
    """ImpactX's FODO PALS file with its nslice = 25: the same elements (kinds, names, ds, k, unit) for each model
    floor and the same final beam."""
    pals_file = _fodo_file(tmp_path)
    script = SCRIPTS / "pals_lattice.py"
    ix_run, bt_run = run_script_both(script, (pals_file.name, min_model, "25"), tmp_path / "run", (pals_file,))
    assert (bt_run / "lattice.txt").read_text() == (ix_run / "lattice.txt").read_text()
    assert len((ix_run / "lattice.txt").read_text().splitlines()) == 5
    _compare_final_beams(ix_run, bt_run)


def test_json_pals_line_with_references_and_gradients_tracks_as_impactx(tmp_path: Path) -> None:
    pals_file = tmp_path / "line.pals.json"
    pals_file.write_text(json.dumps(LINE_PALS))
    ix_run, bt_run = run_script_both(
        SCRIPTS / "pals_lattice.py", (pals_file.name, "linear", "3"), tmp_path / "run", (pals_file,)
    )
    elements = (ix_run / "lattice.txt").read_text()
    assert (bt_run / "lattice.txt").read_text() == elements
    assert len(elements.splitlines()) == 11 and "ChrQuad qk 0.2 -4.0 1" in elements
    _compare_final_beams(ix_run, bt_run)


#: malformed files (name, text) and a model floor: what each code raises must agree
BAD_FILES = [
    ("marker.pals.yaml", "PALS:\n  facility:\n    - l: {kind: BeamLine, line: [{m: {kind: Marker}}]}\n", "linear"),
    (
        "electric.pals.yaml",
        "PALS:\n  facility:\n    - l: {kind: BeamLine, line: [{q: {kind: Quadrupole, length: 1.0, "
        "ElectricMultipoleP: {En1: 1.0}}}]}\n",
        "linear",
    ),
    (
        "nogradient.pals.yaml",
        "PALS:\n  facility:\n    - l: {kind: BeamLine, line: [{q: {kind: Quadrupole, length: 1.0, "
        "MagneticMultipoleP: {Kn2: 1.0}}}]}\n",
        "linear",
    ),
    (
        "branches.pals.yaml",
        "PALS:\n  facility:\n    - a: {kind: BeamLine, line: [{d: {kind: Drift, length: 1.0}}]}\n"
        "    - lat: {kind: Lattice, branches: [a, a]}\n    - use: lat\n",
        "linear",
    ),
    ("unresolved.pals.yaml", "PALS:\n  facility:\n    - l: {kind: BeamLine, line: [nowhere]}\n", "linear"),
    (
        "nouse.pals.yaml",
        "PALS:\n  facility:\n    - a: {kind: BeamLine, line: [{d: {kind: Drift, length: 1.0}}]}\n"
        "    - b: {kind: BeamLine, line: [a]}\n",
        "linear",
    ),
    ("model.pals.yaml", FODO_PALS, "fancy"),
    ("fodo.yaml", FODO_PALS, "linear"),
    ("fodo.pals.toml", FODO_PALS, "linear"),
]


def test_malformed_pals_files_raise_as_impactx(tmp_path: Path) -> None:
    files = []
    for name, text, _ in BAD_FILES:
        files.append(tmp_path / name)
        files[-1].write_text(text)
    args = tuple(a for (name, _, model) in BAD_FILES for a in (name, model))
    ix_run, bt_run = run_script_both(SCRIPTS / "pals_errors.py", args, tmp_path / "run", tuple(files))
    ix, bt = (json.loads((run / "errors.json").read_text()) for run in (ix_run, bt_run))
    assert all(kind is not None for kind, _ in ix), ix
    assert bt == ix
