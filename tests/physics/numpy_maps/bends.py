"""Bends and frame rotations (Sbend, CFbend, DipEdge, ThinDipole, ExactSbend, PRot).

The maps' conventions and the source of their formulas (ImpactX's, transcribed literally): see the
"ImpactX transcriptions" paragraph of numpy_maps/__init__.py.
"""

from __future__ import annotations

import numpy as np

from .phase_space import Vec, as_arrays


def sbend(z: Vec, L: float, rc: float, beta: float, gamma: float) -> Vec:
    """ImpactX Sbend.H (linear sector bend, literal R entries)."""
    x, px, y, py, t, pt = as_arrays(z)
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
    x, px, y, py, t, pt = as_arrays(z)
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
    x, px, y, py, t, pt = as_arrays(z)
    R21 = np.tan(psi) / rc
    vf = (1.0 + np.sin(psi) ** 2) / np.cos(psi) ** 3 * g * K2 / rc**2
    return x, px + R21 * x, y, py + (vf - R21) * y, t, pt


def thin_dipole(z: Vec, theta: float, rc: float, beta: float) -> Vec:
    """ImpactX ThinDipole.H (theta [rad])."""
    x, px, y, py, t, pt = as_arrays(z)
    ds, kx = theta * rc, 1.0 / rc
    f = -1.0 + np.sqrt(1.0 - 2.0 * pt / beta + pt**2)
    fprime = (1.0 - beta * pt) / (beta * (1.0 + f))
    return x, px - kx**2 * ds * x + kx * ds * f, y, py, t + kx * x * ds * fprime, pt


def exact_sbend(z: Vec, rc: float, phi: float, beta: float) -> tuple[Vec, np.ndarray]:
    """ImpactX ExactSbend.H operator() for one slice of angle phi [rad] on radius rc [m]; returns (z, lost)."""
    x, px, y, py, t, pt = as_arrays(z)
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
    x, px, y, py, t, pt = as_arrays(z)
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
