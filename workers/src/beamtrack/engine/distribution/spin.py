"""Spin distributions (ImpactX's ``distribution.SpinvMF``): unit spin vectors drawn on the 2-sphere.

SpinvMF(mux, muy, muz) is the von Mises-Fisher distribution whose mean spin (the beam's polarization
vector) is mu = (mux, muy, muz), |mu| < 1: mean direction mu / |mu| and concentration kappa =
inverse_Langevin(|mu|), so that the expected polarization E[s . mu/|mu|] = L(kappa) = coth(kappa) - 1/kappa
equals |mu| (to the accuracy of the approximate inverse). Sampling as ImpactX: two uniform numbers
(x1, x2) per particle, phi = 2 pi x1, t = 1 + log1p(x2 expm1(-2 kappa)) / kappa the cosine of the angle
to the mean direction (D. Frisch and U. D. Hanebeck, IEEE SDF-MFI 2023, doi:10.1109/SDF-MFI59545.2023.10361396,
eq. 30), rotated onto mu / |mu| with ImpactX's choice of the transverse axes. The inverse Langevin
function is R. Petrosyan's approximation (Rheol. Acta 56, 21 (2016), doi:10.1007/s00397-016-0977-9):
kappa = 3 P + P^2 sin(7 P / 2) / 5 + P^3 / (1 - P). Source: ImpactX src/particles/distribution/SpinvMF.H.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._base import RandomSource, uniforms


class SpinvMF:
    """von Mises-Fisher spin distribution with mean polarization vector (mux, muy, muz) [1], 0 < |mu| < 1."""

    def __init__(self, mux: float, muy: float, muz: float):
        self.mux, self.muy, self.muz = float(mux), float(muy), float(muz)
        pmag = math.sqrt(self.mux**2 + self.muy**2 + self.muz**2)
        if not 0.0 < pmag < 1.0:
            raise ValueError(f"SpinvMF: the polarization magnitude |mu| must be in (0, 1), got {pmag!r}")
        self.kappa = self.inverse_Langevin(pmag)

    @staticmethod
    def inverse_Langevin(pmag: float) -> float:
        """Concentration kappa giving polarization magnitude ``pmag`` in [0, 1) (Petrosyan's approximation)."""
        if not 0.0 <= pmag < 1.0:
            raise ValueError(f"inverse_Langevin: the polarization magnitude must be in [0, 1), got {pmag!r}")
        return 3.0 * pmag + pmag**2 / 5.0 * math.sin(7.0 * pmag * 0.5) + pmag**3 / (1.0 - pmag)

    def sample(self, n: int, rng: RandomSource) -> tuple[Any, Any, Any]:
        """``n`` unit spin vectors (sx, sy, sz) drawn with ``rng`` (ImpactX's two uniform numbers per particle)."""
        norm = math.sqrt(self.mux**2 + self.muy**2 + self.muz**2)
        mux, muy, muz = self.mux / norm, self.muy / norm, self.muz / norm
        muperp = math.hypot(mux, muy)
        a = mux / muperp if muperp else 0.0
        b = muy / muperp if muperp else 1.0
        x1, x2 = uniforms(rng, 2, n)
        c, s = np.cos(2.0 * np.pi * x1), np.sin(2.0 * np.pi * x1)
        k = self.kappa
        t = 1.0 + np.log1p(x2 * math.expm1(-2.0 * k)) / k
        u = np.sqrt(1.0 - t * t)
        sx = u * (b * c + a * muz * s) + t * mux
        sy = u * (-a * c + b * muz * s) + t * muy
        sz = u * (-muperp * s) + t * muz
        return sx, sy, sz

    def __repr__(self) -> str:
        return f"SpinvMF(mux={self.mux!r}, muy={self.muy!r}, muz={self.muz!r})"
