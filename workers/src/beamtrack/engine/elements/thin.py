"""Thin kicks and transverse rotations: Multipole, NonlinearLens, Kicker, PlaneXYRot, SpinMap (ImpactX's names and parameters)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, fill_common, header, push_ref_straight, spin_header


class Multipole(Element):
    """Thin multipole of index ``multipole`` (1 dipole, 2 quadrupole, 3 sextupole, ...), integrated
    strengths K_normal, K_skew [1/m^(multipole-1)] (ImpactX's Multipole; MAD-X KNL/KSL)."""

    model_cls = spec.Multipole
    kernel = KernelClass(
        "Multipole",
        header("multipole.h"),
        spin_header=spin_header("multipole.h"),
        params=("multipole", "K_normal", "K_skew"),
    )
    positional = ("multipole", "K_normal", "K_skew")

    def params(self) -> Sequence[float]:
        return (float(self.multipole), self.K_normal, self.K_skew)


class NonlinearLens(Element):
    """Thin Danilov-Nagaitsev (IOTA) nonlinear lens: knll integrated strength [m], cnll distance of the
    singularities from the axis [m] (ImpactX's NonlinearLens; MAD-X NLLENS)."""

    model_cls = spec.NonlinearLens
    kernel = KernelClass(
        "NonlinearLens", header("nonlinearlens.h"), spin_header=spin_header("thin.h"), params=("knll", "cnll")
    )
    positional = ("knll", "cnll")

    def params(self) -> Sequence[float]:
        return (self.knll, self.cnll)


class Kicker(Element):
    """Thin transverse kick xkick, ykick: dimensionless (unit="dimensionless", added to px, py) or in
    T m (unit="T-m", divided by the reference rigidity B rho [T m]) (ImpactX's Kicker)."""

    model_cls = spec.Kicker
    kernel = KernelClass("Kicker", header("kicker.h"), spin_header=spin_header("thin.h"), params=("xkick", "ykick"))
    positional = ("xkick", "ykick", "unit")

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        scale = 1.0 / ref_out.rigidity_Tm if self.unit == "T-m" else 1.0
        ops[0]["p"][:2] = (self.xkick * scale, self.ykick * scale)


class PlaneXYRot(Element):
    """Rotation of the transverse plane (x, y) and (px, py) about s by ``angle`` [deg] (ImpactX's PlaneXYRot)."""

    model_cls = spec.PlaneXYRot
    kernel = KernelClass("PlaneXYRot", header("planexyrot.h"), spin_header=spin_header("thin.h"), params=("angle",))
    linear = True
    positional = ("angle",)

    def params(self) -> Sequence[float]:
        return (self.angle,)


class SpinMap(Element):
    """Thin user spin map (ImpactX 26.10's SpinMap): rotate the spin by A z, then by v; the phase space is
    unchanged (the identity outside spin runs); ds [m] advances s only."""

    model_cls = spec.SpinMap
    kernel = KernelClass(
        "SpinMap", header("spinmap.h"), spin_header=spin_header("spinmap.h"), params=("vx", "vy", "vz")
    )
    positional = ("v", "A", "ds")

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        push_ref_straight(ref, self.ds)

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        op = ops[0]
        op["nslice"], op["ds"] = 1, self.ds
        fill_common(op, self, ref_out)
        op["p"][:3] = np.asarray(self.v, dtype=float)
        op["c"][:18] = np.asarray(self.A, dtype=float).ravel()
