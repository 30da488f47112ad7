"""Spin pushes (ImpactX's spin_and_phasespace_push) of Quad, Sbend, Sol, SpinMap, the soft-edge slices
(a 3x6 spin-orbit coupling A and a rotation v) and DipEdge, for one slice.

Each function takes the phase-space vector ``z = (x, px, y, py, t, pt)`` of the slice entry (ImpactX's units and
map order, arrays) and the spin ``s = (sx, sy, sz)`` and returns the rotated spin; the phase space is pushed by
the element twins (drifts_quads.py, bends.py). The formulas are ImpactX's, transcribed literally from
src/elements/{Quad,Sbend,Sol,SpinMap,SoftSol}.H and src/elements/mixin/spintransport.H (BLAST-ImpactX/impactx,
2026: compute_constants and spin_and_phasespace_push) as ImpactX writes them (quaternion of rotate_spin, the
A_ij coefficients with their own grouping), apart from the C headers in elements/c/spin/. ``G`` is the
gyromagnetic anomaly, ``beta``, ``gamma`` the reference particle's. DipEdge's 26.10 source is not public: its
twin is the map identified on ImpactX 26.10 (tests/oracle/test_spin_oracle.py), written as the rotation about
the pole face's frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .phase_space import Vec, as_arrays

Spin = tuple[np.ndarray, np.ndarray, np.ndarray]


def rotate_spin(lx: np.ndarray, ly: np.ndarray, lz: np.ndarray, s: Spin) -> Spin:
    """ImpactX's SpinTransport::rotate_spin: the unit quaternion (cos(a/2), -sin(a/2) lambda / a), a = |lambda|,
    applied to s as the rotation matrix of that quaternion."""
    lx, ly, lz = (np.asarray(v, dtype=float) for v in (lx, ly, lz))
    angle = np.sqrt(lx * lx + ly * ly + lz * lz)
    w0 = np.cos(0.5 * angle)
    safe = np.where(angle != 0.0, angle, 1.0)
    c = np.where(angle != 0.0, -np.sin(0.5 * angle) / safe, 0.0)
    w1, w2, w3 = lx * c, ly * c, lz * c
    sx, sy, sz = s
    return (
        (1 - 2 * (w2**2 + w3**2)) * sx + 2 * (w1 * w2 + w0 * w3) * sy + 2 * (w1 * w3 - w0 * w2) * sz,
        2 * (w1 * w2 - w0 * w3) * sx + (1 - 2 * (w1**2 + w3**2)) * sy + 2 * (w0 * w1 + w2 * w3) * sz,
        2 * (w0 * w2 + w1 * w3) * sx + 2 * (w2 * w3 - w0 * w1) * sy + (1 - 2 * (w1**2 + w2**2)) * sz,
    )


def quad(z: Vec, s: Spin, L: float, k: float, G: float, gamma: float) -> Spin:
    """ImpactX Quad.H: lambda = (A14 py + A13 y, A22 px + A21 x, 0) with g = 1 + G gamma, w = sqrt|k|."""
    x, px, y, py, _, _ = as_arrays(z)
    w, g = np.sqrt(abs(k)), 1.0 + G * gamma
    if k > 0:
        A13, A14 = -g * w * np.sinh(w * L), -g * (np.cosh(w * L) - 1.0)
        A21, A22 = -g * w * np.sin(w * L), -g * (1.0 - np.cos(w * L))
    elif k < 0:
        A13, A14 = g * w * np.sin(w * L), g * (1.0 - np.cos(w * L))
        A21, A22 = g * w * np.sinh(w * L), g * (np.cosh(w * L) - 1.0)
    else:
        return s
    return rotate_spin(A14 * py + A13 * y, A22 * px + A21 * x, 0.0 * x, s)


def sbend(z: Vec, s: Spin, L: float, rc: float, G: float, beta: float, gamma: float) -> Spin:
    """ImpactX Sbend.H: lambda = (A14 py, A21 x + A22 px + A26 pt, A34 py), then the reference rotation
    (0, -G gamma theta, 0), theta = L / rc."""
    x, px, _, py, _, pt = as_arrays(z)
    theta = L / rc
    g, phi = 1.0 + G * gamma, G * gamma * theta
    A14 = (gamma - 1.0) / gamma * (1.0 - np.cos(phi))
    A34 = (gamma - 1.0) / gamma * np.sin(phi)
    A21, A22 = -g * np.sin(theta) / rc, -g * (1.0 - np.cos(theta))
    A26 = -g * np.sin(theta) / beta + G * beta * gamma * theta
    s = rotate_spin(A14 * py, A21 * x + A22 * px + A26 * pt, A34 * py, s)
    return rotate_spin(0.0 * x, -phi + 0.0 * x, 0.0 * x, s)


def sol(z: Vec, s: Spin, L: float, ks: float, G: float, beta: float, gamma: float) -> Spin:
    """ImpactX Sol.H: theta = ks L / 2; lambda = ((gamma-1)/2 ((2 px + ks y) sin(2 G theta) - (2 py - ks x)
    (1 - cos(2 G theta))), (gamma-1)/2 ((2 py - ks x) sin(2 G theta) + (2 px + ks y)(1 - cos(2 G theta))),
    -2 theta (1 + G) pt / beta), then (0, 0, -2 theta (1 + G))."""
    x, px, y, py, _, pt = as_arrays(z)
    theta = 0.5 * ks * L
    a, r, n = 2.0 * G * theta, 0.5 * (gamma - 1.0), -2.0 * theta * (1.0 + G)
    u, v = 2.0 * px + ks * y, 2.0 * py - ks * x
    s = rotate_spin(
        r * (u * np.sin(a) - v * (1 - np.cos(a))), r * (v * np.sin(a) + u * (1 - np.cos(a))), n * pt / beta, s
    )
    return rotate_spin(0.0 * x, 0.0 * x, n + 0.0 * x, s)


def coupled(z: Vec, s: Spin, A: np.ndarray, v: Sequence[float]) -> Spin:
    """ImpactX SpinMap.H (and the slices of SoftSol.H, SoftQuad.H, RFCavity.H): lambda = A z, then v."""
    zz = np.asarray(as_arrays(z))
    lam = np.asarray(A, dtype=float) @ zz.reshape(6, -1)
    s = rotate_spin(lam[0].reshape(zz.shape[1:]), lam[1].reshape(zz.shape[1:]), lam[2].reshape(zz.shape[1:]), s)
    one = np.ones(zz.shape[1:])
    return rotate_spin(v[0] * one, v[1] * one, v[2] * one, s)


def dipedge(z: Vec, s: Spin, psi: float, rc: float, exit: bool, G: float, beta: float, gamma: float) -> Spin:
    """ImpactX 26.10 DipEdge (identified): lambda = sigma (a e1 + b n) with a = G (gamma - 1)/rc (p . e1), p the
    momentum (px, py, pz), b = -(1 + G) y / rc, e1 = (cos psi, 0, -sin psi), n = (sin psi, 0, cos psi), sigma = -1
    at the exit."""
    x, px, y, py, _, pt = as_arrays(z)
    pz = np.sqrt(1.0 - 2.0 * pt / beta + pt**2 - px**2 - py**2)
    e1 = np.array([np.cos(psi), 0.0, -np.sin(psi)])
    n = np.array([np.sin(psi), 0.0, np.cos(psi)])
    sigma = -1.0 if exit else 1.0
    a = sigma * G * (gamma - 1.0) / rc * (px * e1[0] + pz * e1[2])
    b = -sigma * (1.0 + G) * y / rc
    return rotate_spin(a * e1[0] + b * n[0], 0.0 * x, a * e1[2] + b * n[2], s)
