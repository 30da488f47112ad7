"""Part-B elements (Multipole, NonlinearLens, Kicker, PlaneXYRot, ConstF, Sol, SoftSolenoid,
SoftQuadrupole, RFCavity, ShortRF, Buncher, Aperture, LinearMap) against analytic maps, symplecticity,
limits, energy bookkeeping and loss bookkeeping.

Oracles: tests/physics/numpy_maps_b.py (written from textbook formulas / equations of motion, not
from the C kernels); ImpactX's documentation and example analysis scripts where numbers are quoted.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E

sys.path.insert(0, str(Path(__file__).parent))
import numpy_maps_b as nm  # noqa: E402

pytestmark = pytest.mark.physics

CPU_KINDS = ["serial", "openmp"]
ROW_OF = [0, 3, 1, 4, 2, 5]  # map order (x, px, y, py, t, pt) -> container rows (x, y, t, px, py, pt)
J6 = np.zeros((6, 6))
for _i in range(3):
    J6[2 * _i, 2 * _i + 1], J6[2 * _i + 1, 2 * _i] = 1.0, -1.0


def make_sim(els, kind="serial", species="proton", kin_energy_MeV=250.0):
    sim = Simulation(kind=kind, diagnostics=False, compose_linear=False)
    sim.reference.set_species(species).set_kin_energy_MeV(kin_energy_MeV)
    sim.lattice.extend(els)
    return sim


def track(els, pts, kind="serial", species="proton", kin_energy_MeV=250.0, periods=1):
    """Track points given as (n, 6) in map order; returns (out (n, 6) map order, sim)."""
    sim = make_sim(els, kind, species, kin_energy_MeV)
    pts = np.atleast_2d(np.asarray(pts, dtype=float))
    rows = np.zeros((6, pts.shape[0]))
    rows[ROW_OF] = pts.T
    sim.beam.add_n_particles(*rows, qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
    sim.track_particles(periods=periods)
    out = np.asarray(sim.beam.real[:6, : pts.shape[0]])[ROW_OF].T.copy()
    return out, sim


def tmap(els, **kw):
    return make_sim(els, **kw).lattice.transfer_map()


def jacobian(els, z0, h=1e-6, **kw):
    """Central-difference Jacobian of the tracked map at z0 (map order)."""
    pts = [z0]
    for j in range(6):
        for sgn in (1.0, -1.0):
            p = np.array(z0, dtype=float)
            p[j] += sgn * h
            pts.append(p)
    out, _ = track(els, np.array(pts), **kw)
    Jm = np.empty((6, 6))
    for j in range(6):
        Jm[:, j] = (out[1 + 2 * j] - out[2 + 2 * j]) / (2 * h)
    return Jm


def symplectic_error(R):
    return float(np.abs(R.T @ J6 @ R - J6).max())


def ref_bg(species="proton", kin_energy_MeV=250.0):
    sim = make_sim([], species=species, kin_energy_MeV=kin_energy_MeV)
    return sim.reference.beta_gamma, sim.reference


RNG = np.random.default_rng(20240611)


def random_points(n, scale):
    return RNG.normal(size=(n, 6)) * np.asarray(scale)


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
    brho = p_MeV * 1e6 / nm.C_LIGHT  # [T m] for charge e
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


def test_buncher_matrix():
    bg, _ = ref_bg()
    R = tmap([E.Buncher(0.01, 15.0)])
    np.testing.assert_allclose(R, nm.buncher_matrix(0.01, 15.0, bg), rtol=1e-14, atol=1e-16)
    assert symplectic_error(R) < 1e-12


@pytest.mark.parametrize("kx,ky,kt", [(1.0, 0.7, 0.3), (-0.8, 1.2, 0.0), (0.0, 0.0, 0.0)])
def test_constf(kx, ky, kt):
    bg, _ = ref_bg()
    el = E.ConstF(ds=1.3, kx=kx, ky=ky, kt=kt, nslice=3)
    R = tmap([el])
    np.testing.assert_allclose(R, nm.constf_matrix(kx, ky, kt, 1.3, bg), rtol=1e-12, atol=1e-14)
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
    np.testing.assert_allclose(R, nm.solenoid_matrix(ks, 1.7, bg), rtol=1e-12, atol=1e-14)
    assert symplectic_error(R) < 1e-12


def test_sol_zero_field_is_drift_and_ref():
    R = tmap([E.Sol(ds=2.0, ks=0.0)])
    np.testing.assert_allclose(R, tmap([E.Drift(ds=2.0)]), rtol=1e-15, atol=0)
    _, sim = track([E.Sol(ds=2.0, ks=1.0, nslice=5)], np.zeros((1, 6)))
    assert sim.reference.s == pytest.approx(2.0, rel=1e-15)
    assert sim.reference.gamma == pytest.approx(1 + 250.0 / 938.2720894282575, rel=1e-14)  # CODATA 2022 m_p


# --- SoftSolenoid, SoftQuadrupole ---------------------------------------------------------------------------
COS = [0.6, 0.35, -0.05, 0.02]
SIN = [0.0, 0.03, 0.01, 0.0]


def test_soft_solenoid_constant_profile_is_sol():
    """cos_coefficients = [2] makes the profile 1: the integrated map converges to Sol(ks = bscale) (2nd order in dz)."""
    bg, ref = ref_bg()
    el = E.SoftSolenoid(ds=1.2, bscale=1.5, cos_coefficients=[2.0], sin_coefficients=[0.0], nslice=2, mapsteps=200)
    R = el.transport_map(ref)
    np.testing.assert_allclose(R, nm.solenoid_matrix(1.5, 1.2, bg), atol=2e-6)
    np.testing.assert_allclose(tmap([el]), R, atol=1e-14)
    for Rs in el.slice_maps(ref):
        assert symplectic_error(Rs) < 1e-12


def test_soft_solenoid_against_ode_and_units():
    """Oracle: solve_ivp of the paraxial solenoid equations of motion with B_z(z) from the Fourier series."""
    bg, ref = ref_bg()
    L, b0 = 1.0, 2.0
    el = E.SoftSolenoid(ds=L, bscale=b0, cos_coefficients=COS, sin_coefficients=SIN, nslice=3, mapsteps=150)
    R = el.transport_map(ref)
    Rode = nm.soft_solenoid_map(lambda z: b0 * nm.fourier_profile(z, L, COS, SIN), L, bg)
    np.testing.assert_allclose(R, Rode, atol=5e-6)
    assert symplectic_error(R) < 1e-12
    # unit=1: bscale in T, divided by B rho (same map for bscale_T = b0 * B rho)
    el_T = E.SoftSolenoid(ds=L, bscale=b0 * ref.rigidity_Tm, cos_coefficients=COS, sin_coefficients=SIN, unit=1,
                          nslice=3, mapsteps=150)
    np.testing.assert_allclose(el_T.transport_map(ref), R, rtol=1e-12, atol=1e-14)


def test_soft_quadrupole_constant_profile_is_quad_and_ode():
    bg, ref = ref_bg()
    el = E.SoftQuadrupole(ds=0.8, gscale=2.5, cos_coefficients=[2.0], sin_coefficients=[0.0], nslice=2, mapsteps=200)
    np.testing.assert_allclose(el.transport_map(ref), nm.quad_matrix(2.5, 0.8, bg), atol=1e-5)  # O(dz^2) splitting
    np.testing.assert_allclose(tmap([el]), el.transport_map(ref), atol=1e-14)
    el = E.SoftQuadrupole(ds=1.0, gscale=-3.0, cos_coefficients=COS, sin_coefficients=SIN, nslice=2, mapsteps=150)
    R = el.transport_map(ref)
    Rode = nm.soft_quad_map(lambda z: -3.0 * nm.fourier_profile(z, 1.0, COS, SIN), 1.0, bg)
    np.testing.assert_allclose(R, Rode, atol=5e-6)
    assert symplectic_error(R) < 1e-12


def test_soft_elements_reference_push():
    _, sim = track([E.SoftQuadrupole(ds=0.8, gscale=2.5, cos_coefficients=COS, sin_coefficients=SIN, nslice=4)],
                   np.zeros((1, 6)))
    assert sim.reference.s == pytest.approx(0.8, rel=1e-14)
    beta = sim.reference.beta
    assert sim.reference.t == pytest.approx(0.8 / beta, rel=1e-12)  # c * time of flight
    assert sim.reference.gamma == pytest.approx(1 + 250.0 / 938.2720894282575, rel=1e-14)  # CODATA 2022 m_p


# --- RFCavity ----------------------------------------------------------------------------------------------
TESLA_COS = [
    0.1644024074311037, -0.1324009958969339, 4.3443060026047219e-002, 8.5602654094946495e-002, -0.2433578169042885,
    0.5297150596779437, 0.7164884680963959, -5.2579522442877296e-003, -5.5025369142193678e-002,
    4.6845673335028933e-002, -2.3279346335638568e-002, 4.0800777539657775e-003, 4.1378326533752169e-003,
    -2.5040533340490805e-003, -4.0654981400000964e-003, 9.6630592067498289e-003, -8.5275895985990214e-003,
    -5.8078747006425020e-002, -2.4044337836660403e-002, 1.0968240064697212e-002, -3.4461179858301418e-003,
    -8.1201564869443749e-004, 2.1438992904959380e-003, -1.4997753525697276e-003, 1.8685171825676386e-004,
]
TESLA_SIN = [0.0] * 25


def tesla(**kw):
    args = dict(ds=1.31879807, escale=62.0, freq=1.3e9, phase=85.5, cos_coefficients=TESLA_COS,
                sin_coefficients=TESLA_SIN, mapsteps=100, nslice=4)
    args.update(kw)
    return E.RFCavity(**args)


def tesla_line():
    dr1, dr2 = E.Drift(ds=0.4), E.Drift(ds=0.032997)
    rf = tesla()
    return [dr1, dr2, rf, dr2, dr2, rf, dr2, dr2, rf, dr2, dr2, rf, dr2]


def test_rfcavity_zero_field_is_drift():
    R = tmap([tesla(escale=0.0, mapsteps=3)])
    np.testing.assert_allclose(R, tmap([E.Drift(ds=1.31879807)]), rtol=1e-12, atol=1e-15)


def test_rfcavity_impactx_example_reference_energy():
    """ImpactX examples/rfcavity/analysis_rfcavity_ref_part.py: electron 230 MeV through 4 TESLA cavities,
    final s_ref = 5.9391682799999987, gamma_ref = 585.11989430128892 (atol 1e-4)."""
    # initial gamma_ref 451.09877160930125 in ImpactX (its electron mass differs from CODATA 2018's in the 9th digit)
    assert ref_bg("electron", 230.0)[1].gamma == pytest.approx(451.09877160930125, abs=1e-5)
    _, sim = track(tesla_line(), np.zeros((1, 6)), species="electron", kin_energy_MeV=230.0)
    assert sim.reference.s == pytest.approx(5.9391682799999987, abs=1e-10)
    assert sim.reference.gamma == pytest.approx(585.11989430128892, abs=1e-4)
    # the on-axis particle at the reference stays there (pt consistent with the reference energy)
    np.testing.assert_allclose(np.asarray(sim.beam.real[:6, 0]), 0.0, atol=1e-15)


def test_rfcavity_reference_and_longitudinal_map_against_ode():
    """Oracle: solve_ivp of dT/dz = 1/beta, dPT/dz = -escale e(z) cos(kT + phi) for the reference and for
    on-axis particles offset in (t, pt) (central differences -> the t-pt block, dynamic -> static units)."""
    L, esc, f, ph = 1.0, 0.4, 1.3e9, -30.0
    el = E.RFCavity(ds=L, escale=esc, freq=f, phase=ph, cos_coefficients=COS, sin_coefficients=SIN, mapsteps=1600,
                    nslice=1)
    sim = make_sim([el], species="electron", kin_energy_MeV=5.0)
    ref = sim.reference
    g0, bgi = ref.gamma, ref.beta_gamma
    R = el.transport_map(ref)
    prof = lambda z: nm.fourier_profile(z, L, COS, SIN)  # noqa: E731
    T, PT = nm.rf_on_axis(esc, prof, f, ph, L, 0.0, -g0)
    err = []
    for steps in (100, 400):
        r = ref.copy()
        E.RFCavity(ds=L, escale=esc, freq=f, phase=ph, cos_coefficients=COS, sin_coefficients=SIN,
                   mapsteps=steps).push_ref(r, 1)
        err.append((r.pt - PT, r.t - T))
    assert abs(err[1][0]) < 2e-6 and abs(err[1][1]) < 1e-9
    # second-order integrator: 4x the steps, 16x smaller error
    assert 14 < err[0][0] / err[1][0] < 18 and 14 < err[0][1] / err[1][1] < 18
    r = ref.copy()
    el.push_ref(r, 1)
    bgf = r.beta_gamma
    h = 1e-6
    col = []
    for dT, dPT in ((h, 0.0), (0.0, h)):
        Tp, PTp = nm.rf_on_axis(esc, prof, f, ph, L, dT, -g0 + dPT)
        Tm, PTm = nm.rf_on_axis(esc, prof, f, ph, L, -dT, -g0 - dPT)
        col.append([(Tp - Tm) / (2 * h), (PTp - PTm) / (2 * h)])
    # dynamic block [[dT/dT0, dT/dPT0], [dPT/dT0, dPT/dPT0]]; static pt = PT_dev / bg
    dyn = np.array(col).T
    static = dyn * np.array([[1.0, bgi], [1.0 / bgf, bgi / bgf]])
    np.testing.assert_allclose(R[4:, 4:], static, rtol=5e-5, atol=1e-9)  # splitting error O(dz^2), dz = 0.6 mm


def test_rfcavity_symplectic_in_dynamic_units():
    """Each slice map, in dynamic units (momenta times the reference beta gamma), is symplectic."""
    _, ref = ref_bg("electron", 5.0)
    el = E.RFCavity(ds=1.0, escale=0.4, freq=1.3e9, phase=-30.0, cos_coefficients=COS, sin_coefficients=SIN,
                    mapsteps=20, nslice=3)
    D = lambda bg: np.diag([1, bg, 1, bg, 1, bg])  # noqa: E731
    maps, bgs = [], [ref.beta_gamma]
    r = ref.copy()
    for i in range(el.nslice):
        maps.append(el._slice_push(r, i * el.ds / el.nslice, el.ds / el.nslice))
        bgs.append(r.beta_gamma)
    assert abs(bgs[-1] - bgs[0]) > 1e-3  # the energy changes
    for i, Rs in enumerate(maps):
        Rd = D(bgs[i + 1]) @ Rs @ np.linalg.inv(D(bgs[i]))
        assert symplectic_error(Rd) < 1e-12


def test_rfcavity_impactx_example_beam():
    """ImpactX examples/rfcavity/analysis_rfcavity.py: 10000-particle waterbag, final sigx, sigy, sigt,
    emittances within rtol = 1.5/sqrt(N) (statistical, different random stream)."""
    from beamtrack.engine import distribution

    sim = make_sim(tesla_line(), species="electron", kin_energy_MeV=230.0)
    d = distribution.Waterbag(lambdaX=0.352498964601e-3, lambdaY=0.207443478142e-3, lambdaT=0.70399950746e-4,
                              lambdaPx=5.161852770e-6, lambdaPy=9.163582894e-6, lambdaPt=0.260528852031e-3,
                              muxpx=0.5712386101751441, muypy=-0.514495755427526, mutpt=-5.05773e-10)
    sim.add_particles(bunch_charge_C=1e-10, distr=d, npart=10000, seed=7)
    sim.track_particles()
    x, y, t, px, py, pt = np.asarray(sim.beam.real[:6])

    def emit(q, p):
        q, p = q - q.mean(), p - p.mean()
        return math.sqrt(np.mean(q * q) * np.mean(p * p) - np.mean(q * p) ** 2)

    got = [x.std(), y.std(), t.std(), emit(x, px), emit(y, py), emit(t, pt)]
    expected = [3.52596000000e-4, 2.41775000000e-4, 7.0417917357e-5, 1.70893497973e-9, 1.70893497973e-9,
                1.413901564889e-8]
    np.testing.assert_allclose(got, expected, rtol=1.5 / math.sqrt(10000) * 1.5)


def test_rfcavity_rebuilt_every_period():
    """The map depends on the reference arrival time: 2 periods of [RFCavity] = one pass of [RFCavity, RFCavity]."""
    z = random_points(4, [1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])
    el = lambda: E.RFCavity(ds=1.0, escale=0.4, freq=1.3e9, phase=-30.0, cos_coefficients=COS,  # noqa: E731
                            sin_coefficients=SIN, mapsteps=5, nslice=2)
    a, sa = track([el()], z, species="electron", kin_energy_MeV=5.0, periods=2)
    b, sb = track([el(), el()], z, species="electron", kin_energy_MeV=5.0)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-18)
    assert sa.reference.pt == pytest.approx(sb.reference.pt, rel=1e-14)


def test_rfcavity_slicewise_equals_fused():
    """Slice-level tracking (slice diagnostics / before_slice hooks) pushes the same slices as the fused loop."""
    z = random_points(4, [1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])
    el = E.RFCavity(ds=1.0, escale=0.4, freq=1.3e9, phase=-30.0, cos_coefficients=COS, sin_coefficients=SIN,
                    mapsteps=5, nslice=3)
    a, sa = track([E.Drift(ds=0.3), el], z, species="electron", kin_energy_MeV=5.0)
    sim = make_sim([E.Drift(ds=0.3), el], species="electron", kin_energy_MeV=5.0)
    rows = np.zeros((6, 4))
    rows[ROW_OF] = z.T
    sim.beam.add_n_particles(*rows, qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
    sim.hook["before_slice"] = lambda s: None
    sim.track_particles()
    b = np.asarray(sim.beam.real[:6, :4])[ROW_OF].T
    assert sim.reference.pt == pytest.approx(sa.reference.pt, rel=1e-14)
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-18)


# --- ShortRF ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("phase", [-90.0, -30.0, 0.0, 60.0])
def test_shortrf_energy_kick(phase):
    """Oracle: energy form of the thin gap (numpy_maps_b.shortrf); the reference gains V cos(phase) in gamma."""
    V, f = 0.02, 1.3e9
    bg, ref = ref_bg()
    g0 = ref.gamma
    z = random_points(30, [1e-3, 1e-4, 1e-3, 1e-4, 3e-2, 1e-3])
    out, sim = track([E.ShortRF(V, f, phase)], z)
    px, py, pt, gf = nm.shortrf(z[:, 4], z[:, 1], z[:, 3], z[:, 5], V, f, phase, g0)
    assert sim.reference.gamma == pytest.approx(gf, rel=1e-15)
    assert sim.reference.gamma - g0 == pytest.approx(V * math.cos(math.radians(phase)), rel=1e-12, abs=1e-15)
    assert sim.reference.s == 0.0
    np.testing.assert_allclose(out[:, 1], px, rtol=1e-13)
    np.testing.assert_allclose(out[:, 3], py, rtol=1e-13)
    np.testing.assert_allclose(out[:, 5], pt, rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(out[:, [0, 2, 4]], z[:, [0, 2, 4]])
    # reference momentum direction kept, magnitude scaled: pz = beta gamma
    assert sim.reference.pz == pytest.approx(sim.reference.beta_gamma, rel=1e-14)


def test_shortrf_linear_map_and_jacobian():
    """ImpactX ShortRF.H linearization: R22 = R44 = R66 = bgi/bgf, R65 = k V sin(phi)/bgf; Jacobian symplectic in dynamic units."""
    V, f, ph = 0.02, 1.3e9, -30.0
    _, ref = ref_bg()
    bgi = ref.beta_gamma
    gf = ref.gamma + V * math.cos(math.radians(ph))
    bgf = math.sqrt(gf**2 - 1)
    k = 2 * math.pi * f / nm.C_LIGHT
    R = tmap([E.ShortRF(V, f, ph)])
    expect = np.eye(6)
    expect[1, 1] = expect[3, 3] = expect[5, 5] = bgi / bgf
    expect[5, 4] = k * V * math.sin(math.radians(ph)) / bgf
    np.testing.assert_allclose(R, expect, rtol=1e-7, atol=1e-10)
    z0 = random_points(1, [1e-3, 1e-4, 1e-3, 1e-4, 3e-2, 1e-3])[0]
    M = jacobian([E.ShortRF(V, f, ph)], z0, h=1e-6)
    D = lambda bg: np.diag([1, bg, 1, bg, 1, bg])  # noqa: E731
    assert symplectic_error(D(bgf) @ M @ np.linalg.inv(D(bgi))) < 1e-8


# --- Aperture -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,action,rx,ry", [("rectangular", "transmit", 0.0, 0.0), ("elliptical", "transmit", 0.0, 0.0),
                                                 ("rectangular", "absorb", 0.0, 0.0), ("elliptical", "absorb", 4e-3, 5e-3)])
@pytest.mark.parametrize("kind", CPU_KINDS)
def test_aperture_losses(shape, action, rx, ry, kind):
    """Which particles are lost (numpy_maps_b.aperture_lost), where (s_lost = s of the aperture), frozen coordinates."""
    ax, ay = 1e-3, 1.5e-3
    z = random_points(400, [2e-3, 1e-4, 2e-3, 1e-4, 1e-3, 1e-4])
    z[:, 1] = z[:, 3] = 0.0  # no transverse motion in the first drift: the aperture sees the initial x, y
    ap = E.Aperture(ax, ay, repeat_x=rx, repeat_y=ry, shape=shape, action=action)
    out, sim = track([E.Drift(ds=1.5), ap, E.Drift(ds=2.0)], z, kind=kind)
    expect = nm.aperture_lost(z[:, 0], z[:, 2], ax, ay, rx, ry, shape, action)
    lost = np.asarray(sim.beam.state[:400]) > 0
    assert 0 < expect.sum() < 400
    np.testing.assert_array_equal(lost, expect)
    assert (np.asarray(sim.beam.state[:400])[lost] == 2).all()  # state = element index + 1
    np.testing.assert_allclose(np.asarray(sim.beam.s_lost[:400])[lost], 1.5, rtol=1e-15)
    after_first = z.copy()
    after_first[:, 4] += 1.5 * z[:, 5] / sim.reference.beta_gamma**2
    np.testing.assert_allclose(out[lost], after_first[lost], rtol=1e-14, atol=1e-18)  # frozen at the aperture
    after_all = z.copy()
    after_all[:, 4] += 3.5 * z[:, 5] / sim.reference.beta_gamma**2
    np.testing.assert_allclose(out[~lost], after_all[~lost], rtol=1e-12, atol=1e-18)
    df = sim.beam.lost_to_df()
    assert len(df) == expect.sum()
    assert sim.beam.total_number_of_particles() == 400 - expect.sum()


# --- LinearMap ------------------------------------------------------------------------------------------------
def test_linear_map_ordering_and_ds():
    """ImpactX LinearMap: x_f = R(1,1) x + R(1,2) px + ..., order (x, px, y, py, t, pt); ds only advances s."""
    R = np.eye(6) + 0.01 * np.arange(36).reshape(6, 6)
    np.testing.assert_allclose(tmap([E.LinearMap(R.tolist(), ds=0.7)]), R, rtol=1e-15)
    _, sim = track([E.LinearMap(R.tolist(), ds=0.7)], np.zeros((1, 6)))
    assert sim.reference.s == pytest.approx(0.7)
    assert sim.reference.t == pytest.approx(0.7 / sim.reference.beta, rel=1e-14)


# --- serial == openmp -----------------------------------------------------------------------------------------
def all_elements():
    return [
        E.Multipole(3, 100.0, -50.0), E.NonlinearLens(knll=1e-3, cnll=0.01), E.Kicker(1e-4, 2e-4),
        E.PlaneXYRot(30.0), E.ConstF(ds=1.0, kx=1.0, ky=-0.5, kt=0.3, nslice=3), E.Sol(ds=1.0, ks=0.8, nslice=2),
        E.ShortRF(0.01, 1.3e9, -30.0), E.Buncher(0.01, 15.0),
        E.SoftSolenoid(ds=1.0, bscale=0.5, cos_coefficients=COS, sin_coefficients=SIN, nslice=2, mapsteps=4),
        E.SoftQuadrupole(ds=1.0, gscale=1.0, cos_coefficients=COS, sin_coefficients=SIN, nslice=2, mapsteps=4),
        E.RFCavity(ds=1.0, escale=0.05, freq=1.3e9, phase=-45.0, cos_coefficients=COS, sin_coefficients=SIN,
                   nslice=2, mapsteps=4),
        E.Aperture(2.5e-3, 2.5e-3, shape="elliptical"),
        E.Sol(ds=0.5, ks=0.3, dx=1e-4, dy=-2e-4, rotation=10.0, aperture_x=3e-3, aperture_y=3e-3),
    ]


def test_serial_and_openmp_identical():
    z = random_points(3000, [1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])
    a, sa = track(all_elements(), z, kind="serial")
    b, sb = track(all_elements(), z, kind="openmp")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.asarray(sa.beam.state), np.asarray(sb.beam.state))
    np.testing.assert_array_equal(np.asarray(sa.beam.s_lost), np.asarray(sb.beam.s_lost))
    assert 0 < int((np.asarray(sa.beam.state) > 0).sum()) < 3000
