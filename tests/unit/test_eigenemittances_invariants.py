"""Eigen-emittances and the IOTA nonlinear-lens invariants against their analytic limits (ImpactX 26.10's own
numbers for both: tests/oracle/test_element_options_oracle.py).

Expected numbers: an uncoupled covariance's eigen-emittances are its three projected normalized emittances
(Mitchell et al., the kinetic invariants of Sigma J); they are invariant under any symplectic map M (Sigma ->
M Sigma M^T), and a coupling rotation changes the projected emittances but not them. With tn = 0 the invariants
are the harmonic ones, H = (xn^2 + yn^2 + pxn^2 + pyn^2) / 2 and I = (xn pyn - yn pxn)^2 + pxn^2 + xn^2
(Danilov and Nagaitsev, PRSTAB 13, 084002, Sect. V.A).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine.diagnostics import reduced_beam_characteristics
from beamtrack.engine.diagnostics.eigenemittances import EIGEN_COLUMNS, eigenemittances, impactx_sigma
from beamtrack.engine.diagnostics.nonlinear_lens import nonlinear_lens_invariants
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart

pytestmark = pytest.mark.unit


def _twiss_block(emit: float, alpha: float, beta: float) -> np.ndarray:
    return emit * np.array([[beta, -alpha], [-alpha, (1 + alpha * alpha) / beta]])


def _uncoupled(emits: tuple[float, float, float]) -> np.ndarray:
    """(x, px, y, py, t, pt) covariance with emittances ``emits``."""
    sigma = np.zeros((6, 6))
    for k, (e, a, b) in enumerate(zip(emits, (0.4, -1.1, 0.2), (3.0, 0.7, 12.0), strict=True)):
        sigma[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = _twiss_block(e, a, b)
    return sigma


def _coupling_map() -> np.ndarray:
    """A symplectic map mixing all planes: x-y rotation by 0.4 rad, then a t-x shear (a dispersive kick)."""
    c, s = math.cos(0.4), math.sin(0.4)
    rot = np.eye(6)
    rot[np.ix_([0, 1, 2, 3], [0, 1, 2, 3])] = [[c, 0, s, 0], [0, c, 0, s], [-s, 0, c, 0], [0, -s, 0, c]]
    shear = np.eye(6)
    shear[1, 5], shear[4, 0] = -0.3, 0.3  # px -= 0.3 pt, t += 0.3 x: the flow of the generator 0.3 x pt
    return shear @ rot


def test_uncoupled_eigenemittances_are_the_projected_ones() -> None:
    emits = (2e-6, 5e-7, 1e-5)
    got = eigenemittances(_uncoupled(emits))
    np.testing.assert_allclose(sorted(got), sorted(emits), rtol=1e-12)


def test_eigenemittances_are_symplectic_invariants() -> None:
    sigma = _uncoupled((2e-6, 5e-7, 1e-5))
    M = _coupling_map()
    J = np.kron(np.eye(3), [[0.0, 1.0], [-1.0, 0.0]])
    assert np.abs(M.T @ J @ M - J).max() < 1e-15
    coupled = M @ sigma @ M.T
    np.testing.assert_allclose(eigenemittances(coupled), eigenemittances(sigma), rtol=1e-10)
    projected = math.sqrt(np.linalg.det(coupled[:2, :2]))
    assert abs(projected / 2e-6 - 1) > 0.05  # the projection did change


def test_reduced_diagnostics_report_eigenemittances() -> None:
    """reduced_beam_characteristics(..., eigenemittances=True): a beam drawn with Sigma's Cholesky factor has the
    eigen-emittances of its own sample covariance (np.cov, bias=True), in beta gamma-normalized units."""
    ref = RefPart().set_species("proton").set_kin_energy_MeV(250.0)
    bg = ref.beta_gamma
    sigma = _coupling_map() @ _uncoupled((2e-6, 5e-7, 1e-5)) @ _coupling_map().T
    z = np.linalg.cholesky(sigma) @ np.random.default_rng(3).normal(size=(6, 4000))  # map order, normalized
    z[[1, 3, 5]] /= bg
    rows = z[[0, 2, 4, 1, 3, 5]]  # x, y, t, px, py, pt
    pc = ParticleContainer(qm=ref.charge / ref.mass)
    pc.add_n_particles(*rows, qm=ref.charge / ref.mass, bunch_charge=1e-9)
    out = reduced_beam_characteristics(pc, ref, eigenemittances=True)
    want = eigenemittances(impactx_sigma(np.cov(rows, bias=True), bg))
    np.testing.assert_allclose([out[c] for c in EIGEN_COLUMNS], want, rtol=1e-10)
    assert "emittance_1" not in reduced_beam_characteristics(pc, ref)


@pytest.mark.parametrize("alpha, beta", [(0.0, 1.0), (0.7, 2.5)])
def test_invariants_without_the_lens_are_harmonic(alpha: float, beta: float) -> None:
    rng = np.random.default_rng(1)
    x, y, px, py = rng.uniform(-3e-3, 3e-3, size=(4, 50))
    H, I_ = nonlinear_lens_invariants(x, y, px, py, alpha, beta, 0.0, 0.01, np)
    cn = 0.01
    xn, yn = x / (cn * math.sqrt(beta)), y / (cn * math.sqrt(beta))
    pxn, pyn = px * math.sqrt(beta) / cn + alpha * xn, py * math.sqrt(beta) / cn + alpha * yn
    np.testing.assert_allclose(H, (xn**2 + yn**2 + pxn**2 + pyn**2) / 2, rtol=1e-14)
    np.testing.assert_allclose(I_, (xn * pyn - yn * pxn) ** 2 + pxn**2 + xn**2, rtol=1e-14)
    # small amplitudes (|zeta| <= 0.03): the lens potential Re(zeta arcsin(zeta) / sqrt(1 - zeta^2)) =
    # Re(zeta^2) + O(|zeta|^4), zeta^2's real part xn^2 - yn^2
    xs, ys = x / 30, y / 30
    H_lens, _ = nonlinear_lens_invariants(xs, ys, px, py, alpha, beta, 0.4, 0.01, np)
    H0, _ = nonlinear_lens_invariants(xs, ys, px, py, alpha, beta, 0.0, 0.01, np)
    xn, yn = xs / (cn * math.sqrt(beta)), ys / (cn * math.sqrt(beta))
    np.testing.assert_allclose(H_lens - H0, 0.4 * (xn**2 - yn**2), rtol=0, atol=0.4 * 4e-3 * (xn**2 + yn**2).max())


def test_reduced_file_columns_in_impactx_order(tmp_path) -> None:
    """ImpactX src/diagnostics/DiagnosticOutput.cpp: ... emittance_tn, emittance_1..3, spin moments, charge_C."""
    from beamtrack.engine.diagnostics import ReducedDiagnosticsWriter

    with ReducedDiagnosticsWriter(tmp_path, eigen_columns=True, spin_columns=True) as w:
        cols = w.columns
    i = cols.index("emittance_tn")
    assert cols[i + 1 : i + 4] == EIGEN_COLUMNS
    assert cols[i + 4 : i + 10] == ("mean_sx", "mean_sy", "mean_sz", "sigma_sx", "sigma_sy", "sigma_sz")
    assert cols[-1] == "charge_C"
