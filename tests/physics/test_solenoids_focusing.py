"""Focusing elements and solenoids (ConstF, Sol, SoftSolenoid, SoftQuadrupole) against textbook matrices,
ODE solutions, symplecticity, limits and the reference-particle push. Oracles: tests/physics/track_rows.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine import elements as E
from numpy_maps import linear_matrices, soft_edge  # tests/physics is on sys.path (pytest rootdir-relative import)
from track_rows import (
    COS,
    SIN,
    point_sampler,
    ref_bg,
    symplectic_error,
    tmap,
    track,
)

pytestmark = pytest.mark.physics

random_points = point_sampler()


@pytest.mark.parametrize("kx,ky,kt", [(1.0, 0.7, 0.3), (-0.8, 1.2, 0.0), (0.0, 0.0, 0.0)])
def test_constf(kx, ky, kt):
    bg, _ = ref_bg()
    el = E.ConstF(ds=1.3, kx=kx, ky=ky, kt=kt, nslice=3)
    R = tmap([el])
    np.testing.assert_allclose(R, linear_matrices.constf_matrix(kx, ky, kt, 1.3, bg), rtol=1e-12, atol=1e-14)
    assert symplectic_error(R) < 1e-12
    if kx == ky == kt == 0.0:
        np.testing.assert_allclose(R, tmap([E.Drift(ds=1.3)]), rtol=1e-14, atol=1e-16)
    with pytest.raises(ValueError, match="kt"):
        track([E.ConstF(ds=1.0, kx=1.0, ky=1.0, kt=-1.0)], np.zeros((1, 6)))


@pytest.mark.parametrize("ks,nslice", [(0.8223219329893234, 1), (-2.0, 4), (5.0, 3)])
def test_sol_textbook_matrix(ks, nslice):
    """Oracle: the hard-edge solenoid matrix with fringes (Wolski Sect. 3.4), R56 = L/bg^2."""
    bg, _ = ref_bg()
    R = tmap([E.Sol(ds=1.7, ks=ks, nslice=nslice)])
    np.testing.assert_allclose(R, linear_matrices.solenoid_matrix(ks, 1.7, bg), rtol=1e-12, atol=1e-14)
    assert symplectic_error(R) < 1e-12


def test_sol_zero_field_is_drift_and_ref():
    R = tmap([E.Sol(ds=2.0, ks=0.0)])
    np.testing.assert_allclose(R, tmap([E.Drift(ds=2.0)]), rtol=1e-15, atol=0)
    _, sim = track([E.Sol(ds=2.0, ks=1.0, nslice=5)], np.zeros((1, 6)))
    assert sim.reference.s == pytest.approx(2.0, rel=1e-15)
    assert sim.reference.gamma == pytest.approx(1 + 250.0 / 938.2720894282575, rel=1e-14)  # CODATA 2022 m_p


# --- SoftSolenoid, SoftQuadrupole ---------------------------------------------------------------------------


def test_soft_solenoid_constant_profile_is_sol():
    """cos_coefficients = [2] makes the profile 1: the integrated map converges to Sol(ks = bscale) (2nd order in dz)."""
    bg, ref = ref_bg()
    el = E.SoftSolenoid(ds=1.2, bscale=1.5, cos_coefficients=[2.0], sin_coefficients=[0.0], nslice=2, mapsteps=200)
    R = el.transport_map(ref)
    np.testing.assert_allclose(R, linear_matrices.solenoid_matrix(1.5, 1.2, bg), atol=2e-6)
    np.testing.assert_allclose(tmap([el]), R, atol=1e-14)
    for Rs in el.slice_maps(ref):
        assert symplectic_error(Rs) < 1e-12


def test_soft_solenoid_against_ode_and_units():
    """Oracle: solve_ivp of the paraxial solenoid equations of motion with B_z(z) from the Fourier series."""
    bg, ref = ref_bg()
    L, b0 = 1.0, 2.0
    el = E.SoftSolenoid(ds=L, bscale=b0, cos_coefficients=COS, sin_coefficients=SIN, nslice=3, mapsteps=150)
    R = el.transport_map(ref)
    Rode = soft_edge.soft_solenoid_map(lambda z: b0 * soft_edge.fourier_profile(z, L, COS, SIN), L, bg)
    np.testing.assert_allclose(R, Rode, atol=5e-6)
    assert symplectic_error(R) < 1e-12
    # unit=1: bscale in T, divided by B rho (same map for bscale_T = b0 * B rho)
    el_T = E.SoftSolenoid(
        ds=L, bscale=b0 * ref.rigidity_Tm, cos_coefficients=COS, sin_coefficients=SIN, unit=1, nslice=3, mapsteps=150
    )
    np.testing.assert_allclose(el_T.transport_map(ref), R, rtol=1e-12, atol=1e-14)


def test_soft_quadrupole_constant_profile_is_quad_and_ode():
    bg, ref = ref_bg()
    el = E.SoftQuadrupole(ds=0.8, gscale=2.5, cos_coefficients=[2.0], sin_coefficients=[0.0], nslice=2, mapsteps=200)
    np.testing.assert_allclose(
        el.transport_map(ref), linear_matrices.quad_matrix(2.5, 0.8, bg), atol=1e-5
    )  # O(dz^2) splitting
    np.testing.assert_allclose(tmap([el]), el.transport_map(ref), atol=1e-14)
    el = E.SoftQuadrupole(ds=1.0, gscale=-3.0, cos_coefficients=COS, sin_coefficients=SIN, nslice=2, mapsteps=150)
    R = el.transport_map(ref)
    Rode = soft_edge.soft_quad_map(lambda z: -3.0 * soft_edge.fourier_profile(z, 1.0, COS, SIN), 1.0, bg)
    np.testing.assert_allclose(R, Rode, atol=5e-6)
    assert symplectic_error(R) < 1e-12


def test_soft_elements_reference_push():
    _, sim = track(
        [E.SoftQuadrupole(ds=0.8, gscale=2.5, cos_coefficients=COS, sin_coefficients=SIN, nslice=4)], np.zeros((1, 6))
    )
    assert sim.reference.s == pytest.approx(0.8, rel=1e-14)
    beta = sim.reference.beta
    assert sim.reference.t == pytest.approx(0.8 / beta, rel=1e-12)  # c * time of flight
    assert sim.reference.gamma == pytest.approx(1 + 250.0 / 938.2720894282575, rel=1e-14)  # CODATA 2022 m_p
