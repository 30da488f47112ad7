"""Eigen-emittances of a beam's 6x6 covariance matrix, as ImpactX 26.10 computes them (``sim.eigenemittances``).

Source: ImpactX src/diagnostics/EmittanceInvariants.cpp and CovarianceMatrixMath.H, after C. Mitchell et al.,
"The invariants of the beam covariance matrix" (the kinetic invariants I2, I4, I6 of S = Sigma J). Sigma is
the covariance in the order (x, px, y, py, t, pt) with the momenta times the reference's beta gamma, so the
eigen-emittances are normalized emittances [m]; with J the 6x6 symplectic form,

    I2 = -tr(S^2) / 2,   I4 = tr(S^4) / 2,   I6 = -tr(S^6) / 2,

and the squared eigen-emittances are the roots of x^3 - I2 x^2 + (I2^2 - I4)/2 x - (I2^3/6 - I2 I4/2 + I6/3),
found in trigonometric form (three real roots x1 >= x2 >= x3); ImpactX reports
(emittance_1, emittance_2, emittance_3) = (sqrt|x2|, sqrt|x3|, sqrt|x1|). A positive discriminant (beyond
1e-12 of round-off) means complex roots: ImpactX warns and reports zeros, and so does this module.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

#: ImpactX's reduced-diagnostics columns and BeamMonitor attributes for the eigen-emittances [m]
EIGEN_COLUMNS: tuple[str, ...] = ("emittance_1", "emittance_2", "emittance_3")

#: rows x, y, t, px, py, pt (the particle container's order) -> (x, px, y, py, t, pt)
_TO_MAP_ORDER = (0, 3, 1, 4, 2, 5)
_J = np.kron(np.eye(3), np.array([[0.0, 1.0], [-1.0, 0.0]]))


class EigenemittanceWarning(UserWarning):
    """The cubic of the kinetic invariants has complex roots (round-off): the eigen-emittances are set to 0."""


def impactx_sigma(cov: np.ndarray, beta_gamma: float) -> np.ndarray:
    """ImpactX's Sigma from a central covariance in the order x, y, t, px, py, pt: reordered to (x, px, y, py, t,
    pt) and the momentum rows/columns times beta_gamma."""
    order = list(_TO_MAP_ORDER)
    scale = np.array([1.0, beta_gamma, 1.0, beta_gamma, 1.0, beta_gamma])
    sigma: np.ndarray = cov[np.ix_(order, order)] * np.outer(scale, scale)
    return sigma


def _cubic_roots_trig(a: float, b: float, c: float, d: float) -> tuple[float, float, float]:
    """The real roots of a x^3 + b x^2 + c x + d in trigonometric form (ImpactX's CubicRootsTrig)."""
    Q = (3.0 * a * c - b * b) / (9.0 * a * a)
    R = (9.0 * a * b * c - 27.0 * a * a * d - 2.0 * b**3) / (54.0 * a**3)
    if Q**3 + R * R > 1.0e-12:
        warnings.warn(
            "eigen-emittances: the invariants' cubic has complex roots (loss of precision); set to 0, as ImpactX",
            EigenemittanceWarning,
            stacklevel=3,
        )
        return 0.0, 0.0, 0.0
    if Q == 0.0:
        x = -b / (3.0 * a)
        return x, x, x
    theta = math.acos(R / math.sqrt(-(Q**3)))
    r, shift = 2.0 * math.sqrt(-Q), b / (3.0 * a)
    return (
        r * math.cos(theta / 3.0) - shift,
        r * math.cos(theta / 3.0 + 2.0 * math.pi / 3.0) - shift,
        r * math.cos(theta / 3.0 + 4.0 * math.pi / 3.0) - shift,
    )


def eigenemittances(sigma: np.ndarray) -> tuple[float, float, float]:
    """(emittance_1, emittance_2, emittance_3) [m] of ImpactX's Sigma (see ``impactx_sigma``)."""
    S = np.asarray(sigma, dtype=np.float64) @ _J
    S2 = S @ S
    S4 = S2 @ S2
    I2 = -np.trace(S2) * 0.5
    I4 = np.trace(S4) * 0.5
    I6 = -np.trace(S2 @ S4) * 0.5
    x1, x2, x3 = _cubic_roots_trig(1.0, -I2, (I2 * I2 - I4) * 0.5, -(I2**3) / 6.0 + I2 * I4 * 0.5 - I6 / 3.0)
    return math.sqrt(abs(x2)), math.sqrt(abs(x3)), math.sqrt(abs(x1))
