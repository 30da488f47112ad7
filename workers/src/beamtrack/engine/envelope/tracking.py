"""Envelope tracking: the covariance matrix pushed through each slice of the lattice, in ImpactX's order.

Follows ImpactX src/tracking/envelope.cpp (``ImpactX::track_envelope``): step and period restart at 0;
per period, per element (sedge = s, before_element), per slice: step += 1, before_slice, the reference
push and cm <- R cm R^T with R the slice's linear map at the pushed reference, with the envelope space-charge
push (2D: beam current [A], 3D: bunch charge [C]) Strang-split into it (see track_envelope); slice diagnostics when
``slice_step_diagnostics``. Diagnostics: the initial row of reduced_beam_characteristics and
ref_particle, and at the end reduced_beam_characteristics_final / ref_particle_final.

R of a slice is ImpactX's ``transport_map``: the element's map linearized about the reference orbit in
the element's own frame (translations dx, dy drop out of a linear map; the roll is kept; apertures do
not act). ``SliceMaps`` takes it from the engine's own C kernel: a bundle of 24 test particles at
+-h, +-2h (h = 1e-5) along each coordinate, pushed through the slice, and the fourth-order central
difference (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / (12 h): exact up to round-off for linear elements,
truncation O(h^4) (about 1e-14 relative for the
chromatic elements of a 10 MeV proton), round-off about 1e-11 for the nonlinear ones. Elements whose ImpactX map is not
that Jacobian have their own formula in ``EXPLICIT_MAPS``.

Where no hook and no element that changes the reference energy (or pushes it other than straight, on an
arc or by a thin turn) is in the way, the periods run in C (``fast``): each element's slice map computed
once, the same maps and kicks, the reference through the same operations.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from beamtrack.spec import elements as spec

from ..elements.base import Element
from ..kernels.ops import APERTURE, MISALIGNED
from ..kernels.runtime import empty_ops
from ..particles import ParticleContainer
from ..refpart import RefPart
from ..tracking import call_hook
from . import linear_maps
from .covariance import Envelope, envelope_moments
from .fast import SliceMapCache, period_plan, track_periods
from .spacecharge import EnvelopeSpaceChargeWarning, space_charge2d_push, space_charge3d_push

if TYPE_CHECKING:
    from ..simulation import Simulation

#: map order (x, px, y, py, t, pt) -> rows of the particle container (x, y, t, px, py, pt)
ROW_OF = (0, 3, 1, 4, 2, 5)
H = 1.0e-5


class EnvelopeTrackingError(RuntimeError):
    """An element without a linear transport map (ImpactX: Programmable), or a lost test particle."""


def _rotated(R: np.ndarray, el: Element) -> np.ndarray:
    """ImpactX's ``rotate_aligned_map``: A R A^T with A the roll of the element (identity when 0)."""
    rot = float(getattr(el.model, "rotation", 0.0) or 0.0)
    if rot == 0.0:
        return R
    c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    A = np.eye(6)
    A[0, 0] = A[1, 1] = A[2, 2] = A[3, 3] = c
    A[0, 2] = A[1, 3] = -s
    A[2, 0] = A[3, 1] = s
    return np.asarray(A @ R @ A.T)


M = TypeVar("M", bound=spec.ElementBase)


def _model(el: Element, cls: type[M]) -> M:
    """The spec model of ``el``, which the map of a ``cls`` reads (EXPLICIT_MAPS picks maps by type)."""
    m = el.model
    if not isinstance(m, cls):
        raise TypeError(f"{el.element_type}: not a {cls.__name__} (the map of {cls.__name__} reads its fields)")
    return m


def _identity(el: Element, ref: RefPart) -> np.ndarray:
    return _rotated(np.eye(6), el)


def _thin_dipole(el: Element, ref: RefPart) -> np.ndarray:
    """ImpactX ThinDipole::transport_map: geometric focusing, dispersion kick and path length of the
    equivalent arc ds = theta rc (its particle push is the nonlinear Ripken kick, whose Jacobian differs)."""
    m = _model(el, spec.ThinDipole)
    theta, rc = math.radians(float(m.theta)), float(m.rc)
    ds, kx = theta * rc, 1.0 / rc
    R = np.eye(6)
    R[1, 0] = -kx * kx * ds
    R[1, 5] = -kx * ds / ref.beta
    R[4, 0] = kx * ds / ref.beta
    return _rotated(R, el)


def _exact_sbend(el: Element, ref: RefPart) -> np.ndarray:
    """ImpactX ExactSbend::transport_map: the sector-bend map of the slice on the radius rc = rigidity / B
    (B given) or ds / phi, at the angle slice_ds / rc (also when B is given and phi is not ds / rc)."""
    m = _model(el, spec.ExactSbend)
    slice_ds = el.ds / el.nslice
    bg2 = ref.pt * ref.pt - 1.0
    inv_bet = 1.0 / ref.beta
    phi, B = math.radians(float(m.phi)), float(m.B)
    R = np.eye(6)
    if phi == 0.0 and B == 0.0:
        R[0, 1] = R[2, 3] = slice_ds
        R[4, 5] = slice_ds / bg2
        return _rotated(R, el)
    rc = ref.rigidity_Tm / B if B != 0.0 else el.ds / phi
    theta = slice_ds / rc
    s, c = math.sin(theta), math.cos(theta)
    R[0, 0], R[0, 1], R[0, 5] = c, rc * s, -rc * inv_bet * (1.0 - c)
    R[1, 0], R[1, 1], R[1, 5] = -s / rc, c, -s * inv_bet
    R[2, 3] = rc * theta
    R[4, 0], R[4, 1], R[4, 5] = s * inv_bet, rc * inv_bet * (1.0 - c), rc * (s * inv_bet * inv_bet - theta)
    return _rotated(R, el)


def _nonlinear_lens(el: Element, ref: RefPart) -> np.ndarray:
    """ImpactX NonlinearLens::transport_map: the linear part k = 2 knll / cnll^2 of the lens (the central
    differences would resolve it only to (h / cnll)^4, 4e-11 at cnll = 4 mm)."""
    m = _model(el, spec.NonlinearLens)
    k_lin = 2.0 * float(m.knll) / float(m.cnll) ** 2
    R = np.eye(6)
    R[1, 0], R[3, 2] = -k_lin, k_lin
    return _rotated(R, el)


def _dip_edge(el: Element, ref: RefPart) -> np.ndarray:
    """ImpactX DipEdge::transport_map: the linear edge map (R21 = tan(psi)/rc, R43 = (1 + sin^2 psi)/cos^3 psi
    g K2 / rc^2 - R21) whatever the model (the nonlinear model's Jacobian differs from it)."""
    m = _model(el, spec.DipEdge)
    psi, rc = float(m.psi), float(m.rc)
    s, c = math.sin(psi), math.cos(psi)
    R = np.eye(6)
    R[1, 0] = math.tan(psi) / rc
    R[3, 2] = (1.0 + s * s) / c**3 * float(m.g) * float(m.K2) / (rc * rc) - R[1, 0]
    return _rotated(R, el)


#: ImpactX type -> (element, reference after the slice) -> R, where ImpactX's transport_map is not the
#: Jacobian of its particle push at the reference orbit (or where no kernel runs)
EXPLICIT_MAPS: dict[str, Callable[[Element, RefPart], np.ndarray]] = {
    "Aperture": _identity,
    "BeamMonitor": _identity,
    "Marker": _identity,
    "Empty": _identity,
    "PolygonAperture": _identity,
    "Kicker": _identity,
    "ThinDipole": _thin_dipole,
    "DipEdge": _dip_edge,
    "ExactSbend": _exact_sbend,
    "NonlinearLens": _nonlinear_lens,
    "ExactQuad": lambda el, ref: _rotated(linear_maps.exact_quad(el, ref), el),
    "ExactMultipole": lambda el, ref: _rotated(linear_maps.exact_multipole(el, ref), el),
    "ExactCFbend": lambda el, ref: _rotated(linear_maps.exact_cfbend(el, ref), el),
    "ChrPlasmaLens": lambda el, ref: _rotated(linear_maps.chr_plasma_lens(el, ref), el),
    "ChrAcc": lambda el, ref: _rotated(linear_maps.chr_acc(el, ref), el),
}


class SliceMaps:
    """Per-slice linear maps of a lattice's elements from the engine's serial kernel (see the module doc)."""

    def __init__(self, sim: Simulation):
        self.kernel = sim.kernel(kind="serial")
        self.qm = sim.reference.qm_ratio_SI
        self.probe0 = np.zeros((6, 24))
        for j in range(6):
            for k, a in enumerate((1.0, -1.0, 2.0, -2.0)):
                self.probe0[ROW_OF[j], 4 * j + k] = a * H

    def slice_map(self, el: Element, ref_in: RefPart, ref_out: RefPart) -> np.ndarray:
        """R of one slice of ``el`` entered with ``ref_in`` (ref_out: the reference after it)."""
        explicit = EXPLICIT_MAPS.get(el.element_type)
        if explicit is not None:
            return explicit(el, ref_out)
        if el.kernel is None:
            raise EnvelopeTrackingError(
                f"{el.element_type}: Linear transport map is not yet implemented for this "
                "element (ImpactX: envelope tracking needs each element's linear map)"
            )
        n = el.op_count(1)
        ops = empty_ops(n)
        r = ref_in.copy()
        el.push_ref(r, 1)
        ops["kind"] = self.kernel.index[el.kernel.name]
        ops["index"] = 0
        ops["s_exit"] = r.s
        data = el.aux_data()
        aux = np.zeros(1)
        if data is not None:
            aux = np.asarray(data, dtype=np.float64).ravel()
            ops["aux_offset"], ops["aux_len"] = 0, aux.size
        el.fill_ops(ops, ref_in, r, 1)
        ops["dx"] = ops["dy"] = 0.0  # the linear map of the element frame: translations drop out
        flags = ops["flags"] & ~APERTURE
        flags[ops["sin_rot"] == 0.0] &= ~MISALIGNED
        ops["flags"] = flags
        self.kernel.setup(ops, aux)
        pc = ParticleContainer(qm=self.qm)
        x, y, t, px, py, pt = self.probe0
        pc.add_n_particles(x, y, t, px, py, pt, qm=self.qm, bunch_charge=0.0)
        self.kernel.track(pc, ops, aux)
        if bool((pc.state != 0).any()):
            raise EnvelopeTrackingError(f"{el.element_type}: a test particle of the linear map was lost")
        out = np.asarray(pc.real[:6])[list(ROW_OF)]
        f = out.reshape(6, 6, 4)  # [coordinate i, direction j, (+h, -h, +2h, -2h)]
        return np.asarray((8.0 * (f[:, :, 0] - f[:, :, 1]) - (f[:, :, 2] - f[:, :, 3])) / (12.0 * H))


def _diag_writers(sim: Simulation) -> dict[str, Any]:
    from ..diagnostics import ReducedDiagnosticsWriter, RefParticleWriter

    d = sim._diag_dir()
    return {
        "reduced": ReducedDiagnosticsWriter(d),
        "ref": RefParticleWriter(d),
    }


def _space_charge_mode(sim: Simulation) -> str | None:
    if not sim.space_charge_enabled:
        return None
    mode = str(sim.space_charge).upper()
    if mode in ("2D", "3D"):
        return mode
    raise NotImplementedError(
        f"space_charge = {sim.space_charge!r} in envelope tracking: ImpactX's envelope "
        "tracking has 2D (beam current) and 3D (bunch charge) space charge only"
    )


def _halved(el: Element) -> Element:
    """A copy of ``el`` with twice the slices: one of its slices is half a slice of ``el``."""
    half = type(el).from_model(el.model)
    # a model field (validated, the version bumped); the nslice property has no setter
    half.__setattr__("nslice", 2 * el.nslice)
    return half


def track_envelope(sim: Simulation, env: Envelope, ref: RefPart) -> None:
    """Push ``env`` and ``ref`` (in place) through ``sim.periods`` passes of ``sim.lattice`` (ImpactX's track_envelope).

    With space charge and ``sim.strang_split`` (ImpactX 26.10's default) each slice is half a slice of the
    element, the space-charge push over the whole slice length at the mid-slice reference, the other half
    (measured against ImpactX 26.10; its older envelope loop, strang_split False: the push at the slice
    entry, then the whole slice).
    """
    ref.check_energy()
    if sim.eigenemittances:
        raise NotImplementedError(
            "ImpactX option sim.eigenemittances = True in envelope tracking is not implemented in beamtrack"
        )
    mode = _space_charge_mode(sim)
    for el in sim.lattice:
        if el.element_type == "Programmable":
            raise EnvelopeTrackingError("Programmable: Linear transport map is not yet implemented for this element")
    maps = SliceMaps(sim) if any(el.kernel is not None for el in sim.lattice) else None
    cm = env.cm
    if mode is not None and env.beam_intensity == 0.0:
        warnings.warn(
            f"space charge ({mode}) is enabled but the envelope's beam intensity is 0: no space-charge "
            "push (as ImpactX)",
            EnvelopeSpaceChargeWarning,
            stacklevel=2,
        )
    sc_push = {"2D": space_charge2d_push, "3D": space_charge3d_push}.get(mode or "")
    sim.tracking_step = 0
    sim.tracking_period = 0
    sim._total_steps = sim.periods * sum(el.nslice for el in sim.lattice)
    writers = _diag_writers(sim) if sim.diagnostics else {}
    period = 0

    def output(writers: dict[str, Any]) -> None:
        row = {"period": float(period), **envelope_moments(cm, ref)}
        if writers:
            writers["reduced"].write(sim.tracking_step, row)
            writers["ref"].write(sim.tracking_step, ref)
        for fn in sim.diagnostics_listeners:
            fn({"step": sim.tracking_step, **row})

    def slice_map(el: Element, ref_in: RefPart, ref_out: RefPart) -> np.ndarray:
        return EXPLICIT_MAPS[el.element_type](el, ref_out) if maps is None else maps.slice_map(el, ref_in, ref_out)

    cached = SliceMapCache(slice_map)

    def push(variant: Element, el: Element) -> None:
        """One slice of ``variant`` (``el`` or its halved copy)."""
        ref_in = ref.copy()
        variant.push_ref(ref, 1)
        R = cached.get(el, variant, ref_in, ref)
        cm[:] = R @ cm @ R.T

    try:
        output(writers)
        plan = period_plan(sim, ref, mode, env.beam_intensity, slice_map, _halved)
        if plan is not None:

            def slice_output(at_period: int) -> None:
                nonlocal period
                period = at_period
                output(writers)

            track_periods(sim, plan, cm, ref, slice_output if sim.slice_step_diagnostics else None)
            period = max(sim.periods - 1, 0)
        else:
            for period in range(sim.periods):  # noqa: B007 (read by output)
                sim.check_stop()
                sim.tracking_element = 0
                call_hook(sim, "before_period")
                for i, el in enumerate(sim.lattice):
                    ref.sedge = ref.s
                    sim.tracking_element = i
                    call_hook(sim, "before_element")
                    slice_ds = el.ds / el.nslice
                    kick = sc_push is not None and env.beam_intensity != 0.0 and slice_ds != 0.0
                    split = kick and sim.strang_split
                    half = _halved(el) if split else el
                    for _k in range(el.nslice):
                        sim.check_stop()
                        sim.tracking_step += 1
                        call_hook(sim, "before_slice")
                        if split and sc_push is not None:
                            push(half, el)
                            sc_push(ref, cm, env.beam_intensity, slice_ds)
                            push(half, el)
                        else:
                            if kick and sc_push is not None:
                                sc_push(ref, cm, env.beam_intensity, slice_ds)
                            push(el, el)
                        if sim.slice_step_diagnostics:
                            output(writers)
                        sim.report_progress()
                    call_hook(sim, "after_element")
                call_hook(sim, "after_period")
                sim.tracking_period += 1
    finally:
        for w in writers.values():
            w.close()
    if sim.diagnostics:
        from ..diagnostics import (
            REDUCED_FINAL_FILE,
            REF_PARTICLE_FINAL_FILE,
            ReducedDiagnosticsWriter,
            RefParticleWriter,
        )

        final = {
            "reduced": ReducedDiagnosticsWriter(sim._diag_dir(), REDUCED_FINAL_FILE),
            "ref": RefParticleWriter(sim._diag_dir(), REF_PARTICLE_FINAL_FILE),
        }
        try:
            output(final)
        finally:
            for w in final.values():
                w.close()
