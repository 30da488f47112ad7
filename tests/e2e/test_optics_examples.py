"""The three optics studies in examples/ run and give what they claim (issue 14).

Figures are checked to exist as non-empty PNG files; the numbers are checked against physics that
does not come from the same calculation: the tunes of a FODO rise with the strength of its quads; a FODO's natural chromaticity is negative; the
dispersion measured from a tracked beam's moments (-<x pt>/<pt^2>, the reduced diagnostics) equals
twiss's dx / beta0 to the beam's statistical error; NAFF tunes of tracked particles equal twiss's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def examples() -> Iterator[dict[str, ModuleType]]:
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import optics_chicane
        import optics_fodo_quad_scan
        import optics_ring_turns
    finally:
        sys.path.pop(0)
    yield {"scan": optics_fodo_quad_scan, "chicane": optics_chicane, "ring": optics_ring_turns}


def _png(p: Path) -> bool:
    return p.is_file() and p.stat().st_size > 5000 and p.read_bytes()[:8] == PNG


def test_fodo_quad_scan(examples: dict[str, ModuleType], tmp_path: Path) -> None:
    r = examples["scan"].main(str(tmp_path))
    assert _png(tmp_path / "fodo_quad_scan.png") and _png(tmp_path / "fodo_twiss.png")
    assert len(r["k"]) == 13  # all inside the stable window
    assert np.all(np.diff(r["qx"]) > 0) and np.all(np.diff(r["qy"]) > 0)
    assert np.all(r["dqx"] < 0) and np.all(r["dqy"] < 0)


def test_chicane(examples: dict[str, ModuleType], tmp_path: Path) -> None:
    r = examples["chicane"].main(str(tmp_path), npart=20_000)
    for name in ("chicane_twiss.png", "chicane_moments.png", "chicane_phase_space.png"):
        assert _png(tmp_path / name), name
    tw, red, beta0 = r["twiss"], r["reduced"], r["sim"].reference.beta
    np.testing.assert_allclose(red["s"], tw["s"], atol=1e-12)  # one row per slice boundary in both
    # statistical error of -<x pt>/<pt^2>: sigma_x / (sigma_pt sqrt(N)) = 2e-4 / (1e-3 * 141) = 1.4e-3 m
    assert np.max(np.abs(red["dispersion_x"] - tw["dx"] / beta0)) < 3e-3
    assert tw["dx"].abs().max() > 0.1  # the check is not of a vanishing dispersion
    assert r["r56"] > 0


def test_ring_turns(examples: dict[str, ModuleType], tmp_path: Path) -> None:
    r = examples["ring"].main(str(tmp_path), turns=300, npart=500)
    for name in ("ring_twiss.png", "ring_turns.png", "ring_phase_space.png"):
        assert _png(tmp_path / name), name
    assert r["max_tune_error"] < 1e-6
    assert r["monitor"].turns == list(range(301))
    assert len(r["monitor"].reduced_df()) == 301
