"""Empty, ChrAcc, ChrPlasmaLens, TaperedPL, QuadEdge, PolygonAperture, ExactQuad, ExactMultipole,
ExactCFbend: physics checks that need no ImpactX
(per-particle agreement with ImpactX 26.10 is in tests/oracle/test_impactx_oracle.py).

Where the expected numbers come from:
- ChrPlasmaLens: its Hamiltonian H = -pt/beta - D + (px^2 + py^2) / (2 D) + g (x^2 + y^2) / 2 restricted to
  one plane is ChrQuad's in that plane (ChrQuad's x plane for g > 0, its y plane for the defocusing lens),
  and ChrQuad agrees with ImpactX to round-off (oracle); independently, Hamilton's equations of H integrated
  by scipy's DOP853 at rtol 1e-13.
- unit = 1 divides k by the reference rigidity B rho = beta gamma m c / q (scipy.constants).
- ChrAcc: the reference's gamma grows by ez ds (ez = q Ez / (m c^2)); bz = 0 is the limit bz -> 0 of the map.
- TaperedPL, QuadEdge: symplectic maps (J^T S J = S at an off-axis point, central differences).
- PolygonAperture: a rectangle as a polygon loses what Aperture(rectangular) loses, repeat included.
- ExactQuad: ChrQuad in the paraxial limit; a symplectic integrator of order n: error / 2^n per halved step.
- ExactMultipole: its quadrupole term converges to ExactQuad's flow (another splitting of the same H).
- ExactCFbend: with the curvature only, ExactSbend's exact map and reference arc.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import elements as E
from scipy.integrate import solve_ivp
from track_columns import BETA, GAMMA, REF, random_points, ref_after, rigidity, track

pytestmark = pytest.mark.physics


def _plane_only(z: np.ndarray, plane: int) -> np.ndarray:
    """z with the other transverse plane zeroed (plane 0: x, px; plane 1: y, py)."""
    out = z.copy()
    other = 1 - plane
    out[2 * other] = out[2 * other + 1] = 0.0
    return out


@pytest.mark.parametrize("k", [3.0, -2.5])
def test_chrplasmalens_is_chrquad_in_each_plane(k: float) -> None:
    z = random_points(40, 1e-3, seed=11)
    for plane in (0, 1):
        zp = _plane_only(z, plane)
        got, _, _ = track([E.ChrPlasmaLens(ds=0.6, k=k, nslice=2)], zp)
        # ChrQuad(+k) focuses x and defocuses y: the lens's plane behaves as ChrQuad's x plane for k > 0
        quad_k = k if plane == 0 else -k
        want, _, _ = track([E.ChrQuad(ds=0.6, k=quad_k, nslice=2)], zp)
        scale = np.abs(want).max(axis=1, keepdims=True) + 1e-300
        assert float((np.abs(got - want) / scale).max()) < 1e-13


def _hamilton_flow(z0: np.ndarray, g: float, L: float) -> np.ndarray:
    """Integrate Hamilton's equations of the chromatic plasma lens over L (one particle, map order)."""
    ib = 1.0 / BETA

    def rhs(_s: float, u: np.ndarray) -> np.ndarray:
        x, px, y, py, t, pt = u
        D = math.sqrt(1.0 - 2.0 * pt * ib + pt * pt)
        dD = (pt - ib) / D
        p2 = px * px + py * py
        return np.array([px / D, -g * x, py / D, -g * y, -ib - dD - 0.5 * p2 / (D * D) * dD, 0.0])

    sol = solve_ivp(rhs, (0.0, L), z0, method="DOP853", rtol=1e-13, atol=1e-16)
    return np.asarray(sol.y[:, -1])


@pytest.mark.parametrize("k", [4.0, -4.0])
def test_chrplasmalens_matches_hamiltons_equations(k: float) -> None:
    z = random_points(6, 1e-3, seed=5)
    got, _, _ = track([E.ChrPlasmaLens(ds=0.5, k=k)], z)
    want = np.stack([_hamilton_flow(z[:, j], k, 0.5) for j in range(z.shape[1])], axis=1)
    # t: the transverse part of the t change is ~1e-7 m here; the integration error is ~1e-15 m
    assert float(np.abs(got - want).max()) < 1e-12
    assert float(np.abs(got[4] - z[4]).max()) > 1e-8  # t moves by far more than the tolerance


def test_unit_1_divides_by_the_rigidity() -> None:
    z = random_points(30, 1e-3, seed=2)
    brho = rigidity(GAMMA)
    for t1, t0 in [
        (E.ChrPlasmaLens(ds=0.4, k=1.5, unit=1), E.ChrPlasmaLens(ds=0.4, k=1.5 / brho)),
        (E.TaperedPL(k=0.2, taper=15.0, unit=1), E.TaperedPL(k=0.2 / brho, taper=15.0)),
        (E.QuadEdge(k=40.0, unit=1, flag="exit"), E.QuadEdge(k=40.0 / brho, flag="exit")),
    ]:
        a, _, _ = track([t1], z)
        b, _, _ = track([t0], z)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-18)


def _jacobian(el: E.Element, z0: np.ndarray, h: float = 1e-7) -> np.ndarray:
    cols = []
    for j in range(6):
        zp = np.tile(z0[:, None], (1, 2))
        zp[j, 0] += h
        zp[j, 1] -= h
        out, _, _ = track([el], zp)
        cols.append((out[:, 0] - out[:, 1]) / (2.0 * h))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: E.TaperedPL(k=0.5, taper=30.0),
        lambda: E.QuadEdge(k=200.0),
        lambda: E.QuadEdge(k=-150.0, flag="exit"),
        lambda: E.ChrPlasmaLens(ds=0.5, k=-3.0),
        lambda: E.ExactQuad(ds=0.5, k=3.0, int_order=4, mapsteps=3),
        lambda: E.ExactMultipole(ds=0.4, k_normal=[0.0, 2.0, 50.0], k_skew=[0.0, 0.5, -20.0]),
    ],
)
def test_thin_and_lens_maps_are_symplectic(make) -> None:  # type: ignore[no-untyped-def]
    z0 = np.array([2e-3, 1e-3, -1.5e-3, 5e-4, 1e-3, 2e-3])
    J = _jacobian(make(), z0)
    S = np.zeros((6, 6))
    for i in range(3):
        S[2 * i, 2 * i + 1], S[2 * i + 1, 2 * i] = 1.0, -1.0
    assert float(np.abs(J.T @ S @ J - S).max()) < 1e-8  # central differences at h = 1e-7: ~1e-9


def test_quadedge_has_a_third_order_effect() -> None:
    """x' - x = -a (x^3 + 3 x y^2), a = -k / (12 D) at entry (Forest and Milutinovic eq. 28)."""
    z = np.zeros((6, 1))
    z[0, 0], z[2, 0] = 3e-3, 2e-3
    out, _, _ = track([E.QuadEdge(k=100.0)], z)
    a = -100.0 / 12.0
    assert out[0, 0] - z[0, 0] == pytest.approx(-a * (3e-3**3 + 3 * 3e-3 * 2e-3**2), rel=1e-12)


def test_chracc_reference_gains_ez_ds_in_gamma_and_bz0_is_the_limit() -> None:
    ref = ref_after(E.ChrAcc(ds=0.8, ez=0.03, bz=0.4, nslice=4))
    assert ref.gamma == pytest.approx(GAMMA + 0.03 * 0.8, rel=1e-14)
    assert ref.s == pytest.approx(REF.s + 0.8, rel=1e-14)
    z = random_points(30, 1e-3, seed=8)
    a, _, _ = track([E.ChrAcc(ds=0.8, ez=0.03, bz=0.0)], z)
    b, _, _ = track([E.ChrAcc(ds=0.8, ez=0.03, bz=1e-7)], z)
    scale = np.abs(a).max(axis=1, keepdims=True)
    assert float((np.abs(a - b) / scale).max()) < 1e-6  # the map moves by O(bz ds) = 1e-7
    with pytest.raises(ValueError, match="ez must be"):
        E.ChrAcc(ds=0.5, ez=0.0, bz=0.1)


def test_chracc_loses_particles_that_stop() -> None:
    """A decelerating field ending below the particle's rest energy (|pt_total| <= 1) loses it."""
    z = np.zeros((6, 2))
    z[5, 1] = 5e-2  # pt = +0.05: less energy than the reference
    # reference gamma ends at GAMMA - 0.26 (beta ~ 0.6 -> gamma 1.27 -> 1.006): the particle stops
    dec = (GAMMA - 1.006) / 1.0
    _, state, _ = track([E.ChrAcc(ds=1.0, ez=-dec, bz=0.0)], z)
    assert state[0] == 0 and state[1] > 0


def test_polygon_rectangle_is_the_rectangular_aperture() -> None:
    z = random_points(4000, 3e-3, seed=4)
    ax, ay = 1.2e-3, 0.8e-3
    vx, vy = [-ax, ax, ax, -ax, -ax], [-ay, -ay, ay, ay, -ay]
    for kw in ({}, {"repeat_x": 3e-3, "repeat_y": 2e-3}, {"action": "absorb"}):
        _, s_poly, _ = track([E.PolygonAperture(vx, vy, **kw)], z)
        _, s_rect, _ = track([E.Aperture(ax, ay, **kw)], z)
        np.testing.assert_array_equal(s_poly > 0, s_rect > 0)
        assert 0 < int((s_poly > 0).sum()) < z.shape[1]


def test_polygon_min_radius_and_validation() -> None:
    z = np.zeros((6, 2))
    z[0] = [1e-4, 5e-4]
    tri = ([1e-3, 2e-3, 1.5e-3, 1e-3], [0.0, 0.0, 1e-3, 0.0])  # a triangle away from the axis
    _, state, _ = track([E.PolygonAperture(*tri, min_radius2=(2e-4) ** 2)], z)
    assert state[0] == 0 and state[1] > 0  # r < sqrt(min_radius2) is inside; outside both is lost
    with pytest.raises(ValueError, match="first and last vertex"):
        E.PolygonAperture([0.0, 1e-3, 0.0], [0.0, 0.0, 1e-3])
    with pytest.raises(ValueError, match="shift_odd_x"):
        E.PolygonAperture(*tri, repeat_x=1e-3, shift_odd_x=True)


def test_empty_does_nothing() -> None:
    z = random_points(10, 1e-3, seed=1)
    out, state, sim = track([E.Empty()], z)
    np.testing.assert_array_equal(out, z)
    assert (state == 0).all() and sim.reference.s == REF.s


def test_exactquad_paraxial_limit_is_chrquad() -> None:
    """At 1e-5 amplitudes the exact and the paraxial Hamiltonians differ by O(p^2) = 1e-10 relative."""
    z = random_points(30, 1e-5, seed=9)
    a, _, _ = track([E.ExactQuad(ds=0.5, k=3.0, int_order=6, mapsteps=20)], z)
    b, _, _ = track([E.ChrQuad(ds=0.5, k=3.0)], z)
    scale = np.abs(b).max(axis=1, keepdims=True)
    assert float((np.abs(a - b) / scale).max()) < 1e-8


@pytest.mark.parametrize(("order", "rate"), [(2, 4.0), (4, 16.0)])
def test_exactquad_integrator_converges_at_its_order(order: int, rate: float) -> None:
    """Halving the step divides the error by 2^order (reference: order 6 with 64 steps); 2e-2 amplitudes
    make the non-paraxial terms large."""
    z = random_points(20, 2e-2, seed=10)
    want, _, _ = track([E.ExactQuad(ds=0.5, k=8.0, int_order=6, mapsteps=64)], z)
    errs = []
    for steps in (4, 8):
        got, _, _ = track([E.ExactQuad(ds=0.5, k=8.0, int_order=order, mapsteps=steps)], z)
        errs.append(float(np.abs(got - want).max()))
    assert errs[0] / errs[1] == pytest.approx(rate, rel=0.15)


def test_exactmultipole_quadrupole_term_is_exactquad() -> None:
    """Two splittings of the same exact quadrupole Hamiltonian (exact drift + kick; linear quad + exact
    remainder) converge to the same flow: at order 6 and 64 steps both are converged to ~1e-13."""
    z = random_points(20, 1e-2, seed=12)
    a, _, _ = track([E.ExactMultipole(ds=0.5, k_normal=[0.0, 5.0], k_skew=[0.0, 0.0], int_order=6, mapsteps=64)], z)
    b, _, _ = track([E.ExactQuad(ds=0.5, k=5.0, int_order=6, mapsteps=64)], z)
    scale = np.abs(b).max(axis=1, keepdims=True)
    assert float((np.abs(a - b) / scale).max()) < 1e-10
    with pytest.raises(ValueError, match="same length"):
        E.ExactMultipole(ds=0.5, k_normal=[0.0, 1.0], k_skew=[0.0])


def test_exactcfbend_pure_dipole_is_exactsbend() -> None:
    """Without multipoles the split is the exact sector bend alone: ExactSbend's map and reference."""
    z = random_points(20, 1e-3, seed=13)
    rc, ds = 4.0, 0.8
    a, _, sa = track([E.ExactCFbend(ds=ds, k_normal=[1.0 / rc], k_skew=[0.0], mapsteps=3, nslice=2)], z)
    b, _, sb = track([E.ExactSbend(ds=ds, phi=math.degrees(ds / rc), nslice=2)], z)
    scale = np.abs(b).max(axis=1, keepdims=True)
    assert float((np.abs(a - b) / scale).max()) < 1e-11  # 6 bend steps against one exact map: round-off
    for f in ("x", "z", "px", "pz", "t", "s"):
        assert getattr(sa.reference, f) == pytest.approx(getattr(sb.reference, f), rel=1e-13, abs=1e-15)
    with pytest.raises(ValueError, match="curvature"):
        E.ExactCFbend(ds=0.5, k_normal=[0.0, 1.0], k_skew=[0.0, 0.0])
    with pytest.raises(ValueError, match="k_skew"):
        E.ExactCFbend(ds=0.5, k_normal=[0.2], k_skew=[0.1])


def test_exactcfbend_is_symplectic() -> None:
    """J^T S J = S; looser than the other maps: ImpactX's closed-form curved-frame kicks cancel to
    O((x/rc)^2) of their O(1) terms, so their round-off shows in central differences (measured 2.9e-8)."""
    z0 = np.array([2e-3, 1e-3, -1.5e-3, 5e-4, 1e-3, 2e-3])
    J = _jacobian(E.ExactCFbend(ds=0.4, k_normal=[0.2, 1.0, 5.0], k_skew=[0.0, 0.3, -2.0]), z0)
    S = np.zeros((6, 6))
    for i in range(3):
        S[2 * i, 2 * i + 1], S[2 * i + 1, 2 * i] = 1.0, -1.0
    assert float(np.abs(J.T @ S @ J - S).max()) < 2e-7
