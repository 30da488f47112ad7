"""Thin kicks (Multipole, NonlinearLens, Kicker, PlaneXYRot) against analytic maps, symplecticity and limits.
Oracles: tests/physics/track_rows.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import elements as E
from numpy_maps import thin_kicks as nm  # tests/physics is on sys.path (pytest rootdir-relative import)
from numpy_maps.phase_space import C_LIGHT
from track_rows import (
    jacobian,
    point_sampler,
    symplectic_error,
    tmap,
    track,
)

pytestmark = pytest.mark.physics

random_points = point_sampler()


# --- Multipole ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 3, 4, 6])
def test_multipole_against_madx_kick(m):
    """Oracle: MAD-X MULTIPOLE thin kick (MAD-X user guide; ImpactX docs say Multipole matches it)."""
    kn, ks = 7.0 * m, -3.0 * m
    z = random_points(20, [2e-3, 1e-4, 2e-3, 1e-4, 1e-3, 1e-4])
    out, _ = track([E.Multipole(m, kn, ks)], z)
    px, py = nm.multipole_kick(z[:, 0], z[:, 2], z[:, 1], z[:, 3], m, kn, ks)
    np.testing.assert_allclose(out[:, 1], px, rtol=1e-13, atol=1e-18)
    np.testing.assert_allclose(out[:, 3], py, rtol=1e-13, atol=1e-18)
    np.testing.assert_array_equal(out[:, [0, 2, 4, 5]], z[:, [0, 2, 4, 5]])


def test_multipole_order2_is_thin_quad():
    """Multipole order 2 = thin quad: R21 = -K_normal, R43 = +K_normal, R23 = R41 = K_skew (ImpactX Multipole.H docs)."""
    R = tmap([E.Multipole(2, 3.0, 0.5)])
    expect = np.eye(6)
    expect[1, 0], expect[3, 2], expect[1, 2], expect[3, 0] = -3.0, 3.0, 0.5, 0.5
    np.testing.assert_allclose(R, expect, atol=1e-7)
    assert symplectic_error(expect) < 1e-12
    # the thin limit of a thick Quad: Drift(L/2) Multipole(K) Drift(L/2) vs Quad(L, k = K/L), equal up to K^2 L / 6
    L = 1e-5
    Rq = tmap([E.Quad(ds=L, k=3.0 / L)])
    Rm = tmap([E.Drift(ds=L / 2), E.Multipole(2, 3.0, 0.0), E.Drift(ds=L / 2)])
    np.testing.assert_allclose(Rm[:4, :4], Rq[:4, :4], atol=9.0 * L / 6 * 1.01)


def test_multipole_jacobian_symplectic():
    """A thin kick from a potential has a symmetric kick Jacobian: M^T J M = J (to the FD error ~1e-9)."""
    for m in (3, 4, 5):
        z0 = random_points(1, [3e-3, 1e-4, 3e-3, 1e-4, 1e-3, 1e-4])[0]
        M = jacobian([E.Multipole(m, 50.0, -20.0)], z0, h=1e-6)
        assert symplectic_error(M) < 1e-8


# --- NonlinearLens ---------------------------------------------------------------------------------------
def test_nonlinear_lens_against_danilov_nagaitsev():
    """Oracle: F'(zeta) = zeta/(1-zeta^2) + arcsin(zeta)/(1-zeta^2)^(3/2) (PRSTAB 13, 084002, Sect. V.A), NumPy complex."""
    knll, cnll = 4e-3, 0.01
    z = random_points(50, [4e-3, 1e-4, 4e-3, 1e-4, 1e-3, 1e-4])
    z[:3, 0], z[:3, 2] = [-0.012, 0.015, 0.0], [1e-4, -2e-4, 0.02]  # beyond the singularities |x| > cnll, too
    out, _ = track([E.NonlinearLens(knll=knll, cnll=cnll)], z)
    px, py = nm.nll_kick(z[:, 0], z[:, 2], z[:, 1], z[:, 3], knll, cnll)
    np.testing.assert_allclose(out[:, 1], px, rtol=1e-11, atol=1e-16)
    np.testing.assert_allclose(out[:, 3], py, rtol=1e-11, atol=1e-16)


def test_nonlinear_lens_linear_limit_and_symplectic():
    """Small amplitude: R21 = -2 knll/cnll^2, R43 = +2 knll/cnll^2 (ImpactX NonlinearLens.H docs)."""
    knll, cnll = 4e-3, 0.01
    R = tmap([E.NonlinearLens(knll=knll, cnll=cnll)])
    assert R[1, 0] == pytest.approx(-2 * knll / cnll**2, rel=1e-6)
    assert R[3, 2] == pytest.approx(2 * knll / cnll**2, rel=1e-6)
    for _ in range(3):
        z0 = random_points(1, [3e-3, 1e-4, 3e-3, 1e-4, 1e-3, 1e-4])[0]
        M = jacobian([E.NonlinearLens(knll=knll, cnll=cnll)], z0, h=1e-6)
        assert symplectic_error(M) < 1e-8 * np.abs(M).max() ** 2  # central-difference error


# --- Kicker ----------------------------------------------------------------------------------------------
def test_kicker_units():
    """dimensionless: px += xkick; T-m: px += xkick / (B rho), B rho = p / q with p from E_k and m (proton 250 MeV)."""
    z = random_points(5, [1e-3] * 6)
    out, _ = track([E.Kicker(1e-3, -2e-3)], z)
    np.testing.assert_allclose(out[:, 1] - z[:, 1], 1e-3, rtol=1e-12)
    np.testing.assert_allclose(out[:, 3] - z[:, 3], -2e-3, rtol=1e-12)
    mp = 938.2720894282575  # ImpactX 26.10's proton rest energy [MeV] (CODATA 2022, RefPart.set_species)
    p_MeV = math.sqrt(250.0**2 + 2 * 250.0 * mp)
    brho = p_MeV * 1e6 / C_LIGHT  # [T m] for charge e
    out, _ = track([E.Kicker(0.01, 0.02, "T-m")], z)
    np.testing.assert_allclose(out[:, 1] - z[:, 1], 0.01 / brho, rtol=1e-10)
    np.testing.assert_allclose(out[:, 3] - z[:, 3], 0.02 / brho, rtol=1e-10)


# --- PlaneXYRot, Buncher, ConstF, Sol --------------------------------------------------------------------
@pytest.mark.parametrize("angle", [30.0, -125.0, 90.0])
def test_plane_xy_rot(angle):
    R = tmap([E.PlaneXYRot(angle)])
    np.testing.assert_allclose(R, nm.xyrot_matrix(angle), atol=1e-15)
    assert symplectic_error(R) < 1e-12
    np.testing.assert_allclose(tmap([E.PlaneXYRot(angle), E.PlaneXYRot(-angle)]), np.eye(6), atol=1e-15)
