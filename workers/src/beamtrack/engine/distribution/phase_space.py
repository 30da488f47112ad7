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

from ._base import Array, Distribution, RefLike, uniform

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


def _normals(rng: np.random.Generator, n: int, npart: int) -> Array:
    """n rows of independent standard normal deviates (ImpactX draws them by Box-Muller)."""
    return rng.standard_normal((n, npart))


def _on_sphere(g: Array) -> Array:
    """Normalise the columns of ``g`` (standard normals) to unit length: uniform on the unit sphere."""
    return g / np.sqrt(np.einsum("ij,ij->j", g, g))


class PhaseSpaceDistribution(Distribution):
    """A unit-covariance shape mapped onto the lambda/mu phase-space ellipses, then dispersion and means."""

    model: spec.PhaseSpace
    positional: ClassVar[tuple[str, ...]] = _PHASE_SPACE_ARGS

    @abstractmethod
    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        """Rows x, y, t, px, py, pt of the shape, each with zero mean and unit variance, uncorrelated."""

    def _sample(self, npart: int, rng: np.random.Generator, ref: RefLike | None, bunch_charge_C: float) -> Array:
        return self.transform(self._unit(npart, rng))

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


def _gaussian_pair(rng: np.random.Generator, npart: int, cut: float) -> tuple[Array, Array]:
    """ImpactX's (optionally truncated) Box-Muller pair: a 2D Gaussian cut at radius ``cut`` sigma,
    rescaled so each component keeps unit variance (cut = 0: no truncation)."""
    u1 = uniform(rng, (npart,))
    u2 = rng.random(npart)
    if cut > 0.0:
        f = 0.5 * cut * cut
        ef = math.exp(-f)
        r2scale = 1.0 - f * ef / (1.0 - ef)
        r = np.sqrt(-2.0 * np.log1p(-(1.0 - u1) * (1.0 - ef)) / r2scale)
    else:
        r = np.sqrt(-2.0 * np.log(u1))
    phase = TWO_PI * u2
    return r * np.cos(phase), r * np.sin(phase)


class Gaussian(PhaseSpaceDistribution):
    """6D Gaussian, optionally truncated in each phase plane at cutX, cutY, cutT [number of sigma;
    0 = no cut]; a cut plane is rescaled so its rms sizes stay those set by lambda/mu."""

    model_cls = spec.Gaussian
    model: spec.Gaussian
    positional = (*_PHASE_SPACE_ARGS, "cutX", "cutY", "cutT")

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        out = np.empty((6, npart))
        for iq, cut in enumerate((self.model.cutX, self.model.cutY, self.model.cutT)):
            out[iq], out[iq + 3] = _gaussian_pair(rng, npart, cut)
        return out


class Waterbag(PhaseSpaceDistribution):
    """6D waterbag: uniform in a 6D ellipsoid."""

    model_cls = spec.Waterbag
    model: spec.Waterbag

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        g = _on_sphere(_normals(rng, 6, npart))
        # radius sqrt(d + 2) u^(1/d), d = 6: uniform in the ball, unit variance per coordinate
        g *= math.sqrt(8.0) * uniform(rng, (npart,)) ** (1.0 / 6.0)
        return g


class Kurth6D(PhaseSpaceDistribution):
    """6D Kurth distribution: uniform density in a 3D spatial ellipsoid whose self-fields are linear
    (R. Kurth, Q. Appl. Math. 32, 325 (1978); C. Mitchell et al., IPAC2021, WEPAB248)."""

    model_cls = spec.Kurth6D
    model: spec.Kurth6D

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        u = uniform(rng, (6, npart))
        costheta = 2.0 * (u[1] - 0.5)
        sintheta = np.sqrt(np.maximum(1.0 - costheta * costheta, 0.0))
        phi = TWO_PI * u[2]
        r = np.cbrt(u[0])
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
        out = np.empty((6, npart))
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

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        u = uniform(rng, (5, npart))
        phi = TWO_PI * u[1]
        r = np.sqrt(u[0])
        lz = r * (2.0 * u[2] - 1.0)  # angular momentum
        alpha = math.pi * u[3]
        pphi = lz / r
        pmax = np.sqrt(np.maximum(1.0 - pphi * pphi - r * r + lz * lz, 0.0))
        pr = pmax * np.cos(alpha)
        cphi, sphi = np.cos(phi), np.sin(phi)
        out = np.empty((6, npart))
        out[0] = 2.0 * r * cphi
        out[1] = 2.0 * r * sphi
        out[3] = 2.0 * (pr * cphi - pphi * sphi)
        out[4] = 2.0 * (pr * sphi + pphi * cphi)
        out[2] = math.sqrt(3.0) * 2.0 * (u[4] - 0.5)
        out[5] = _gaussian_pair(rng, npart, 0.0)[0]
        return out


class KVdist(PhaseSpaceDistribution):
    """Kapchinskij-Vladimirskij in (x, y, px, py): uniform on the surface of a 4D ellipsoid (so
    uniform in the x-y ellipse); uniform in t, Gaussian in pt."""

    model_cls = spec.KVdist
    model: spec.KVdist

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        u = uniform(rng, (4, npart))
        r = np.sqrt(u[0])
        phi = TWO_PI * u[1]
        beta = TWO_PI * u[2]
        p = np.sqrt(np.maximum(1.0 - r * r, 0.0))
        out = np.empty((6, npart))
        out[0] = 2.0 * r * np.cos(phi)
        out[1] = 2.0 * r * np.sin(phi)
        out[3] = 2.0 * p * np.cos(beta)
        out[4] = 2.0 * p * np.sin(beta)
        out[2] = math.sqrt(3.0) * 2.0 * (u[3] - 0.5)
        out[5] = _gaussian_pair(rng, npart, 0.0)[0]
        return out


class Semigaussian(PhaseSpaceDistribution):
    """Semi-Gaussian: uniform in position (an x-y ellipse times a uniform t profile), Gaussian in momentum."""

    model_cls = spec.Semigaussian
    model: spec.Semigaussian

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        u = uniform(rng, (3, npart))
        phi = TWO_PI * u[0]
        r = np.sqrt(u[1])
        out = np.empty((6, npart))
        out[0] = 2.0 * r * np.cos(phi)
        out[1] = 2.0 * r * np.sin(phi)
        out[2] = math.sqrt(3.0) * 2.0 * (u[2] - 0.5)
        out[3], out[4] = _gaussian_pair(rng, npart, 0.0)
        out[5] = _gaussian_pair(rng, npart, 0.0)[0]
        return out


class Triangle(PhaseSpaceDistribution):
    """Ramped triangular current profile in t with a Gaussian energy spread (a chirp through mutpt);
    4D waterbag in (x, y, px, py). For laser-plasma accelerator beams."""

    model_cls = spec.Triangle
    model: spec.Triangle

    def _unit(self, npart: int, rng: np.random.Generator) -> Array:
        out = np.empty((6, npart))
        # inverse CDF of the ramp density (2 sqrt2 - t) / 9 on [-sqrt2, 2 sqrt2]: mean 0, variance 1
        out[2] = math.sqrt(2.0) * (2.0 - 3.0 * np.sqrt(rng.random(npart)))
        g = _on_sphere(_normals(rng, 4, npart))
        g *= math.sqrt(6.0) * uniform(rng, (npart,)) ** 0.25  # uniform in the 4D ball, unit variance
        out[0], out[1], out[3], out[4] = g
        out[5] = _gaussian_pair(rng, npart, 0.0)[0]
        return out
