"""Packed execution: many variants of one line tracked together, one kernel launch per fused group.

A *pack* is a list of Simulations that share the lattice structure (element classes, order and
slice counts), the particle count, the number of periods and the diagnostics settings, and
differ only in element parameters, the reference particle and the beam's particles. Their
particles are copied into one block with a batch axis: variant ``v`` holds the columns
``[v * npart, (v + 1) * npart)``, and each ``Simulation.beam`` is re-pointed at its own slice of
the block (views: the variant's diagnostics, monitors and lost-particle output read its particles
where the kernel writes them). Every kernel launch pushes all variants, each with its own op
table (``CpuKernel.track_batch``); chunks never straddle two variants, so each particle gets the
result an unpacked ``Simulation.track_particles`` gives it, bit for bit.

A variant's files (reduced diagnostics, BeamMonitor series) are recorded by a ``PackOutput``
(``packed_output``: numbers, not formatted lines or openPMD iterations) and written as the
unpacked run writes them when first read (``packed_output.materialize``); variants with spin or
eigen-emittances, whose rows have more columns, write theirs as they go.

What cannot be packed (``pack_signature`` is None): space charge, hooks, Programmable elements.
A variant that stops (``request_stop``) or whose output fails leaves the pack at that step: its
ops become no-ops (``nslice = 0``) and its error is kept in ``PackedRun.errors``; the others go on.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .diagnostics import row_period
from .elements.base import Element
from .elements.python_pushed import BeamMonitor, Programmable
from .kernels.ops import OP_DTYPE
from .kernels.runtime import default_threads, empty_ops
from .packed_diagnostics import pack_table
from .packed_output import REF_STATE, PackOutput
from .particles import ParticleContainer
from .refpart import RefPart
from .simulation import Simulation
from .tracking import Group, Tracker, TrackingCancelled, tracker_signature


class PackError(ValueError):
    """Simulations that cannot be tracked as one pack (the message says which and why)."""


def pack_signature(sim: Simulation) -> tuple[Any, ...] | None:
    """What the variants of a pack must share; None when ``sim`` cannot be packed at all."""
    if sim.collective_enabled or sim.particle_bc != "open" or any(v is not None for v in sim.hook.values()):
        return None
    line = []
    for el in sim.lattice:
        if isinstance(el, Programmable):
            return None
        line.append(
            (
                type(el).__name__,
                el.kernel.name if el.kernel is not None else None,
                el.nslice,
                isinstance(el, BeamMonitor),
            )
        )
    return (
        tuple(line),
        sim.beam.size,
        sim.periods,
        sim.tracking_step,
        sim.kind,
        sim.nthreads,
        sim.diagnostics,
        sim.slice_step_diagnostics,
        sim.compose_linear,
        tuple(sorted(sim.kernel_config().items())),
    )


def _noop_ops(n: int) -> np.ndarray:
    ops = empty_ops(n)
    ops["nslice"] = 0  # no slice map runs: the particles are left exactly as they are
    return ops


class PackedRun:
    """Tracks ``sims`` (one pack) together; see the module docstring."""

    def __init__(self, sims: Sequence[Simulation]):
        if not sims:
            raise PackError("a pack needs at least one simulation")
        self.sims = list(sims)
        sig = pack_signature(self.sims[0])
        if sig is None:
            raise PackError("variant 0 cannot be packed (space charge, hooks or Programmable elements)")
        for v, sim in enumerate(self.sims[1:], 1):
            if pack_signature(sim) != sig:
                raise PackError(
                    f"variant {v} does not share variant 0's lattice structure, particle count, "
                    "periods, kernel kind or diagnostics settings"
                )
        self.trackers = [Tracker(sim) for sim in self.sims]
        self.kernel = self.trackers[0].kernel
        if any(t.kernel is not self.kernel for t in self.trackers):
            raise PackError("the variants' lines need different kernels")
        self.npart = self.sims[0].beam.size
        self.errors: dict[int, BaseException] = {}
        self._active: tuple[int, list[int]] = (-1, [])
        #: (variant, element index) -> (key, ops, aux) of the last slice built (``_slice_ops``)
        self._ops_cache: dict[tuple[int, int], tuple[tuple[Any, ...], np.ndarray, np.ndarray]] = {}
        #: element index -> (variants, their ops, their aux, the assembled ops, aux, s_exit rows) (``_launch``)
        self._launch_cache: dict[int, tuple[list[int], list[Any], list[Any], np.ndarray, np.ndarray, Any]] = {}
        self.beam = self._pack_beams()
        #: the variants whose files a PackOutput records (the others write theirs as they go)
        self.recorded = [v for v, sim in enumerate(self.sims) if _recordable(sim)]
        #: ``on_rows(variants, steps, periods, s, names, table)``: every reduced-diagnostics row of
        #: the variants whose rows the pack computes in one table (not those with spin or
        #: eigen-emittances), one call a step (row i: variant ``variants[i]``, the ``step``,
        #: ``period`` and ``s`` [m] of its row, ``table[i]`` its values of ``names``): what a
        #: diagnostics listener of each gets, without building a dict a row
        self.on_rows: Callable[[list[int], list[int], list[int], list[float], list[str], np.ndarray], Any] | None = None
        self._recorded_set = set(self.recorded)
        self.output = PackOutput(self.sims, self.recorded, self._drop) if self.recorded else None
        #: the threads each variant's diagnostics sums split across (``reduced._c_sums``'s default)
        self._threads = self.sims[0].nthreads
        self._plain = False
        self._beams = [sim.beam for sim in self.sims]
        self._refs = [sim.reference for sim in self.sims]

    def _pack_beams(self) -> ParticleContainer:
        first = self.sims[0].beam
        xp, n, nvar = first.xp, self.npart, len(self.sims)
        pc = ParticleContainer(xp=xp, qm=first.qm)
        pc.real = xp.empty((first.real.shape[0], nvar * n), dtype=xp.float64)
        pc.id = xp.empty(nvar * n, dtype=first.id.dtype)
        pc.state = xp.empty(nvar * n, dtype=first.state.dtype)
        pc.s_lost = xp.empty(nvar * n, dtype=first.s_lost.dtype)
        for v, sim in enumerate(self.sims):
            b, cols = sim.beam, slice(v * n, (v + 1) * n)
            pc.real[:, cols] = b.real
            pc.id[cols], pc.state[cols], pc.s_lost[cols] = b.id, b.state, b.s_lost
            b.real, b.id, b.state, b.s_lost = pc.real[:, cols], pc.id[cols], pc.state[cols], pc.s_lost[cols]
        return pc

    @property
    def active(self) -> list[int]:
        """Indices of the variants still tracked (kept while no variant leaves: asked every slice;
        the same list until one leaves, so do not change it)."""
        if self._active[0] != len(self.errors):
            self._active = (len(self.errors), [v for v in range(len(self.sims)) if v not in self.errors])
        return self._active[1]

    def _drop(self, v: int, exc: BaseException) -> None:
        self.errors[v] = exc

    def _each(self, fn: Any) -> None:
        """``fn(v)`` for every active variant; an exception drops that variant from the pack."""
        self._each_of(self.active, fn)

    def _each_of(self, which: list[int], fn: Any) -> None:
        """``fn(v)`` for each variant of ``which`` still active; an exception drops that variant."""
        for v in which:
            if v in self.errors:
                continue
            try:
                fn(v)
            except Exception as exc:  # noqa: BLE001 - the variant fails alone, the pack goes on
                self._drop(v, exc)

    def _launch(self, tables: dict[int, tuple[np.ndarray, np.ndarray]], element: int | None = None) -> None:
        """One kernel launch: variant v's op table and aux from ``tables`` (no-ops for the others).

        ``element``: the slice launches of that element index reuse the assembled table of its last
        slice while every variant's ops and aux are the same arrays as then (``_slice_ops`` reuses
        them): only their ``s_exit`` changed, copied over in one step."""
        if not tables:
            return
        nvar = len(self.sims)
        order = sorted(tables)
        hit = self._launch_cache.get(element) if element is not None else None
        if (
            hit is not None
            and hit[0] == order
            and all(
                tables[v][0] is ops and tables[v][1] is aux for v, ops, aux in zip(order, hit[1], hit[2], strict=True)
            )
        ):
            ops_all, aux_all, where = hit[3], hit[4], hit[5]
            ops_all["s_exit"][where] = np.concatenate([tables[v][0]["s_exit"] for v in order])
        else:
            nops = max(len(ops) for ops, _ in tables.values())
            # copied as bytes: concatenating structured arrays field by field costs more than the launch
            ops_all = _noop_ops(nvar * nops)
            rows = ops_all.view(np.uint8).reshape(nvar, nops * OP_DTYPE.itemsize)
            auxes, aux_len, spans = [], 0, []
            for v in order:
                ops, aux = tables[v]
                rows[v, : len(ops) * OP_DTYPE.itemsize] = ops.view(np.uint8)
                if aux_len:
                    ops_all["aux_offset"][v * nops : v * nops + len(ops)] += aux_len
                auxes.append(aux)
                aux_len += aux.size
                spans.append(np.arange(v * nops, v * nops + len(ops)))
            aux_all = np.concatenate(auxes)
            if element is not None:
                where = np.concatenate(spans)
                self._launch_cache[element] = (
                    order,
                    [tables[v][0] for v in order],
                    [tables[v][1] for v in order],
                    ops_all,
                    aux_all,
                    where,
                )
        self.kernel.track_batch(self.beam, nvar, self.npart, self.npart, ops_all, aux_all)

    # --- the loop (Tracker.run, Tracker._push_fused and Tracker._push_element, in lockstep) -------
    def track_particles(self, periods: int | None = None) -> None:
        """Track every variant through ``periods`` passes (default each ``sim.periods``)."""
        lead = self.sims[0]
        periods = lead.periods if periods is None else periods
        self._threads = lead.nthreads or default_threads()  # asked once, not at every step
        # every variant's rows in the one table a step, diagnostics on (the settings, read once a call)
        self._plain = all(sim.diagnostics and tabled(sim) for sim in self.sims)
        self._beams = [sim.beam for sim in self.sims]
        self._refs = [sim.reference for sim in self.sims]

        def start(v: int) -> None:
            sim = self.sims[v]
            sim.reference.check_energy()
            sim._total_steps = sim.tracking_step + periods * sum(el.nslice for el in sim.lattice)
            sim._tracker = self.trackers[v]

        first = [v for v in self.active if self.sims[v].tracking_step == 0]
        self._each(start)
        self._diagnostics([v for v in first if v not in self.errors])
        for _ in range(periods):
            self._each(lambda v: self.sims[v].check_stop())
            for gi, g in enumerate(self.trackers[0].groups):
                if g.kernel and not g.slicewise:
                    self._push_fused(gi)
                else:
                    self._push_element(g.start)
            for v in self.active:
                self.sims[v].tracking_period += 1
        self._diagnostics(self.active, final=True)
        if any(tracker_signature(s) != t.signature for s, t in zip(self.sims, self.trackers, strict=True)):
            raise PackError("a variant's line or settings changed while the pack was tracked")

    def finalize(self) -> dict[int, BaseException]:
        """``Simulation.finalize`` of every variant, their recorded files written by a few threads
        at once (``PackOutput.close_all``); returns the variants whose finalize failed, with the
        error ({} when none). Calling each ``sim.finalize()`` instead does the same, one at a time."""
        errors = self.output.close_all(range(len(self.sims))) if self.output is not None else {}
        for v, sim in enumerate(self.sims):
            try:
                sim.finalize()
            except Exception as exc:  # noqa: BLE001 - the variant fails alone
                errors.setdefault(v, exc)
        return errors

    def _push_fused(self, gi: int) -> None:
        tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}

        def prepare(v: int) -> None:
            tracker, sim = self.trackers[v], self.sims[v]
            g: Group = tracker.groups[gi]
            els = list(sim.lattice[g.start : g.stop])
            ref = sim.reference
            key = (tuple(el.version for el in els), tuple(map(id, els)), ref.pt)
            if g.cache_key != key:
                ops, aux, s_rel = tracker._build_ops(els, g.start, ref, None)
                composed = tracker._compose(ops, aux) if all(el.linear for el in els) else None
                if composed is not None:
                    s_rel = s_rel[-1:]
                    ops = composed
                g.ops, g.aux, g.s_rel, g.cache_key = ops, aux, s_rel, key
                g.nsteps, g.ref_motion = sum(el.nslice for el in els), None
            assert g.ops is not None and g.s_rel is not None
            s_entry = ref.s
            tracker._push_ref_group(g, els, ref, key)
            g.ops["s_exit"] = g.s_rel + s_entry
            if len(els) == 1:
                sim.tracking_element = g.start
            tables[v] = (g.ops, g.aux)

        self._each(prepare)
        self._launch(tables)

        def finish(v: int) -> None:
            sim = self.sims[v]
            sim.tracking_step += self.trackers[v].groups[gi].nsteps
            sim.report_progress()

        self._each(finish)

    def _push_element(self, i: int) -> None:
        lead = self.sims[0]
        el0 = lead.lattice[i]

        def enter(v: int) -> None:
            sim = self.sims[v]
            sim.tracking_element = i
            sim.reference.sedge = sim.reference.s

        self._each(enter)
        straight = None
        for k in range(el0.nslice):
            if k and _straight_reusable(el0):
                # the first slice built (or checked) every variant's ops: the others reuse them
                straight = straight or self._straight_batch(i)
                if straight is not None and self._push_straight_slice(i, straight):
                    continue
                straight = None
            self._push_slice(i)

    def _push_slice(self, i: int) -> None:
        """One slice of element ``i`` for every variant (one launch when it is a kernel element)."""
        lead = self.sims[0]
        tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}

        monitors: list[int] = []
        recorded = set(self.recorded)

        def prepare(v: int) -> None:
            sim = self.sims[v]
            sim.check_stop()
            sim.tracking_step += 1
            el = sim.lattice[i]
            if isinstance(el, BeamMonitor):
                if v not in recorded:
                    sim.write_monitor(el)
                elif sim.tracking_period % el.period_sample_intervals == 0:  # as Simulation.write_monitor
                    monitors.append(v)
            elif el.kernel is not None:
                tables[v] = self._slice_ops(v, i, el)
            else:
                el.push_ref(sim.reference, 1)

        self._each(prepare)
        if monitors:
            self._record_monitor(i, monitors)
        self._launch(tables, element=i)
        if lead.slice_step_diagnostics:
            self._diagnostics(self.active)
        self._each(lambda v: self.sims[v].report_progress())

    def _straight_batch(self, i: int) -> _StraightBatch | None:
        """What ``_push_straight_slice`` needs to push the next slices of element ``i`` (an element
        pushed along a straight line whose ops ``_slice_ops`` reuses, ``_straight_reusable``) for
        every active variant at once, just after ``_push_slice`` pushed its first slice; None
        when a variant's ops or the assembled launch table are not the ones that slice used."""
        active = self.active
        hit = self._launch_cache.get(i)
        if not active or hit is None or hit[0] != active:
            return None
        sims = [self.sims[v] for v in active]
        els = [sim.lattice[i] for sim in sims]
        versions = [el.version for el in els]
        for v, el, ops in zip(active, els, hit[1], strict=True):
            cached = self._ops_cache.get((v, i))
            if cached is None or cached[1] is not ops or cached[0][:2] != (id(el), el.version) or len(ops) != 1:
                return None
            if not _straight_reusable(el):
                return None
        # Element.push_ref's slice length: ds / nslice * nslices with nslices = 1
        ds = np.array([el.ds / el.nslice * 1 for el in els])
        refs = [sim.reference for sim in sims]
        table = np.array([_ref_state(ref) for ref in refs], dtype=np.float64)
        return _StraightBatch(active, sims, refs, versions, ds, ds != 0.0, table)

    def _push_straight_slice(self, i: int, b: _StraightBatch) -> bool:
        """One more slice of element ``i`` for the variants of ``b``, their reference particles
        pushed together in arrays (``push_ref_straight``'s operations, elementwise in NumPy: the
        same roundings, so the same numbers as each variant's own push) and the launch table of
        the first slice reused with the new ``s_exit``. The arrays are ``b.table``, the references
        as the last slice left them (between two slices of the element nothing else moves them:
        the pack's listeners get rows, not references), written back to each ``RefPart`` every
        slice. False, having done nothing, when this slice needs ``_push_slice`` (a variant was
        stopped or dropped, or an element changed)."""
        if self.active != b.active or any(sim._stop for sim in b.sims):
            return False
        if [sim.lattice[i].version for sim in b.sims] != b.versions:
            return False
        lead = self.sims[0]
        for sim in b.sims:
            sim.tracking_step += 1
        state = b.table  # s, x, y, z, t, px, py, pz, pt, ...: the references as the last slice left them
        s0 = state[:, 0].copy()
        m = b.moving
        s, x, y, z, t, px, py, pz, pt = (state[m, j] for j in range(9))
        step = b.ds[m] / np.sqrt(pt * pt - 1.0)  # RefPart.beta_gamma
        state[m, 1] = x + step * px
        state[m, 2] = y + step * py
        state[m, 3] = z + step * pz
        state[m, 4] = t - step * pt
        state[m, 0] = s + b.ds[m]
        for ref, (s_, x_, y_, z_, t_) in zip(b.refs, state[:, :5].tolist(), strict=True):
            ref.s, ref.x, ref.y, ref.z, ref.t = s_, x_, y_, z_, t_
        _order, _ops, _aux, ops_all, aux_all, where = self._launch_cache[i]
        # as _slice_ops: the slice's length is s after minus s before
        ops_all["s_exit"][where] = (state[:, 0] - s0) + s0
        self.kernel.track_batch(self.beam, len(self.sims), self.npart, self.npart, ops_all, aux_all)
        if lead.slice_step_diagnostics:
            self._diagnostics(self.active, refs=state)
        listening = [v for v, sim in zip(b.active, b.sims, strict=True) if sim.progress_listeners]
        if listening:
            self._each_of(listening, lambda v: self.sims[v].report_progress())
        return True

    def _slice_ops(self, v: int, i: int, el: Element) -> tuple[np.ndarray, np.ndarray]:
        """Variant ``v``'s op table for one slice of element ``i`` (``el``), its reference pushed
        through the slice. Built by ``Tracker._build_ops``, or reused from the last slice when
        nothing it depends on changed: elements filled by ``Element.fill_ops`` (one op from the
        element's parameters and the reference's energy and direction, not its position) keep
        their ops while the element's version and the reference's pt, px, py, pz, mass, charge
        and gyromagnetic anomaly stay the same (they change in RF and bending elements only)."""
        ref = self.sims[v].reference
        s_entry = ref.s
        reusable = type(el).fill_ops is Element.fill_ops and type(el).op_count is Element.op_count
        key = (
            id(el),
            el.version,
            ref.pt,
            ref.px,
            ref.py,
            ref.pz,
            ref.mass,
            ref.charge,
            ref.gyromagnetic_anomaly,
        )
        cached = self._ops_cache.get((v, i)) if reusable else None
        if cached is not None and cached[0] == key:
            ops, aux = cached[1], cached[2]
            el.push_ref(ref, 1)
            # as Tracker._build_ops computes it: the slice's length is s after minus s before
            ops["s_exit"] = (ref.s - s_entry) + s_entry
            return ops, aux
        ops, aux, s_rel = self.trackers[v]._build_ops([el], i, ref, 1)
        el.push_ref(ref, 1)
        ops["s_exit"] = s_rel + s_entry
        if reusable:
            self._ops_cache[(v, i)] = (key, ops, aux)
        return ops, aux

    def _record_monitor(self, i: int, which: list[int]) -> None:
        """BeamMonitor ``i`` of the recorded variants ``which``, to their PackOutput: the reduced
        characteristics of all of them in one pass, as ``BeamMonitorWriter`` takes them (serial sums)."""
        assert self.output is not None
        which = [v for v in which if v not in self.errors]
        try:
            names, table = self._table(which, kind="serial", nthreads=None)
        except Exception as exc:  # noqa: BLE001 - the variants' monitors fail, the pack goes on
            for v in which:
                self._drop(v, exc)
            return
        self.output.record_monitor(i, which, names, table)

    def _table(
        self, which: list[int], *, kind: str, nthreads: int | None, refs: np.ndarray | None = None
    ) -> tuple[list[str], np.ndarray]:
        return pack_table(
            self.beam,
            len(self.sims),
            self.npart,
            self._beams,
            self._refs,
            which,
            kind=kind,
            nthreads=nthreads,
            ref_table=refs,
        )

    def _diagnostics(self, which: list[int], final: bool = False, refs: np.ndarray | None = None) -> None:
        """The reduced-diagnostics row of each variant in ``which`` at this step, all computed in one
        pass (``packed_diagnostics.pack_table``): to the PackOutput of the recorded variants, to the
        files of the others as ``Simulation.write_reduced_diagnostics`` writes them, to ``on_rows``
        and to each variant's listeners. ``refs``: the references of ``which`` as a (len(which),
        len(REF_STATE)) table, when the caller has them so (else read from each ``RefPart``)."""
        sink = self.on_rows
        if not self._plain:  # some variant has no diagnostics or rows of other columns (rare)
            which = [
                v for v in which if sink is not None or self.sims[v].diagnostics or self.sims[v].diagnostics_listeners
            ]
            refs = None
        # rows with more columns than the batch computes (eigen-emittances, spin): each on its own
        alone = [] if self._plain else [v for v in which if not tabled(self.sims[v])]
        if alone:
            self._each_of(alone, lambda v: self.sims[v].write_reduced_diagnostics(final))
            which = [v for v in which if v not in alone]
        if not which:
            return
        lead = self.sims[0]
        try:
            names, table = self._table(which, kind=lead.kind, nthreads=self._threads, refs=refs)
        except Exception as exc:  # noqa: BLE001 - the variants' rows fail, the pack goes on
            for v in which:
                self._drop(v, exc)
            return
        if self.output is not None:
            recorded = self._recorded_set
            rec = [j for j, v in enumerate(which) if v in recorded]
            if len(rec) == len(which):
                self.output.record_rows(which, names, table, final, refs=refs)
            else:
                part = None if refs is None else refs[rec]
                self.output.record_rows([which[j] for j in rec], names, table[rec], final, refs=part)
        if final and lead.slice_step_diagnostics:
            return  # as Simulation.write_reduced_diagnostics: the last slice's row went out already
        if sink is not None:
            live = [v for v in which if v not in self.errors]
            if refs is not None and len(live) == len(which):
                s_ref = refs[:, 0].tolist()
            else:
                s_ref = [self.sims[v].reference.s for v in live]
            try:
                sink(
                    live,
                    [self.sims[v].tracking_step for v in live],
                    [row_period(self.sims[v].tracking_period, final) for v in live],
                    s_ref,
                    names,
                    table if len(live) == len(which) else table[[j for j, v in enumerate(which) if v in live]],
                )
            except Exception as exc:  # noqa: BLE001 - the variants' rows fail, the pack goes on
                for v in live:
                    self._drop(v, exc)
        listening = [j for j, v in enumerate(which) if self.sims[v].diagnostics_listeners]
        values = table[listening].tolist()
        for j, vals in zip(listening, values, strict=True):
            v = which[j]
            if v in self.errors:
                continue
            sim = self.sims[v]
            row = {"step": sim.tracking_step, "period": row_period(sim.tracking_period, final), "s": sim.reference.s}
            row.update(zip(names, vals, strict=True))
            try:
                for fn in sim.diagnostics_listeners:
                    fn(row)
            except Exception as exc:  # noqa: BLE001 - the variant fails alone, the pack goes on
                self._drop(v, exc)


@dataclass
class _StraightBatch:
    """The active variants of a pack in one straight element (``PackedRun._straight_batch``)."""

    active: list[int]
    sims: list[Simulation]
    refs: list[RefPart]
    #: each variant's element version when the batch was made (a change hands back to _push_slice)
    versions: list[int]
    #: each variant's slice length [m], and whether it is not zero (push_ref_straight skips those)
    ds: np.ndarray
    moving: np.ndarray
    #: the references (REF_STATE columns, a row a variant), pushed by ``_push_straight_slice``
    table: np.ndarray


_ref_state = operator.attrgetter(*REF_STATE)


def _straight_reusable(el: Element) -> bool:
    """Whether ``el``'s slices push the reference along a straight line (``Element.push_ref``) and
    its ops are one record filled by ``Element.fill_ops`` (reused by ``PackedRun._slice_ops``)."""
    cls = type(el)
    return (
        el.kernel is not None
        and cls.push_ref is Element.push_ref
        and cls.fill_ops is Element.fill_ops
        and cls.op_count is Element.op_count
    )


def tabled(sim: Simulation) -> bool:
    """Whether a pack computes ``sim``'s reduced-diagnostics rows in its one table a step (and
    gives them to ``PackedRun.on_rows``): rows of the table's columns, no spin or eigen-emittances."""
    return not sim.eigenemittances and not sim.spin


def _recordable(sim: Simulation) -> bool:
    """Whether a PackOutput records ``sim``'s files: diagnostics on, rows of the batch's columns."""
    return bool(sim.diagnostics) and tabled(sim)


def track_packed(sims: Sequence[Simulation], periods: int | None = None) -> dict[int, BaseException]:
    """Track ``sims`` as one pack; returns the errors of the variants that stopped ({} when none).
    A variant stopped by ``request_stop`` has a ``TrackingCancelled`` there."""
    run = PackedRun(sims)
    run.track_particles(periods)
    return run.errors


__all__ = ["PackError", "PackedRun", "TrackingCancelled", "pack_signature", "tabled", "track_packed"]
