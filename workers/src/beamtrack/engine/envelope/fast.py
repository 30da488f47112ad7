"""The envelope loop of a period in C (c/envelope_cpu.c), for lattices whose reference motion is rigid.

``period_plan`` walks one period in Python, as ``tracking.track_envelope``'s loop does, and records it as
C steps: each element's entry (sedge), each slice's map (computed once per element and slice variant:
a geometric element keeps the reference energy, so every slice of it, in every period, has the same map),
its reference push (straight or arc, the operations of elements/base.py) and its space-charge kicks.
``track_periods`` runs the steps once per period (slice by slice where a diagnostics row or a progress
report follows each slice). The plan is None (the Python loop runs) where that loop does more than the
steps: hooks, an element that changes the energy or pushes the reference otherwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import constants
from ..elements.base import Element
from ..elements.bends import CFbend, DipEdge, ExactSbend, Sbend, ThinDipole
from ..elements.linear_map import LinearMap
from ..elements.thin import SpinMap
from ..kernels.runtime import load_library
from ..refpart import RefPart
from .spacecharge import EnvelopeSpaceChargeWarning

if TYPE_CHECKING:
    from ..simulation import Simulation

CPU_SOURCE = Path(__file__).resolve().parent / "c" / "envelope_cpu.c"
#: doubles per step and step kinds (c/envelope_cpu.c)
STEP = 8
MAP, SC2D, SC3D, EDGE = 0, 1, 2, 3
#: reference pushes of a MAP step
NO_PUSH, STRAIGHT, ARC, TURN = 0, 1, 2, 3
#: RefPart fields in the order of the C ref array
REF_FIELDS = ("s", "x", "y", "z", "t", "px", "py", "pz", "pt", "sedge")
S, SEDGE = REF_FIELDS.index("s"), REF_FIELDS.index("sedge")
#: steps of one C call without progress listeners (whole periods; stop requests are taken between calls)
STEPS_PER_CALL = 20_000
HOOKS = ("before_period", "after_period", "before_element", "after_element", "before_slice")


@cache
def library() -> Any:
    """The serial build of c/envelope_cpu.c (``env_track_steps``)."""
    return load_library("envelope", CPU_SOURCE, "serial")


def ref_motion(el: Element, ref: RefPart) -> tuple[int, float, float, float] | None:
    """How ``el.push_ref(ref, 1)`` moves the reference: (NO_PUSH, 0, 0, 0), (STRAIGHT, ds, 0, 0),
    (ARC, ds, theta, rc) or (TURN, 0, theta, 0) (the momentum turned by theta [rad] in the x-z plane, as
    ThinDipole), with the values that push computes; None for any other push."""
    push = type(el).push_ref
    ds = el.ds / el.nslice * 1
    if push is Element.push_ref:
        return (STRAIGHT, ds, 0.0, 0.0)
    if push is LinearMap.push_ref or push is SpinMap.push_ref:
        return (STRAIGHT, el.ds, 0.0, 0.0)
    if push is DipEdge.push_ref:
        assert isinstance(el, DipEdge)
        return None if el._moves_ref else (NO_PUSH, 0.0, 0.0, 0.0)
    if push is ThinDipole.push_ref:
        return (TURN, 0.0, math.radians(el.theta), 0.0)
    if push is Sbend.push_ref or push is CFbend.push_ref:
        rc = float(el.rc)
        if push is Sbend.push_ref and rc == 0.0:
            return (STRAIGHT, ds, 0.0, 0.0)
        return (ARC, ds, ds / rc, rc)
    if push is ExactSbend.push_ref:
        assert isinstance(el, ExactSbend)
        if el.is_drift:
            return (STRAIGHT, ds, 0.0, 0.0)
        return (ARC, ds, el.slice_angle(ref) * 1, el.radius(ref))
    return None


class SliceMapCache:
    """Slice maps of the Python loop kept across slices and periods of one track call: for an element that
    keeps the reference energy (``geometric_ref``) the map depends only on the element's parameters (its
    identity and ``version``), the slice variant (whole or half slice) and the reference's energy and
    species, the key here; other elements' maps are computed at each slice."""

    def __init__(self, compute: Callable[[Element, RefPart, RefPart], np.ndarray]):
        self.compute = compute
        self._maps: dict[tuple[Any, ...], tuple[Element, np.ndarray]] = {}

    def get(self, el: Element, variant: Element, ref_in: RefPart, ref_out: RefPart) -> np.ndarray:
        """R of one slice of ``variant`` (``el`` or its halved copy) entered with ``ref_in``."""
        if not el.geometric_ref:
            return self.compute(variant, ref_in, ref_out)
        key = (id(el), el.version, variant is el, ref_in.pt, ref_in.mass_MeV, ref_in.charge_qe)
        hit = self._maps.get(key)
        if hit is None:  # the element is kept with its map, so that its id is not reused while cached
            hit = self._maps[key] = (el, self.compute(variant, ref_in, ref_out))
        return hit[1]


@dataclass
class PeriodPlan:
    """One period as C steps (``steps``: (n, STEP)), the slice maps they index (``maps``: (m, 6, 6)), and
    per slice of the period the range of its steps (``slice_start``, ``slice_end``; an element's entry
    precedes its first slice's range) and its element's index (``slice_element``)."""

    steps: np.ndarray
    maps: np.ndarray
    slice_start: list[int]
    slice_end: list[int]
    slice_element: list[int]

    @property
    def nslices(self) -> int:
        return len(self.slice_end)


def _sc_step(mode: str, ref: RefPart, intensity: float, slice_ds: float) -> list[float]:
    """A space-charge step with the constants of spacecharge.py's pushes, computed as they compute them."""
    c, ep0 = constants.c, constants.epsilon0
    if mode == "3D":
        rcN = abs(ref.charge * intensity) / (4.0 * math.pi * ep0 * ref.mass * c**2)
        return [SC3D, 0.0, 0.0, slice_ds, rcN, ref.pt * ref.pt - 1.0, 0.0, 0.0]
    bg = math.sqrt(ref.pt * ref.pt - 1.0)
    IA = 4.0 * math.pi * ep0 * ref.mass * c**3 / ref.charge
    Kpv = abs(intensity / IA) * 2.0 / bg**3
    return [SC2D, 0.0, 0.0, slice_ds, Kpv, 0.0, 0.0, 0.0]


def period_plan(
    sim: Simulation,
    ref: RefPart,
    mode: str | None,
    intensity: float,
    slice_map: Callable[[Element, RefPart, RefPart], np.ndarray],
    halved: Callable[[Element], Element],
) -> PeriodPlan | None:
    """The C steps of one period of ``sim.lattice`` from ``ref`` (not changed), or None where the C loop
    cannot replace the Python one (see the module doc)."""
    if any(sim.hook.get(name) is not None for name in HOOKS):
        return None
    if not all(el.geometric_ref for el in sim.lattice):
        return None
    r = ref.copy()
    steps: list[list[float]] = []
    maps: list[np.ndarray] = []
    slice_start: list[int] = []
    slice_end: list[int] = []
    slice_element: list[int] = []
    for i, el in enumerate(sim.lattice):
        steps.append([EDGE, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
        slice_ds = el.ds / el.nslice
        kick = mode is not None and intensity != 0.0 and slice_ds != 0.0
        split = kick and sim.strang_split
        variant = halved(el) if split else el
        motion = ref_motion(variant, r)
        if motion is None:
            return None
        r_out = r.copy()
        variant.push_ref(r_out, 1)
        maps.append(np.asarray(slice_map(variant, r, r_out), dtype=np.float64))
        push = [MAP, float(len(maps) - 1), float(motion[0]), motion[1], motion[2], motion[3], 0.0, 0.0]
        sc = _sc_step(mode, r, intensity, slice_ds) if kick and mode is not None else []
        for _k in range(el.nslice):
            slice_start.append(len(steps))
            if split:
                steps += [push, sc, push]
            elif kick:
                steps += [sc, push]
            else:
                steps.append(push)
            for _n in range(2 if split else 1):
                variant.push_ref(r, 1)
            slice_end.append(len(steps))
            slice_element.append(i)
    return PeriodPlan(
        np.array(steps, dtype=np.float64).reshape(-1, STEP),
        np.array(maps).reshape(-1, 6, 6),
        slice_start,
        slice_end,
        slice_element,
    )


def _warn(w: np.ndarray) -> None:
    """The warnings spacecharge.py's pushes give, once per kind that occurred in a period."""
    if w[0]:
        warnings.warn(
            "the 3D envelope space-charge model assumes <xy> = <yt> = <tx> = 0 but non-zero correlations are present",
            EnvelopeSpaceChargeWarning,
            stacklevel=3,
        )
    if w[1]:
        warnings.warn(
            f"invalid arguments of Elliptic_RD ({w[3]}, {w[4]}, {w[5]})", EnvelopeSpaceChargeWarning, stacklevel=3
        )
    if w[2]:
        warnings.warn("Elliptic_RD exceeded 100 iterations", EnvelopeSpaceChargeWarning, stacklevel=3)


def track_periods(
    sim: Simulation,
    plan: PeriodPlan,
    cm: np.ndarray,
    ref: RefPart,
    slice_output: Callable[[int], None] | None = None,
) -> None:
    """``sim.periods`` periods of ``plan`` on ``cm`` (in place) and ``ref``, with the loop's counters (step,
    element, period). Without progress listeners and ``slice_output`` one C call runs about
    ``STEPS_PER_CALL`` steps of whole periods (stop requests are taken between calls, at period
    boundaries); otherwise one runs a slice, then ``cm`` and ``ref`` are updated, ``slice_output(period)``
    called (the slice-step diagnostics row) and the progress listeners told, as the Python loop does."""
    lib = library()
    buf = np.ascontiguousarray(cm, dtype=np.float64).copy()
    r = np.array([getattr(ref, k) for k in REF_FIELDS], dtype=np.float64)
    steps, maps = np.ascontiguousarray(plan.steps), np.ascontiguousarray(plan.maps)
    warn = np.zeros(6)
    last_element = max(len(sim.lattice) - 1, 0)
    done = 0  # periods run

    def run(at: np.ndarray, nrepeat: int) -> None:
        ran = lib.env_track_steps(
            buf.ctypes.data, r.ctypes.data, maps.ctypes.data, at.ctypes.data, len(at), nrepeat, warn.ctypes.data
        )
        if ran < 0:
            raise RuntimeError("env_track_steps: a step of unknown kind")

    def store() -> None:
        cm[:] = buf
        for k, v in zip(REF_FIELDS, r.tolist(), strict=True):
            setattr(ref, k, v)

    per_slice = bool(sim.progress_listeners) or slice_output is not None
    try:
        if not per_slice:
            per_call = max(1, STEPS_PER_CALL // max(len(steps), 1))
            while done < sim.periods:
                sim.check_stop()
                n = min(per_call, sim.periods - done)
                run(steps, n)
                done += n
                if warn.any():
                    _warn(warn)
                    warn[:] = 0.0
            return
        ends = [0, *plan.slice_end[:-1]]
        chunks = list(zip(ends, plan.slice_start, plan.slice_end, plan.slice_element, strict=True))
        for period in range(sim.periods):
            sim.check_stop()
            sim.tracking_element = 0
            for end, begin, stop, element in chunks:
                # as the Python loop: the element's entry, then the stop request of the slice
                if begin > end:
                    r[SEDGE] = r[S]
                sim.tracking_element = element
                sim.check_stop()
                run(steps[begin:stop], 1)
                store()
                sim.tracking_step += 1
                if slice_output is not None:
                    slice_output(period)
                sim.report_progress()
            sim.tracking_element = last_element
            sim.tracking_period += 1
            if warn.any():
                _warn(warn)
                warn[:] = 0.0
    finally:
        store()
        if not per_slice:
            sim.tracking_step += done * plan.nslices
            sim.tracking_period += done
            if done:
                sim.tracking_element = last_element
