"""ImpactX's ``impactx.distribution``: the engine's distributions (same names, parameters, positional order)."""

from __future__ import annotations

from typing import Any

from beamtrack.engine.distribution import (
    Empty,
    Gaussian,
    Kurth4D,
    Kurth6D,
    KVdist,
    Semigaussian,
    Thermal,
    Triangle,
    Waterbag,
)


class SpinvMF:
    """ImpactX's spin distribution: not implemented in beamtrack (raises)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("ImpactX distribution SpinvMF (spin tracking) is not implemented in beamtrack")


__all__ = ["Empty", "Gaussian", "KVdist", "Kurth4D", "Kurth6D", "Semigaussian", "SpinvMF", "Thermal", "Triangle",
           "Waterbag"]
