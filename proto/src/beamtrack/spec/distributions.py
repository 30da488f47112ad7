"""Particle distributions: ImpactX's names and parameters.

Phase-space parameters (ImpactX): lambdaX, lambdaY, lambdaT [m] and lambdaPx, lambdaPy, lambdaPt
[1] are the rms-like intercepts of the phase ellipse; muxpx, muypy, mutpt in (-1, 1) its
correlations; meanX.. [m, 1] offsets (default 0); dispX, dispPx, dispY, dispPy [m, 1] dispersion.
Alternatively ``from_twiss: true`` with betaX [m], alphaX [1], emittX [m] (and Y, T), converted
to lambda/mu exactly as ImpactX's ``twiss()`` helper does.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

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
        if self.from_twiss:
            missing = [f"{k}{p}" for p in "XYT" for k in ("beta", "emitt") if getattr(self, f"{k}{p}") is None]
            if missing:
                raise ValueError(f"from_twiss=true needs {', '.join(missing)}")
        else:
            names = ["lambdaX", "lambdaY", "lambdaT", "lambdaPx", "lambdaPy", "lambdaPt"]
            missing = [n for n in names if getattr(self, n) is None]
            if missing:
                raise ValueError(f"missing {', '.join(missing)} (or set from_twiss=true with beta/alpha/emitt)")
        return self

    def lambda_mu(self) -> dict[str, float]:
        """The 9 lambda/mu parameters, converting from Twiss when ``from_twiss`` (ImpactX's ``twiss()``)."""
        if not self.from_twiss:
            return {k: float(getattr(self, k)) for k in (
                "lambdaX", "lambdaY", "lambdaT", "lambdaPx", "lambdaPy", "lambdaPt", "muxpx", "muypy", "mutpt")}
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
    """4D Kurth transversely, uniform in t and Gaussian... as ImpactX's Kurth4D."""

    type: Literal["Kurth4D"] = "Kurth4D"


class KVdist(PhaseSpace):
    """4D Kapchinskij-Vladimirskij transversely (uniform on a 4D ellipsoid surface), uniform longitudinally."""

    type: Literal["KVdist"] = "KVdist"


class Semigaussian(PhaseSpace):
    """Uniform in a 3D spatial ellipsoid with Gaussian momenta."""

    type: Literal["Semigaussian"] = "Semigaussian"


class Triangle(PhaseSpace):
    """Triangular current profile in t, linear chirp, Gaussian transverse (ImpactX's Triangle)."""

    type: Literal["Triangle"] = "Triangle"


class Thermal(SpecModel):
    """Stationary thermal / halo distribution in a constant focusing channel (ImpactX's Thermal).

    k: focusing strength [1/m]; kT, kT_halo: core and halo temperatures [1]; normalize,
    normalize_halo: normalization constants; halo: fraction of particles in the halo.
    """

    type: Literal["Thermal"] = "Thermal"
    k: Annotated[float, Field(gt=0.0)]
    kT: Annotated[float, Field(gt=0.0)]
    kT_halo: Annotated[float, Field(gt=0.0)] | None = None
    normalize: Annotated[float, Field(gt=0.0)]
    normalize_halo: Annotated[float, Field(gt=0.0)] | None = None
    halo: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class Empty(SpecModel):
    """No particles (add them later with add_n_particles)."""

    type: Literal["Empty"] = "Empty"


Distribution = Annotated[
    Union[Gaussian, Waterbag, Kurth6D, Kurth4D, KVdist, Semigaussian, Triangle, Thermal, Empty],
    Field(discriminator="type"),
]

DISTRIBUTION_MODELS = {
    m.model_fields["type"].default: m
    for m in (Gaussian, Waterbag, Kurth6D, Kurth4D, KVdist, Semigaussian, Triangle, Thermal, Empty)
}
