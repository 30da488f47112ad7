"""Bends (Sbend, ExactSbend, CFbend, DipEdge, ThinDipole, PRot) against NumPy twins, analytic matrices,
symplecticity, limits, losses and the reference-particle push; the kernel-vs-twin check runs on every
kernel kind (``kind`` fixture). Oracles and units: tests/physics/track_columns.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from beamtrack.engine import elements as E
from numpy_maps import phase_space as nm  # tests/physics is on sys.path (pytest rootdir-relative import)
from track_columns import (
    ALL_CASES,
    ALL_LINEAR_EXPECT,
    BETA,
    GAMMA,
    LINEAR,
    PHI_DEG,
    RC,
    REF,
    check_kernel_symplectic,
    check_twin_symplectic,
    random_points,
    ref_after,
    rigidity,
    track,
    transfer_map,
    wolski_sbend,
)

pytestmark = pytest.mark.physics

CASES = {k: ALL_CASES[k] for k in ("Sbend", "CFbend", "ExactSbend", "DipEdge", "ThinDipole", "PRot")}
LINEAR_EXPECT = {
    k: ALL_LINEAR_EXPECT[k] for k in ("Sbend", "SbendNeg", "CFbendF", "CFbendD", "CFbendHyp", "DipEdge", "ExactSbend")
}
NONLINEAR = [k for k in CASES if k not in LINEAR]


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_matches_numpy_twin(name: str, kind: str) -> None:
    """Kernel vs the literal ImpactX formulas, at amplitudes up to 5e-2 (well into the nonlinear regime).

    Tolerance: both evaluate the same expressions with different rounding; the literal forms lose up
    to ~|L/beta| * eps (t of the drifts) and ~rc * eps (x of ExactSbend) to cancellation, so 1e-13
    absolute plus 1e-12 relative holds with margin.
    """
    make, twin, n = CASES[name]
    z = random_points(64, 5e-2)
    got, state, _ = track([make()], z, kind)
    want = np.array(nm.repeat(twin, tuple(z), n))
    assert (state == 0).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", list(LINEAR_EXPECT))
def test_transfer_matrix_matches_textbook(name: str) -> None:
    make, expect, tol = LINEAR_EXPECT[name]
    R = transfer_map(make())
    np.testing.assert_allclose(R, expect(), rtol=0, atol=tol)


def test_thin_dipole_and_prot_linearisation() -> None:
    """ImpactX's transport_map docs: ThinDipole R21 = -theta/rc, R26 = -theta/beta, R51 = theta/beta
    (Ripken-Schmidt kick linearised); PRot R11 = cos(phi_in)/cos(phi_out), R22 = 1/R11,
    R26 = -sin(theta)/(beta cos(phi_in)), R51 = sin(theta)/(beta cos(phi_out)) (Dragt, App. V)."""
    th = math.radians(6.0)
    want = np.eye(6)
    want[1, 0], want[1, 5], want[4, 0] = -th / RC, -th / BETA, th / BETA
    np.testing.assert_allclose(transfer_map([E.ThinDipole(theta=6.0, rc=RC)]), want, atol=1e-7)
    pi, po = math.radians(4.0), math.radians(-7.0)
    want = np.eye(6)
    want[0, 0], want[1, 1] = math.cos(pi) / math.cos(po), math.cos(po) / math.cos(pi)
    want[1, 5] = -math.sin(po - pi) / (BETA * math.cos(pi))
    want[4, 0] = math.sin(po - pi) / (BETA * math.cos(po))
    np.testing.assert_allclose(transfer_map([E.PRot(phi_in=4.0, phi_out=-7.0)]), want, atol=1e-7)


@pytest.mark.parametrize("name", ["Sbend", "CFbendF", "CFbendHyp", "DipEdge"])
def test_linear_maps_symplectic(name: str) -> None:
    make, _, _ = LINEAR_EXPECT[name]
    assert nm.symplecticity_error(transfer_map(make())) < 1e-12


@pytest.mark.parametrize("name", NONLINEAR)
def test_twin_jacobian_symplectic(name: str) -> None:
    _, twin, n = CASES[name]
    check_twin_symplectic(twin, n, name)


@pytest.mark.parametrize("name", NONLINEAR)
def test_kernel_jacobian_symplectic(name: str) -> None:
    make, twin, n = CASES[name]
    check_kernel_symplectic(make, twin, n, name)


def test_exact_sbend_limits() -> None:
    """phi = 0, B = 0 is exactly an ExactDrift (ImpactX's special case); a weak bend (rc = 1e6 m)
    is an exact drift up to O(L^2 / rc) ~ 1e-6 in px, t."""
    z = random_points(32, 5e-2)
    drift, _, _ = track([E.ExactDrift(ds=1.5)], z)
    zero, _, _ = track([E.ExactSbend(ds=1.5, phi=0.0)], z)
    np.testing.assert_array_equal(zero, drift)
    weak, _, _ = track([E.ExactSbend(ds=1.5, phi=math.degrees(1.5 / 1e6))], z)
    np.testing.assert_allclose(weak, drift, rtol=0, atol=5e-6)


def test_cfbend_limits() -> None:
    """CFbend k = 0 equals Sbend (Sbend has no gradient); gx = 0 (k = -1/rc^2) takes the drift limit in x."""
    np.testing.assert_allclose(
        transfer_map([E.CFbend(ds=1.2, rc=RC, k=0.0)]), transfer_map([E.Sbend(ds=1.2, rc=RC)]), rtol=0, atol=1e-14
    )
    R = transfer_map([E.CFbend(ds=1.2, rc=RC, k=-1.0 / RC**2)])
    k0, L = 1.0 / RC, 1.2
    assert R[0, 0] == pytest.approx(1.0, abs=1e-15) and R[0, 1] == pytest.approx(L, abs=1e-15)
    assert R[0, 5] == pytest.approx(-k0 * L**2 / (2 * BETA), abs=1e-15)  # Wolski R16 with wx -> 0, sign flip
    assert R[4, 5] == pytest.approx(L / (BETA * GAMMA) ** 2 - k0**2 * L**3 / (6 * BETA**2), abs=1e-15)
    assert nm.symplecticity_error(R) < 1e-12


def test_thin_dipoles_converge_to_sbend() -> None:
    """N ThinDipoles of angle theta/N between drifts of L/N (drift-kick-drift) converge to the Sbend
    linear map as 1/N^2 (second-order splitting)."""
    L, theta = 1.2, 1.2 / RC
    target = transfer_map([E.Sbend(ds=L, rc=RC)])
    errs = []
    for N in (8, 16):
        line: list[E.Element] = [E.ChrDrift(ds=L / (2 * N))]
        for i in range(N):
            line += [
                E.ThinDipole(theta=math.degrees(theta / N), rc=RC),
                E.ChrDrift(ds=L / N if i < N - 1 else L / (2 * N)),
            ]
        errs.append(np.abs(transfer_map(line) - target).max())
    assert errs[1] < 1e-3
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_exact_sbend_field_given() -> None:
    """B != 0: rc = B rho / B and the angle is |phi| (ImpactX): the linear map is Wolski's sector bend
    of radius B rho / B over arc length rc * phi (not ds)."""
    B = 1.1
    rc = rigidity(GAMMA) / B
    R = transfer_map([E.ExactSbend(ds=0.9, phi=PHI_DEG, B=B)])
    np.testing.assert_allclose(R, wolski_sbend(rc * math.radians(PHI_DEG), rc), atol=1e-7)


# --- losses ---------------------------------------------------------------------------------------------
def test_losses_outside_the_map_domain() -> None:
    """ExactDrift: px^2 > (1 + delta)^2 has no real pz; ExactSbend: pperp^2 <= px^2; PRot: pzf <= 0.
    Lost particles keep their entry coordinates; the others are untouched by the loss logic."""
    z = np.zeros((6, 2))
    z[1] = [1.05, 1e-3]
    for el in (E.ExactDrift(ds=1.0), E.ExactSbend(ds=1.0, phi=10.0)):
        out, state, sim = track([el], z)
        assert state[0] > 0 and state[1] == 0, type(el).__name__
        np.testing.assert_array_equal(out[:, 0], z[:, 0])
        assert sim.beam.total_number_of_particles() == 1
    z[1] = [0.3, 1e-3]
    out, state, _ = track([E.PRot(phi_in=0.0, phi_out=80.0)], z)  # pzf = 0.95 cos 80 - 0.3 sin 80 < 0
    assert state[0] > 0 and state[1] == 0


@pytest.mark.parametrize(
    "el, rc, theta",
    [
        (E.Sbend(ds=1.2, rc=RC, nslice=4), RC, 1.2 / RC),
        (E.Sbend(ds=1.2, rc=-RC), -RC, -1.2 / RC),
        (E.CFbend(ds=1.2, rc=RC, k=0.5, nslice=3), RC, 1.2 / RC),
        (E.ExactSbend(ds=1.2, phi=PHI_DEG, nslice=5), 1.2 / math.radians(PHI_DEG), math.radians(PHI_DEG)),
        (E.ExactSbend(ds=1.2, phi=-PHI_DEG), -1.2 / math.radians(PHI_DEG), -math.radians(PHI_DEG)),
        (E.ExactSbend(ds=1.2, phi=PHI_DEG, B=0.8, nslice=2), rigidity(GAMMA) / 0.8, math.radians(PHI_DEG)),
        (E.ExactSbend(ds=1.2, phi=PHI_DEG, B=-0.8), -rigidity(GAMMA) / 0.8, -math.radians(PHI_DEG)),
    ],
    ids=["Sbend", "SbendNeg", "CFbend", "ExactSbend", "ExactSbendNeg", "ExactSbendB", "ExactSbendBNeg"],
)
def test_reference_on_circle(el: E.Element, rc: float, theta: float) -> None:
    """Arc of radius rc turning by theta (ImpactX: positive rc bends towards -x):
    x = -rc (1 - cos theta), z = rc sin theta, (px, pz) = beta gamma (-sin theta, cos theta),
    t = rc theta / beta (time of flight along the arc), s += ds, gamma unchanged."""
    r = ref_after(el)
    bg = math.sqrt(GAMMA**2 - 1)
    assert r.s == pytest.approx(1.2, rel=1e-15) and r.gamma == GAMMA
    assert r.x == pytest.approx(-rc * (1 - math.cos(theta)), rel=1e-12)
    assert r.z == pytest.approx(rc * math.sin(theta), rel=1e-12)
    assert r.px == pytest.approx(-bg * math.sin(theta), rel=1e-12)
    assert r.pz == pytest.approx(bg * math.cos(theta), rel=1e-12)
    assert r.t == pytest.approx(rc * theta / BETA, rel=1e-12)
    assert r.y == 0.0 and r.py == 0.0


def test_reference_thin_elements() -> None:
    """ThinDipole rotates (px, pz) by theta and moves nothing; DipEdge and PRot leave the reference alone."""
    bg = math.sqrt(GAMMA**2 - 1)
    r = ref_after(E.ThinDipole(theta=6.0, rc=RC))
    th = math.radians(6.0)
    assert r.px == pytest.approx(-bg * math.sin(th), rel=1e-14) and r.pz == pytest.approx(bg * math.cos(th), rel=1e-14)
    assert (r.s, r.x, r.z, r.t, r.gamma) == (0.0, 0.0, 0.0, 0.0, GAMMA)
    for el in (E.DipEdge(psi=0.3, rc=RC, g=0.05, K2=0.45), E.PRot(phi_in=4.0, phi_out=-7.0)):
        r = ref_after(el)
        assert (r.s, r.x, r.z, r.t, r.px, r.pz, r.gamma) == (0.0, 0.0, 0.0, 0.0, 0.0, bg, GAMMA)


_NL_EDGE = {"psi": 0.12, "rc": 3.0, "g": 0.05, "K2": 0.5, "R": 0.7, "K1": 0.3, "K4": 0.2, "K5": -0.1, "K6": 0.05}


@pytest.mark.parametrize("location", ["entry", "exit"])
def test_dipedge_nonlinear_is_symplectic(location: str, kind: str) -> None:
    """Hwang and Lee's fringe map comes from a generating function, so its Jacobian is symplectic (central
    differences with h = 1e-7 at 1 cm / 1 mrad amplitudes: error <= 1e-9, from the differences' truncation
    and round-off); the map is not the linear one (its Jacobian differs by >= 1e-3)."""
    el = E.DipEdge(**_NL_EDGE, model="nonlinear", location=location)
    z0 = np.array([1e-2, 2e-3, -1e-2, 1e-3, 1e-3, 2e-3])
    h = 1e-7
    cols = [z0] + [z0 + s * h * np.eye(6)[j] for j in range(6) for s in (1.0, -1.0)]
    out, state, _ = track([el], np.array(cols).T, kind)
    assert (state == 0).all()
    Jm = np.stack([(out[:, 1 + 2 * j] - out[:, 2 + 2 * j]) / (2 * h) for j in range(6)], axis=1)
    J6 = np.kron(np.eye(3), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    assert np.abs(Jm.T @ J6 @ Jm - J6).max() <= 1e-9
    R_linear = transfer_map([E.DipEdge(**_NL_EDGE)])
    assert np.abs(Jm - R_linear).max() >= 1e-3


def test_dipedge_location_only_changes_the_nonlinear_model() -> None:
    """ImpactX: the location sign enters only the nonlinear map's c3, c4, c10, c11; the linear map ignores it."""
    z = random_points(16, 1e-2)
    entry, _, _ = track([E.DipEdge(**_NL_EDGE)], z)
    exit_, _, _ = track([E.DipEdge(**_NL_EDGE, location="exit")], z)
    np.testing.assert_array_equal(entry, exit_)
    nl_entry, _, _ = track([E.DipEdge(**_NL_EDGE, model="nonlinear")], z)
    nl_exit, _, _ = track([E.DipEdge(**_NL_EDGE, model="nonlinear", location="exit")], z)
    assert np.abs(nl_entry - nl_exit).max() > 1e-6


def test_dipedge_modify_ref_part_moves_the_reference() -> None:
    """modify_ref_part: the reference takes the edge's offset x -> x - c3 (c3 = g^2 K0 / (rc cos^2 psi) at the entry)
    and the kick dpx = c13 - c2 - c3 c5 added to its px [m c] as ImpactX's DipEdge(RefPart) does (pz ~ |p| here)."""
    p = _NL_EDGE
    r = ref_after(E.DipEdge(**p, model="nonlinear", modify_ref_part=True))
    psi, rc, g, K0 = p["psi"], p["rc"], p["g"], math.pi**2 / 6
    c2 = (g / rc) ** 2 * K0 * math.sin(psi) / math.cos(psi) ** 3 / 2
    c3 = g * g / rc * K0 / math.cos(psi) ** 2
    c5 = math.tan(psi) / (2 * rc)
    c13 = math.sin(psi) ** 2 / (2 * math.cos(psi) ** 3) * g * g / (rc * p["R"]) * p["K4"]
    assert r.x == pytest.approx(-c3, rel=1e-12)
    assert r.px == pytest.approx(c13 - c2 - c3 * c5, rel=1e-12)
    assert r.s == 0.0 and r.gamma == GAMMA


def test_dipedge_envelope_map_is_the_linear_one() -> None:
    """ImpactX's DipEdge::transport_map (envelope tracking) is the linear edge map for either model."""
    from beamtrack.engine.envelope.tracking import EXPLICIT_MAPS

    R_linear = transfer_map([E.DipEdge(**_NL_EDGE, rotation=20.0)])
    R_env = EXPLICIT_MAPS["DipEdge"](E.DipEdge(**_NL_EDGE, model="nonlinear", rotation=20.0), REF)
    np.testing.assert_allclose(R_env, R_linear, rtol=0, atol=1e-13)
