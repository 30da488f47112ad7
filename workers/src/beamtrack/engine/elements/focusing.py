"""Linear focusing channels: ConstF and the hard-edge solenoid Sol (ImpactX's names and parameters)."""

from __future__ import annotations

from collections.abc import Sequence

from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from .base import Element, header, spin_header


class ConstF(Element):
    """Constant linear focusing over ds [m]: wavenumbers kx, ky [1/m] (negative: defocusing) and
    kt >= 0 [1/m] (ImpactX's ConstF)."""

    model_cls = spec.ConstF
    kernel = KernelClass(
        "ConstF", header("constf.h"), spin_header=spin_header("field_free.h"), params=("kx", "ky", "kt")
    )
    linear = True
    positional = ("ds", "kx", "ky", "kt")

    def params(self) -> Sequence[float]:
        if self.kt < 0.0:
            raise ValueError(f"ConstF: kt must be >= 0 [1/m], got {self.kt}")
        return (self.kx, self.ky, self.kt)


class Sol(Element):
    """Ideal hard-edge solenoid of length ds [m], ks = B_z / (B rho) [1/m], fringe fields included
    (ImpactX's Sol)."""

    model_cls = spec.Sol
    kernel = KernelClass("Sol", header("sol.h"), spin_header=spin_header("sol.h"), params=("ks",))
    linear = True
    positional = ("ds", "ks")

    def params(self) -> Sequence[float]:
        return (self.ks,)
