"""Particle distributions: ImpactX's names and parameters.

Phase-space parameters (ImpactX): lambdaX, lambdaY, lambdaT [m] and lambdaPx, lambdaPy, lambdaPt
[1] are the rms-like intercepts of the phase ellipse; muxpx, muypy, mutpt in (-1, 1) its
correlations; meanX.. [m, 1] offsets (default 0); dispX, dispPx, dispY, dispPy [m, 1] dispersion.
Alternatively ``from_twiss: true`` with betaX [m], alphaX [1], emittX [m] (and Y, T), converted
to lambda/mu exactly as ImpactX's ``twiss()`` helper does (ImpactX's ``<name>_from_twiss`` input).

The second moments implied by lambda/mu (ImpactX docs, "Beam Distribution Input"), per plane (q, p):
<q^2> = lambdaQ^2 / (1 - mu^2), <p^2> = lambdaP^2 / (1 - mu^2), <q p> = -mu lambdaQ lambdaP / (1 - mu^2),
so the rms emittance is lambdaQ lambdaP / sqrt(1 - mu^2); with Twiss, lambdaQ = sqrt(emitt / gammaTwiss),
lambdaP = sqrt(emitt / beta), mu = alpha / sqrt(beta gammaTwiss).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ._base import SpecModel

Corr = Annotated[float, Field(gt=-1.0, lt=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class PhaseSpace(SpecModel):
    """Lambda/mu (or Twiss) parameters shared by every beam distribution but Thermal and Empty."""

    from_twiss: bool = False
    lambdaX: NonNegative | None = None
    lambdaY: NonNegative | None = None
    lambdaT: NonNegative | None = None
    lambdaPx: NonNegative | None = None
    lambdaPy: NonNegative | None = None
    lambdaPt: NonNegative | None = None
    muxpx: Corr = 0.0
    muypy: Corr = 0.0
    mutpt: Corr = 0.0
    betaX: Annotated[float, Field(gt=0.0)] | None = None
    betaY: Annotated[float, Field(gt=0.0)] | None = None
    betaT: Annotated[float, Field(gt=0.0)] | None = None
    alphaX: float = 0.0
    alphaY: float = 0.0
    alphaT: float = 0.0
    emittX: NonNegative | None = None
    emittY: NonNegative | None = None
    emittT: NonNegative | None = None
    meanX: float = 0.0
    meanY: float = 0.0
    meanT: float = 0.0
    meanPx: float = 0.0
    meanPy: float = 0.0
    meanPt: float = 0.0
    dispX: float = 0.0
    dispPx: float = 0.0
    dispY: float = 0.0
    dispPy: float = 0.0

    @model_validator(mode="after")
    def _complete(self) -> PhaseSpace:
        lambdas = ["lambdaX", "lambdaY", "lambdaT", "lambdaPx", "lambdaPy", "lambdaPt"]
        twiss = [f"{k}{p}" for p in "XYT" for k in ("beta", "emitt")]
        if self.from_twiss:
            missing = [n for n in twiss if getattr(self, n) is None]
            if missing:
                raise ValueError(f"from_twiss=true needs {', '.join(missing)}")
            # ImpactX (set_distribution_parameters_from_twiss_inputs) refuses emittances <= 0
            zero = [f"emitt{p}" for p in "XYT" if getattr(self, f"emitt{p}") == 0.0]
            if zero:
                raise ValueError(f"from_twiss=true needs positive {', '.join(zero)}")
            mixed = [n for n in lambdas if getattr(self, n) is not None]
            mixed += [n for n in ("muxpx", "muypy", "mutpt") if getattr(self, n) != 0.0]
            if mixed:
                raise ValueError(f"from_twiss=true takes beta/alpha/emitt, not {', '.join(mixed)}")
        else:
            missing = [n for n in lambdas if getattr(self, n) is None]
            if missing:
                raise ValueError(f"missing {', '.join(missing)} (or set from_twiss=true with beta/alpha/emitt)")
            mixed = [n for n in twiss if getattr(self, n) is not None]
            mixed += [f"alpha{p}" for p in "XYT" if getattr(self, f"alpha{p}") != 0.0]
            if mixed:
                raise ValueError(f"{', '.join(mixed)} need from_twiss=true")
        return self

    def lambda_mu(self) -> dict[str, float]:
        """The 9 lambda/mu parameters, converting from Twiss when ``from_twiss`` (ImpactX's ``twiss()``)."""
        if not self.from_twiss:
            return {
                k: float(getattr(self, k))
                for k in (
                    "lambdaX",
                    "lambdaY",
                    "lambdaT",
                    "lambdaPx",
                    "lambdaPy",
                    "lambdaPt",
                    "muxpx",
                    "muypy",
                    "mutpt",
                )
            }
        out: dict[str, float] = {}
        for p, pp, mu in (("X", "Px", "muxpx"), ("Y", "Py", "muypy"), ("T", "Pt", "mutpt")):
            beta, alpha, emitt = getattr(self, f"beta{p}"), getattr(self, f"alpha{p}"), getattr(self, f"emitt{p}")
            gamma = (1.0 + alpha * alpha) / beta
            out[f"lambda{p}"] = math.sqrt(emitt / gamma)
            out[f"lambda{pp}"] = math.sqrt(emitt / beta)
            out[mu] = alpha / math.sqrt(beta * gamma)
        return out


class Gaussian(PhaseSpace):
    """6D Gaussian; optional cuts cutX.. in units of sigma (0 = no cut)."""

    type: Literal["Gaussian"] = "Gaussian"
    cutX: NonNegative = 0.0
    cutY: NonNegative = 0.0
    cutT: NonNegative = 0.0


class Waterbag(PhaseSpace):
    """6D waterbag (uniform in a 6D ellipsoid)."""

    type: Literal["Waterbag"] = "Waterbag"


class Kurth6D(PhaseSpace):
    """6D Kurth distribution (uniform-density ellipsoid in space, linear self-fields)."""

    type: Literal["Kurth6D"] = "Kurth6D"


class Kurth4D(PhaseSpace):
    """4D Kurth distribution in (x, y, px, py), uniform in t, Gaussian in pt (ImpactX's Kurth4D)."""

    type: Literal["Kurth4D"] = "Kurth4D"


class KVdist(PhaseSpace):
    """4D Kapchinskij-Vladimirskij in (x, y, px, py) (uniform on a 4D ellipsoid surface), uniform in t,
    Gaussian in pt (ImpactX's KVdist)."""

    type: Literal["KVdist"] = "KVdist"


class Semigaussian(PhaseSpace):
    """Uniform in position (an ellipse in x, y times a uniform t profile), Gaussian in momentum (ImpactX's)."""

    type: Literal["Semigaussian"] = "Semigaussian"


class Triangle(PhaseSpace):
    """Ramped triangular current profile in t with a Gaussian energy spread (correlated through mutpt);
    4D waterbag in (x, y, px, py) (ImpactX's Triangle, for LPA beams)."""

    type: Literal["Triangle"] = "Triangle"


class Thermal(SpecModel):
    """Stationary thermal / halo distribution in a constant focusing channel (ImpactX's Thermal).

    k: linear focusing strength [1/m]; kT, kT_halo: temperatures k*T of the core and halo
    populations [1] (kT_halo defaults to kT); normalize, normalize_halo: normalization constants of
    the core and halo densities [1] (normalize_halo defaults to normalize); halo: weight (fraction
    of particles) of the halo population [1]. Ryne, Qiang, Adelmann, Proc. EPAC2004, 1942 (2004).
    """

    type: Literal["Thermal"] = "Thermal"
    k: Annotated[float, Field(gt=0.0)]
    kT: Annotated[float, Field(gt=0.0)]
    kT_halo: Annotated[float, Field(gt=0.0)] | None = None
    normalize: Annotated[float, Field(gt=0.0)]
    normalize_halo: Annotated[float, Field(gt=0.0)] | None = None
    halo: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0

    def halo_params(self) -> tuple[float, float]:
        """(kT_halo, normalize_halo) with ImpactX's defaults: those of the core when not given."""
        kT_halo = self.kT if self.kT_halo is None else self.kT_halo
        normalize_halo = self.normalize if self.normalize_halo is None else self.normalize_halo
        return kT_halo, normalize_halo


class Empty(SpecModel):
    """No particles: ImpactX's Empty adds none (add them later with add_n_particles)."""

    type: Literal["Empty"] = "Empty"


Distribution = Annotated[
    Gaussian | Waterbag | Kurth6D | Kurth4D | KVdist | Semigaussian | Triangle | Thermal | Empty,
    Field(discriminator="type"),
]

DISTRIBUTION_MODELS = {
    m.model_fields["type"].default: m
    for m in (Gaussian, Waterbag, Kurth6D, Kurth4D, KVdist, Semigaussian, Triangle, Thermal, Empty)
}
