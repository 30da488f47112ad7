"""Drifts and quadrupoles (ImpactX's Drift, Quad; chromatic and exact variants live beside them)."""

from __future__ import annotations

from collections.abc import Sequence

from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from .base import Element, header, spin_header


class Drift(Element):
    """Linear drift of length ds [m] (ImpactX's Drift)."""

    model_cls = spec.Drift
    kernel = KernelClass("Drift", header("drift.h"), spin_header=spin_header("field_free.h"))
    linear = True


class Quad(Element):
    """Linear quadrupole of length ds [m], strength k [1/m^2] (ImpactX's Quad)."""

    model_cls = spec.Quad
    kernel = KernelClass("Quad", header("quad.h"), spin_header=spin_header("quad.h"))
    linear = True
    positional = ("ds", "k")

    def params(self) -> Sequence[float]:
        return (self.k,)
