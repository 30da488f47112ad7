"""Chromatic straight elements: ChrDrift, ChrQuad (ImpactX's names and units; ExactDrift is in drifts_quads.py)."""

from __future__ import annotations

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, header, spin_header


class ChrDrift(Element):
    """Drift of length ds [m], exact in pt and paraxial in px, py (ImpactX's ChrDrift)."""

    model_cls = spec.ChrDrift
    kernel = KernelClass("ChrDrift", header("chrdrift.h"), spin_header=spin_header("field_free.h"))


class ChrQuad(Element):
    """Quadrupole with chromatic focusing (ImpactX's ChrQuad).

    ds [m]; k: strength in 1/m^2 (unit=0, MAD-X convention) or gradient in T/m (unit=1, divided by
    the reference rigidity [T m] as ImpactX does); k > 0 focuses horizontally.
    """

    model_cls = spec.ChrQuad
    kernel = KernelClass("ChrQuad", header("chrquad.h"), spin_header=spin_header("chrquad.h"), params=("g",))
    positional = ("ds", "k", "unit")

    def strength(self, ref: RefPart) -> float:
        """Normalised strength g [1/m^2] for the reference particle ``ref``."""
        return float(self.k) / ref.rigidity_Tm if self.unit == 1 else float(self.k)

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        ops[0]["p"][0] = self.strength(ref_out)
