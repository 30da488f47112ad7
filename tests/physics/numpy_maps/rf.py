"""RF elements (ShortRF, RFCavity): the thin gap as an energy kick, a particle on the axis of a cavity.

Written from the physics (textbook matrices, equations of motion), not from the C kernels.
Coordinates and units are ImpactX's: x, y, t [m]; px, py, pt normalised by the reference momentum;
map order (x, px, y, py, t, pt).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from .phase_space import C_LIGHT


def shortrf(t, px, py, pt, V: float, freq: float, phase_deg: float, gamma_ref_in: float):
    """Thin RF gap as an energy kick: a particle arriving c*dt = t after the reference gains
    dgamma = V cos(k t + phi) (k = 2 pi f / c); transverse momenta are conserved (only scaled to the
    new reference momentum). Returns (px, py, pt, gamma_ref_out)."""
    k = 2 * math.pi * freq / C_LIGHT
    phi = math.radians(phase_deg)
    bgi = math.sqrt(gamma_ref_in**2 - 1)
    gamma_p = gamma_ref_in - pt * bgi
    gamma_p = gamma_p + V * np.cos(k * t + phi)
    gamma_ref_out = gamma_ref_in + V * math.cos(phi)
    bgf = math.sqrt(gamma_ref_out**2 - 1)
    return px * bgi / bgf, py * bgi / bgf, (gamma_ref_out - gamma_p) / bgf, gamma_ref_out


def rf_on_axis(escale, e_of_z, freq, phase_deg, L, T0, PT0):
    """A particle on the axis through an RF cavity: d(T)/dz = 1/beta(PT), d(PT)/dz = -escale e(z) cos(k T + phi),
    with absolute T [m] (c * time) and PT = -gamma. Returns (T, PT) at z = L."""
    k = 2 * math.pi * freq / C_LIGHT
    phi = math.radians(phase_deg)

    def rhs(z, s):
        T, PT = s
        beta = math.sqrt(1 - 1 / PT**2)
        return [1 / beta, -escale * e_of_z(z) * math.cos(k * T + phi)]

    sol = solve_ivp(rhs, (0.0, L), [T0, PT0], method="DOP853", rtol=1e-13, atol=1e-14, max_step=L / 200)
    return sol.y[0, -1], sol.y[1, -1]
