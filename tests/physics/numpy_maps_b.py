"""Slow NumPy/SciPy reference maps for the part-B elements (test oracles).

Written from the physics (textbook matrices, equations of motion), not from the C kernels:
thin kicks with Python complex arithmetic, matrices from the cited formulas, soft-edge elements by
integrating their linear equations of motion with scipy's solve_ivp. Coordinates and units are
ImpactX's: x, y, t [m]; px, py, pt normalised by the reference momentum; map order (x, px, y, py, t, pt).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

C_LIGHT = 299_792_458.0


# --- thin kicks ------------------------------------------------------------------------------------
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


# --- linear matrices -------------------------------------------------------------------------------
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


def xyrot_matrix(angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    R = np.eye(6)
    for i in range(2):
        for j in range(2):
            R[2 * i, 2 * j] = R[2 * i + 1, 2 * j + 1] = rot[i, j]
    return R


# --- RF gap ---------------------------------------------------------------------------------------
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


# --- aperture ------------------------------------------------------------------------------------
def aperture_lost(x, y, ax, ay, rx=0.0, ry=0.0, shape="rectangular", action="transmit"):
    """Which particles an aperture removes (ImpactX docs, Aperture): fold into one cell of the repeated mask, test the shape."""
    u = np.asarray(x, float).copy()
    v = np.asarray(y, float).copy()
    if rx > 0:
        u = np.mod(np.abs(u) + rx / 2, rx) - rx / 2
    if ry > 0:
        v = np.mod(np.abs(v) + ry / 2, ry) - ry / 2
    if shape == "rectangular":
        inside = (np.abs(u) <= ax) & (np.abs(v) <= ay)
    else:
        inside = (u / ax) ** 2 + (v / ay) ** 2 <= 1.0
    return ~inside if action == "transmit" else inside


# --- soft-edge fields: linear equations of motion integrated by solve_ivp -------------------------
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
