"""Slow NumPy twins of the element maps of part A (test oracles, written apart from the C kernels).

Each map takes the phase-space vector ``z = (x, px, y, py, t, pt)`` (ImpactX's units and map order;
arrays of any shape, real or complex so that complex-step Jacobians work) and returns the pushed
vector for ONE slice of length ``L`` [m]. The formulas are ImpactX's, transcribed literally from
src/elements/<Name>.H (BLAST-ImpactX/impactx, 2026), including their own grouping of terms; the C
kernels use regrouped, cancellation-free forms of the same expressions, so agreement between the two
checks both. ``beta``, ``gamma`` are the reference particle's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Vec = tuple[np.ndarray, ...]


def _z(z: Vec) -> Vec:
    return tuple(np.asarray(c) for c in z)


def delta1(pt: np.ndarray, beta: float) -> np.ndarray:
    """1 + delta = p / p0 as a function of pt (ImpactX's delta1)."""
    return np.sqrt(1.0 - 2.0 * pt / beta + pt**2)


def drift(z: Vec, L: float, beta: float, gamma: float) -> Vec:
    """ImpactX Drift.H: linear drift."""
    x, px, y, py, t, pt = _z(z)
    bg2 = (beta * gamma) ** 2
    return x + L * px, px, y + L * py, py, t + L / bg2 * pt, pt


def quad(z: Vec, L: float, k: float, beta: float, gamma: float) -> Vec:
    """ImpactX Quad.H: linear quadrupole, k [1/m^2] > 0 focusing in x."""
    x, px, y, py, t, pt = _z(z)
    w = np.sqrt(abs(k))
    cf, sf, ch, sh = np.cos(w * L), np.sin(w * L), np.cosh(w * L), np.sinh(w * L)
    fx = (cf, sf / w, -w * sf) if k > 0 else (ch, sh / w, w * sh)
    fy = (ch, sh / w, w * sh) if k > 0 else (cf, sf / w, -w * sf)
    return (
        fx[0] * x + fx[1] * px,
        fx[2] * x + fx[0] * px,
        fy[0] * y + fy[1] * py,
        fy[2] * y + fy[0] * py,
        t + L / (beta * gamma) ** 2 * pt,
        pt,
    )


def chr_drift(z: Vec, L: float, beta: float, gamma: float) -> Vec:
    """ImpactX ChrDrift.H operator() (literal)."""
    x, px, y, py, t, pt = _z(z)
    idelta1 = 1.0 / delta1(pt, beta)
    const1 = 1.0 / (2.0 * beta**3 * gamma**2)
    term = 2.0 * pt**2 + px**2 + py**2
    term = 2.0 - 4.0 * beta * pt + beta**2 * term
    term = -2.0 + gamma**2 * term
    term = (-1.0 + beta * pt) * term
    term = term * const1
    return x + L * px * idelta1, px, y + L * py * idelta1, py, t - L * (1.0 / beta + term * idelta1**3), pt


def exact_drift(z: Vec, L: float, beta: float, gamma: float) -> Vec:
    """ImpactX ExactDrift.H operator() (literal)."""
    x, px, y, py, t, pt = _z(z)
    ibeta, ibetagam2 = 1.0 / beta, 1.0 / (beta * gamma) ** 2
    inv_pzden = 1.0 / np.sqrt((pt - ibeta) ** 2 - ibetagam2 - px**2 - py**2)
    return (x + L * px * inv_pzden, px, y + L * py * inv_pzden, py, t - L * (ibeta + (pt - ibeta) * inv_pzden), pt)


def chr_quad(z: Vec, L: float, g: float, beta: float, gamma: float) -> Vec:
    """ImpactX ChrQuad.H operator() (literal; g = normalised strength [1/m^2])."""
    if g == 0.0:
        return chr_drift(z, L, beta, gamma)
    x, px, y, py, t, pt = _z(z)
    d1 = delta1(pt, beta)
    delta = d1 - 1.0
    omega = np.sqrt(abs(g) / d1)
    w = omega * d1
    foc = g > 0
    sx = np.sin(omega * L) if foc else np.sinh(omega * L)
    sy = np.sinh(omega * L) if foc else np.sin(omega * L)
    ax = -1.0 if foc else 1.0
    R11 = np.cos(omega * L) if foc else np.cosh(omega * L)
    R33 = np.cosh(omega * L) if foc else np.cos(omega * L)
    xo, pxo = R11 * x + sx / w * px, ax * w * sx * x + R11 * px
    yo, pyo = R33 * y + sy / w * py, -ax * w * sy * y + R33 * py
    q1, q2 = (x, y) if foc else (y, x)
    p1, p2 = (px, py) if foc else (py, px)
    term = pt + delta / beta
    t0 = t - term * L / d1
    term1 = -(p2**2 + q2**2 * w**2) * np.sinh(2.0 * L * omega)
    term2 = -(p1**2 - q1**2 * w**2) * np.sin(2.0 * L * omega)
    term3 = -2.0 * q2 * p2 * w * np.cosh(2.0 * L * omega)
    term4 = -2.0 * q1 * p1 * w * np.cos(2.0 * L * omega)
    term5 = 2.0 * omega * (q1 * p1 * d1 + q2 * p2 * d1 - (p1**2 + p2**2) * L - (q1**2 - q2**2) * w**2 * L)
    to = t0 + (-1.0 + beta * pt) / (8.0 * beta * d1**3 * omega) * (term1 + term2 + term3 + term4 + term5)
    return xo, pxo, yo, pyo, to, pt


def sbend(z: Vec, L: float, rc: float, beta: float, gamma: float) -> Vec:
    """ImpactX Sbend.H (linear sector bend, literal R entries)."""
    x, px, y, py, t, pt = _z(z)
    ibet = 1.0 / beta
    theta = L / rc
    s, c = np.sin(theta), np.cos(theta)
    R11, R12, R16 = c, rc * s, -rc * ibet * (1.0 - c)
    R21, R26, R34 = -s / rc, -s * ibet, rc * theta
    R56 = rc * (-theta + s * ibet * ibet)
    return (
        R11 * x + R12 * px + R16 * pt,
        R21 * x + R11 * px + R26 * pt,
        y + R34 * py,
        py,
        -R26 * x - R16 * px + t + R56 * pt,
        pt,
    )


def cfbend(z: Vec, L: float, rc: float, k: float, beta: float, gamma: float) -> Vec:
    """ImpactX CFbend.H (linear combined-function bend, literal; needs k != 0 and k != -1/rc^2)."""
    x, px, y, py, t, pt = _z(z)
    betgam2 = (beta * gamma) ** 2
    gx, gy = k + rc**-2, -k
    ox, oy = np.sqrt(abs(gx)), np.sqrt(abs(gy))
    cx = np.cos(ox * L) if gx > 0 else np.cosh(ox * L)
    sx = np.sin(ox * L) / ox if gx > 0 else np.sinh(ox * L) / ox
    cy = np.cos(oy * L) if gy > 0 else np.cosh(oy * L)
    sy = np.sin(oy * L) / oy if gy > 0 else np.sinh(oy * L) / oy
    igbrc, ibrc, igb2r2 = 1.0 / (gx * beta * rc), 1.0 / (beta * rc), 1.0 / (gx * beta**2 * rc**2)
    R16 = -(1.0 - cx) * igbrc
    R26 = -sx * ibrc
    R56 = L / betgam2 + (sx - L) * igb2r2
    return (
        cx * x + sx * px + R16 * pt,
        -gx * sx * x + cx * px + R26 * pt,
        cy * y + sy * py,
        -gy * sy * y + cy * py,
        -R26 * x - R16 * px + R56 * pt + t,
        pt,
    )


def dipedge(z: Vec, psi: float, rc: float, g: float, K2: float) -> Vec:
    """ImpactX DipEdge.H, linear model."""
    x, px, y, py, t, pt = _z(z)
    R21 = np.tan(psi) / rc
    vf = (1.0 + np.sin(psi) ** 2) / np.cos(psi) ** 3 * g * K2 / rc**2
    return x, px + R21 * x, y, py + (vf - R21) * y, t, pt


def thin_dipole(z: Vec, theta: float, rc: float, beta: float) -> Vec:
    """ImpactX ThinDipole.H (theta [rad])."""
    x, px, y, py, t, pt = _z(z)
    ds, kx = theta * rc, 1.0 / rc
    f = -1.0 + np.sqrt(1.0 - 2.0 * pt / beta + pt**2)
    fprime = (1.0 - beta * pt) / (beta * (1.0 + f))
    return x, px - kx**2 * ds * x + kx * ds * f, y, py, t + kx * x * ds * fprime, pt


def exact_sbend(z: Vec, rc: float, phi: float, beta: float) -> tuple[Vec, np.ndarray]:
    """ImpactX ExactSbend.H operator() for one slice of angle phi [rad] on radius rc [m]; returns (z, lost)."""
    x, px, y, py, t, pt = _z(z)
    ibeta = 1.0 / beta
    sin_phi, cos_phi = np.sin(phi), np.cos(phi)
    pperp2 = pt**2 - 2.0 * ibeta * pt - py**2 + 1.0
    lost = np.real(pperp2) <= np.real(px**2)
    pperp = np.sqrt(pperp2)
    pzi = np.sqrt(pperp**2 - px**2)
    rho = rc + x
    pxout = px * cos_phi + (pzi - rho / rc) * sin_phi
    lost = lost | (np.real(pperp2) <= np.real(pxout**2))
    pzf = np.sqrt(pperp**2 - pxout**2)
    theta = phi + np.arcsin(px / pperp) - np.arcsin(pxout / pperp)
    xo = -rc + rho * cos_phi + rc * (pzf + px * sin_phi - pzi * cos_phi)
    yo = y + theta * rc * py
    to = t - theta * rc * (pt - ibeta) - phi * rc * ibeta
    return (xo, pxout, yo, py, to, pt), lost


def prot(z: Vec, phi_in: float, phi_out: float, beta: float) -> tuple[Vec, np.ndarray]:
    """ImpactX PRot.H operator() (angles in rad); lost where pz is not real or pzf <= 0 (beamtrack's rule)."""
    x, px, y, py, t, pt = _z(z)
    inv_beta = 1.0 / beta
    theta = phi_out - phi_in
    st, ct = np.sin(theta), np.cos(theta)
    spi, cpi = np.sin(phi_in), np.cos(phi_in)
    rad = 1.0 - 2.0 * pt * inv_beta + pt**2 - py**2 - (px + spi) ** 2
    pz = np.sqrt(rad)
    pzf = pz * ct - (px + spi) * st
    lost = (np.real(rad) <= 0) | (np.real(pzf) <= 0)
    return (
        x * pz / pzf,
        px * ct + (pz - cpi) * st,
        y + py * x * st / pzf,
        py,
        t - (pt - inv_beta) * x * st / pzf,
        pt,
    ), lost


def repeat(fn: Callable[[Vec], Vec], z: Vec, n: int) -> Vec:
    """Apply a one-slice map n times."""
    for _ in range(n):
        z = fn(z)
    return z


def complex_step_jacobian(fn: Callable[[Vec], Vec], z0: np.ndarray, h: float = 1e-30) -> np.ndarray:
    """6x6 Jacobian of ``fn`` at the real point z0 by the complex step (exact to rounding)."""
    J = np.empty((6, 6))
    for j in range(6):
        z = z0.astype(complex)
        z[j] += 1j * h
        out = fn(tuple(z))
        J[:, j] = [np.imag(c) / h for c in out]
    return J


J6 = np.kron(np.eye(3), np.array([[0.0, 1.0], [-1.0, 0.0]]))
"""The symplectic form on (x, px, y, py, t, pt)."""


def symplecticity_error(M: np.ndarray) -> float:
    """max |M^T J M - J|."""
    return float(np.max(np.abs(M.T @ J6 @ M - J6)))
