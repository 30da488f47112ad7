"""ChrAcc, ChrPlasmaLens, TaperedPL, QuadEdge, ExactQuad, ExactMultipole, ExactCFbend and Empty (ImpactX's names, parameters and units)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, fill_common, header, push_ref_bend, spin_header


def _strength(el: Element, ref: RefPart) -> float:
    """k [1/m^2 or 1/m] for unit 0; k [T/m or T] / rigidity [T m] for unit 1 (ImpactX's m_g)."""
    return float(el.k) / ref.rigidity_Tm if el.unit == 1 else float(el.k)


class Empty(Element):
    """Does nothing (ImpactX's Empty)."""

    model_cls = spec.Empty
    positional = ()


class ChrPlasmaLens(Element):
    """Active plasma lens with chromatic focusing in both planes (ImpactX's ChrPlasmaLens).

    ds [m]; k: focusing strength in 1/m^2 (unit=0) or azimuthal field gradient in T/m (unit=1).
    """

    model_cls = spec.ChrPlasmaLens
    kernel = KernelClass("ChrPlasmaLens", header("chrplasmalens.h"), params=("g",), spin_header=spin_header("lenses.h"))
    positional = ("ds", "k", "unit")

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        ops[0]["p"][0] = _strength(self, ref_out)


class TaperedPL(Element):
    """Thin plasma lens with a horizontal taper (ImpactX's TaperedPL): k integrated strength in 1/m
    (unit=0) or integrated gradient in T (unit=1), taper [1/m]."""

    model_cls = spec.TaperedPL
    kernel = KernelClass("TaperedPL", header("taperedpl.h"), params=("g", "taper"), spin_header=spin_header("lenses.h"))
    positional = ("k", "taper", "unit")

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        ops[0]["p"][0] = _strength(self, ref_out)
        ops[0]["p"][1] = float(self.taper)


class QuadEdge(Element):
    """Hard-edge quadrupole fringe field (ImpactX's QuadEdge): k in 1/m^2 (unit=0) or T/m (unit=1),
    flag entry or exit."""

    model_cls = spec.QuadEdge
    kernel = KernelClass("QuadEdge", header("quadedge.h"), params=("g", "flag"), spin_header=spin_header("quadedge.h"))
    positional = ("k", "unit", "flag")

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        ops[0]["p"][0] = _strength(self, ref_out)
        ops[0]["p"][1] = 1.0 if self.flag == "entry" else -1.0


class ChrAcc(Element):
    """Uniform acceleration with chromatic effects and a solenoid field (ImpactX's ChrAcc).

    ds [m]; ez = q Ez / (m c^2) [1/m], bz = q Bz / (m c) [1/m]. The reference gains ez ds in gamma per
    m; particles without forward motion at either end of a slice are lost.
    """

    geometric_ref = False  # changes the energy

    model_cls = spec.ChrAcc
    kernel = KernelClass(
        "ChrAcc", header("chracc.h"), can_lose=True, params=("ez", "bz"), spin_header=spin_header("chracc.h")
    )
    positional = ("ds", "ez", "bz")

    def params(self) -> Sequence[float]:
        return (float(self.ez), float(self.bz))

    def _slice_push(self, ref: RefPart, slice_ds: float) -> None:
        """One slice: ImpactX's ChrAcc ``operator()(RefPart)``."""
        bgi = ref.beta_gamma
        pt = ref.pt - float(self.ez) * slice_ds
        if pt >= -1.0:
            raise ValueError(f"ChrAcc: the reference would stop (gamma = {-pt} <= 1)")
        ref.pt = pt
        bgf = ref.beta_gamma
        ref.t += (bgf - bgi) / float(self.ez)
        ref.x += slice_ds * ref.px / bgi
        ref.y += slice_ds * ref.py / bgi
        ref.z += slice_ds * ref.pz / bgi
        ref.px, ref.py, ref.pz = ref.px * bgf / bgi, ref.py * bgf / bgi, ref.pz * bgf / bgi
        ref.s += slice_ds

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        slice_ds = self.ds / self.nslice
        for _ in range(nslices):
            self._slice_push(ref, slice_ds)

    def op_count(self, nslices: int) -> int:
        return nslices

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        slice_ds = self.ds / self.nslice
        r = ref_in.copy()
        s_exit = float(ops[nslices - 1]["s_exit"])
        p = self.params()
        for i in range(nslices):
            self._slice_push(r, slice_ds)
            op = ops[i]
            op["nslice"], op["ds"] = 1, slice_ds
            op["s_exit"] = s_exit - (nslices - 1 - i) * slice_ds
            fill_common(op, self, r)
            op["p"][: len(p)] = p


class ExactQuad(Element):
    """Quadrupole with the exact Hamiltonian, integrated by ImpactX's symplectic integrators (ImpactX's
    ExactQuad): ds [m], k in 1/m^2 (unit=0) or T/m (unit=1), int_order 2/4/6, mapsteps per slice. A particle
    without real forward momentum is lost."""

    model_cls = spec.ExactQuad
    kernel = KernelClass(
        "ExactQuad",
        header("exactquad.h"),
        can_lose=True,
        params=("g", "int_order", "mapsteps"),
        spin_header=spin_header("exactquad.h"),
    )
    positional = ("ds", "k", "unit")

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        ops[0]["p"][0] = _strength(self, ref_out)
        ops[0]["p"][1] = float(self.int_order)
        ops[0]["p"][2] = float(self.mapsteps)


class ExactMultipole(Element):
    """Thick multipole with the exact Hamiltonian (ImpactX's ExactMultipole): ds [m], k_normal[m], k_skew[m]
    (order m from 0: dipole), unit 0 (1/m^(m+1)) or 1 (T/m^m), int_order 2/4/6, mapsteps per slice."""

    model_cls = spec.ExactMultipole
    kernel = KernelClass(
        "ExactMultipole",
        header("exactmultipole.h"),
        can_lose=True,
        params=("int_order", "mapsteps", "scale"),
        spin_header=spin_header("exactmultipole.h"),
    )
    positional = ("ds", "k_normal", "k_skew", "unit")

    def aux_data(self) -> np.ndarray:
        """k_normal then k_skew, as given (the unit conversion is op.p[2])."""
        return np.concatenate([np.asarray(self.k_normal, dtype=np.float64), np.asarray(self.k_skew, dtype=np.float64)])

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        ops[0]["p"][0] = float(self.int_order)
        ops[0]["p"][1] = float(self.mapsteps)
        ops[0]["p"][2] = 1.0 / ref_out.rigidity_Tm if self.unit == 1 else 1.0


class ExactCFbend(ExactMultipole):
    """Combined-function sector bend with the exact Hamiltonian (ImpactX's ExactCFbend): ds [m] of arc,
    k_normal[0] the curvature (unit 0, 1/m) or dipole field (unit 1, T), k_normal/k_skew[1..4] quadrupole ..
    decapole, int_order 2/4/6, mapsteps per slice."""

    model_cls = spec.ExactCFbend  # type: ignore[assignment]
    kernel = KernelClass(
        "ExactCFbend",
        header("exactcfbend.h"),
        can_lose=True,
        params=("int_order", "mapsteps", "scale"),
        spin_header=spin_header("exactcfbend.h"),
    )

    def radius(self, ref: RefPart) -> float:
        """rc [m] = 1 / k_normal[0] (divided by the rigidity for unit 1), as ImpactX."""
        k0 = float(self.k_normal[0])
        return 1.0 / (k0 / ref.rigidity_Tm if self.unit == 1 else k0)

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        push_ref_bend(ref, self.ds / self.nslice * nslices, self.radius(ref))
