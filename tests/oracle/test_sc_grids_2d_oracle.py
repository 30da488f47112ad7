"""``sim.rho(0)``, ``sim.phi(0)``, ``sim.space_charge_field(0, c)`` read from an after_element hook with ImpactX's 2D and
2.5D space-charge models (tests/oracle/scripts/sc_grids.py with ``fft 2D`` / ``fft 2p5D``), against ImpactX 26.10 on
identical particles.

Where the expected numbers come from: ImpactX 26.10 (PyPI impactx-noacc in .venv-impactx, scripts/setup_oracle.sh)
running the same script. Its MultiFab layout (``n_grow_vect``, ``shape``, the array shape with ghosts) must be equal,
and every node value, ghosts included, within 1e-12 of each grid's largest value: the FFT bound of the 3D grid test
(tests/oracle/test_impactx_scripts.py::test_space_charge_grids_read_from_a_hook_match_impactx); measured 6.4e-15.
Ez is 0 on every node in both (ImpactX solves the x-y projection only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from oracle_run import ROOT, run_script_both

pytestmark = pytest.mark.physics

RTOL = 1e-12


@pytest.mark.parametrize("mode", ["2D", "2p5D"])
def test_2d_space_charge_grids_read_from_a_hook_match_impactx(mode: str, tmp_path: Path) -> None:
    ix_run, bt_run = run_script_both(ROOT / "tests" / "oracle" / "scripts" / "sc_grids.py", ("fft", mode), tmp_path)
    ix, bt = dict(np.load(ix_run / "grids.npz")), dict(np.load(bt_run / "grids.npz"))
    assert sorted(ix) == sorted(bt)
    for name in ("rho", "phi", "Ex", "Ey", "Ez"):
        np.testing.assert_array_equal(bt[name + "_grow"], ix[name + "_grow"])
        np.testing.assert_array_equal(bt[name + "_shape"], ix[name + "_shape"])
        assert bt[name].shape == ix[name].shape and ix[name].shape[2] == 1, name
        if name == "Ez":
            assert not ix[name].any() and not bt[name].any()
            continue
        scale = np.abs(ix[name]).max()
        assert scale > 0 and np.abs(bt[name] - ix[name]).max() <= RTOL * scale, name
