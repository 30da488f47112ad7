"""Drifts and quadrupoles (Drift, Quad, ChrDrift, ExactDrift, ChrQuad).

The maps' conventions and the source of their formulas (ImpactX's, transcribed literally): see the
"ImpactX transcriptions" paragraph of numpy_maps/__init__.py.
"""

from __future__ import annotations

import numpy as np

from .phase_space import Vec, as_arrays, delta1


def drift(z: Vec, L: float, beta: float, gamma: float) -> Vec:
    """ImpactX Drift.H: linear drift."""
    x, px, y, py, t, pt = as_arrays(z)
    bg2 = (beta * gamma) ** 2
    return x + L * px, px, y + L * py, py, t + L / bg2 * pt, pt


def quad(z: Vec, L: float, k: float, beta: float, gamma: float) -> Vec:
    """ImpactX Quad.H: linear quadrupole, k [1/m^2] > 0 focusing in x."""
    x, px, y, py, t, pt = as_arrays(z)
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
    x, px, y, py, t, pt = as_arrays(z)
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
    x, px, y, py, t, pt = as_arrays(z)
    ibeta, ibetagam2 = 1.0 / beta, 1.0 / (beta * gamma) ** 2
    inv_pzden = 1.0 / np.sqrt((pt - ibeta) ** 2 - ibetagam2 - px**2 - py**2)
    return (x + L * px * inv_pzden, px, y + L * py * inv_pzden, py, t - L * (ibeta + (pt - ibeta) * inv_pzden), pt)


def chr_quad(z: Vec, L: float, g: float, beta: float, gamma: float) -> Vec:
    """ImpactX ChrQuad.H operator() (literal; g = normalised strength [1/m^2])."""
    if g == 0.0:
        return chr_drift(z, L, beta, gamma)
    x, px, y, py, t, pt = as_arrays(z)
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
