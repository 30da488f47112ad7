"""Transfer matrices of the linear hard-edge elements (drift, quadrupole, solenoid, ConstF, Buncher).

Written from the physics (textbook matrices, equations of motion), not from the C kernels.
Coordinates and units are ImpactX's: x, y, t [m]; px, py, pt normalised by the reference momentum;
map order (x, px, y, py, t, pt).
"""

from __future__ import annotations

import math

import numpy as np


def drift_matrix(L: float, bg: float) -> np.ndarray:
    R = np.eye(6)
    R[0, 1] = R[2, 3] = L
    R[4, 5] = L / bg**2
    return R


def quad_matrix(k: float, L: float, bg: float) -> np.ndarray:
    """Thick quadrupole (Wiedemann, Particle Accelerator Physics, Sect. 6.3), k > 0 focusing in x."""
    R = drift_matrix(L, bg)
    w = math.sqrt(abs(k))
    f = np.array([[math.cos(w * L), math.sin(w * L) / w], [-w * math.sin(w * L), math.cos(w * L)]])
    d = np.array([[math.cosh(w * L), math.sinh(w * L) / w], [w * math.sinh(w * L), math.cosh(w * L)]])
    R[0:2, 0:2], R[2:4, 2:4] = (f, d) if k > 0 else (d, f)
    return R


def solenoid_matrix(ks: float, L: float, bg: float) -> np.ndarray:
    """Hard-edge solenoid with fringes, canonical momenta (A. Wolski, Beam Dynamics in High Energy
    Particle Accelerators, Sect. 3.4 / Chao-Tigner handbook): K = ks/2, C = cos KL, S = sin KL."""
    K = 0.5 * ks
    C, S = math.cos(K * L), math.sin(K * L)
    SK = S / K if K != 0 else L  # sin(KL)/K -> L as K -> 0
    R = np.eye(6)
    R[:4, :4] = [
        [C * C, SK * C, S * C, S * SK],
        [-K * S * C, C * C, -K * S * S, S * C],
        [-S * C, -S * SK, C * C, SK * C],
        [K * S * S, -S * C, -K * S * C, C * C],
    ]
    R[4, 5] = L / bg**2
    return R


def constf_matrix(kx: float, ky: float, kt: float, L: float, bg: float) -> np.ndarray:
    """Harmonic oscillators x'' = -kx^2 x (kx < 0: -kx^2 -> +kx^2), y likewise, and the (t, pt) pair of
    H = kt^2 bg^2 t^2 / 2 + pt^2 / (2 bg^2) (ImpactX docs, ConstF)."""

    def plane(k):
        if k > 0:
            return [[math.cos(k * L), math.sin(k * L) / k], [-k * math.sin(k * L), math.cos(k * L)]]
        if k < 0:
            a = -k
            return [[math.cosh(a * L), math.sinh(a * L) / a], [a * math.sinh(a * L), math.cosh(a * L)]]
        return [[1.0, L], [0.0, 1.0]]

    R = np.eye(6)
    R[0:2, 0:2], R[2:4, 2:4] = plane(kx), plane(ky)
    b2 = bg**2
    if kt > 0:
        R[4:6, 4:6] = [
            [math.cos(kt * L), math.sin(kt * L) / (kt * b2)],
            [-kt * b2 * math.sin(kt * L), math.cos(kt * L)],
        ]
    else:
        R[4, 5] = L / b2
    return R


def buncher_matrix(V: float, k: float, bg: float) -> np.ndarray:
    """Thin buncher (ImpactX docs, Buncher): transverse focal strength -kV/(2 bg^2), pt -> pt - kV t."""
    R = np.eye(6)
    R[1, 0] = R[3, 2] = k * V / (2 * bg**2)
    R[5, 4] = -k * V
    return R
