"""ImpactX's ``impactx.distribution``: the engine's distributions (same names, parameters, positional order)."""

from __future__ import annotations

from beamtrack.engine.distribution import (
    Empty,
    Gaussian,
    Kurth4D,
    Kurth6D,
    KVdist,
    Semigaussian,
    SpinvMF,
    Thermal,
    Triangle,
    Waterbag,
)

__all__ = [
    "Empty",
    "Gaussian",
    "KVdist",
    "Kurth4D",
    "Kurth6D",
    "Semigaussian",
    "SpinvMF",
    "Thermal",
    "Triangle",
    "Waterbag",
]
