"""ImpactX's ``poisson_solver = "multigrid"`` (Dirichlet walls at the padded domain) solved by sine transforms:
the discrete problem, the continuum limit, the wiring. Agreement with ImpactX 26.10's own MLMG fields and tracked
particles is in tests/oracle/test_collective_oracle.py.

Where the expected numbers come from:
- The discrete problem: -(7-point Laplacian) phi = rho / eps0 at every interior node, phi = 0 on the walls (the
  operator ImpactX's MLMG solves, identified on its rho and phi; see spacecharge/poisson.py). The residual of the
  returned phi in that stencil, written out here independently, is round-off (measured ~1e-15 of rho / eps0).
- The continuum: a Gaussian charge Q (rms sigma) inside a grounded box [0, Lx] x [0, Ly] x [0, Lz] has the
  eigenfunction (triple sine series) expansion of the Dirichlet Green's function (Jackson, Classical
  Electrodynamics, 3rd ed., section 3.12 and problem 3.23):
      phi(r) = Q / eps0 * 8 / (Lx Ly Lz) * sum_{k,l,m >= 1} prod_axes[exp(-kappa^2 sigma^2 / 2) sin(kappa r0) sin(kappa r)]
               / (kappa_x^2 + kappa_y^2 + kappa_z^2),   kappa = (k pi / Lx, l pi / Ly, m pi / Lz),
  exact up to the Gaussian's tail beyond the walls (here exp(-(3.5)^2 / 2) ~ 2e-3 of the density at the nearest
  wall, its effect on phi below 1e-5). The 7-point stencil's truncation error is (h^2 / 12) phi'''' per axis, so the
  error falls 4x when h halves (measured 2.3e-2 at n = 16, 5.7e-3 at n = 32 of max phi, sigma = Ly / 7 = 3.4 h at
  n = 32: ratio 4.07) and the Richardson extrapolation of the two cancels it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import constants
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart
from beamtrack.engine.spacecharge import DirichletPoissonSolver, SpaceChargeError, SpaceChargeSolver, make_backend
from beamtrack.engine.spacecharge.poisson import dst1

pytestmark = pytest.mark.physics

EPS0 = constants.epsilon0


def residual(phi: np.ndarray, rho: np.ndarray, h: tuple[float, ...]) -> np.ndarray:
    """-(7-point Laplacian of phi) - rho / eps0 on the interior nodes."""
    c = phi[1:-1, 1:-1, 1:-1]
    lap = np.zeros_like(c)
    for ax in range(3):
        up = [slice(1, -1)] * 3
        dn = [slice(1, -1)] * 3
        up[ax], dn[ax] = slice(2, None), slice(0, -2)
        lap += (phi[tuple(up)] + phi[tuple(dn)] - 2.0 * c) / h[ax] ** 2
    return -lap - rho[1:-1, 1:-1, 1:-1] / EPS0


def test_solution_satisfies_the_dirichlet_problem(backend_kind: str) -> None:
    kind = backend_kind
    rng = np.random.default_rng(3)
    shape = (14, 11, 17)
    rho = rng.standard_normal(shape) * 1e-6
    h = (1e-4, 2.5e-4, 0.7e-3)  # unequal cells, as the gamma-stretched z gives
    phi = DirichletPoissonSolver(make_backend(kind)).solve(rho, h, [(0, n - 1) for n in shape])
    assert phi.shape == shape
    for ax in range(3):  # grounded walls
        assert not np.take(phi, [0, shape[ax] - 1], axis=ax).any()
    res = residual(phi, rho, h)
    print(kind, "max residual / max rhs:", np.abs(res).max() / np.abs(rho / EPS0).max())
    assert np.abs(res).max() <= 1e-11 * np.abs(rho / EPS0).max()


def test_walls_inside_a_larger_array() -> None:
    """The domain is a sub-box of the array (the guard nodes around ImpactX's mesh): 0 on and outside the walls,
    charge on or outside them does not enter, the inside equals the solve on the sub-box alone."""
    rng = np.random.default_rng(5)
    rho = rng.uniform(0.0, 1e-6, (20, 20, 20))
    h = (1e-3, 1e-3, 2e-3)
    s = DirichletPoissonSolver(make_backend("serial"))
    walls = [(2, 18), (3, 15), (2, 19)]
    phi = s.solve(rho, h, walls)
    sub = tuple(slice(a, b + 1) for a, b in walls)
    alone = s.solve(np.ascontiguousarray(rho[sub]), h, [(0, b - a) for a, b in walls])
    np.testing.assert_array_equal(phi[sub], alone)
    outside = np.ones(rho.shape, dtype=bool)
    outside[tuple(slice(a + 1, b) for a, b in walls)] = False
    assert not phi[outside].any()
    rho2 = rho.copy()
    rho2[outside] = 7.0  # charge on and beyond the walls: grounded, no effect
    np.testing.assert_array_equal(s.solve(rho2, h, walls), phi)


def test_odd_extension_dst_equals_scipy() -> None:
    import scipy.fft

    x = np.random.default_rng(1).standard_normal((9, 6, 5))
    for ax in range(3):
        np.testing.assert_allclose(dst1(x, ax, np), scipy.fft.dst(x, type=1, axis=ax), rtol=0, atol=1e-12)


def series_phi(
    L: np.ndarray, r0: np.ndarray, sigma: float, Q: float, nodes: list[np.ndarray], kmax: int = 40
) -> np.ndarray:
    """Jackson's triple sine series for a Gaussian charge in a grounded box, at the node coordinates (per axis)."""
    k = np.arange(1, kmax + 1)
    kap = [k * math.pi / Lx for Lx in L]
    a = [np.exp(-0.5 * (kk * sigma) ** 2) * np.sin(kk * x0) for kk, x0 in zip(kap, r0, strict=True)]
    denom = kap[0][:, None, None] ** 2 + kap[1][None, :, None] ** 2 + kap[2][None, None, :] ** 2
    coef = a[0][:, None, None] * a[1][None, :, None] * a[2][None, None, :] / denom
    s = [np.sin(np.outer(kk, x)) for kk, x in zip(kap, nodes, strict=True)]
    return Q / EPS0 * 8.0 / float(np.prod(L)) * np.einsum("klm,ki,lj,mn->ijn", coef, *s)


def test_gaussian_charge_in_grounded_box_vs_series() -> None:
    L = np.array([4e-3, 3e-3, 5e-3])
    sigma = 3e-3 / 7.0
    r0 = np.array([1.8e-3, 1.5e-3, 2.9e-3])
    Q = 1e-12
    errs, sols = [], []
    for n in (16, 32):
        h = L / n
        nodes = [np.arange(n + 1) * hh for hh in h]
        X = np.meshgrid(*nodes, indexing="ij")
        r2 = sum((Xi - x0) ** 2 for Xi, x0 in zip(X, r0, strict=True))
        rho = Q / (2 * math.pi * sigma**2) ** 1.5 * np.exp(-0.5 * r2 / sigma**2)
        phi = DirichletPoissonSolver(make_backend("serial")).solve(rho, tuple(h), [(0, n)] * 3)
        exact = series_phi(L, r0, sigma, Q, nodes)
        errs.append(np.abs(phi - exact).max() / np.abs(exact).max())
        sols.append((phi, exact))
    # Richardson: the h^2 term cancels on the common nodes, what is left is O(h^4) and the series' own accuracy
    rich = (4.0 * sols[1][0][::2, ::2, ::2] - sols[0][0]) / 3.0
    err_rich = np.abs(rich - sols[0][1]).max() / np.abs(sols[0][1]).max()
    print("max |phi - series| / max phi at n = 16, 32:", errs, "ratio", errs[0] / errs[1], "Richardson:", err_rich)
    assert errs[1] < 1e-2
    assert 3.5 < errs[0] / errs[1] < 4.5  # second order in h
    assert err_rich < 0.05 * errs[1]


def _beam(ref: RefPart, n: int = 3000, seed: int = 2) -> ParticleContainer:
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((6, n)) * np.array([1e-3, 0.7e-3, 3e-3, 1e-4, 1e-4, 1e-4])[:, None]
    b = ParticleContainer(qm=ref.charge / ref.mass)
    b.add_n_particles(*r, qm=ref.charge / ref.mass, bunch_charge=1e-9)
    return b


def test_multigrid_kick_kinds_agree_and_differ_from_open(backend_kind: str) -> None:
    kind = backend_kind
    ref = RefPart().set_species("proton").set_kin_energy_MeV(250.0)
    base = _beam(ref)
    kicks = {}
    for solver in ("multigrid", "fft"):
        b = _beam(ref)
        s = SpaceChargeSolver("3D", [16, 16, 16], 2, prob_relative=3.0, kind=kind, poisson_solver=solver)
        s.kick(b, ref, 0.1)
        kicks[solver] = b.real[3:6] - base.real[3:6]
        if solver == "multigrid":
            walls = [(2, 18)] * 3
            assert not s.phi[tuple(slice(0, a + 1) for a, _ in walls)].any()
    ref_kick = SpaceChargeSolver("3D", [16, 16, 16], 2, prob_relative=3.0, kind="numpy", poisson_solver="multigrid")
    b = _beam(ref)
    ref_kick.kick(b, ref, 0.1)
    np.testing.assert_allclose(
        kicks["multigrid"], b.real[3:6] - base.real[3:6], rtol=0, atol=1e-11 * np.abs(kicks["multigrid"]).max()
    )
    # grounded walls at 1 beam width from the beam pull the field down against open space (images), by percents
    rel = np.abs(kicks["multigrid"] - kicks["fft"]).max() / np.abs(kicks["fft"]).max()
    print(kind, "multigrid vs open kick:", rel)
    assert 1e-3 < rel < 0.5


def test_multigrid_is_3d_only() -> None:
    for mode in ("2D", "2.5D"):
        with pytest.raises(SpaceChargeError, match="multigrid"):
            SpaceChargeSolver(mode, [16, 16, 16], poisson_solver="multigrid", kind="numpy")
    with pytest.raises(SpaceChargeError, match="poisson_solver"):
        SpaceChargeSolver("3D", [16, 16, 16], poisson_solver="sor", kind="numpy")


def test_spec_and_simulation_carry_the_solver() -> None:
    from beamtrack.engine.simulation import Simulation
    from beamtrack.spec.job import JobSpec
    from pydantic import ValidationError

    spec = {
        "name": "mg",
        "reference": {"species": "proton", "kin_energy_MeV": 250.0},
        "beam": {
            "npart": 2000,
            "bunch_charge_C": 1e-9,
            "distribution": {
                "type": "Gaussian",
                "lambdaX": 1e-3,
                "lambdaY": 1e-3,
                "lambdaT": 2e-3,
                "lambdaPx": 1e-4,
                "lambdaPy": 1e-4,
                "lambdaPt": 1e-4,
            },
        },
        "lattice": {"elements": [{"type": "Drift", "ds": 0.2, "nslice": 2}]},
        "space_charge": {"mode": "3D", "n_cell": [16, 16, 16], "poisson_solver": "multigrid", "prob_relative": 3.0},
    }
    sim = Simulation.from_spec(JobSpec.model_validate(spec), kind="serial")
    assert sim.poisson_solver == "multigrid"
    assert sim.to_spec().space_charge.poisson_solver == "multigrid"
    sim.track_particles()
    assert sim._sc_solver.poisson_solver == "multigrid" and sim._sc_solver.nsteps == 2
    for bad in ({"mode": "2D", "poisson_solver": "multigrid"}, {"mode": "3D", "poisson_solver": "sor"}):
        with pytest.raises(ValidationError):
            JobSpec.model_validate(
                {**spec, "beam": {**spec["beam"], "current_A": 1.0}, "space_charge": {**spec["space_charge"], **bad}}
            )


def test_impactx_dropin_poisson_solver() -> None:
    from beamtrack.impactx import ImpactX

    sim = ImpactX(kind="serial")
    # ImpactX 26.10's effective defaults (see tests/oracle/test_collective_oracle.py's multigrid_default case)
    assert (sim.poisson_solver, sim.prob_relative) == ("multigrid", 3.0)
    sim.poisson_solver = "fft"
    assert sim.poisson_solver == "fft"
    sim.poisson_solver = "multigrid"
    sim.mlmg_relative_tolerance = 1e-10
    assert sim.poisson_solver == "multigrid" and sim.mlmg_relative_tolerance == 1e-10
    with pytest.raises(ValueError, match="poisson_solver"):
        sim.poisson_solver = "sor"
