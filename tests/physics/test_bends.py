"""Element maps of part A (ChrDrift, ExactDrift, ChrQuad, Sbend, ExactSbend, CFbend, DipEdge, ThinDipole,
PRot; plus the linear Drift and Quad headers) against analytic matrices, NumPy twins, symplecticity,
drift limits and the reference-particle push.

Where the expected numbers come from:
- NumPy twins (tests/physics/numpy_maps_a.py): ImpactX's formulas transcribed literally from
  src/elements/<Name>.H; the C kernels use regrouped, cancellation-free forms.
- Analytic matrices: A. Wolski, "Beam Dynamics in High Energy Particle Accelerators" (2014), ch. 3
  (drift, quadrupole, sector dipole, combined-function dipole, in (x, px, y, py, z, delta) with
  delta = dE/(p0 c) = -pt and z = -t, hence the sign flips of rows/columns 5 and 6 written below);
  K. L. Brown, SLAC-75 (1982) for the edge (to first order in the gap g / rc, as ImpactX).
- Reference particle: geometry of a circle of radius rc; s advances by ds; gamma is unchanged.
"""

from __future__ import annotations

import math

import numpy as np
import numpy_maps_a as nm  # tests/physics is on sys.path (pytest rootdir-relative import)
import pytest
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E
from scipy import constants as sc

pytestmark = pytest.mark.physics

KINDS = ["serial", "openmp"]
SPECIES, EKIN = "proton", 250.0  # beta ~ 0.61: chromatic terms differ clearly from the ultrarelativistic ones
MAP_TO_ROWS = [0, 3, 1, 4, 2, 5]  # map order (x, px, y, py, t, pt) -> container rows (x, y, t, px, py, pt)


def make_sim(kind: str = "serial") -> Simulation:
    sim = Simulation(kind=kind, diagnostics=False)
    sim.reference.set_species(SPECIES).set_kin_energy_MeV(EKIN)
    sim.compose_linear = False
    return sim


REF = make_sim().reference
BETA, GAMMA = REF.beta, REF.gamma


def track(elements: list[E.Element], z: np.ndarray, kind: str = "serial") -> tuple[np.ndarray, np.ndarray, Simulation]:
    """Track z (6 x n, map order) through ``elements``; returns (z_out, state, sim)."""
    sim = make_sim(kind)
    rows = np.asarray(z, dtype=float)[np.argsort(MAP_TO_ROWS)]  # container order x, y, t, px, py, pt
    sim.beam.add_n_particles(*rows, qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
    sim.lattice.extend(elements)
    sim.track_particles()
    out = np.asarray(sim.beam.real[:6])[MAP_TO_ROWS]
    return out, np.asarray(sim.beam.state).copy(), sim


def transfer_map(elements: list[E.Element], kind: str = "serial") -> np.ndarray:
    sim = make_sim(kind)
    sim.lattice.extend(elements)
    return sim.lattice.transfer_map(kind=kind)


def random_points(n: int, scale: float = 1e-3, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-scale, scale, size=(6, n))


def rigidity(ref_gamma: float) -> float:
    """B rho = p / q = beta gamma m c / e [T m] of the reference proton (c from scipy.constants)."""
    mass_MeV = REF.mass_MeV
    return math.sqrt(ref_gamma**2 - 1.0) * mass_MeV * 1e6 / sc.c


# --- elements, each with its NumPy twin (one slice) and slice count -----------------------------------
RC, PHI_DEG = 4.0, 15.0
CASES = {
    "Drift": (lambda: E.Drift(ds=0.7, nslice=2), lambda z: nm.drift(z, 0.35, BETA, GAMMA), 2),
    "Quad": (lambda: E.Quad(ds=0.6, k=-2.2, nslice=3), lambda z: nm.quad(z, 0.2, -2.2, BETA, GAMMA), 3),
    "ChrDrift": (lambda: E.ChrDrift(ds=1.3, nslice=2), lambda z: nm.chr_drift(z, 0.65, BETA, GAMMA), 2),
    "ExactDrift": (lambda: E.ExactDrift(ds=1.3, nslice=2), lambda z: nm.exact_drift(z, 0.65, BETA, GAMMA), 2),
    "ChrQuadF": (lambda: E.ChrQuad(ds=0.5, k=3.1, nslice=2), lambda z: nm.chr_quad(z, 0.25, 3.1, BETA, GAMMA), 2),
    "ChrQuadD": (lambda: E.ChrQuad(ds=0.5, k=-3.1), lambda z: nm.chr_quad(z, 0.5, -3.1, BETA, GAMMA), 1),
    "Sbend": (lambda: E.Sbend(ds=1.2, rc=RC, nslice=3), lambda z: nm.sbend(z, 0.4, RC, BETA, GAMMA), 3),
    "CFbend": (
        lambda: E.CFbend(ds=1.2, rc=RC, k=-0.8, nslice=2),
        lambda z: nm.cfbend(z, 0.6, RC, -0.8, BETA, GAMMA),
        2,
    ),
    "ExactSbend": (
        lambda: E.ExactSbend(ds=1.2, phi=PHI_DEG, nslice=3),
        lambda z: nm.exact_sbend(z, 1.2 / math.radians(PHI_DEG), math.radians(PHI_DEG) / 3, BETA)[0],
        3,
    ),
    "DipEdge": (lambda: E.DipEdge(psi=0.3, rc=RC, g=0.05, K2=0.45), lambda z: nm.dipedge(z, 0.3, RC, 0.05, 0.45), 1),
    "ThinDipole": (lambda: E.ThinDipole(theta=6.0, rc=RC), lambda z: nm.thin_dipole(z, math.radians(6.0), RC, BETA), 1),
    "PRot": (
        lambda: E.PRot(phi_in=4.0, phi_out=-7.0),
        lambda z: nm.prot(z, math.radians(4.0), math.radians(-7.0), BETA)[0],
        1,
    ),
}
LINEAR = ["Drift", "Quad", "Sbend", "CFbend", "DipEdge"]
NONLINEAR = [k for k in CASES if k not in LINEAR]


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_matches_numpy_twin(name: str) -> None:
    """Kernel vs the literal ImpactX formulas, at amplitudes up to 5e-2 (well into the nonlinear regime).

    Tolerance: both evaluate the same expressions with different rounding; the literal forms lose up
    to ~|L/beta| * eps (t of the drifts) and ~rc * eps (x of ExactSbend) to cancellation, so 1e-13
    absolute plus 1e-12 relative holds with margin.
    """
    make, twin, n = CASES[name]
    z = random_points(64, 5e-2)
    got, state, _ = track([make()], z)
    want = np.array(nm.repeat(twin, tuple(z), n))
    assert (state == 0).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


# --- analytic transfer matrices -------------------------------------------------------------------------
S56 = np.diag([1.0, 1.0, 1.0, 1.0, -1.0, -1.0])  # Wolski (z, delta) <-> ImpactX (t, pt)


def wolski_sbend(L: float, rc: float, k1: float = 0.0) -> np.ndarray:
    """Wolski (2014) eqs. 3.105-3.110: combined-function sector dipole, k0 = 1/rc, in (x, px, y, py, z, delta)."""
    k0 = 1.0 / rc
    b0, g0 = BETA, GAMMA
    wx2, wy2 = k0**2 + k1, -k1
    wx, wy = math.sqrt(abs(wx2)), math.sqrt(abs(wy2))
    cx, sx = (math.cos(wx * L), math.sin(wx * L)) if wx2 > 0 else (math.cosh(wx * L), math.sinh(wx * L))
    R = np.eye(6)
    R[0, 0] = R[1, 1] = cx
    R[0, 1] = sx / wx
    R[1, 0] = -np.sign(wx2) * wx * sx
    R[0, 5] = k0 * (1 - cx) / (wx2 * b0)
    R[1, 5] = k0 * sx / (wx * b0)
    R[4, 0] = -R[1, 5]
    R[4, 1] = -R[0, 5]
    R[4, 5] = L / (b0**2 * g0**2) - k0**2 * (wx * L - sx) / (wx**3 * b0**2) * np.sign(wx2)
    if wy2 == 0.0:
        R[2, 3] = L
    else:
        cy, sy = (math.cos(wy * L), math.sin(wy * L)) if wy2 > 0 else (math.cosh(wy * L), math.sinh(wy * L))
        R[2, 2] = R[3, 3] = cy
        R[2, 3] = sy / wy
        R[3, 2] = -np.sign(wy2) * wy * sy
    return S56 @ R @ S56


def wolski_quad(L: float, k1: float) -> np.ndarray:
    """Wolski (2014) eq. 3.36-3.37: quadrupole, k1 > 0 focusing in x; R56 = L / (beta0 gamma0)^2."""
    w = math.sqrt(abs(k1))
    f = np.array([[math.cos(w * L), math.sin(w * L) / w], [-w * math.sin(w * L), math.cos(w * L)]])
    d = np.array([[math.cosh(w * L), math.sinh(w * L) / w], [w * math.sinh(w * L), math.cosh(w * L)]])
    R = np.eye(6)
    R[0:2, 0:2], R[2:4, 2:4] = (f, d) if k1 > 0 else (d, f)
    R[4, 5] = L / (BETA * GAMMA) ** 2
    return S56 @ R @ S56


def drift_matrix(L: float) -> np.ndarray:
    R = np.eye(6)
    R[0, 1] = R[2, 3] = L
    R[4, 5] = L / (BETA * GAMMA) ** 2
    return R


def brown_edge(psi: float, rc: float, g: float, K2: float) -> np.ndarray:
    """SLAC-75: R21 = tan(psi)/rc, R43 = -tan(psi - dpsi)/rc with dpsi = g K2 (1 + sin^2 psi)/(rc cos psi),
    expanded to first order in dpsi (ImpactX's model): R43 = -tan(psi)/rc + dpsi / (rc cos^2 psi)."""
    dpsi = g * K2 * (1 + math.sin(psi) ** 2) / (rc * math.cos(psi))
    R = np.eye(6)
    R[1, 0] = math.tan(psi) / rc
    R[3, 2] = -math.tan(psi) / rc + dpsi / (rc * math.cos(psi) ** 2)
    return R


LINEAR_EXPECT = {
    "Drift": (lambda: [E.Drift(ds=0.7, nslice=2)], lambda: drift_matrix(0.7), 1e-14),
    "QuadF": (lambda: [E.Quad(ds=0.6, k=2.2, nslice=3)], lambda: wolski_quad(0.6, 2.2), 1e-13),
    "QuadD": (lambda: [E.Quad(ds=0.6, k=-2.2)], lambda: wolski_quad(0.6, -2.2), 1e-13),
    "Sbend": (lambda: [E.Sbend(ds=1.2, rc=RC, nslice=3)], lambda: wolski_sbend(1.2, RC), 1e-13),
    "SbendNeg": (lambda: [E.Sbend(ds=1.2, rc=-RC)], lambda: wolski_sbend(1.2, -RC), 1e-13),
    "CFbendF": (lambda: [E.CFbend(ds=1.2, rc=RC, k=0.8, nslice=2)], lambda: wolski_sbend(1.2, RC, 0.8), 1e-13),
    "CFbendD": (lambda: [E.CFbend(ds=1.2, rc=RC, k=-0.8)], lambda: wolski_sbend(1.2, RC, -0.8), 1e-13),
    "CFbendHyp": (lambda: [E.CFbend(ds=1.2, rc=RC, k=-0.5)], lambda: wolski_sbend(1.2, RC, -0.5), 1e-13),
    "DipEdge": (lambda: [E.DipEdge(psi=0.3, rc=RC, g=0.05, K2=0.45)], lambda: brown_edge(0.3, RC, 0.05, 0.45), 1e-15),
    # nonlinear maps: linearised through transfer_map's central differences (step 1e-8: error ~ 1e-8)
    "ChrDrift": (lambda: [E.ChrDrift(ds=1.3)], lambda: drift_matrix(1.3), 1e-7),
    "ExactDrift": (lambda: [E.ExactDrift(ds=1.3)], lambda: drift_matrix(1.3), 1e-7),
    "ChrQuad": (lambda: [E.ChrQuad(ds=0.6, k=2.2, nslice=3)], lambda: wolski_quad(0.6, 2.2), 1e-7),
    "ExactSbend": (
        lambda: [E.ExactSbend(ds=1.2, phi=PHI_DEG, nslice=2)],
        lambda: wolski_sbend(1.2, 1.2 / math.radians(PHI_DEG)),
        1e-7,
    ),
}


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


# --- symplecticity --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Drift", "QuadF", "QuadD", "Sbend", "CFbendF", "CFbendHyp", "DipEdge"])
def test_linear_maps_symplectic(name: str) -> None:
    make, _, _ = LINEAR_EXPECT[name]
    assert nm.symplecticity_error(transfer_map(make())) < 1e-12


@pytest.mark.parametrize("name", NONLINEAR)
def test_twin_jacobian_symplectic(name: str) -> None:
    """Complex-step Jacobian (exact to rounding) of the NumPy twin at random points of amplitude 5e-2."""
    _, twin, n = CASES[name]
    for z0 in random_points(4, 5e-2, seed=11).T:
        J = nm.complex_step_jacobian(lambda z: nm.repeat(twin, z, n), z0)
        assert nm.symplecticity_error(J) < 1e-12, name


@pytest.mark.parametrize("name", NONLINEAR)
def test_kernel_jacobian_symplectic(name: str) -> None:
    """Jacobian of the C kernel at random points by 4th-order central differences (step 1e-4).

    Truncation error ~ h^4 |f^(5)| and rounding ~ eps / h bound the Jacobian to ~1e-11, so
    M^T J M = J is checked to 1e-9 (the exact check to 1e-12 is the complex-step one on the twin,
    which the kernel matches to 1e-12 in test_kernel_matches_numpy_twin). The same Jacobian is compared
    to the twin's complex-step Jacobian.
    """
    make, twin, n = CASES[name]
    h = 1e-4
    for z0 in random_points(3, 5e-2, seed=13).T:
        cols = []
        for j in range(6):
            for m in (2, 1, -1, -2):
                z = z0.copy()
                z[j] += m * h
                cols.append(z)
        out, state, _ = track([make()], np.array(cols).T)
        assert (state == 0).all()
        out = out.reshape(6, 6, 4)  # coordinate, column j, step
        Jk = (-out[:, :, 0] + 8 * out[:, :, 1] - 8 * out[:, :, 2] + out[:, :, 3]) / (12 * h)
        assert nm.symplecticity_error(Jk) < 1e-9, name
        Jt = nm.complex_step_jacobian(lambda z: nm.repeat(twin, z, n), z0)
        np.testing.assert_allclose(Jk, Jt, atol=1e-9)


# --- limits ---------------------------------------------------------------------------------------------
def test_chrquad_zero_strength_limit_is_chrdrift() -> None:
    """k -> 0: ChrQuad -> ChrDrift. The difference is O(k L^2 |x|) ~ 1e-9 * 1 * 5e-2 here; k = 0 is exact."""
    z = random_points(32, 5e-2)
    drift, _, _ = track([E.ChrDrift(ds=1.0)], z)
    small, _, _ = track([E.ChrQuad(ds=1.0, k=1e-9)], z)
    zero, _, _ = track([E.ChrQuad(ds=1.0, k=0.0)], z)
    np.testing.assert_array_equal(zero, drift)
    np.testing.assert_allclose(small, drift, rtol=0, atol=1e-9)


def test_exact_drift_paraxial_limit_is_chrdrift() -> None:
    """ExactDrift -> ChrDrift for small px, py: the Hamiltonians differ by the p_perp^4 / (8 D^3) term of
    sqrt(D^2 - p^2) = D - p^2/(2D) - p^4/(8 D^3) - ..., so at the same (x, y, t, pt) the difference scales
    as amplitude^3 in x, y and amplitude^4 in t: scaling px, py by 1/10 divides it by 1e3 and 1e4."""
    z = random_points(32, 1e-2)
    diffs = []
    for amp in (1e-2, 1e-3):
        za = z.copy()
        za[[1, 3]] *= amp / 1e-2
        ex, _, _ = track([E.ExactDrift(ds=2.0)], za)
        ch, _, _ = track([E.ChrDrift(ds=2.0)], za)
        diffs.append(np.abs(ex - ch))
    big, small = diffs
    assert big[[0, 2]].max() < 2.0 * (2 * 1e-2**2) ** 1.5  # L |p|^3 / 2 with |p| <= sqrt(2) amp, margin 2
    np.testing.assert_allclose(big[[0, 2]] / small[[0, 2]], 1e3, rtol=1e-3)
    # in t the small-amplitude difference is p^4 / (8 D^3) next to the O(p^2) terms' round-off (sqrt(D^2 - p^2)
    # loses eps D^2 / p^2 of them): keep the particles where it is 1e4 ulp of t or more (a few of 32 are not)
    t_small = np.abs(ex[4])
    keep = small[4] > 1e4 * np.spacing(t_small)
    assert keep.sum() >= 24
    np.testing.assert_allclose(big[4][keep] / small[4][keep], 1e4, rtol=1e-2)


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


def test_chrquad_unit_tesla_per_m() -> None:
    """unit=1: k [T/m] / (B rho) [T m] (ImpactX); B rho = beta gamma m c / q from CODATA."""
    brho = rigidity(GAMMA)
    G = 7.5  # T/m
    z = random_points(16, 1e-2)
    a, _, _ = track([E.ChrQuad(ds=0.4, k=G, unit=1)], z)
    b, _, _ = track([E.ChrQuad(ds=0.4, k=G / brho, unit=0)], z)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)


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


# --- reference particle ---------------------------------------------------------------------------------
def ref_after(el: E.Element) -> object:
    sim = make_sim()
    sim.beam.add_n_particles(*np.zeros((6, 1)), qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
    sim.lattice.append(el)
    sim.track_particles()
    return sim.reference


@pytest.mark.parametrize(
    "el",
    [
        E.ChrDrift(ds=1.3, nslice=3),
        E.ExactDrift(ds=1.3),
        E.ChrQuad(ds=1.3, k=2.0, nslice=2),
        E.ChrQuad(ds=1.3, k=20.0, unit=1),
    ],
    ids=["ChrDrift", "ExactDrift", "ChrQuad", "ChrQuadT"],
)
def test_reference_straight(el: E.Element) -> None:
    r = ref_after(el)
    bg = math.sqrt(GAMMA**2 - 1)
    assert r.s == pytest.approx(1.3, rel=1e-15) and r.gamma == GAMMA
    assert (r.x, r.y, r.px, r.py) == (0.0, 0.0, 0.0, 0.0)
    assert r.z == pytest.approx(1.3, rel=1e-14) and r.pz == pytest.approx(bg, rel=1e-15)
    assert r.t == pytest.approx(1.3 / BETA, rel=1e-14)


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


# --- kernel kinds ---------------------------------------------------------------------------------------
def test_serial_and_openmp_identical() -> None:
    """Every element of part A in one line, 2000 particles (several chunks and threads): serial and openmp
    run the same vectorised code without fast-math, so the results agree bit for bit, losses included."""
    z = random_points(2000, 5e-2, seed=3)
    z[1, :5] = 1.05  # lost in the exact drift

    def line() -> list[E.Element]:
        return [m() for m, _, _ in CASES.values()]

    a, sa, _ = track(line(), z, "serial")
    b, sb, _ = track(line(), z, "openmp")
    np.testing.assert_array_equal(sa, sb)
    assert (sa[:5] > 0).all() and (sa[5:] == 0).mean() > 0.9
    np.testing.assert_array_equal(a, b)
