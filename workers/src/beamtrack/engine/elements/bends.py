"""Bends and their edges: Sbend, ExactSbend, CFbend, DipEdge, ThinDipole, PRot (ImpactX's names and units).

The reference particle follows ImpactX's ``operator()(RefPart)`` of each element: an arc of radius rc
in the x-z plane for the thick bends, a rotation of (px, pz) for ThinDipole, nothing for PRot and DipEdge
(except DipEdge's nonlinear model with modify_ref_part, which shifts and kicks the reference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, header, push_ref_arc, push_ref_bend, push_ref_straight, spin_header


class Sbend(Element):
    """Linear sector bend: arc length ds [m], bending radius rc [m] (ImpactX's Sbend; rc = 0 is a drift)."""

    model_cls = spec.Sbend
    kernel = KernelClass("Sbend", header("sbend.h"), spin_header=spin_header("sbend.h"), params=("rc",))
    linear = True
    positional = ("ds", "rc")

    def params(self) -> Sequence[float]:
        return (self.rc,)

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        ds = self.ds / self.nslice * nslices
        if self.rc == 0.0:  # ImpactX: a drift
            push_ref_straight(ref, ds)
        else:
            push_ref_bend(ref, ds, self.rc)


class CFbend(Element):
    """Linear combined-function sector bend: ds [m], rc [m], quadrupole strength k [1/m^2] (ImpactX's CFbend)."""

    model_cls = spec.CFbend
    kernel = KernelClass("CFbend", header("cfbend.h"), spin_header=spin_header("cfbend.h"), params=("rc", "k"))
    linear = True
    positional = ("ds", "rc", "k")

    def params(self) -> Sequence[float]:
        return (self.rc, self.k)

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        push_ref_bend(ref, self.ds / self.nslice * nslices, self.rc)


class ExactSbend(Element):
    """Sector bend with the exact Hamiltonian (ImpactX's ExactSbend).

    ds: arc length [m]; phi: bending angle [deg]; B: field [T]. With B = 0 the radius is
    rc = ds / phi; otherwise rc = rigidity / B and the angle is |phi| with the sign of rc.
    phi = 0 and B = 0 is an exact drift. Particles outside the map's domain are lost.
    """

    model_cls = spec.ExactSbend
    kernel = KernelClass(
        "ExactSbend",
        header("exactsbend.h"),
        can_lose=True,
        spin_header=spin_header("exactsbend.h"),
        params=("rc", "slice_angle", "zero_field"),
    )
    positional = ("ds", "phi", "B")

    @property
    def is_drift(self) -> bool:
        return self.phi == 0.0 and self.B == 0.0

    def radius(self, ref: RefPart) -> float:
        """Reference bending radius rc [m] for ``ref`` (ImpactX's ExactSbend::rc)."""
        if self.B != 0.0:
            return ref.rigidity_Tm / float(self.B)
        if self.ds == 0.0:
            raise ValueError("ExactSbend: ds = 0 with B = 0 has no bending radius (give ds > 0 or B)")
        return self.ds / math.radians(self.phi)

    def slice_angle(self, ref: RefPart) -> float:
        """Bending angle of one slice [rad]; its sign is that of rc ds (ImpactX)."""
        return math.copysign(abs(math.radians(self.phi)), self.radius(ref) * self.ds) / self.nslice

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        ds = self.ds / self.nslice * nslices
        if self.is_drift:
            push_ref_straight(ref, ds)
            return
        push_ref_arc(ref, ds, self.slice_angle(ref) * nslices, self.radius(ref))

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        super().fill_ops(ops, ref_in, ref_out, nslices)
        p = ops[0]["p"]
        if self.is_drift:
            p[0], p[1], p[2] = 0.0, 0.0, 1.0
        else:
            p[0], p[1], p[2] = self.radius(ref_out), self.slice_angle(ref_out), 0.0


class DipEdge(Element):
    """Dipole edge focusing (ImpactX's DipEdge), linear or nonlinear (sixth-order) fringe-field model.

    psi: pole-face angle [rad]; rc: bend radius [m]; g: gap [m]; K2: fringe-field integral [1]; nonlinear model:
    R [m], K0..K6 [1], location entry/exit, modify_ref_part (the reference particle is moved by the edge too).
    """

    model_cls = spec.DipEdge
    kernel = KernelClass(
        "DipEdge",
        header("dipedge.h"),
        spin_header=spin_header("dipedge.h"),
        params=tuple("psi rc g K2 R K0 K1 K3 K4 K5 K6 model location modify_ref_part".split()),
    )
    positional = ("psi", "rc", "g", "K2")

    @property
    def linear(self) -> bool:  # type: ignore[override]
        return not self._nonlinear

    @property
    def _nonlinear(self) -> bool:
        """model == "nonlinear" (the element's ``model`` attribute is its spec model)."""
        return cast(spec.DipEdge, self.model).model == "nonlinear"

    @property
    def _moves_ref(self) -> bool:
        return bool(self.modify_ref_part) and self._nonlinear

    def params(self) -> Sequence[float]:
        return (
            self.psi,
            self.rc,
            self.g,
            self.K2,
            self.R,
            self.K0,
            self.K1,
            self.K3,
            self.K4,
            self.K5,
            self.K6,
            1.0 if self._nonlinear else 0.0,
            0.0 if self.location == "entry" else 1.0,
            1.0 if self.modify_ref_part else 0.0,
        )

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        """The nonlinear model with modify_ref_part shifts and kicks the reference (ImpactX's DipEdge(RefPart))."""
        if not self._moves_ref:
            return
        psi, rc, g = self.psi, self.rc, self.g
        loc = 1.0 if self.location == "entry" else -1.0
        s, c = math.sin(psi), math.cos(psi)
        c2 = (g / rc) ** 2 * self.K0 * s / c**3 / 2.0
        c3 = loc * g * g / rc * self.K0 / c**2
        c5 = s / c / (2.0 * rc)
        c13 = s * s / (2.0 * c**3) * g * g / (rc * self.R) * self.K4
        pnorm = math.sqrt(ref.pt * ref.pt - 1.0)
        dx = -c3
        dpx = c13 - c2 - c3 * c5
        dpz = pnorm * (-1.0 + math.sqrt(1.0 - (dpx / pnorm) ** 2))
        dt = -c3 * dpx / ref.beta
        x, z, px, pz = ref.x, ref.z, ref.px, ref.pz
        ref.x = x + (pz / pnorm) * dx
        ref.z = z - (px / pnorm) * dx
        ref.t += dt
        ref.px = px + (pz / pnorm) * dpx + (px / pnorm) * dpz
        ref.pz = pz - (px / pnorm) * dpx + (pz / pnorm) * dpz


class ThinDipole(Element):
    """Thin dipole kick with chromatic terms (ImpactX's ThinDipole): theta [deg], rc [m]."""

    model_cls = spec.ThinDipole
    kernel = KernelClass(
        "ThinDipole", header("thindipole.h"), spin_header=spin_header("thin.h"), params=("theta_rad", "rc")
    )
    positional = ("theta", "rc")

    def params(self) -> Sequence[float]:
        return (math.radians(self.theta), self.rc)

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        theta = math.radians(self.theta)
        c, s = math.cos(theta), math.sin(theta)
        px, pz = ref.px, ref.pz
        ref.px = px * c - pz * s
        ref.pz = pz * c + px * s


class PRot(Element):
    """Exact pole-face rotation in the x-z plane (ImpactX's PRot): phi_in, phi_out [deg].

    Rotates from a frame where the reference orbit makes angle phi_in with z to one where it makes
    phi_out; the reference particle is unchanged. Particles with no real forward momentum in
    either frame are lost.
    """

    model_cls = spec.PRot
    kernel = KernelClass(
        "PRot", header("prot.h"), can_lose=True, spin_header=spin_header("thin.h"), params=("phi_in_rad", "phi_out_rad")
    )
    positional = ("phi_in", "phi_out")

    def params(self) -> Sequence[float]:
        return (math.radians(self.phi_in), math.radians(self.phi_out))
