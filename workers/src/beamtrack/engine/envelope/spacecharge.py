"""ImpactX's envelope space charge: linear kicks of a uniformly filled ellipse (2D) or ellipsoid (3D).

Sources: ImpactX src/envelope/spacecharge/EnvelopeSpaceChargePush.cpp (``space_charge2D_push``,
``space_charge3D_push``) and Elliptic_Integral.cpp (``Elliptic_RD``, Carlson's duplication algorithm for
R_D with ImpactX's error tolerance 1e-3 and its closing series). Each push is cm <- R cm R^T with R the
identity plus the focusing terms below; it acts on the reference particle at the slice entry.

- 2D (current I [A]): perveance K = |I / I_A| 2 / (beta gamma)^3 with I_A = 4 pi eps0 m c^3 / q;
  sigma = sqrt(<x^2><y^2> - <xy>^2), D = (sigma + <x^2>)(sigma + <y^2>) - <xy>^2, k = K ds / (2 D);
  R[px, x] = k (sigma + <y^2>), R[px, y] = R[py, x] = -k <xy>, R[py, y] = k (sigma + <x^2>).
- 3D (bunch charge Q [C]): r = |q Q| / (4 pi eps0 m c^2), k = ds r / (beta gamma)^2 / (5 sqrt 5),
  with X = <x^2>, Y = <y^2>, Z = (beta gamma)^2 <t^2>: R[px, x] = k R_D(Y, Z, X),
  R[py, y] = k R_D(Z, X, Y), R[pt, t] = k (beta gamma)^2 R_D(X, Y, Z). Like ImpactX, the model assumes
  <xy> = <yt> = <tx> = 0 and warns (EnvelopeSpaceChargeWarning) when a correlation exceeds 1e-3.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import constants

if TYPE_CHECKING:
    from ..refpart import RefPart

#: ImpactX's tolerance for R_D and for the correlation warning
ERRTOL = 1.0e-3
_LOLIM, _UPLIM = 6.0e-51, 1.0e48


class EnvelopeSpaceChargeWarning(UserWarning):
    """The envelope space-charge model is outside its assumptions (correlations, R_D arguments)."""


def elliptic_rd(x: float, y: float, z: float, errtol: float = ERRTOL) -> float:
    """Carlson's symmetric elliptic integral R_D(x, y, z) = 3/2 int_0^inf dt / ((t+x)^(1/2) (t+y)^(1/2) (t+z)^(3/2)),
    as ImpactX evaluates it (same iteration, tolerance and series, so the same rounding)."""
    if x < 0.0 or y < 0.0 or x + y < _LOLIM or z < _LOLIM or x > _UPLIM or y > _UPLIM or z > _UPLIM:
        warnings.warn(f"invalid arguments of Elliptic_RD ({x}, {y}, {z})", EnvelopeSpaceChargeWarning, stacklevel=2)
    xn, yn, zn = x, y, z
    sigma, power4 = 0.0, 1.0
    for _ in range(100):
        mu = (xn + yn + 3.0 * zn) * 0.2
        xndev, yndev, zndev = (mu - xn) / mu, (mu - yn) / mu, (mu - zn) / mu
        if max(abs(xndev), max(abs(yndev), abs(zndev))) < errtol:
            c1, c2, c3, c4 = 3.0 / 14.0, 1.0 / 6.0, 9.0 / 22.0, 3.0 / 26.0
            ea = xndev * yndev
            eb = zndev * zndev
            ec = ea - eb
            ed = ea - 6.0 * eb
            ef = ed + ec + ec
            s1 = ed * (-c1 + 0.25 * c3 * ed - 1.5 * c4 * zndev * ef)
            s2 = zndev * (c2 * ef + zndev * (-c3 * ec + zndev * c4 * ea))
            return 3.0 * sigma + power4 * (1.0 + s1 + s2) / (mu * math.sqrt(mu))
        xr, yr, zr = math.sqrt(xn), math.sqrt(yn), math.sqrt(zn)
        lamda = xr * (yr + zr) + yr * zr
        sigma += power4 / (zr * (zn + lamda))
        power4 *= 0.25
        xn, yn, zn = (xn + lamda) * 0.25, (yn + lamda) * 0.25, (zn + lamda) * 0.25
    warnings.warn("Elliptic_RD exceeded 100 iterations", EnvelopeSpaceChargeWarning, stacklevel=2)
    return 0.0


def _apply(cm: np.ndarray, R: np.ndarray) -> None:
    cm[:] = R @ cm @ R.T


def space_charge2d_push(ref: RefPart, cm: np.ndarray, current: float, ds: float) -> None:
    """Push ``cm`` (in place) through ``ds`` [m] of 2D space charge of a beam of ``current`` [A]."""
    if current == 0.0 or ds == 0.0:
        return
    c, ep0 = constants.c, constants.epsilon0
    bg = math.sqrt(ref.pt * ref.pt - 1.0)
    IA = 4.0 * math.pi * ep0 * ref.mass * c**3 / ref.charge
    Kpv = abs(current / IA) * 2.0 / bg**3
    sigma = math.sqrt(cm[0, 0] * cm[2, 2] - cm[0, 2] * cm[0, 2])
    D = (sigma + cm[0, 0]) * (sigma + cm[2, 2]) - cm[0, 2] * cm[0, 2]
    coeff = Kpv * ds / (2.0 * D)
    R = np.eye(6)
    R[1, 0] = coeff * (sigma + cm[2, 2])
    R[1, 2] = R[3, 0] = coeff * (-cm[0, 2])
    R[3, 2] = coeff * (sigma + cm[0, 0])
    _apply(cm, R)


def space_charge3d_push(ref: RefPart, cm: np.ndarray, bunch_charge: float, ds: float) -> None:
    """Push ``cm`` (in place) through ``ds`` [m] of 3D space charge of a bunch of ``bunch_charge`` [C]."""
    if bunch_charge == 0.0 or ds == 0.0:
        return
    c, ep0 = constants.c, constants.epsilon0
    bg2 = ref.pt * ref.pt - 1.0
    rcN = abs(ref.charge * bunch_charge) / (4.0 * math.pi * ep0 * ref.mass * c**2)
    coeff = ds * rcN / bg2 * (1.0 / (5.0 * math.sqrt(5.0)))
    x, y, z = float(cm[0, 0]), float(cm[2, 2]), bg2 * float(cm[4, 4])
    corr = [
        0.0 if a * b == 0.0 else abs(v / math.sqrt(a * b))
        for v, a, b in ((cm[0, 2], x, y), (cm[2, 4], y, z), (cm[4, 0], z, x))
    ]
    if max(corr) > ERRTOL:
        warnings.warn(
            "the 3D envelope space-charge model assumes <xy> = <yt> = <tx> = 0 but non-zero correlations are present",
            EnvelopeSpaceChargeWarning,
            stacklevel=2,
        )
    R = np.eye(6)
    R[1, 0] = coeff * elliptic_rd(y, z, x)
    R[3, 2] = coeff * elliptic_rd(z, x, y)
    R[5, 4] = coeff * bg2 * elliptic_rd(x, y, z)
    _apply(cm, R)
