"""The phase-space vector of the NumPy twins and the checks on their maps: repeated slices,
complex-step Jacobians, symplecticity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: speed of light [m/s] (CODATA, exact)
C_LIGHT = 299_792_458.0

Vec = tuple[np.ndarray, ...]


def as_arrays(z: Vec) -> Vec:
    """The six components of ``z`` as arrays."""
    return tuple(np.asarray(c) for c in z)


def delta1(pt: np.ndarray, beta: float) -> np.ndarray:
    """1 + delta = p / p0 as a function of pt (ImpactX's delta1)."""
    return np.sqrt(1.0 - 2.0 * pt / beta + pt**2)


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
