"""Spin tracking against the NumPy twins (tests/physics/numpy_maps/spin.py) on every kernel kind, the spin norm,
the analytic reference precession, and ChrAcc's closed form against the linearised Thomas-BMT precession
integrated numerically along each orbit (its own docstring says how).

Where the expected numbers come from: the twins are ImpactX's formulas transcribed apart from the C headers
(the per-particle check against ImpactX 26.10 itself is tests/oracle/test_spin_oracle.py); the reference
particle's spin precesses by G gamma theta about y through a sector bend of angle theta (Thomas-BMT, Jackson
3rd ed. eq. 11.171 in the horizontal plane, spin relative to the velocity) and by -(1 + G) ks L about s through a
solenoid (the Larmor rotation of the spin in the rotating frame of ImpactX's Sol map). Tolerance: 1e-13 per
component for twin and kernel (the same double-precision expressions, regrouped), 1e-14 on the norm.
"""

from __future__ import annotations

import numpy as np
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E
from numpy_maps import bends, drifts_quads, spin  # tests/physics is on sys.path (pytest rootdir-relative import)
from track_columns import MAP_TO_ROWS, random_points

pytestmark = pytest.mark.physics

SPECIES, EKIN = "proton", 250.0
SPINMAP_A = np.array(
    [[10.0, -20.0, 30.0, 5.0, -7.0, 50.0], [-3.0, 15.0, 25.0, -40.0, 60.0, 8.0], [45.0, 2.0, -12.0, 35.0, 9.0, -70.0]]
)


def spins(n: int) -> np.ndarray:
    s = np.random.default_rng(11).normal(size=(3, n))
    return s / np.linalg.norm(s, axis=0)


def track_spin(el: E.Element, z: np.ndarray, s: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, Simulation]:
    sim = Simulation(kind=kind, diagnostics=False)
    sim.reference.set_species(SPECIES).set_kin_energy_MeV(EKIN)
    sim.spin = True
    rows = np.asarray(z, dtype=float)[np.argsort(MAP_TO_ROWS)]
    sim.beam.add_n_particles(
        *rows, qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0, sx=s[0], sy=s[1], sz=s[2]
    )
    sim.lattice.append(el)
    sim.track_particles()
    df = sim.beam.to_df().sort_values("id")
    zo = df[["position_x", "momentum_x", "position_y", "momentum_y", "position_t", "momentum_t"]].to_numpy().T
    return zo, df[["spin_x", "spin_y", "spin_z"]].to_numpy().T, sim


def cases(beta: float, gamma: float, G: float) -> dict:
    """name -> (element of one slice, spin twin (z, s) -> s, phase-space twin z -> z)"""
    return {
        "QuadF": (
            E.Quad(ds=0.6, k=2.2),
            lambda z, s: spin.quad(z, s, 0.6, 2.2, G, gamma),
            lambda z: drifts_quads.quad(z, 0.6, 2.2, beta, gamma),
        ),
        "QuadD": (
            E.Quad(ds=0.5, k=-3.1),
            lambda z, s: spin.quad(z, s, 0.5, -3.1, G, gamma),
            lambda z: drifts_quads.quad(z, 0.5, -3.1, beta, gamma),
        ),
        "Sbend": (
            E.Sbend(ds=1.2, rc=4.0),
            lambda z, s: spin.sbend(z, s, 1.2, 4.0, G, beta, gamma),
            lambda z: bends.sbend(z, 1.2, 4.0, beta, gamma),
        ),
        "Sol": (E.Sol(ds=0.7, ks=1.3), lambda z, s: spin.sol(z, s, 0.7, 1.3, G, beta, gamma), None),
        "DipEdge_exit": (
            E.DipEdge(psi=-0.2, rc=3.0, g=0.05, K2=0.5, location="exit"),
            lambda z, s: spin.dipedge(z, s, -0.2, 3.0, True, G, beta, gamma),
            lambda z: bends.dipedge(z, -0.2, 3.0, 0.05, 0.5),
        ),
        "SpinMap": (
            E.SpinMap(v=[0.3, -0.2, 0.5], A=SPINMAP_A.tolist()),
            lambda z, s: spin.coupled(z, s, SPINMAP_A, [0.3, -0.2, 0.5]),
            lambda z: z,
        ),
    }


@pytest.mark.parametrize("name", ["QuadF", "QuadD", "Sbend", "Sol", "DipEdge_exit", "SpinMap"])
def test_kernel_spin_matches_numpy_twin(name: str, kind: str) -> None:
    z, s = random_points(64, 1e-3), spins(64)
    probe = Simulation(kind="serial", diagnostics=False)
    ref = probe.reference.set_species(SPECIES).set_kin_energy_MeV(EKIN)
    el, twin, ps_twin = cases(ref.beta, ref.gamma, ref.gyromagnetic_anomaly)[name]
    zo, so, _ = track_spin(el, z, s, kind)
    want = np.array(twin(tuple(z), tuple(s)))
    np.testing.assert_allclose(so, want, rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(so, axis=0), 1.0, rtol=0, atol=1e-14)
    assert np.abs(so - s).max() > 1e-6  # the element rotates the spin
    if ps_twin is not None:
        np.testing.assert_allclose(zo, np.array(ps_twin(tuple(z))), rtol=1e-12, atol=1e-13)


def test_reference_spin_precession_is_thomas_bmt() -> None:
    """On the reference orbit the spin turns by G gamma theta about y in a sector bend and by (1 + G) ks L about s
    in a solenoid (angle between entry and exit of spins perpendicular to the axis; the axis component stays)."""
    probe = Simulation(kind="serial", diagnostics=False)
    ref = probe.reference.set_species(SPECIES).set_kin_energy_MeV(EKIN)
    G, gamma = ref.gyromagnetic_anomaly, ref.gamma
    for el, axis, angle in (
        (E.Sbend(ds=1.2, rc=4.0, nslice=3), 1, G * gamma * 1.2 / 4.0),
        (E.Sol(ds=0.7, ks=1.3, nslice=2), 2, (1.0 + G) * 1.3 * 0.7),
    ):
        perp = [i for i in range(3) if i != axis]
        s = np.zeros((3, 3))
        s[perp[0], 0] = s[perp[1], 1] = 1.0  # two spins perpendicular to the axis
        s[:, 2] = [0.6, 0.8, 0.0] if axis == 1 else [0.6, 0.0, 0.8]  # one with a component along the axis
        _, so, _ = track_spin(el, np.zeros((6, 3)), s, "serial")
        np.testing.assert_allclose(so[axis], s[axis], atol=1e-14)
        turned = np.arccos(np.clip((s[:, :2] * so[:, :2]).sum(axis=0), -1.0, 1.0))
        np.testing.assert_allclose(turned, angle, atol=1e-12)


def rotate(lam: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Rodrigues: each column of s turned by the rotation vector in the same column of lam (3 x n) [rad]."""
    a = np.linalg.norm(lam, axis=0)
    k = lam / np.where(a == 0.0, 1.0, a)
    kxs = np.cross(k, s, axis=0)
    return s * np.cos(a) + kxs * np.sin(a) + k * (k * s).sum(axis=0) * (1.0 - np.cos(a))


@pytest.mark.parametrize(("ez", "bz"), [(0.05, 0.3), (-0.04, -0.8), (0.1, 0.0)])
def test_chracc_spin_is_linearised_thomas_bmt_along_the_orbit(kind: str, ez: float, bz: float) -> None:
    """ChrAcc's spin push (elements/c/spin/chracc.h, a closed form) against the Thomas-BMT precession (Jackson
    3rd ed. eq. 11.170) in the uniform fields Ez, Bz integrated numerically (64-point Gauss-Legendre in s) along
    each particle's orbit: to first order in the transverse velocity beta_perp = P(s) / gamma(s), with the kinetic
    transverse momentum P(s) = P0 exp(-i phi(s)) turned by the cyclotron phase phi(s) = bz int ds / (beta gamma)
    and gamma(s) = gamma_i + ez s the particle's own, the transverse precession per metre is
    beta_perp / beta (G gamma beta bz / (gamma + 1) - i (G + 1 / (gamma + 1)) ez) (x + i y components), seen in the
    frame turning with the longitudinal precession -(1 + G) bz / (beta gamma); the spin turns by its integral
    first, then by -(1 + G) phi(L) about s (the Larmor rotation). This is the map ImpactX 26.10 applies (its
    per-particle agreement: tests/oracle/test_spin_oracle.py). Tolerance 1e-12 per component (quadrature error
    ~1e-16, the closed form's round-off ~1e-15); the spins move by more than 1e-6."""
    z, s = random_points(32, 1e-3), spins(32)
    L = 0.5
    el = E.ChrAcc(ds=L, ez=ez, bz=bz)
    _, so, _ = track_spin(el, z, s, kind)
    probe = Simulation(kind="serial", diagnostics=False)
    ref = probe.reference.set_species(SPECIES).set_kin_energy_MeV(EKIN)
    G, g0 = ref.gyromagnetic_anomaly, ref.gamma
    bg0 = np.sqrt(g0 * g0 - 1.0)
    x, px, y, py, _, pt = z
    gi = g0 - pt * bg0  # the particle's entry gamma (pt in units of the reference momentum)
    nodes, weights = np.polynomial.legendre.leggauss(64)
    ss = 0.5 * L * (nodes[:, None] + 1.0)
    g = gi[None, :] + ez * ss
    bg = np.sqrt(g * g - 1.0)
    phi = bz * (np.arccosh(g) - np.arccosh(gi)[None, :]) / ez
    rate = (G * bz * bg / (g + 1.0) - 1j * (G + 1.0 / (g + 1.0)) * ez) / bg  # per unit P0, per metre
    integral = 0.5 * L * (weights[:, None] * np.exp(1j * G * phi) * rate).sum(axis=0)
    lam = (bg0 * px + 0.5 * bz * y + 1j * (bg0 * py - 0.5 * bz * x)) * integral
    want = rotate(np.array([lam.real, lam.imag, np.zeros_like(lam.real)]), s)
    gf = gi + ez * L
    larmor = -(1.0 + G) * bz * (np.arccosh(gf) - np.arccosh(gi)) / ez
    want = rotate(np.array([np.zeros_like(larmor), np.zeros_like(larmor), larmor]), want)
    np.testing.assert_allclose(so, want, rtol=0, atol=1e-12)
    assert np.abs(so - s).max() > 1e-6
