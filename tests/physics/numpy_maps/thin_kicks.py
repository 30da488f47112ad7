"""Thin kicks (Multipole, NonlinearLens) with Python complex arithmetic, and the XY rotation.

Written from the physics (textbook matrices, equations of motion), not from the C kernels.
Coordinates and units are ImpactX's: x, y, t [m]; px, py, pt normalised by the reference momentum;
map order (x, px, y, py, t, pt).
"""

from __future__ import annotations

import math

import numpy as np


def multipole_kick(x, y, px, py, m: int, kn: float, ks: float):
    """MAD-X thin multipole (MAD-X user guide, MULTIPOLE): px - i py -> px - i py - (KN + i KS) (x + i y)^n / n!, n = m - 1."""
    n = m - 1
    w = (kn + 1j * ks) * (np.asarray(x) + 1j * np.asarray(y)) ** n / math.factorial(n)
    return px - w.real, py + w.imag


def nll_kick(x, y, px, py, knll: float, cnll: float):
    """Danilov-Nagaitsev lens (PRSTAB 13, 084002 (2010), Sect. V.A): px - i py -> px - i py - knll/cnll F'(zeta)."""
    zeta = (np.asarray(x) + 1j * np.asarray(y)) / cnll
    one_m = 1.0 - zeta**2
    dF = zeta / one_m + np.arcsin(zeta) / np.sqrt(one_m) ** 3
    kick = -knll / cnll * dF
    return px + kick.real, py - kick.imag


def xyrot_matrix(angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    R = np.eye(6)
    for i in range(2):
        for j in range(2):
            R[2 * i, 2 * j] = R[2 * i + 1, 2 * j + 1] = rot[i, j]
    return R
