"""Tracking helpers and cases of the drift, quadrupole and bend tests (test_drifts_quads.py, test_bends.py):
phase-space points as columns z (6 x n) in ImpactX's map order (x, px, y, py, t, pt).

Where the expected numbers come from:
- NumPy twins (tests/physics/numpy_maps/drifts_quads.py, bends.py): ImpactX's formulas transcribed literally from
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
from beamtrack.engine import Simulation
from beamtrack.engine import elements as E
from numpy_maps import bends, drifts_quads, phase_space  # tests/physics is on sys.path (pytest rootdir-relative import)
from scipy import constants as sc

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
    out = np.asarray(sim.beam.host(sim.beam.real)[:6])[MAP_TO_ROWS]
    return out, np.asarray(sim.beam.host(sim.beam.state)).copy(), sim


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


# --- elements, each with its NumPy twin (one slice) and slice count (test files pick their family) -----------------------------------
RC, PHI_DEG = 4.0, 15.0
ALL_CASES = {
    "Drift": (lambda: E.Drift(ds=0.7, nslice=2), lambda z: drifts_quads.drift(z, 0.35, BETA, GAMMA), 2),
    "Quad": (lambda: E.Quad(ds=0.6, k=-2.2, nslice=3), lambda z: drifts_quads.quad(z, 0.2, -2.2, BETA, GAMMA), 3),
    "ChrDrift": (lambda: E.ChrDrift(ds=1.3, nslice=2), lambda z: drifts_quads.chr_drift(z, 0.65, BETA, GAMMA), 2),
    "ExactDrift": (lambda: E.ExactDrift(ds=1.3, nslice=2), lambda z: drifts_quads.exact_drift(z, 0.65, BETA, GAMMA), 2),
    "ChrQuadF": (
        lambda: E.ChrQuad(ds=0.5, k=3.1, nslice=2),
        lambda z: drifts_quads.chr_quad(z, 0.25, 3.1, BETA, GAMMA),
        2,
    ),
    "ChrQuadD": (lambda: E.ChrQuad(ds=0.5, k=-3.1), lambda z: drifts_quads.chr_quad(z, 0.5, -3.1, BETA, GAMMA), 1),
    "Sbend": (lambda: E.Sbend(ds=1.2, rc=RC, nslice=3), lambda z: bends.sbend(z, 0.4, RC, BETA, GAMMA), 3),
    "CFbend": (
        lambda: E.CFbend(ds=1.2, rc=RC, k=-0.8, nslice=2),
        lambda z: bends.cfbend(z, 0.6, RC, -0.8, BETA, GAMMA),
        2,
    ),
    "ExactSbend": (
        lambda: E.ExactSbend(ds=1.2, phi=PHI_DEG, nslice=3),
        lambda z: bends.exact_sbend(z, 1.2 / math.radians(PHI_DEG), math.radians(PHI_DEG) / 3, BETA)[0],
        3,
    ),
    "DipEdge": (lambda: E.DipEdge(psi=0.3, rc=RC, g=0.05, K2=0.45), lambda z: bends.dipedge(z, 0.3, RC, 0.05, 0.45), 1),
    "ThinDipole": (
        lambda: E.ThinDipole(theta=6.0, rc=RC),
        lambda z: bends.thin_dipole(z, math.radians(6.0), RC, BETA),
        1,
    ),
    "PRot": (
        lambda: E.PRot(phi_in=4.0, phi_out=-7.0),
        lambda z: bends.prot(z, math.radians(4.0), math.radians(-7.0), BETA)[0],
        1,
    ),
}
LINEAR = ["Drift", "Quad", "Sbend", "CFbend", "DipEdge"]


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


ALL_LINEAR_EXPECT = {
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


def ref_after(el: E.Element) -> object:
    sim = make_sim()
    sim.beam.add_n_particles(*np.zeros((6, 1)), qm=sim.reference.charge / sim.reference.mass, bunch_charge=0.0)
    sim.lattice.append(el)
    sim.track_particles()
    return sim.reference


def check_twin_symplectic(twin, n: int, name: str) -> None:
    """Complex-step Jacobian (exact to rounding) of the NumPy twin at random points of amplitude 5e-2."""
    for z0 in random_points(4, 5e-2, seed=11).T:
        J = phase_space.complex_step_jacobian(lambda z: phase_space.repeat(twin, z, n), z0)
        assert phase_space.symplecticity_error(J) < 1e-12, name


def check_kernel_symplectic(make, twin, n: int, name: str) -> None:
    """Jacobian of the C kernel at random points by 4th-order central differences (step 1e-4).

    Truncation error ~ h^4 |f^(5)| and rounding ~ eps / h bound the Jacobian to ~1e-11, so
    M^T J M = J is checked to 1e-9 (the exact check to 1e-12 is the complex-step one on the twin,
    which the kernel matches to 1e-12 in test_kernel_matches_numpy_twin). The same Jacobian is compared
    to the twin's complex-step Jacobian.
    """
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
        assert phase_space.symplecticity_error(Jk) < 1e-9, name
        Jt = phase_space.complex_step_jacobian(lambda z: phase_space.repeat(twin, z, n), z0)
        np.testing.assert_allclose(Jk, Jt, atol=1e-9)
