"""Particle distributions with ImpactX's names, parameters and sampling algorithms.

    from beamtrack.engine import distribution
    d = distribution.Waterbag(lambdaX=3.9984e-5, lambdaY=3.9984e-5, lambdaT=1e-3,
                              lambdaPx=2.6623e-5, lambdaPy=2.6623e-5, lambdaPt=2e-3,
                              muxpx=-0.846574929, muypy=0.846574929, mutpt=0.0)
    coords = d.sample(10_000, numpy.random.default_rng(1))  # (6, N): x, y, t [m], px, py, pt [1]

``d.model`` is the validated ``beamtrack.spec.distributions`` model; ``from_model`` wraps one.
"""

from __future__ import annotations

from typing import Any, cast

from beamtrack.spec import distributions as spec
from beamtrack.spec import parse_model
from beamtrack.spec._base import SpecModel

from ._base import Distribution, RefLike
from .amrex_random import AmrexRandom
from .empty import Empty
from .phase_space import (
    Gaussian,
    Kurth4D,
    Kurth6D,
    KVdist,
    PhaseSpaceDistribution,
    Semigaussian,
    Triangle,
    Waterbag,
)
from .spin import SpinvMF
from .thermal import Thermal, ThermalNormalizationWarning

__all__ = [
    "DISTRIBUTIONS",
    "AmrexRandom",
    "Distribution",
    "Empty",
    "Gaussian",
    "KVdist",
    "Kurth4D",
    "Kurth6D",
    "PhaseSpaceDistribution",
    "RefLike",
    "Semigaussian",
    "SpinvMF",
    "Thermal",
    "ThermalNormalizationWarning",
    "Triangle",
    "Waterbag",
    "from_model",
]

#: spec ``type`` name -> engine distribution class
DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.__name__: cls for cls in (Gaussian, Waterbag, Kurth6D, Kurth4D, KVdist, Semigaussian, Triangle, Thermal, Empty)
}


def from_model(model: SpecModel | dict[str, Any]) -> Distribution:
    """The engine distribution for a spec distribution model (or its dict / JSON form with ``type``)."""
    if isinstance(model, dict):
        name = model.get("type")
        if name not in spec.DISTRIBUTION_MODELS:
            known = ", ".join(spec.DISTRIBUTION_MODELS)
            raise ValueError(f"distribution type must be one of {known}; got {name!r}")
        model = parse_model(spec.DISTRIBUTION_MODELS[name], model)
    name = getattr(model, "type", None)
    if name not in DISTRIBUTIONS:
        raise TypeError(f"not a distribution spec model: {type(model).__name__}")
    return DISTRIBUTIONS[name].from_validated(cast(SpecModel, model))
