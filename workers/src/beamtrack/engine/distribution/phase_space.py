"""The seven lambda/mu distributions of ImpactX: Gaussian, Waterbag, Kurth6D, Kurth4D, KVdist,
Semigaussian, Triangle.

Source: ImpactX ``src/particles/distribution/<Name>.H``. Each draws a unit-covariance sample of its
shape, then (ImpactX's transform, per plane q = x, y, t with momentum p):
    root = sqrt(1 - mu^2);  q <- lambdaQ q / root;  p <- lambdaP (-mu q_unit / root + p_unit)
then dispersion  x -= dispX pt, px -= dispPx pt, y -= dispY pt, py -= dispPy pt,  then the means.
All in ImpactX units: x, y, t [m], px, py, pt [1].
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import ClassVar

import numpy as np
from beamtrack.spec import distributions as spec

from ._base import Array, Distribution, RandomSource, RefLike, uniforms

TWO_PI = 2.0 * math.pi

_PHASE_SPACE_ARGS = (
    "lambdaX",
    "lambdaY",
    "lambdaT",
    "lambdaPx",
    "lambdaPy",
    "lambdaPt",
    "muxpx",
    "muypy",
    "mutpt",
    "meanX",
    "meanY",
    "meanT",
    "meanPx",
    "meanPy",
    "meanPt",
    "dispX",
    "dispPx",
    "dispY",
    "dispPy",
)


def _box_muller(u1: Array, u2: Array, cut: float = 0.0) -> tuple[Array, Array]:
    """ImpactX's Box-Muller pair (r cos 2 pi u2, r sin 2 pi u2) from two uniform numbers, r = sqrt(-2 ln u1); with
    ``cut`` > 0 [sigma] the 2D Gaussian truncated at that radius, rescaled so each component keeps unit variance
    (ImpactX's Gaussian cutX/cutY/cutT)."""
    if cut > 0.0:
        f = 0.5 * cut * cut
        ef = math.exp(-f)
        r2scale = 1.0 - f * ef / (1.0 - ef)
        r = np.sqrt(-2.0 * np.log(1.0 - u1 * (1.0 - ef)) / r2scale)
    else:
        r = np.sqrt(-2.0 * np.log(u1))
    phase = TWO_PI * u2
    return r * np.cos(phase), r * np.sin(phase)


def _ball(g: Array, u: Array) -> Array:
    """Columns of ``g`` (Gaussian) scaled to uniform in the unit-variance d-ball: g / |g| sqrt(d + 2) u^(1/d)."""
    d = g.shape[0]
    return g * (math.sqrt(d + 2.0) * u ** (1.0 / d) / np.sqrt(np.einsum("ij,ij->j", g, g)))


class PhaseSpaceDistribution(Distribution):
    """A unit-covariance shape mapped onto the lambda/mu phase-space ellipses, then dispersion and means."""

    model: spec.PhaseSpace
    positional: ClassVar[tuple[str, ...]] = _PHASE_SPACE_ARGS

    #: uniform numbers ImpactX draws per particle for this shape
    draws: ClassVar[int]

    @abstractmethod
    def _unit(self, u: Array) -> Array:
        """Rows x, y, t, px, py, pt of the shape (zero mean, unit variance, uncorrelated) from ``u``: (draws,
        npart), row j every particle's j-th uniform number in ImpactX's order."""

    def _sample(self, npart: int, rng: RandomSource, ref: RefLike | None, bunch_charge_C: float) -> Array:
        return self.transform(self._unit(uniforms(rng, self.draws, npart)))

    def transform(self, unit: Array) -> Array:
        """ImpactX's map from the unit shape (rows x, y, t, px, py, pt) to the beam, in place."""
        m = self.model
        lm = m.lambda_mu()
        planes = (
            (0, 3, lm["lambdaX"], lm["lambdaPx"], lm["muxpx"]),
            (1, 4, lm["lambdaY"], lm["lambdaPy"], lm["muypy"]),
            (2, 5, lm["lambdaT"], lm["lambdaPt"], lm["mutpt"]),
        )
        for iq, ip, lam_q, lam_p, mu in planes:
            root = math.sqrt(1.0 - mu * mu)
            q = unit[iq] / root
            unit[ip] = lam_p * (unit[ip] - mu * q)
            unit[iq] = lam_q * q
        pt = unit[5]
        for row, disp in ((0, m.dispX), (3, m.dispPx), (1, m.dispY), (4, m.dispPy)):
            if disp != 0.0:
                unit[row] -= disp * pt
        for row, mean in enumerate((m.meanX, m.meanY, m.meanT, m.meanPx, m.meanPy, m.meanPt)):
            if mean != 0.0:
                unit[row] += mean
        return unit


class Gaussian(PhaseSpaceDistribution):
    """6D Gaussian, optionally truncated in each phase plane at cutX, cutY, cutT [number of sigma;
    0 = no cut]; a cut plane is rescaled so its rms sizes stay those set by lambda/mu."""

    model_cls = spec.Gaussian
    model: spec.Gaussian
    positional = (*_PHASE_SPACE_ARGS, "cutX", "cutY", "cutT")
    draws = 6  # a Box-Muller pair per plane: (x, px), (y, py), (t, pt)

    def _unit(self, u: Array) -> Array:
        out = np.empty_like(u)
        for iq, cut in enumerate((self.model.cutX, self.model.cutY, self.model.cutT)):
            out[iq], out[iq + 3] = _box_muller(u[2 * iq], u[2 * iq + 1], cut)
        return out


class Waterbag(PhaseSpaceDistribution):
    """6D waterbag: uniform in a 6D ellipsoid."""

    model_cls = spec.Waterbag
    model: spec.Waterbag
    draws = 7  # three Box-Muller pairs (the direction), then the radius

    def _unit(self, u: Array) -> Array:
        g = np.empty((6, u.shape[1]))
        for k in range(3):
            g[2 * k], g[2 * k + 1] = _box_muller(u[2 * k], u[2 * k + 1])
        return _ball(g, u[6])  # rows g1..g6 are x, y, t, px, py, pt


class Kurth6D(PhaseSpaceDistribution):
    """6D Kurth distribution: uniform density in a 3D spatial ellipsoid whose self-fields are linear
    (R. Kurth, Q. Appl. Math. 32, 325 (1978); C. Mitchell et al., IPAC2021, WEPAB248)."""

    model_cls = spec.Kurth6D
    model: spec.Kurth6D
    draws = 6  # v, cos(theta), phi, L, alpha, beta

    def _unit(self, u: Array) -> Array:
        costheta = 2.0 * (u[1] - 0.5)
        sintheta = np.sqrt(np.maximum(1.0 - costheta * costheta, 0.0))
        phi = TWO_PI * u[2]
        r = np.power(u[0], 1.0 / 3.0)
        big_l = r * np.sqrt(u[3])  # angular momentum magnitude
        alpha = math.pi * u[4]
        beta = TWO_PI * u[5]
        l_over_r = big_l / r
        # pmax^2 = (1 - r^2)(1 - L^2/r^2) >= 0; clip the rounding below zero
        pmax = np.sqrt(np.maximum(1.0 - l_over_r**2 - r * r + big_l * big_l, 0.0))
        pr = pmax * np.cos(alpha)
        p1 = l_over_r * np.cos(beta)  # phi component
        p2 = l_over_r * np.sin(beta)  # theta component
        cphi, sphi = np.cos(phi), np.sin(phi)
        out = np.empty_like(u)
        out[0] = r * sintheta * cphi
        out[1] = r * sintheta * sphi
        out[2] = r * costheta
        out[3] = pr * sintheta * cphi + p2 * costheta * cphi - p1 * sphi
        out[4] = pr * sintheta * sphi + p2 * costheta * sphi + p1 * cphi
        out[5] = pr * costheta - p2 * sintheta
        out *= math.sqrt(5.0)
        return out


class Kurth4D(PhaseSpaceDistribution):
    """4D Kurth distribution in (x, y, px, py), uniform in t, Gaussian in pt."""

    model_cls = spec.Kurth4D
    model: spec.Kurth4D
    draws = 7  # v, phi, Lz, alpha, t, then a Box-Muller pair for pt

    def _unit(self, u: Array) -> Array:
        phi = TWO_PI * u[1]
        r = np.sqrt(u[0])
        lz = r * (2.0 * u[2] - 1.0)  # angular momentum
        alpha = math.pi * u[3]
        pphi = lz / r
        pmax = np.sqrt(np.maximum(1.0 - pphi * pphi - r * r + lz * lz, 0.0))
        pr = pmax * np.cos(alpha)
        cphi, sphi = np.cos(phi), np.sin(phi)
        out = np.empty((6, u.shape[1]))
        out[0] = 2.0 * r * cphi
        out[1] = 2.0 * r * sphi
        out[3] = 2.0 * (pr * cphi - pphi * sphi)
        out[4] = 2.0 * (pr * sphi + pphi * cphi)
        out[2] = math.sqrt(3.0) * 2.0 * (u[4] - 0.5)
        out[5] = _box_muller(u[5], u[6])[0]
        return out


class KVdist(PhaseSpaceDistribution):
    """Kapchinskij-Vladimirskij in (x, y, px, py): uniform on the surface of a 4D ellipsoid (so
    uniform in the x-y ellipse); uniform in t, Gaussian in pt."""

    model_cls = spec.KVdist
    model: spec.KVdist
    draws = 6  # v, phi, beta, t, then a Box-Muller pair for pt

    def _unit(self, u: Array) -> Array:
        r = np.sqrt(u[0])
        phi = TWO_PI * u[1]
        beta = TWO_PI * u[2]
        p = np.sqrt(np.maximum(1.0 - r * r, 0.0))
        out = np.empty_like(u)
        out[0] = 2.0 * r * np.cos(phi)
        out[1] = 2.0 * r * np.sin(phi)
        out[3] = 2.0 * p * np.cos(beta)
        out[4] = 2.0 * p * np.sin(beta)
        out[2] = math.sqrt(3.0) * 2.0 * (u[3] - 0.5)
        out[5] = _box_muller(u[4], u[5])[0]
        return out


class Semigaussian(PhaseSpaceDistribution):
    """Semi-Gaussian: uniform in position (an x-y ellipse times a uniform t profile), Gaussian in momentum."""

    model_cls = spec.Semigaussian
    model: spec.Semigaussian
    draws = 7  # phi, v, t, a Box-Muller pair for (px, py), one for pt

    def _unit(self, u: Array) -> Array:
        phi = TWO_PI * u[0]
        r = np.sqrt(u[1])
        out = np.empty((6, u.shape[1]))
        out[0] = 2.0 * r * np.cos(phi)
        out[1] = 2.0 * r * np.sin(phi)
        out[2] = math.sqrt(3.0) * 2.0 * (u[2] - 0.5)
        out[3], out[4] = _box_muller(u[3], u[4])
        out[5] = _box_muller(u[5], u[6])[0]
        return out


class Triangle(PhaseSpaceDistribution):
    """Ramped triangular current profile in t with a Gaussian energy spread (a chirp through mutpt);
    4D waterbag in (x, y, px, py). For laser-plasma accelerator beams."""

    model_cls = spec.Triangle
    model: spec.Triangle
    draws = 8  # t, three Box-Muller pairs (x, y, px, py directions and pt), the 4D radius

    def _unit(self, u: Array) -> Array:
        out = np.empty((6, u.shape[1]))
        # inverse CDF of the ramp density (2 sqrt2 - t) / 9 on [-sqrt2, 2 sqrt2]: mean 0, variance 1
        out[2] = math.sqrt(2.0) * (2.0 - 3.0 * np.sqrt(u[0]))
        g = np.empty((4, u.shape[1]))
        g[0], g[1] = _box_muller(u[1], u[2])
        g[2], g[3] = _box_muller(u[3], u[4])
        out[5] = _box_muller(u[5], u[6])[0]
        out[0], out[1], out[3], out[4] = _ball(g, u[7])  # uniform in the 4D ball, unit variance
        return out
