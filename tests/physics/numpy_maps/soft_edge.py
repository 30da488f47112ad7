"""Soft-edge fields (SoftSolenoid, SoftQuadrupole): their Fourier profiles and linear equations of
motion integrated by scipy's solve_ivp.

Written from the physics (textbook matrices, equations of motion), not from the C kernels.
Coordinates and units are ImpactX's: x, y, t [m]; px, py, pt normalised by the reference momentum;
map order (x, px, y, py, t, pt).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp


def fourier_profile(z, zlen, cos_c, sin_c):
    """Profile at z from the element entry: c0/2 + sum c_j cos(2 pi j u / zlen) + s_j sin(...), u = z - zlen/2; 0 outside."""
    u = z - zlen / 2
    if abs(u) > zlen / 2:
        return 0.0
    f = cos_c[0] / 2
    for j in range(1, len(cos_c)):
        a = 2 * math.pi * j * u / zlen
        f += cos_c[j] * math.cos(a) + sin_c[j] * math.sin(a)
    return f


def _integrate_linear(A_of_z, L: float) -> np.ndarray:
    def rhs(z, m):
        return (A_of_z(z) @ m.reshape(6, 6)).ravel()

    sol = solve_ivp(rhs, (0.0, L), np.eye(6).ravel(), method="DOP853", rtol=1e-12, atol=1e-13)
    return sol.y[:, -1].reshape(6, 6)


def soft_solenoid_map(b_of_z, L: float, bg: float) -> np.ndarray:
    """H = [(px + a y)^2 + (py - a x)^2] / 2 + pt^2 / (2 bg^2), a(z) = b(z) / 2 (b = B_z / B rho):
    paraxial solenoid with A = B_z/2 (-y, x, 0) (Wolski, Sect. 3.4)."""

    def A(z):
        a = 0.5 * b_of_z(z)
        M = np.zeros((6, 6))
        M[0] = [0, 1, a, 0, 0, 0]  # x' = px + a y
        M[1] = [-a * a, 0, 0, a, 0, 0]  # px' = a (py - a x)
        M[2] = [-a, 0, 0, 1, 0, 0]  # y' = py - a x
        M[3] = [0, -a, -a * a, 0, 0, 0]  # py' = -a (px + a y)
        M[4, 5] = 1 / bg**2
        return M

    return _integrate_linear(A, L)


def soft_quad_map(g_of_z, L: float, bg: float) -> np.ndarray:
    """H = (px^2 + py^2)/2 + g(z) (x^2 - y^2)/2 + pt^2/(2 bg^2)."""

    def A(z):
        g = g_of_z(z)
        M = np.zeros((6, 6))
        M[0, 1] = M[2, 3] = 1.0
        M[1, 0], M[3, 2] = -g, g
        M[4, 5] = 1 / bg**2
        return M

    return _integrate_linear(A, L)
