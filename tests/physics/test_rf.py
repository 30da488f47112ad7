"""RF elements (Buncher, RFCavity, ShortRF) against analytic maps, ODE solutions, ImpactX's example numbers,
symplecticity in dynamic units and energy bookkeeping. Oracles: tests/physics/track_rows.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import elements as E
from numpy_maps import linear_matrices, soft_edge  # tests/physics is on sys.path (pytest rootdir-relative import)
from numpy_maps import rf as rf_maps
from track_rows import (
    COS,
    ROW_OF,
    SIN,
    jacobian,
    make_sim,
    point_sampler,
    ref_bg,
    symplectic_error,
    tmap,
    track,
)

pytestmark = pytest.mark.physics

random_points = point_sampler()


# --- Buncher ------------------------------------------------------------------------------------------------
def test_buncher_matrix():
    bg, _ = ref_bg()
    R = tmap([E.Buncher(0.01, 15.0)])
    np.testing.assert_allclose(R, linear_matrices.buncher_matrix(0.01, 15.0, bg), rtol=1e-14, atol=1e-16)
    assert symplectic_error(R) < 1e-12


# --- RFCavity ----------------------------------------------------------------------------------------------
TESLA_COS = [
    0.1644024074311037,
    -0.1324009958969339,
    4.3443060026047219e-002,
    8.5602654094946495e-002,
    -0.2433578169042885,
    0.5297150596779437,
    0.7164884680963959,
    -5.2579522442877296e-003,
    -5.5025369142193678e-002,
    4.6845673335028933e-002,
    -2.3279346335638568e-002,
    4.0800777539657775e-003,
    4.1378326533752169e-003,
    -2.5040533340490805e-003,
    -4.0654981400000964e-003,
    9.6630592067498289e-003,
    -8.5275895985990214e-003,
    -5.8078747006425020e-002,
    -2.4044337836660403e-002,
    1.0968240064697212e-002,
    -3.4461179858301418e-003,
    -8.1201564869443749e-004,
    2.1438992904959380e-003,
    -1.4997753525697276e-003,
    1.8685171825676386e-004,
]
TESLA_SIN = [0.0] * 25


def tesla(**kw):
    args = dict(
        ds=1.31879807,
        escale=62.0,
        freq=1.3e9,
        phase=85.5,
        cos_coefficients=TESLA_COS,
        sin_coefficients=TESLA_SIN,
        mapsteps=100,
        nslice=4,
    )
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
    el = E.RFCavity(
        ds=L, escale=esc, freq=f, phase=ph, cos_coefficients=COS, sin_coefficients=SIN, mapsteps=1600, nslice=1
    )
    sim = make_sim([el], species="electron", kin_energy_MeV=5.0)
    ref = sim.reference
    g0, bgi = ref.gamma, ref.beta_gamma
    R = el.transport_map(ref)
    prof = lambda z: soft_edge.fourier_profile(z, L, COS, SIN)  # noqa: E731
    T, PT = rf_maps.rf_on_axis(esc, prof, f, ph, L, 0.0, -g0)
    err = []
    for steps in (100, 400):
        r = ref.copy()
        E.RFCavity(
            ds=L, escale=esc, freq=f, phase=ph, cos_coefficients=COS, sin_coefficients=SIN, mapsteps=steps
        ).push_ref(r, 1)
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
        Tp, PTp = rf_maps.rf_on_axis(esc, prof, f, ph, L, dT, -g0 + dPT)
        Tm, PTm = rf_maps.rf_on_axis(esc, prof, f, ph, L, -dT, -g0 - dPT)
        col.append([(Tp - Tm) / (2 * h), (PTp - PTm) / (2 * h)])
    # dynamic block [[dT/dT0, dT/dPT0], [dPT/dT0, dPT/dPT0]]; static pt = PT_dev / bg
    dyn = np.array(col).T
    static = dyn * np.array([[1.0, bgi], [1.0 / bgf, bgi / bgf]])
    np.testing.assert_allclose(R[4:, 4:], static, rtol=5e-5, atol=1e-9)  # splitting error O(dz^2), dz = 0.6 mm


def test_rfcavity_symplectic_in_dynamic_units():
    """Each slice map, in dynamic units (momenta times the reference beta gamma), is symplectic."""
    _, ref = ref_bg("electron", 5.0)
    el = E.RFCavity(
        ds=1.0, escale=0.4, freq=1.3e9, phase=-30.0, cos_coefficients=COS, sin_coefficients=SIN, mapsteps=20, nslice=3
    )
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
    d = distribution.Waterbag(
        lambdaX=0.352498964601e-3,
        lambdaY=0.207443478142e-3,
        lambdaT=0.70399950746e-4,
        lambdaPx=5.161852770e-6,
        lambdaPy=9.163582894e-6,
        lambdaPt=0.260528852031e-3,
        muxpx=0.5712386101751441,
        muypy=-0.514495755427526,
        mutpt=-5.05773e-10,
    )
    sim.add_particles(bunch_charge_C=1e-10, distr=d, npart=10000, seed=7)
    sim.track_particles()
    x, y, t, px, py, pt = np.asarray(sim.beam.real[:6])

    def emit(q, p):
        q, p = q - q.mean(), p - p.mean()
        return math.sqrt(np.mean(q * q) * np.mean(p * p) - np.mean(q * p) ** 2)

    got = [x.std(), y.std(), t.std(), emit(x, px), emit(y, py), emit(t, pt)]
    expected = [
        3.52596000000e-4,
        2.41775000000e-4,
        7.0417917357e-5,
        1.70893497973e-9,
        1.70893497973e-9,
        1.413901564889e-8,
    ]
    np.testing.assert_allclose(got, expected, rtol=1.5 / math.sqrt(10000) * 1.5)


def test_rfcavity_rebuilt_every_period():
    """The map depends on the reference arrival time: 2 periods of [RFCavity] = one pass of [RFCavity, RFCavity]."""
    z = random_points(4, [1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])

    def el() -> E.RFCavity:
        return E.RFCavity(
            ds=1.0,
            escale=0.4,
            freq=1.3e9,
            phase=-30.0,
            cos_coefficients=COS,
            sin_coefficients=SIN,
            mapsteps=5,
            nslice=2,
        )

    a, sa = track([el()], z, species="electron", kin_energy_MeV=5.0, periods=2)
    b, sb = track([el(), el()], z, species="electron", kin_energy_MeV=5.0)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-18)
    assert sa.reference.pt == pytest.approx(sb.reference.pt, rel=1e-14)


def test_rfcavity_slicewise_equals_fused():
    """Slice-level tracking (slice diagnostics / before_slice hooks) pushes the same slices as the fused loop."""
    z = random_points(4, [1e-3, 1e-4, 1e-3, 1e-4, 1e-3, 1e-4])
    el = E.RFCavity(
        ds=1.0, escale=0.4, freq=1.3e9, phase=-30.0, cos_coefficients=COS, sin_coefficients=SIN, mapsteps=5, nslice=3
    )
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
    """Oracle: energy form of the thin gap (numpy_maps.rf.shortrf); the reference gains V cos(phase) in gamma."""
    V, f = 0.02, 1.3e9
    bg, ref = ref_bg()
    g0 = ref.gamma
    z = random_points(30, [1e-3, 1e-4, 1e-3, 1e-4, 3e-2, 1e-3])
    out, sim = track([E.ShortRF(V, f, phase)], z)
    px, py, pt, gf = rf_maps.shortrf(z[:, 4], z[:, 1], z[:, 3], z[:, 5], V, f, phase, g0)
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
    k = 2 * math.pi * f / rf_maps.C_LIGHT
    R = tmap([E.ShortRF(V, f, ph)])
    expect = np.eye(6)
    expect[1, 1] = expect[3, 3] = expect[5, 5] = bgi / bgf
    expect[5, 4] = k * V * math.sin(math.radians(ph)) / bgf
    np.testing.assert_allclose(R, expect, rtol=1e-7, atol=1e-10)
    z0 = random_points(1, [1e-3, 1e-4, 1e-3, 1e-4, 3e-2, 1e-3])[0]
    M = jacobian([E.ShortRF(V, f, ph)], z0, h=1e-6)
    D = lambda bg: np.diag([1, bg, 1, bg, 1, bg])  # noqa: E731
    assert symplectic_error(D(bgf) @ M @ np.linalg.inv(D(bgi))) < 1e-8
