"""``sim.rho(0)``, ``sim.phi(0)``, ``sim.space_charge_field(0, c)`` from hooks with the 2D and 2.5D space-charge models.

Where the expected values come from: ImpactX 26.10's layout, measured on impactx-noacc 26.10 (the node-by-node
comparison is tests/oracle/test_sc_grids_2d_oracle.py): nodal x-y grids of one z node, n_cell + 1 valid nodes in x
and y, ghosts rho 0, phi (1, 1, 0), field (2, 2, 0), Ez 0; rho is ImpactX's 3D density [C/m^3] summed over the z
nodes of its mesh, which spans prob_relative x the beam's t extent in n_cell[2] cells, so rho summed over the nodes
times dx dy dz is the bunch charge (charge conservation of the deposit: every particle lies inside the domain).
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine.tracking import HookError
from beamtrack.impactx import ImpactX, elements

N_CELL = [8, 12, 16]
PROB_RELATIVE = 1.5
CHARGE_C = 1e-10


def _sim(mode: str) -> tuple[ImpactX, np.ndarray]:
    """A 10 MeV proton beam of 500 particles with pt = 0 (so that a drift keeps its t extent); returns the t row."""
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    sim.init_grids()
    sim.space_charge = mode
    sim.poisson_solver = "fft"
    sim.n_cell = N_CELL
    sim.prob_relative = [PROB_RELATIVE]
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(10.0)
    rng = np.random.default_rng(5)
    x, y, t = rng.normal(0.0, 1e-3, 500), rng.normal(0.0, 2e-3, 500), rng.normal(0.0, 3e-3, 500)
    px, py, pt = rng.normal(0.0, 1e-5, 500), rng.normal(0.0, 1e-5, 500), np.zeros(500)
    sim.beam.add_n_particles(x, y, t, px, py, pt, 1.0 / (sim.beam.ref.mass_MeV * 1e6), bunch_charge=CHARGE_C)
    return sim, t


@pytest.mark.parametrize("mode", ["2D", "2p5D"])
def test_grids_have_impactx_layout_and_writes_last_until_the_next_solve(mode: str) -> None:
    sim, t = _sim(mode)
    seen: dict[str, object] = {}

    def before_slice(sim: ImpactX) -> None:
        if "solved" not in seen:
            return
        value = float(sim.rho(0).to_numpy()[0][4, 6, 0, 0])
        seen.setdefault("after_write", value)
        seen["last"] = value

    def after_element(sim: ImpactX) -> None:
        if "solved" in seen:
            return
        rho, phi = sim.rho(0), sim.phi(0)
        assert rho.shape == (9, 13, 1, 1) and rho.n_grow_vect == (0, 0, 0) and rho.shape_with_ghosts == (9, 13, 1, 1)
        assert phi.n_grow_vect == (1, 1, 0) and phi.shape_with_ghosts == (11, 15, 1, 1)
        for c in "xyz":
            e = sim.space_charge_field(0, c)
            assert e.n_grow_vect == (2, 2, 0) and e.shape_with_ghosts == (13, 17, 1, 1) and e.shape == (9, 13, 1, 1)
            mfi = next(iter(e))
            assert (mfi.validbox().small_end, mfi.validbox().big_end) == ((0, 0, 0), (8, 12, 0))
            assert (mfi.fabbox().small_end, mfi.fabbox().big_end) == ((-2, -2, 0), (10, 14, 0))
        assert sim.space_charge_field(0, "z").norm0() == 0.0 and sim.space_charge_field(0, "x").norm0() > 0.0
        seen["rho_sum"] = rho.sum()
        seen["cell"] = np.array(sim._sc_solver.cell)
        rho.array(next(iter(rho))).to_numpy()[4, 6, 0, 0] = 7.0
        seen["solved"] = True

    sim.hook["before_slice"] = before_slice
    sim.hook["after_element"] = after_element
    sim.lattice.extend([elements.Drift(ds=0.01, nslice=2), elements.Drift(ds=0.01, nslice=2)])
    sim.track_particles()
    assert seen["after_write"] == 7.0 and seen["last"] != 7.0
    if mode == "2D":  # pt = 0 and no longitudinal kick: the t extent at the solve is the injected one
        dz = float(t.max() - t.min()) * PROB_RELATIVE / N_CELL[2]
        dx, dy = seen["cell"]  # type: ignore[misc]
        assert seen["rho_sum"] * dx * dy * dz == pytest.approx(CHARGE_C, rel=1e-12)  # type: ignore[operator]


def test_gauss_models_have_no_grid() -> None:
    sim, _ = _sim("Gauss3D")
    sim.hook["after_element"] = lambda s: s.phi(0)
    sim.lattice.append(elements.Drift(ds=0.01))
    with pytest.raises(HookError, match="NotImplementedError: .* the Gauss models solve on no grid"):
        sim.track_particles()
