"""Drifts and quadrupoles (ImpactX's Drift, Quad, ExactDrift; the chromatic variants are in chromatic.py)."""

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
    kernel = KernelClass("Quad", header("quad.h"), spin_header=spin_header("quad.h"), params=("k",))
    linear = True
    positional = ("ds", "k")

    def params(self) -> Sequence[float]:
        return (self.k,)


class ExactDrift(Element):
    """Drift of length ds [m] with the exact Hamiltonian (ImpactX's ExactDrift).

    A particle without real forward momentum (px^2 + py^2 >= (1 + delta)^2) is lost.
    """

    model_cls = spec.ExactDrift
    kernel = KernelClass("ExactDrift", header("exactdrift.h"), can_lose=True, spin_header=spin_header("field_free.h"))
