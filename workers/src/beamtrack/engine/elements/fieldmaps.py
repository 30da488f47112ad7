"""Elements whose linear map is integrated along the reference orbit through a soft-edge on-axis
field given as a Fourier series: SoftSolenoid, SoftQuadrupole, RFCavity (rf.py).

As in ImpactX, the reference particle push integrates (t, pt) of the reference together with the
6x6 map of each slice with a second-order symplectic splitting (R. D. Ryne, Computational Methods
in Accelerator Physics, USPAS 2009); the beam is then pushed by that matrix. Here the per-slice
matrices are computed in Python and handed to the LinearMap kernel (one op per slice). For spin tracking
the same integration carries ImpactX's spin-orbit coupling A (3x6, the spin rotation lambda = A z of the
orbit z) and reference spin rotation vector v (3) of each slice; they reach the LinearMap spin push
(elements/c/spin/linearmap.h) through aux.
Source of every formula: ImpactX src/elements/SoftSol.H, SoftQuad.H, RFCavity.H and
src/particles/integrators/Integrators.H.
"""

from __future__ import annotations

import math
from abc import ABCMeta, abstractmethod
from typing import Any

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, fill_common, header, spin_header


def fourier_field(
    zeval: float, zlen: float, cos_c: np.ndarray, sin_c: np.ndarray, integral_outside: bool = False
) -> tuple[float, float, float]:
    """On-axis profile f(z), f'(z) and its integral from the element centre, at zeval [m] from the entry.

    f(z) = cos_c[0] / 2 + sum_j cos_c[j] cos(2 pi j z / zlen) + sin_c[j] sin(2 pi j z / zlen), z from the
    element midpoint. Outside the element f = f' = 0; the integral is then the end value when
    ``integral_outside`` (RFCavity) and 0 otherwise (SoftSolenoid, SoftQuadrupole), as ImpactX.
    """
    zmid = 0.5 * zlen
    z = zeval - zmid
    j2pi = np.arange(1, cos_c.size) * (2.0 * math.pi)
    cj, sj = cos_c[1:], sin_c[1:]
    if abs(z) <= zmid:
        arg = j2pi * z / zlen
        ca, sa = np.cos(arg), np.sin(arg)
        f0 = 0.5 * cos_c[0]
        f = f0 + float(np.sum(cj * ca + sj * sa))
        fp = float(np.sum(-j2pi * cj * sa / zlen + j2pi * sj * ca / zlen))
        fint = z * f0 + float(np.sum(zlen * cj * sa / j2pi - zlen * sj * ca / j2pi))
        return f, fp, fint
    if not integral_outside:
        return 0.0, 0.0, 0.0
    fint = math.copysign(zmid, z) * 0.5 * cos_c[0] - float(np.sum(zlen * sj * np.cos(j2pi * 0.5) / j2pi))
    return 0.0, 0.0, fint


#: doubles per slice in aux: A (3x6) and v (3), BT_SPIN_COUPLING_LEN of elements/c/spin/linearmap.h
SPIN_COUPLING_LEN = 21


def drift_t(ref: RefPart, tau: float) -> None:
    """The reference time advance over tau [m] used by the split maps: t += tau / beta."""
    pt = ref.pt
    if pt < -1.0:
        ref.t += tau / math.sqrt(1.0 - pt**-2)


class IntegratedMapElement(Element, metaclass=ABCMeta):
    """Base of the soft-edge elements: per-slice 6x6 maps on (x, px, y, py, t, pt) run by the LinearMap kernel.

    Subclasses implement ``_integrate(ref, zin, slice_ds) -> R``: advance the reference (t, pt) over
    one slice starting ``zin`` [m] after the element entry, and return the slice's map in static units.
    """

    geometric_ref = False  # changes the energy or keeps state in push_ref

    kernel = KernelClass("LinearMap", header("linearmap.h"), spin_header=spin_header("linearmap.h"))
    linear = True

    def _coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(self.cos_coefficients, dtype=float)
        s = np.asarray(self.sin_coefficients, dtype=float)
        if c.size != s.size:
            raise ValueError(
                f"{type(self).__name__}: cos_coefficients and sin_coefficients must have the same length "
                f"({c.size} != {s.size})"
            )
        return c, s

    @abstractmethod
    def _integrate(self, ref: RefPart, zin: float, slice_ds: float) -> np.ndarray:
        """Advance ref over one slice from ``zin`` [m]; the slice's 6x6 map (static units)."""

    def _first_slice_z(self, ref: RefPart, nslices: int) -> float:
        """z [m] from the element entry where the next slice starts: 0 for a whole element, else from
        ``ref.sedge`` (s at the element entry, set by the tracking loop as in ImpactX)."""
        if nslices == self.nslice:
            return 0.0
        return ref.s - ref.sedge

    def _slice_push(self, ref: RefPart, zin: float, slice_ds: float) -> np.ndarray:
        """One slice: ImpactX's ``operator()(RefPart)`` of the soft-edge elements; returns the slice map."""
        x, y, z, px, py, pz, s = ref.x, ref.y, ref.z, ref.px, ref.py, ref.pz, ref.s
        bgi = ref.beta_gamma
        self._A, self._v = np.zeros((3, 6)), np.zeros(3)  # the slice's spin coupling, built by the maps
        R = self._integrate(ref, zin, slice_ds)
        bgf = ref.beta_gamma
        ref.x = x + slice_ds * px / bgi
        ref.y = y + slice_ds * py / bgi
        ref.z = z + slice_ds * pz / bgi
        ref.px, ref.py, ref.pz = px * bgf / bgi, py * bgf / bgi, pz * bgf / bgi
        ref.s = s + slice_ds
        return R

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        slice_ds = self.ds / self.nslice
        z0 = self._first_slice_z(ref, nslices)
        spin = []
        for i in range(nslices):
            self._slice_push(ref, z0 + i * slice_ds, slice_ds)
            spin.append(np.concatenate([self._A.ravel(), self._v]))
        self._spin_aux = np.concatenate(spin)

    def aux_data(self) -> np.ndarray:
        """(A row-major, v) of each slice of the last ``push_ref`` (SPIN_COUPLING_LEN values per slice)."""
        return self._spin_aux

    def op_count(self, nslices: int) -> int:
        return nslices

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        slice_ds = self.ds / self.nslice
        r = ref_in.copy()
        z0 = self._first_slice_z(r, nslices)
        s_exit = float(ops[nslices - 1]["s_exit"])
        for i in range(nslices):
            R = self._slice_push(r, z0 + i * slice_ds, slice_ds)
            op = ops[i]
            op["nslice"], op["ds"] = 1, slice_ds
            op["s_exit"] = s_exit - (nslices - 1 - i) * slice_ds
            fill_common(op, self, r)
            op["c"][:36] = R.ravel()
            op["aux_offset"] += SPIN_COUPLING_LEN * i
            op["aux_len"] = SPIN_COUPLING_LEN

    def slice_maps(self, ref: RefPart) -> list[np.ndarray]:
        """The per-slice maps of the whole element for a reference ``ref`` at its entry (not modified)."""
        r = ref.copy()
        slice_ds = self.ds / self.nslice
        return [self._slice_push(r, i * slice_ds, slice_ds) for i in range(self.nslice)]

    def transport_map(self, ref: RefPart) -> np.ndarray:
        """Product of the slice maps: the element's 6x6 map on (x, px, y, py, t, pt)."""
        out = np.eye(6)
        for R in self.slice_maps(ref):
            out = R @ out
        return out


def symp2_split3(el: Any, ref: RefPart, zin: float, zout: float, nsteps: int, R: np.ndarray) -> None:
    """ImpactX's symp2_integrate_split3: per step map1(dz/2) map2(dz/2) map3(dz) map2(dz/2) map1(dz/2)."""
    dz = (zout - zin) / nsteps
    z = [zin]
    for _ in range(nsteps):
        el._map1(0.5 * dz, ref, z, R)
        el._map2(0.5 * dz, ref, z, R)
        el._map3(dz, ref, z, R)
        el._map2(0.5 * dz, ref, z, R)
        el._map1(0.5 * dz, ref, z, R)


def symp2(el: Any, ref: RefPart, zin: float, zout: float, nsteps: int, R: np.ndarray) -> None:
    """ImpactX's symp2_integrate: per step map1(dz/2) map2(dz) map1(dz/2)."""
    dz = (zout - zin) / nsteps
    z = [zin]
    for _ in range(nsteps):
        el._map1(0.5 * dz, ref, z, R)
        el._map2(dz, ref, z, R)
        el._map1(0.5 * dz, ref, z, R)


def _drift_map(tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
    """map1 of SoftSolenoid / SoftQuadrupole: a drift of tau [m] of the reference and of the map."""
    drift_t(ref, tau)
    z[0] += tau
    bg2 = ref.beta_gamma**2
    R[0, :4] += tau * R[1, :4]
    R[2, :4] += tau * R[3, :4]
    R[4, 4] += tau * R[5, 4] / bg2
    R[4, 5] += tau * R[5, 5] / bg2


class SoftSolenoid(IntegratedMapElement):
    """Soft-edge solenoid of length ds [m]: B_z(z) = bscale * Fourier series (cos/sin_coefficients over
    the element length); bscale in 1/m (unit=0, B / (B rho)) or T (unit=1); mapsteps integration steps
    per slice (ImpactX's SoftSolenoid)."""

    model_cls = spec.SoftSolenoid
    positional = ("ds", "bscale", "cos_coefficients", "sin_coefficients", "unit")

    def _integrate(self, ref: RefPart, zin: float, slice_ds: float) -> np.ndarray:
        self._c, self._s = self._coefficients()
        self._B0 = self.bscale / ref.rigidity_Tm if self.unit == 1 else self.bscale
        R = np.eye(6)
        symp2_split3(self, ref, zin, zin + slice_ds, self.mapsteps, R)
        return R

    def _bz(self, z: float) -> float:
        return fourier_field(z, abs(self.ds), self._c, self._s)[0]

    def _map1(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        _drift_map(tau, ref, z, R)

    def _map2(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        alpha = self._B0 * self._bz(z[0]) * 0.5
        a2 = alpha * alpha
        G = ref.gyromagnetic_anomaly
        gf, cs, sn = (ref.gamma - 1.0) * G * tau, math.cos(self._v[2]), math.sin(self._v[2])
        dA = np.zeros((3, 6))
        dA[0, :4] = [
            gf * a2 * (-2.0 * sn + tau * cs * alpha),
            2.0 * gf * alpha * cs,
            gf * a2 * (2.0 * cs + tau * sn * alpha),
            2.0 * gf * alpha * sn,
        ]
        dA[1, :4] = [
            -gf * a2 * (2.0 * cs + tau * sn * alpha),
            -2.0 * gf * alpha * sn,
            gf * a2 * (-2.0 * sn + tau * cs * alpha),
            2.0 * gf * alpha * cs,
        ]
        dA[2, 5] = -2.0 * (1.0 + G) * tau * alpha / ref.beta
        self._A += dA @ R
        R[1, :4] -= tau * a2 * R[0, :4]
        R[3, :4] -= tau * a2 * R[2, :4]

    def _map3(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        theta = tau * self._B0 * self._bz(z[0]) * 0.5
        self._v[2] -= (1.0 + ref.gyromagnetic_anomaly) * 2.0 * theta
        cs, sn = math.cos(theta), math.sin(theta)
        old = R[:4, :4].copy()
        R[0, :4] = old[0] * cs + old[2] * sn
        R[1, :4] = old[1] * cs + old[3] * sn
        R[2, :4] = old[2] * cs - old[0] * sn
        R[3, :4] = old[3] * cs - old[1] * sn


class SoftQuadrupole(IntegratedMapElement):
    """Soft-edge quadrupole of length ds [m]: gradient g(z) = gscale [1/m^2] * Fourier series
    (cos/sin_coefficients over the element length); mapsteps integration steps per slice
    (ImpactX's SoftQuadrupole)."""

    model_cls = spec.SoftQuadrupole
    positional = ("ds", "gscale", "cos_coefficients", "sin_coefficients")

    def _integrate(self, ref: RefPart, zin: float, slice_ds: float) -> np.ndarray:
        self._c, self._s = self._coefficients()
        R = np.eye(6)
        symp2(self, ref, zin, zin + slice_ds, self.mapsteps, R)
        return R

    def _map1(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        _drift_map(tau, ref, z, R)

    def _map2(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        alpha = self.gscale * fourier_field(z[0], abs(self.ds), self._c, self._s)[0]
        dA = np.zeros((3, 6))
        dA[0, 2] = dA[1, 0] = -(1.0 + ref.gyromagnetic_anomaly * ref.gamma) * tau * alpha
        self._A += dA @ R
        R[1, :4] -= tau * alpha * R[0, :4]
        R[3, :4] += tau * alpha * R[2, :4]
