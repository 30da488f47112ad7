"""RF elements: RFCavity (map integrated along the reference orbit), ShortRF (thin nonlinear gap),
Buncher (thin linear) (ImpactX's names and parameters)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from beamtrack.spec import elements as spec

from .. import constants
from ..kernels.codegen import KernelClass
from ..refpart import RefPart
from .base import Element, header, spin_header
from .fieldmaps import IntegratedMapElement, drift_t, fourier_field, symp2_split3


class RFCavity(IntegratedMapElement):
    """RF cavity of length ds [m] with on-axis field E_z(z) = escale * Fourier series
    (cos/sin_coefficients over the element length); escale [1/m] = peak E_z [MV/m] / rest energy [MeV];
    freq [Hz]; phase [deg] (RF driven phase, ImpactX's convention); mapsteps integration steps per
    slice (ImpactX's RFCavity).

    The reference gains energy along the cavity; the beam's pt stays relative to it. The slice map
    depends on the reference's arrival time t (the RF phase it sees), so the tracking loop rebuilds it
    on every pass (``version`` changes with every reference push).
    """

    model_cls = spec.RFCavity
    positional = ("ds", "escale", "freq", "phase", "cos_coefficients", "sin_coefficients")

    @property
    def version(self) -> Any:
        return (self._version, self.__dict__.get("_passes", 0))

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        object.__setattr__(self, "_passes", self.__dict__.get("_passes", 0) + 1)
        super().push_ref(ref, nslices)

    def _integrate(self, ref: RefPart, zin: float, slice_ds: float) -> np.ndarray:
        self._c, self._s = self._coefficients()
        self._k = 2.0 * math.pi / constants.c * self.freq
        self._phi = self.phase * math.pi / 180.0
        bgi = ref.beta_gamma
        R = np.eye(6)
        symp2_split3(self, ref, zin, zin + slice_ds, self.mapsteps, R)
        bgf = ref.beta_gamma
        # dynamic (momenta times beta gamma) -> static units: columns px, py, pt times bgi, rows / bgf
        R[:, 1::2] *= bgi
        R[1::2, :] /= bgf
        self._A[:, 1::2] *= bgi
        return R

    def _ez(self, z: float) -> tuple[float, float, float]:
        return fourier_field(z, abs(self.ds), self._c, self._s, integral_outside=True)

    def _map1(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        t, pt, E0, k = ref.t, ref.pt, self.escale, self._k
        _, ezp, ezint = self._ez(z[0])
        z[0] += tau
        _, ezpf, ezintf = self._ez(z[0])
        ref.pt = pt - E0 * (ezintf - ezint) * math.cos(k * t + self._phi)
        M = E0 * (ezintf - ezint) * k * math.sin(k * t + self._phi)
        L = E0 * (ezpf - ezp) * math.sin(k * t + self._phi) / (2.0 * k) + 0.5 * M
        R[1, :2] += L * R[0, :2]
        R[3, 2:4] += L * R[2, 2:4]
        R[5, 4:] += M * R[4, 4:]

    def _map2(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        E0, k = self.escale, self._k
        _, ezp, _ = self._ez(z[0])
        s = tau / ref.beta_gamma
        L = E0 * ezp * math.sin(k * ref.t + self._phi) / (2.0 * k)
        for u in (0, 2):
            a, b = R[u, u : u + 2].copy(), R[u + 1, u : u + 2].copy()
            R[u, u : u + 2] = (1.0 - s * L) * a + s * b
            R[u + 1, u : u + 2] = -s * L * L * a + (1.0 + s * L) * b

    def _map3(self, tau: float, ref: RefPart, z: list[float], R: np.ndarray) -> None:
        self._spin_map3(tau, ref, z[0], R)
        drift_t(ref, tau)
        bg3 = ref.beta_gamma**3
        R[4, 4:] += tau * R[5, 4:] / bg3

    def _spin_map3(self, tau: float, ref: RefPart, z: float, R: np.ndarray) -> None:
        """ImpactX's RFCavity map3 spin-orbit coupling step, at the reference t, pt before the step
        (pt is the reference's -gamma, as ImpactX evaluates it)."""
        ez, ezp, _ = self._ez(z)
        k, t, pt, G, E0 = self._k, ref.t, ref.pt, ref.gyromagnetic_anomaly, self.escale
        cs, sn = math.cos(k * t + self._phi), math.sin(k * t + self._phi)
        root, gterm = math.sqrt(1.0 + pt * pt), G + 1.0 / (1.0 - pt)
        dA = np.zeros((3, 6))
        dA[0, 2] = E0 * tau / 2.0 * (k * ez * (G * pt - 1.0) * sn / root + cs * gterm * ezp)
        dA[0, 3] = E0 * tau / root * cs * gterm
        dA[1, 0], dA[1, 1] = -dA[0, 2], -dA[0, 3]
        self._A += dA @ R


class ShortRF(Element):
    """Thin nonlinear RF gap: V = q V0 / (m c^2) (normalized voltage), freq [Hz], phase [deg]
    (0 on crest, -90 zero crossing for bunching); the reference gains energy V cos(phase) m c^2
    (ImpactX's ShortRF)."""

    geometric_ref = False  # changes the energy or keeps state in push_ref

    model_cls = spec.ShortRF
    kernel = KernelClass("ShortRF", header("shortrf.h"), params=("V", "freq", "phase"), spin_header=spin_header("rf.h"))
    positional = ("V", "freq", "phase")

    def params(self) -> Sequence[float]:
        return (self.V, self.freq, self.phase)

    def push_ref(self, ref: RefPart, nslices: int) -> None:
        bgi = ref.beta_gamma
        ref.pt = ref.pt - self.V * math.cos(self.phase * math.pi / 180.0)
        if ref.pt >= -1.0:
            raise ValueError(f"ShortRF: the reference would stop (gamma = {-ref.pt} <= 1)")
        bgf = ref.beta_gamma
        ref.px, ref.py, ref.pz = ref.px * bgf / bgi, ref.py * bgf / bgi, ref.pz * bgf / bgi


class Buncher(Element):
    """Thin linear RF buncher at the zero crossing: V normalized voltage, k RF wavenumber [1/m]
    (ImpactX's Buncher)."""

    model_cls = spec.Buncher
    kernel = KernelClass("Buncher", header("buncher.h"), params=("V", "k"), spin_header=spin_header("rf.h"))
    linear = True
    positional = ("V", "k")

    def params(self) -> Sequence[float]:
        return (self.V, self.k)
