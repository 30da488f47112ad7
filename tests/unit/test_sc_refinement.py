"""ImpactX's mesh-refinement patch (engine/spacecharge/refinement.py) and what beamtrack refuses of max_level.

Where the expected patches come from: ImpactX 26.10 (PyPI impactx-noacc) itself, run once per configuration with 200
particles and one space-charge slice; the box of ``sim.rho(1).box_array().minimal_box()`` (nodal; its cells halved
to level 0 here) was recorded. tests/oracle/test_mesh_refinement_oracle.py checks the physics against ImpactX.
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine.spacecharge import SpaceChargeSolver
from beamtrack.engine.spacecharge.refinement import (
    coarsen_nodal,
    covers_domain,
    interpolate_nodal,
    level_prob_relative,
    per_level,
    refined_patch,
)
from beamtrack.impactx import ImpactX, elements

#: (n_cell, prob_relative, blocking_factor_x/y/z as set, ImpactX 26.10's level-1 cells [first, last] per axis)
MEASURED = [
    ([16, 16, 20], [1.2, 1.1], ([16], [16], [4]), [(0, 31), (0, 31), (0, 39)]),
    ([16, 16, 20], [3.0, 1.1], ([16], [16], [4]), [(0, 31), (0, 31), (12, 31)]),
    ([32, 32, 32], [3.0, 1.1], (None, None, None), [(16, 47), (16, 47), (16, 47)]),
    ([32, 32, 32], [1.5, 1.2], (None, None, None), [(0, 63), (0, 63), (0, 63)]),
    ([24, 32, 40], [2.0, 1.3], ([8, 4], [8], [8, 16]), [(8, 43), (8, 55), (0, 79)]),
    ([16, 16, 16], [1.1], (None, None, None), [(0, 31), (0, 31), (0, 31)]),
    ([16, 16, 16], [1.2, 0.05], (None, None, None), [(8, 23), (8, 23), (8, 23)]),
    ([16, 16, 16], [3.0, 0.5], ([8, 2], [8, 2], [8, 2]), [(12, 21), (12, 21), (12, 21)]),
]


@pytest.mark.parametrize(("n_cell", "pr", "bf", "fine"), MEASURED)
def test_patch_is_impactx_level_one(n_cell, pr, bf, fine) -> None:
    blocking = [per_level(b, 1, 8) for b in bf]
    patch = refined_patch(n_cell, level_prob_relative(pr, 1), [2, 2, 2], blocking, [1, 1, 1])
    assert patch is not None
    assert [(2 * lo, 2 * hi + 1) for lo, hi in patch] == fine
    assert covers_domain(patch, n_cell) == all(f == (0, 2 * n - 1) for f, n in zip(fine, n_cell, strict=True))


def test_no_tags_no_level() -> None:
    # ErrorEst's formula: with an odd n_cell and a level-1 box of 1e-3 of the domain, the tagged range
    # [ceil(7.4925), ceil(6.5075)] is empty (with an even one it keeps the middle cell 8: buffered 7..9, blocks of 4)
    assert refined_patch([15, 15, 15], [2.0, 0.002], [2, 2, 2], [8, 8, 8], [1, 1, 1]) is None
    assert refined_patch([16, 16, 16], [2.0, 0.002], [2, 2, 2], [8, 8, 8], [1, 1, 1]) == [(4, 11)] * 3


def test_prob_relative_rules() -> None:
    assert level_prob_relative([], 1) == [3.0, 1.0]  # ImpactX's defaults
    assert level_prob_relative([1.2], 1) == [1.2, 1.0]
    for bad in ([0.9, 0.5], [1.2, 1.5], [1.2, 0.0]):
        with pytest.raises(ValueError, match="prob_relative"):
            level_prob_relative(bad, 1)


def _tiny_beam_sim(**opts) -> ImpactX:
    sim = ImpactX(kind="serial")
    sim.diagnostics = False
    for k, v in opts.items():
        setattr(sim, k, v)
    sim.init_grids()
    sim.beam.ref.set_species("proton").set_kin_energy_MeV(100.0)
    r = np.random.default_rng(0).standard_normal((6, 200)) * 1e-3
    sim.beam.add_n_particles(*r, 1.0 / 938.272e6, bunch_charge=1e-10)
    sim.lattice.append(elements.Drift(name="d", ds=0.1, nslice=1))
    return sim


def test_refused_by_name() -> None:
    sim = ImpactX()
    with pytest.raises(NotImplementedError, match="max_level"):
        sim.max_level = 2
    with pytest.raises(NotImplementedError, match="max_level = 1 .*2D"):
        SpaceChargeSolver(mode="2D", n_cell=[8, 8, 8], max_level=1, kind="numpy")


def test_coarsen_conserves_charge_and_interpolation_is_exact_for_linear_phi() -> None:
    # analytic: the nodal average keeps sum(rho dV) (level 0's cells are r^3 times larger) for charge inside the
    # domain; trilinear interpolation reproduces a linear function on every refined node
    rng = np.random.default_rng(1)
    n, guard = [4, 6, 5], (2, 3)
    fine = np.zeros([2 * v + 1 + 5 for v in n])
    fine[3:-4, 3:-4, 3:-4] = rng.uniform(size=[2 * v - 1 for v in n])
    coarse = coarsen_nodal(fine, [2, 2, 2], n, guard, np)
    assert coarse.sum() * 8 == pytest.approx(fine.sum(), rel=1e-14)
    ix = [np.arange(s) - guard[0] for s in coarse.shape]
    X, Y, Z = np.meshgrid(*ix, indexing="ij")
    lin = 1.5 + 0.3 * X - 0.7 * Y + 0.2 * Z
    out = interpolate_nodal(lin, [2, 2, 2], n, guard, np)
    fx = [(np.arange(s) - guard[0]) / 2 for s in out.shape]
    FX, FY, FZ = np.meshgrid(*fx, indexing="ij")
    valid = tuple(slice(guard[0], guard[0] + 2 * v + 1) for v in n)
    np.testing.assert_allclose(out[valid], (1.5 + 0.3 * FX - 0.7 * FY + 0.2 * FZ)[valid], rtol=0, atol=1e-14)


def test_whole_domain_patch_is_the_refined_dirichlet_grid() -> None:
    s = SpaceChargeSolver(
        mode="3D", n_cell=[8, 8, 12], poisson_solver="fft", prob_relative=[1.5, 1.2], max_level=1, blocking_factor=64
    )
    assert s.n_cell == [16, 16, 24] and s.coarse_n_cell == [8, 8, 12]
    assert s.poisson_solver == "multigrid" and s.requested_poisson_solver == "fft"
    # without space charge the option has no effect, as in ImpactX (the scraping example)
    sim = _tiny_beam_sim(space_charge=False, max_level=1, n_cell=[8, 8, 8])
    sim.track_particles()
    assert sim.finest_level == 0


@pytest.mark.parametrize("solver", ["fft", "multigrid"])
def test_two_level_kick_numpy_twin_matches_kernels(solver: str) -> None:
    # the NumPy backend is the C kernels' twin (same algorithm): a refined kick with particles on both levels
    # (patch level-0 cells 6..10 of 16, narrower than the beam) agrees to round-off
    from beamtrack.engine.particles import ParticleContainer
    from beamtrack.engine.refpart import RefPart

    ref = RefPart().set_species("proton").set_kin_energy_MeV(250.0)
    rng = np.random.default_rng(4)
    coords = rng.standard_normal((6, 800)) * np.array([1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4])[:, None]
    out = []
    for kind in ("serial", "numpy"):
        b = ParticleContainer(qm=ref.charge / ref.mass)
        b.add_n_particles(*coords, qm=ref.charge / ref.mass, bunch_charge=1e-9)
        opts = dict(prob_relative=[3.0, 0.5], max_level=1, blocking_factor=2, poisson_solver=solver, kind=kind)
        s = SpaceChargeSolver("3D", [16, 16, 16], 2, gather_shape=1, **opts)
        s.kick(b, ref, 0.5)
        assert s.particles_on_level0 > 0
        out.append(np.asarray(b.real[:6]).copy())
    change = np.abs(out[0] - coords).max(axis=1)
    assert np.all(change > 0)
    np.testing.assert_array_less(np.abs(out[1] - out[0]).max(axis=1), 1e-10 * change)


def test_hook_grids_of_the_refined_level() -> None:
    # a patch covering the domain: sim.rho(1) is the refined level (2 x 8 cells + 1 nodes, ImpactX's 2 ghosts each
    # side); level 0's grid, and level 1's of a smaller patch, are refused by name
    bf = {f"blocking_factor_{a}": [8, 16] for a in "xyz"}
    sim = _tiny_beam_sim(space_charge="3D", max_level=1, n_cell=[8, 8, 8], prob_relative=[1.5, 1.2], **bf)
    sim.track_particles()
    assert sim.finest_level == 1
    rho = sim.rho(1)
    assert rho.array(next(iter(rho))).to_numpy().shape == (21, 21, 21, 1)
    with pytest.raises(NotImplementedError, match=r"sim.phi\(0\) with max_level = 1"):
        sim.phi(0)
    sim = _tiny_beam_sim(space_charge="3D", max_level=1, n_cell=[16, 16, 16], prob_relative=[3.0, 1.1])
    sim.track_particles()
    with pytest.raises(NotImplementedError, match="refined patch smaller than the domain"):
        sim.rho(1)
