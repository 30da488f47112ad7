"""LinearMap: a user 6x6 map R run by its C kernel (ImpactX's LinearMap)."""

from __future__ import annotations

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, fill_common, header, push_ref_straight, spin_header


class LinearMap(Element):
    """A user 6x6 map R on (x, px, y, py, t, pt); ds [m] advances s (ImpactX's LinearMap)."""

    model_cls = spec.LinearMap
    kernel = KernelClass("LinearMap", header("linearmap.h"), spin_header=spin_header("field_free.h"))
    linear = True
    positional = ("R", "ds")

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        push_ref_straight(ref, self.ds)

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        op = ops[0]
        op["nslice"], op["ds"] = 1, self.ds
        fill_common(op, self, ref_out)
        op["c"][:36] = np.asarray(self.R, dtype=float).ravel()
