"""Tracking helpers of the thin-kick, focusing, RF and aperture tests (test_thin_kicks.py,
test_solenoids_focusing.py, test_rf.py, test_apertures_linear_map.py): points as rows (n, 6) in ImpactX's
map order (x, px, y, py, t, pt).

Oracles: tests/physics/numpy_maps/ (thin_kicks, linear_matrices, soft_edge, rf, apertures) (written from textbook formulas / equations of motion, not
from the C kernels); ImpactX's documentation and example analysis scripts where numbers are quoted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from beamtrack.engine import Simulation

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
    out = np.asarray(sim.beam.host(sim.beam.real)[:6, : pts.shape[0]])[ROW_OF].T.copy()
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


def point_sampler(seed: int = 20240611) -> Callable[[int, object], np.ndarray]:
    """``random_points(n, scale)``: n normal points (n, 6) times scale, from one generator per test file."""
    rng = np.random.default_rng(seed)

    def random_points(n: int, scale: object) -> np.ndarray:
        return rng.normal(size=(n, 6)) * np.asarray(scale)

    return random_points


# Fourier coefficients of the soft-edge profiles (SoftSolenoid, SoftQuadrupole, RFCavity)
COS = [0.6, 0.35, -0.05, 0.02]
SIN = [0.0, 0.03, 0.01, 0.0]
