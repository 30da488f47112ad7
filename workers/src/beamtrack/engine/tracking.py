"""The tracking loop: periods -> elements -> slices, in ImpactX's order.

Per slice: global step += 1, ``before_slice`` hook, space-charge kick, reference particle push,
beam push, slice diagnostics; with ``sim.strang_split`` (ImpactX's default) a kernel element's slice with a
collective kick is pushed as half a slice, the kick, half a slice. Runs of consecutive kernel elements with nothing to observe between
them (no element/slice hooks, monitors, space charge or slice diagnostics) are pushed by one fused
kernel launch; runs of linear elements are further composed into one 6x6 matrix (exact up to
rounding) unless ``sim.compose_linear`` is False.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from .elements.base import Element
from .elements.python_pushed import BeamMonitor, Programmable
from .kernels.ops import NPARAM
from .kernels.runtime import empty_ops
from .refpart import RefPart

if TYPE_CHECKING:
    from .tracked_run import TrackedRun

_version = attrgetter("version")

#: op.p slot that carries the reference's gyromagnetic anomaly into spin kernels (BT_P_GYRO in bt_spin.h)
GYRO_PARAM = NPARAM - 1

HOOK_NAMES = ("before_period", "after_period", "before_element", "after_element", "before_slice")


class HookError(RuntimeError):
    """A user hook raised; the message names the hook and carries its traceback."""


class TrackingCancelled(RuntimeError):
    """``sim.request_stop()`` was called; tracking stopped at a step boundary."""


@dataclass
class Group:
    """Consecutive lattice positions pushed together."""

    start: int
    stop: int
    kernel: bool
    slicewise: bool = False
    cache_key: Any = None
    ops: np.ndarray | None = None
    aux: np.ndarray = field(default_factory=lambda: np.zeros(1))
    s_rel: np.ndarray | None = None
    nsteps: int = 0
    #: reference-particle motion over the group, valid for one entry direction and energy:
    #: (entry (px, py, pz, pt), exit (px, py, pz), (dx, dy, dz, dt, ds, dsedge))
    ref_motion: tuple[Any, ...] | None = None


def plan_groups(sim: TrackedRun) -> list[Group]:
    slice_level = (
        bool(sim.hook.get("before_slice"))
        or sim.collective_enabled
        or sim.slice_step_diagnostics
        or sim.particle_bc != "open"
    )
    element_level = slice_level or bool(sim.hook.get("before_element")) or bool(sim.hook.get("after_element"))
    groups: list[Group] = []
    i, els = 0, sim.lattice
    while i < len(els):
        if els[i].kernel is not None and not element_level:
            j = i
            while j < len(els) and els[j].kernel is not None:
                j += 1
            groups.append(Group(i, j, True))
            i = j
        else:
            groups.append(Group(i, i + 1, els[i].kernel is not None, slicewise=slice_level))
            i += 1
    return groups


def tracker_signature(sim: TrackedRun) -> tuple[Any, ...]:
    """What the plan and the kernel of a Tracker depend on. Parameter changes are not part of it: the
    groups rebuild their ops on those, and the kernel hands over to a wider one when an op needs it."""
    return (
        tuple(map(id, sim.lattice)),
        tuple(sorted(k for k, v in sim.hook.items() if v is not None)),
        sim.collective_enabled,
        sim.slice_step_diagnostics,
        sim.particle_bc,
        sim.kind,
        sim.nthreads,
        sim.compose_linear,
    )


def check_spin_support(elements: Any) -> None:
    """Raise NotImplementedError naming the first element of a spin run whose spin push beamtrack lacks
    (ImpactX pushes spin through every element; an element pushed without it would leave spins wrong)."""
    for i, el in enumerate(elements):
        k = el.kernel
        if k is not None and k.spin_header is None:
            raise NotImplementedError(
                f"spin tracking through {type(el).__name__} (lattice position {i}) is not implemented in beamtrack"
            )
        if k is not None and len(el.params()) > GYRO_PARAM:
            raise RuntimeError(f"{type(el).__name__}: kernel parameter slot {GYRO_PARAM} is the spin kernels' G")


def call_hook(sim: TrackedRun, name: str) -> None:
    fn: Callable[[Any], Any] | None = sim.hook.get(name)
    if fn is None:
        return
    try:
        fn(sim)
    except Exception as exc:
        tb = "".join(traceback.format_exception(exc))
        raise HookError(f"hook {name!r} raised {type(exc).__name__}: {exc}\n{tb}") from exc


class Tracker:
    """Runs the loop for one TrackedRun (a Simulation or a bare run); keeps kernel ops cached across passes."""

    def __init__(self, sim: TrackedRun):
        self.sim = sim
        self.signature = tracker_signature(sim)
        self.groups = plan_groups(sim)
        self.config = sim.kernel_config()
        self.spin = bool(self.config.get("spin"))
        if self.spin:
            check_spin_support(sim.lattice)
        self.kernel = sim.kernel()
        self._halves: dict[tuple[int, int], Element] = {}

    # --- ops -------------------------------------------------------------------------------------
    def _build_ops(
        self, els: list[Element], idx0: int, ref: RefPart, nslices: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Push a copy of ``ref`` through ``els`` and fill their ops; nslices=None means whole elements."""
        r = ref.copy()
        s0 = r.s
        counts = [el.op_count(nslices or el.nslice) for el in els]
        ops = empty_ops(sum(counts))
        aux_parts: list[np.ndarray] = []
        aux_len = 0
        k = 0
        for n, (el, cnt) in enumerate(zip(els, counts, strict=True)):
            if nslices is None:
                r.sedge = r.s  # a whole element: its entry is here (a single slice keeps the caller's sedge)
            r_in = r.copy()
            ns = nslices or el.nslice
            el.push_ref(r, ns)
            view = ops[k : k + cnt]
            assert el.kernel is not None
            view["kind"] = self.kernel.index[el.kernel.name]
            view["index"] = idx0 + n
            view["s_exit"] = r.s - s0
            data = el.aux_data()
            if data is not None:
                view["aux_offset"], view["aux_len"] = aux_len, data.size
                aux_parts.append(np.asarray(data, dtype=np.float64).ravel())
                aux_len += data.size
            el.fill_ops(view, r_in, r, ns)
            if self.spin:
                view["p"][:, GYRO_PARAM] = r_in.gyromagnetic_anomaly
            k += cnt
        aux = np.concatenate(aux_parts) if aux_parts else np.zeros(1)
        self.kernel.setup(ops, aux)
        s_rel = ops["s_exit"].copy()
        return ops, aux, s_rel

    def _compose(self, ops: np.ndarray, aux: np.ndarray) -> np.ndarray | None:
        """One LinearMap op equal to the product of ``ops`` (the caller checks that every element is
        linear and homogeneous); None when composing is off or an op has misalignment/aperture flags."""
        if not self.sim.compose_linear or len(ops) < 2 or (ops["flags"] != 0).any():
            return None
        from .particles import ParticleContainer

        probe = ParticleContainer()
        row_of = [0, 3, 1, 4, 2, 5]  # map order (x, px, y, py, t, pt) -> container rows (x, y, t, px, py, pt)
        coords = np.zeros((6, 6))
        for j in range(6):
            coords[row_of[j], j] = 1.0
        x, y, t, px, py, pt = coords
        probe.add_n_particles(x, y, t, px, py, pt, qm=1.0, bunch_charge=0.0)
        self.kernel_cpu().track(probe, ops, aux)
        out = probe.real[:6]
        R = out[row_of, :]  # R[i, j] = map-coordinate i of unit vector j
        op = empty_ops(1)
        op["kind"] = self.kernel.index["LinearMap"]
        op["index"] = ops["index"][-1]
        op["c"][0, :36] = R.ravel()
        return op

    def kernel_cpu(self) -> Any:
        if self.kernel.kind != "cuda":
            return self.kernel
        return self.sim.kernel(kind="serial")

    # --- the loop --------------------------------------------------------------------------------
    def run(self, periods: int) -> None:
        sim = self.sim
        if self.spin:
            sim.beam.enable_spin()
        for _ in range(periods):
            sim.check_stop()
            call_hook(sim, "before_period")
            for g in self.groups:
                if g.kernel and not g.slicewise:
                    self._push_fused(g)
                else:
                    self._push_element(g.start, g)
            call_hook(sim, "after_period")
            sim.tracking_period += 1

    def _push_fused(self, g: Group) -> None:
        sim = self.sim
        els = list(sim.lattice[g.start : g.stop])
        ref = sim.reference
        element_level = len(els) == 1
        if element_level:
            sim.tracking_element = g.start
            call_hook(sim, "before_element")
        key = (tuple(map(_version, els)), tuple(map(id, els)), ref.pt)
        if g.cache_key != key:
            ops, aux, s_rel = self._build_ops(els, g.start, ref, None)
            # spin rotations depend on the orbit nonlinearly: a spin run never composes
            composed = self._compose(ops, aux) if all(el.linear for el in els) and not self.spin else None
            if composed is not None:
                s_rel = s_rel[-1:]
                ops = composed
            g.ops, g.aux, g.s_rel, g.cache_key = ops, aux, s_rel, key
            g.nsteps, g.ref_motion = sum(el.nslice for el in els), None
        assert g.ops is not None and g.s_rel is not None
        s_entry = ref.s
        self._push_ref_group(g, els, ref, key)
        g.ops["s_exit"] = g.s_rel + s_entry
        self.kernel.track(sim.beam, g.ops, g.aux)
        sim.tracking_step += g.nsteps
        if element_level:
            call_hook(sim, "after_element")
        sim.report_progress()

    @staticmethod
    def _push_ref_group(g: Group, els: list[Element], ref: RefPart, key: Any) -> None:
        """Advance the reference through the group's elements.

        Straight and bent elements move the reference rigidly: the change of its position, time
        and s depends only on its entry direction and energy. When those repeat (every turn of a
        ring, every pass of a straight line) the recorded change is applied in one step instead
        of one Python call per element; elements that change the energy or keep state opt out.
        """
        entry = (ref.px, ref.py, ref.pz, ref.pt)
        motion = g.ref_motion
        if motion is not None and motion[0] == entry:
            dx, dy, dz, dt, ds, dsedge = motion[2]
            ref.x += dx
            ref.y += dy
            ref.z += dz
            ref.t += dt
            ref.sedge = ref.s + dsedge
            ref.s += ds
            ref.px, ref.py, ref.pz = motion[1]
            return
        before = (ref.x, ref.y, ref.z, ref.t, ref.s)
        for el in els:
            ref.sedge = ref.s
            el.push_ref(ref, el.nslice)
        if all(el.geometric_ref for el in els):
            delta = (
                ref.x - before[0],
                ref.y - before[1],
                ref.z - before[2],
                ref.t - before[3],
                ref.s - before[4],
                ref.sedge - before[4],
            )
            g.ref_motion = (entry, (ref.px, ref.py, ref.pz), delta)

    def _push_element(self, i: int, g: Group) -> None:
        sim = self.sim
        el = sim.lattice[i]
        sim.tracking_element = i
        sim.reference.sedge = sim.reference.s  # s at the element entry (ImpactX's RefPart::sedge)
        call_hook(sim, "before_element")
        for _ in range(el.nslice):
            sim.check_stop()
            sim.tracking_step += 1
            call_hook(sim, "before_slice")
            kicks = sim.has_collective_kick(el)
            if kicks and sim.strang_split and el.kernel is not None:
                # ImpactX's Strang split (its default): half a slice, the collective kicks of the whole slice,
                # the other half (checked against ImpactX 26.10 to round-off)
                self._push_kernel_slice(i, self._half_slice(el))
                sim.collective_kicks(el, el.ds / el.nslice)
                self._push_kernel_slice(i, self._half_slice(el))
                sim.apply_particle_boundary()
                if sim.slice_step_diagnostics:
                    sim.write_reduced_diagnostics()
                sim.report_progress()
                continue
            if kicks:
                sim.collective_kicks(el, el.ds / el.nslice)
            if isinstance(el, BeamMonitor):
                sim.write_monitor(el)
            elif isinstance(el, Programmable):
                self._push_programmable(el)
            elif el.kernel is not None:
                self._push_kernel_slice(i, el)
            else:
                el.push_ref(sim.reference, 1)
            sim.apply_particle_boundary()
            if sim.slice_step_diagnostics:
                sim.write_reduced_diagnostics()
            sim.report_progress()
        call_hook(sim, "after_element")

    def _push_kernel_slice(self, i: int, el: Element) -> None:
        """Push the reference and the beam through one slice of ``el`` (lattice position i)."""
        sim = self.sim
        ops, aux, s_rel = self._build_ops([el], i, sim.reference, 1)
        s_entry = sim.reference.s
        el.push_ref(sim.reference, 1)
        ops["s_exit"] = s_rel + s_entry
        self.kernel.track(sim.beam, ops, aux)

    def _half_slice(self, el: Element) -> Element:
        """``el`` cut into twice its slices (one slice of it is half a slice of ``el``), cached per parameter version."""
        key = (id(el), el.version)
        cached = self._halves.get(key)
        if cached is None:
            cached = type(el).from_model(el.model.model_copy(update={"nslice": 2 * el.nslice}))
            self._halves = {key: cached, **{k: v for k, v in self._halves.items() if k[0] != id(el)}}
        return cached

    def _push_programmable(self, el: Programmable) -> None:
        sim = self.sim
        if not el.has_code:
            raise HookError(
                f"Programmable element {el.name!r} (lattice position {sim.tracking_element}) has "
                "no code: set its push or beam_particles (and ref_particle), or in a service job "
                "define them in the hook module's `programmable` dict"
            )
        if el.push is not None:
            el.push(sim, sim.tracking_step, sim.tracking_period)
            return
        el.push_ref(sim.reference, 1)
        if el.beam_particles is not None:
            el.beam_particles(sim.beam.arrays(), sim.reference)
