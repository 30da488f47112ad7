"""ImpactX's Empty distribution: adds no particles."""

from __future__ import annotations

import numpy as np
from beamtrack.spec import distributions as spec

from ._base import Array, Distribution, RandomSource, RefLike


class Empty(Distribution):
    """No particles, whatever ``npart``: ``sample`` returns a (6, 0) array (ImpactX's Empty adds none)."""

    model_cls = spec.Empty
    model: spec.Empty

    def _sample(self, npart: int, rng: RandomSource, ref: RefLike | None, bunch_charge_C: float) -> Array:
        return np.empty((6, 0))
