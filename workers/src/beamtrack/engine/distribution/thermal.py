"""ImpactX's Thermal distribution: a stationary (bi-)thermal beam in an isotropic linear focusing
channel, self-consistent with its own space charge.

Source: ImpactX ``src/particles/distribution/Thermal.H``; R. D. Ryne, J. Qiang, A. Adelmann,
Proc. EPAC2004, pp. 1942-1944. In the beam rest frame each population j (core, halo) has density
    n_j(r) = p_j exp(-(k^2 r^2 / 2 + C_1 phi_1(r) + C_2 phi_2(r)) / kT_j),
Maxwellian momenta of variance kT_j, and phi_j the potential of the cumulative charge f_j(r)
(phi_j' = -f_j / (4 pi r^2), f_j' = 4 pi r^2 n_j). The radial ODE is integrated as ImpactX does
(2000 second-order Strang steps from 1e-10 to 10 matched radii), tabulated as a CDF and inverted
by linear interpolation. Lab frame: t = -z / (beta gamma), pt = -pz beta gamma.
"""

from __future__ import annotations

import math
import warnings
from typing import ClassVar

import numpy as np
from beamtrack.spec import distributions as spec

from .. import constants
from ._base import Array, Distribution, RandomSource, RefLike, uniforms

#: ImpactX's ThermalData integration constants
RIN = 1.0e-10  #: first radius of the integration, in matched radii
ROUT = 10.0  #: last radius of the integration, in matched radii
NSTEPS = 2000  #: radial integration steps (= CDF bins)
#: |integrated charge fraction - 1| above which the normalization is reported as not self-consistent
NORMALIZATION_TOLERANCE = 0.05


class ThermalNormalizationWarning(UserWarning):
    """The density integrates to a charge fraction far from 1: ``normalize`` is not self-consistent."""


class RadialCDF:
    """Tabulated radial CDFs of the core and halo populations on ``rmin + (rmax - rmin) j / nbins``.

    ``total_core``, ``total_halo``: each density integrated before rescaling, i.e. the fraction of
    the population's charge that the normalization constant accounts for (1 when self-consistent).
    """

    def __init__(
        self, rmin: float, rmax: float, cdf_core: Array, cdf_halo: Array, total_core: float, total_halo: float
    ):
        self.rmin, self.rmax = rmin, rmax
        self.cdf_core, self.cdf_halo = cdf_core, cdf_halo
        self.total_core, self.total_halo = total_core, total_halo

    @property
    def nbins(self) -> int:
        return len(self.cdf_core) - 1

    def radius(self, cdf: Array, u: Array) -> Array:
        """Inverse CDF by linear interpolation within the bin found by lower_bound, as ImpactX does [m]."""
        off = np.clip(np.searchsorted(cdf, u, side="left") - 1, 0, self.nbins - 1)
        lo, hi = cdf[off], cdf[off + 1]
        width = hi - lo
        tv = np.divide(u - lo, width, out=np.zeros_like(u), where=width > 0.0)
        return self.rmin + (self.rmax - self.rmin) * (off + tv) / self.nbins


def space_charge_intensity(bunch_charge_C: float, ref: RefLike) -> float:
    """ImpactX's C = q Q / ((beta gamma)^2 m c^2 epsilon0) [m] for a bunch of charge Q [C].

    ImpactX writes q_e * Q with Q >= 0; we take |q_e| so that space charge repels for negative
    species too (identical for the positive species of ImpactX's examples).
    """
    bg = ref.beta_gamma
    erest_eV = ref.mass_MeV * 1.0e6
    return abs(ref.charge_qe) * bunch_charge_C / (bg * bg * erest_eV * constants.epsilon0)


def matched_scale_radius(k: float, kT: float, intensity: float) -> float:
    """ImpactX's r_scale = sqrt(kT + (a k)^(2/3)) / k, a = C / (4 pi 5 sqrt5), kT the weighted mean [m]."""
    a = intensity / (4.0 * math.pi * 5.0 * math.sqrt(5.0))
    return math.sqrt(kT + (a * k) ** (2.0 / 3.0)) / k


def radial_cdf(
    k: float,
    kT_core: float,
    kT_halo: float,
    p_core: float,
    p_halo: float,
    halo: float,
    intensity: float,
    nsteps: int = NSTEPS,
) -> RadialCDF:
    """Integrate ImpactX's coupled radial equations for the two populations; CDFs scaled to [0, 1].

    ``nsteps`` is ImpactX's 2000 by default; with strong space charge the CDF then carries a
    discretisation error of about 1 % (C phi / kT is large), which sampling inherits as ImpactX's does.
    """
    kT_mean = (1.0 - halo) * kT_core + halo * kT_halo
    r_scale = matched_scale_radius(k, kT_mean, intensity)
    rmin, rmax = RIN * r_scale, ROUT * r_scale
    p_scale = (r_scale * math.sqrt(2.0 * math.pi)) ** -3
    p1, p2 = p_core * p_scale, p_halo * p_scale
    c1, c2 = (1.0 - halo) * intensity, halo * intensity
    four_pi = 4.0 * math.pi
    tau = (rmax - rmin) / nsteps
    half = 0.5 * tau
    cdf1 = np.zeros(nsteps + 1)
    cdf2 = np.zeros(nsteps + 1)
    f1 = f2 = phi1 = phi2 = 0.0
    r = rmin
    # Strang splitting: drift r with f fixed (potential update), kick f at the midpoint, drift again.
    try:
        for j in range(nsteps):
            r_new = r + half
            phi1 += f1 / (four_pi * r_new) - f1 / (four_pi * r)
            phi2 += f2 / (four_pi * r_new) - f2 / (four_pi * r)
            r = r_new
            potential = 0.5 * (k * r) ** 2 + c1 * phi1 + c2 * phi2
            shell = tau * four_pi * r * r
            f1 += shell * p1 * math.exp(-potential / kT_core)
            f2 += shell * p2 * math.exp(-potential / kT_halo)
            r_new = r + half
            phi1 += f1 / (four_pi * r_new) - f1 / (four_pi * r)
            phi2 += f2 / (four_pi * r_new) - f2 / (four_pi * r)
            r = r_new
            cdf1[j + 1] = f1
            cdf2[j + 1] = f2
    except OverflowError:
        f1 = f2 = math.inf
    if not (0.0 < f1 < math.inf and 0.0 < f2 < math.inf):
        raise ValueError(
            f"Thermal: the radial density cannot be integrated (core {f1!r}, halo {f2!r}): "
            "normalize / normalize_halo are far from self-consistent for this bunch charge"
        )
    return RadialCDF(rmin, rmax, cdf1 / f1, cdf2 / f2, f1, f2)


class Thermal(Distribution):
    """Stationary thermal (halo = 0) or bi-thermal beam in a constant isotropic focusing channel.

    Parameters (ImpactX's): k [1/m], kT and kT_halo [1], normalize and normalize_halo [1], halo [1].
    Sampling needs ``ref`` (beta gamma, mass, charge) and ``bunch_charge_C`` (space charge).
    """

    model_cls = spec.Thermal
    model: spec.Thermal
    positional: ClassVar[tuple[str, ...]] = ("k", "kT", "kT_halo", "normalize", "normalize_halo", "halo")

    def radial_cdf(self, ref: RefLike, bunch_charge_C: float) -> RadialCDF:
        """The tabulated radial CDFs for this beam (ImpactX's ``initialize``)."""
        m = self.model
        kT_halo, normalize_halo = m.halo_params()
        intensity = space_charge_intensity(bunch_charge_C, ref)
        return radial_cdf(m.k, m.kT, kT_halo, m.normalize, normalize_halo, m.halo, intensity)

    def _sample(self, npart: int, rng: RandomSource, ref: RefLike | None, bunch_charge_C: float) -> Array:
        if ref is None:
            raise ValueError(
                "Thermal needs the reference particle (beta*gamma, mass, charge) and the bunch charge: "
                "sample(npart, rng, ref=..., bunch_charge_C=...)"
            )
        bg = ref.beta_gamma
        if not bg > 0.0:
            raise ValueError(f"Thermal needs a moving reference particle (beta*gamma > 0), got {bg!r}")
        m = self.model
        kT_halo, _ = m.halo_params()
        table = self.radial_cdf(ref, bunch_charge_C)
        for label, weight, total in (("core", 1.0 - m.halo, table.total_core), ("halo", m.halo, table.total_halo)):
            if weight > 0.0 and bunch_charge_C > 0.0 and abs(total - 1.0) > NORMALIZATION_TOLERANCE:
                warnings.warn(
                    f"Thermal {label}: the density with this normalization holds {total:.4g} of the "
                    f"{label} charge, not 1; the beam is not the self-consistent equilibrium",
                    ThermalNormalizationWarning,
                    stacklevel=3,
                )
        # ImpactX's 8 uniform numbers per particle: the population, three Box-Muller pairs (direction, momenta),
        # the radius from the tabulated CDF
        u = uniforms(rng, 8, npart)
        in_halo = u[0] <= m.halo  # ImpactX: core when u > halo
        g = np.empty((6, npart))
        for k in range(3):
            r_bm = np.sqrt(-2.0 * np.log(u[1 + 2 * k]))
            g[2 * k], g[2 * k + 1] = (
                r_bm * np.cos(2.0 * np.pi * u[2 + 2 * k]),
                r_bm * np.sin(2.0 * np.pi * u[2 + 2 * k]),
            )
        kT = np.where(in_halo, kT_halo, m.kT)
        momenta = np.sqrt(kT) * g[3:]
        direction = g[:3] / np.sqrt(np.einsum("ij,ij->j", g[:3], g[:3]))
        u = u[7]
        r = np.where(in_halo, table.radius(table.cdf_halo, u), table.radius(table.cdf_core, u))
        out = np.empty((6, npart))
        out[0] = direction[0] * r
        out[1] = direction[1] * r
        out[2] = -direction[2] * r / bg
        out[3] = momenta[0]
        out[4] = momenta[1]
        out[5] = -momenta[2] * bg
        return out
