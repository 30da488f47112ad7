"""The base of every engine distribution: a validated spec model plus a vectorised sampler.

Sampling follows ImpactX's ``add_particles``: ``initialize(bunch_charge, ref)`` then one draw per
particle, each distribution taking ImpactX's fixed number of uniform numbers per particle in ImpactX's order
and mapping them as ImpactX does, vectorised with NumPy. The uniform numbers come from a
``numpy.random.Generator`` (reproducible for its state) or from ``AmrexRandom`` (AMReX's own stream: then the
particles are ImpactX 26.10's, to round-off).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol

import numpy as np
from beamtrack.spec import parse_model
from beamtrack.spec._base import SpecModel
from numpy.typing import NDArray

from .amrex_random import AmrexRandom

Array = NDArray[np.float64]
#: where the uniform numbers come from: NumPy's generator, or AMReX's stream (ImpactX's particles)
RandomSource = np.random.Generator | AmrexRandom


class RefLike(Protocol):
    """What a distribution may need from the reference particle (``beamtrack.engine.refpart.RefPart``)."""

    @property
    def beta_gamma(self) -> float: ...

    mass_MeV: float
    charge_qe: float


class Distribution(ABC):
    """An ImpactX beam distribution.

    Construct with the parameters of the spec model (keywords, or positionally in ImpactX's order);
    ``model`` is the validated ``beamtrack.spec.distributions`` model, the one source of truth for
    the parameters. Invalid parameters raise ``beamtrack.spec.SpecError`` naming the field.
    """

    model_cls: ClassVar[type[SpecModel]]
    model: SpecModel
    #: parameter names in the order of ImpactX's Python constructor
    positional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self.positional):
            raise TypeError(
                f"{type(self).__name__}() takes at most {len(self.positional)} positional arguments "
                f"({', '.join(self.positional) or 'none'}), got {len(args)}"
            )
        data: dict[str, Any] = dict(zip(self.positional, args, strict=False))
        twice = sorted(set(data) & set(kwargs))
        if twice:
            raise TypeError(f"{type(self).__name__}() got multiple values for {', '.join(twice)}")
        data.update(kwargs)
        self.model = parse_model(self.model_cls, data)

    @classmethod
    def from_validated(cls, model: SpecModel) -> Distribution:
        """Wrap an already validated spec model of this class's type."""
        if not isinstance(model, cls.model_cls):
            raise TypeError(f"{cls.__name__} needs a {cls.model_cls.__name__} spec model, got {type(model).__name__}")
        obj = cls.__new__(cls)
        obj.model = model
        return obj

    def sample(
        self, npart: int, rng: RandomSource, *, ref: RefLike | None = None, bunch_charge_C: float = 0.0
    ) -> Array:
        """Draw ``npart`` particles: float64 array (6, npart), rows x, y, t [m], px, py, pt [1].

        ``ref`` (the reference particle) and ``bunch_charge_C`` [C, >= 0] are what ImpactX passes to
        ``initialize``; only Thermal uses them. Same generator state, same particles.
        """
        if isinstance(npart, bool) or not isinstance(npart, (int, np.integer)) or npart < 0:
            raise ValueError(f"npart must be an integer >= 0, got {npart!r}")
        if not isinstance(rng, (np.random.Generator, AmrexRandom)):
            raise TypeError(
                "rng must be a numpy.random.Generator (numpy.random.default_rng(seed)) or an AmrexRandom, "
                f"got {type(rng).__name__}"
            )
        if not np.isfinite(bunch_charge_C) or bunch_charge_C < 0.0:
            # ImpactX: "the bunch charge should be positive"; a negative species is set on the reference
            raise ValueError(f"bunch_charge_C must be finite and >= 0, got {bunch_charge_C!r}")
        out = self._sample(int(npart), rng, ref, float(bunch_charge_C))
        return np.ascontiguousarray(out, dtype=np.float64)

    @abstractmethod
    def _sample(self, npart: int, rng: RandomSource, ref: RefLike | None, bunch_charge_C: float) -> Array:
        """The (6, npart) particles; arguments already checked."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.model.model_dump(exclude_defaults=True).items())
        return f"{type(self).__name__}({fields})"


def uniforms(rng: RandomSource, k: int, npart: int) -> Array:
    """(k, npart): the k uniform numbers of each particle, particle after particle as ImpactX draws them (row j is
    every particle's j-th number). From AMReX's stream: exactly ``amrex::Random()``'s values, on [0, 1); from a
    NumPy generator: on (0, 1], safe under log and as a divisor."""
    u = rng.uniform(k * npart) if isinstance(rng, AmrexRandom) else 1.0 - rng.random(k * npart)
    return u.reshape(npart, k).T
