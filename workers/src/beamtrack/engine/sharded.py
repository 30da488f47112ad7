"""One beam split across workers: each holds a contiguous share, all track in lockstep.

The engine side of a job with ``workers: K`` (the transport is the caller's: threads here in tests,
Ray actors in ``beamtrack.workers.sharded``).

- ``ShardSimulation``: a Simulation that draws the whole beam exactly as one worker would (same
  distribution, seed and particle ids) and keeps the particles ``share(npart, K, i)``. Where the
  single run reduces over the beam it calls ``comm.exchange(tag, payload)`` instead and gets back
  the combined value:

  * reduced diagnostics: ``"moments"`` (alive count, sum w, sum w q, min, max of q in x, y, t, px,
    py, pt) -> the global means; ``"cov"`` (sum w (q - mean)(q - mean)^T) -> None. The covariance
    is central about the global means, as the single run's second pass, so the row equals the
    single run's to round-off (only the order of the additions differs).
  * 3D space charge: ``"census"`` (alive, sum w) -> totals; ``"extent"`` (alive, min/max of x, y, z
    at fixed t) -> the beam's extent, from which every share spans the same grid; ``"rho"`` (this
    share's deposited charge) -> the field E, solved once from the summed charge; each share then
    gathers E at its own particles and kicks them.
  * BeamMonitor and lost particles: ``"monitor"`` / ``"lost"`` (this share's particles) -> None;
    they are written by the reducer as one openPMD series, the shares concatenated in order (the
    same file a single worker writes).
  * ``"done"`` / ``"error"`` end a share's run.

- ``ShardReducer``: what combines one round of the K shares' payloads into the reply, writes the
  reduced-diagnostics and reference files and the monitor output, and hands each diagnostics row
  to its listeners. ``run_threads`` runs the K shares in threads of this process (tests, CLI).

A reply ``STOP`` makes every share raise ``TrackingCancelled`` at its next exchange.
Not supported with K > 1 (refused when the shares are made): hooks, Programmable elements, spin,
ISR / CSR, eigen-emittances, nonlinear-lens invariants, space-charge modes other than 3D.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import constants
from .elements.python_pushed import BeamMonitor, Programmable
from .particles import ParticleContainer
from .simulation import Simulation
from .tracking import TrackingCancelled

#: the reply that stops every share (a cancel, a limit, or another share's error)
STOP = "__stop__"


class Comm(Protocol):
    def exchange(self, tag: str, payload: Any) -> Any:
        """Send this share's part of one reduction; returns the combined reply."""


def share(npart: int, k: int, i: int) -> tuple[int, int]:
    """Particles [lo, hi) of share ``i`` of ``k``: contiguous, sizes differing by at most one."""
    if not 0 <= i < k:
        raise ValueError(f"share {i} of {k}")
    base, extra = divmod(int(npart), k)
    lo = i * base + min(i, extra)
    return lo, lo + base + (1 if i < extra else 0)


def unsupported(sim: Simulation) -> str:
    """Why ``sim`` cannot be split across workers ('' when it can)."""
    if any(v is not None for v in sim.hook.values()):
        return "hooks (they see one worker's particles only)"
    if any(isinstance(el, Programmable) for el in sim.lattice):
        return "Programmable elements (their code sees one worker's particles only)"
    if sim.spin:
        return "spin tracking"
    if sim.isr or sim.csr:
        return "ISR / CSR"
    if sim.eigenemittances:
        return "eigen-emittances"
    if any(getattr(el.model, "nonlinear_lens_invariants", False) for el in sim.lattice):
        return "BeamMonitor nonlinear_lens_invariants"
    if sim.space_charge_enabled:
        from .spacecharge.solver import _mode

        if _mode(sim.space_charge) != "3D":
            return f"space charge mode {_mode(sim.space_charge)} (3D only)"
    return ""


# --- partial moments -------------------------------------------------------------------------------
def partial_moments(pc: ParticleContainer) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    """(alive count, sum w, sum w q (6,), min q (6,), max q (6,)) of the alive particles of ``pc``;
    +inf / -inf extrema when none is alive. Rows x, y, t, px, py, pt."""
    n = pc.size
    alive = pc.state[:n] == 0
    count = int(alive.sum())
    if count == 0:
        return 0, 0.0, np.zeros(6), np.full(6, np.inf), np.full(6, -np.inf)
    block = pc.real[:, :n] if count == n else pc.real[:, alive]
    coords, w = block[:6], block[6]
    host = np.asarray(
        pc.host(pc.xp.concatenate([w.sum().reshape(1), coords @ w, coords.min(axis=1), coords.max(axis=1)])),
        dtype=np.float64,
    )
    return count, float(host[0]), host[1:7], host[7:13], host[13:19]


def partial_cov(pc: ParticleContainer, means: np.ndarray) -> np.ndarray:
    """sum w (q - means)(q - means)^T over the alive particles of ``pc`` (6, 6)."""
    n = pc.size
    alive = pc.state[:n] == 0
    if not bool(alive.any()):
        return np.zeros((6, 6))
    block = pc.real[:, :n] if bool(alive.all()) else pc.real[:, alive]
    coords, w = block[:6], block[6]
    d = coords - pc.xp.asarray(means)[:, None]
    return np.asarray(pc.host((d * w) @ d.T), dtype=np.float64)


def merge_moments(
    parts: Sequence[tuple[int, float, np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    """(alive count, sum w, means, min, max) of the whole beam from its shares' ``partial_moments``
    (NaN means and extrema for an empty beam, as the single-worker diagnostics)."""
    count = sum(p[0] for p in parts)
    w_sum = float(sum(p[1] for p in parts))
    if count == 0:
        nan6 = np.full(6, np.nan)
        return 0, 0.0, nan6, nan6.copy(), nan6.copy()
    total = np.sum([p[2] for p in parts], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = total / w_sum
    return count, w_sum, means, np.min([p[3] for p in parts], axis=0), np.max([p[4] for p in parts], axis=0)


# --- one share ---------------------------------------------------------------------------------------
class ShardSimulation(Simulation):
    """Share ``index`` of ``count`` of a Simulation; reductions go through ``comm`` (see the module doc)."""

    comm: Comm
    shard: tuple[int, int] = (0, 1)

    @classmethod
    def for_share(cls, spec: Any, index: int, count: int, comm: Comm, kind: str | None = None) -> ShardSimulation:
        """Share ``index`` of ``count`` of the job ``spec``, drawn as the single run draws its beam."""
        sim = cls.from_spec(spec, output_dir=None, kind=kind)
        why = unsupported(sim)
        if why:
            raise NotImplementedError(f"workers > 1 does not support {why}")
        assert isinstance(sim, ShardSimulation)
        sim.diagnostics = False  # the reducer writes the job's files
        sim.keep_share(index, count)
        sim.comm = comm
        return sim

    def keep_share(self, index: int, count: int) -> None:
        b = self.beam
        lo, hi = share(b.size, count, index)
        b.real = b.xp.ascontiguousarray(b.real[:, lo:hi])
        b.id, b.state, b.s_lost = b.id[lo:hi].copy(), b.state[lo:hi].copy(), b.s_lost[lo:hi].copy()
        self.shard = (index, count)

    def exchange(self, tag: str, payload: Any) -> Any:
        reply = self.comm.exchange(tag, payload)
        if isinstance(reply, str) and reply == STOP:
            raise TrackingCancelled(f"stopped at step {self.tracking_step}")
        return reply

    # --- reductions in place of the single run's --------------------------------------------------
    def write_reduced_diagnostics(self, final: bool = False) -> None:
        from .diagnostics import row_period

        means = self.exchange("moments", partial_moments(self.beam))
        where = (self.tracking_step, row_period(self.tracking_period, final), final, self.slice_step_diagnostics)
        self.exchange("cov", (partial_cov(self.beam, means), where, self.reference.copy()))

    def _space_charge_kick(self, slice_ds: float) -> None:
        if self._sc_solver is None:
            from .spacecharge import SpaceChargeSolver

            self._sc_solver = SpaceChargeSolver.from_simulation(self)
        sc_kick_3d(self._sc_solver, self.beam, self.reference, slice_ds, self.exchange)

    def write_monitor(self, el: BeamMonitor) -> None:
        if self.tracking_period % el.period_sample_intervals != 0:
            return
        self.exchange(
            "monitor",
            (
                el.name,
                el.backend,
                el.encoding,
                self.tracking_step,
                self.reference.copy(),
                _host_particles(self.beam, None),
            ),
        )

    def finalize(self) -> None:
        if self.tracking_step > 0 and not getattr(self, "_finalized", False):
            self._finalized = True
            lost = self.beam.state != 0
            self.exchange("lost", (self.reference.copy(), _host_particles(self.beam, lost)))
        super().finalize()


def _host_particles(pc: ParticleContainer, mask: Any) -> dict[str, np.ndarray]:
    sel = slice(None) if mask is None else mask
    return {
        "real": pc.host(pc.real[:, sel]),
        "id": pc.host(pc.id[sel]),
        "state": pc.host(pc.state[sel]),
        "s_lost": pc.host(pc.s_lost[sel]),
    }


def sc_kick_3d(solver: Any, beam: Any, ref: Any, ds: float, exchange: Callable[[str, Any], Any]) -> None:
    """The 3D PIC kick of ``SpaceChargeSolver`` (see its module) on one share of the beam: census and extent
    combined over the shares, this share's charge deposited and sent, the field of the summed charge gathered."""
    b, real, state, n = solver.backend, beam.real, beam.state, beam.size
    gamma, bg = ref.gamma, ref.beta_gamma
    beta = bg / gamma
    live, wsum = b.census(real, state, n) if n else (0, 0.0)
    live, wsum = exchange("census", (live, wsum))
    if live < 2 or not wsum > 0.0:
        return
    alive, mm = b.prepare(real, state, n, True, ref.pt) if n else (0, np.zeros(6))
    restore = n > 0
    try:
        alive, mm = exchange("extent", (alive, np.asarray(mm, dtype=np.float64)))
        if alive < 2:
            return
        lo, cell, shape = solver._grid(mm, 3)
        inv_d = 1.0 / cell
        q = ref.charge
        if n:
            rho = b.deposit(real, state, n, True, q / float(np.prod(cell)), solver.order, lo, inv_d, shape)
        else:
            rho = solver.xp.zeros(shape)
        gcell = (float(cell[0]), float(cell[1]), float(gamma * cell[2]))
        E = exchange("rho", (rho, gcell, solver._support(mm, lo, inv_d, shape), 0.5 / cell))
        push = ds / (beta * constants.c) * q / (gamma * gamma * bg * ref.mass * constants.c)
        if n:
            b.gather_push3d(real, state, n, solver.gather_order, lo, inv_d, E, push, True, bg, None)
        restore = False
        solver.nsteps += 1
    finally:
        if restore:
            b.to_fixed_s_all(real, state, n, bg)


# --- the reducer ------------------------------------------------------------------------------------
class ShardReducer:
    """Combines the shares' payloads of one exchange round into the reply (one per round, the same to all)."""

    def __init__(self, template: Simulation, output_dir: str | Path | None, diagnostics: bool = True):
        self.output_dir = Path(output_dir) if output_dir is not None else Path.cwd()
        self.diagnostics = diagnostics
        self.listeners: list[Callable[[dict[str, float]], Any]] = []
        self.qm = template.beam.qm
        self._solver: Any = None
        self._template = template
        self._writers: dict[str, Any] = {}
        self._merged: tuple[int, float, np.ndarray, np.ndarray, np.ndarray] | None = None
        #: seconds spent combining, per tag, and rounds
        self.timings: dict[str, float] = defaultdict(float)
        self.rounds = 0

    def _diag_dir(self) -> Path:
        d = self.output_dir / "diags"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def combine(self, tag: str, payloads: list[Any]) -> Any:
        t0 = time.perf_counter()
        try:
            return getattr(self, f"_{tag}")(payloads)
        finally:
            self.timings[tag] += time.perf_counter() - t0
            self.rounds += 1

    def _census(self, p: list[Any]) -> tuple[int, float]:
        return sum(int(a) for a, _ in p), float(sum(w for _, w in p))

    def _extent(self, p: list[Any]) -> tuple[int, np.ndarray]:
        alive = sum(int(a) for a, _ in p)
        got = [mm for a, mm in p if a > 0]
        if not got:
            return 0, np.zeros(6)
        lo = np.min([mm[:3] for mm in got], axis=0)
        hi = np.max([mm[3:] for mm in got], axis=0)
        return alive, np.concatenate([lo, hi])

    def _rho(self, p: list[Any]) -> Any:
        from .spacecharge import SpaceChargeSolver
        from .spacecharge.solver import GUARD_LO

        if self._solver is None:
            self._solver = SpaceChargeSolver.from_simulation(self._template)
        s = self._solver
        rho = p[0][0].copy()
        for other in p[1:]:
            rho += other[0]
        _, gcell, support, h = p[0]
        if s.poisson_solver == "multigrid":
            walls = [(GUARD_LO, GUARD_LO + int(v)) for v in s.n_cell[:3]]
            phi = s.dirichlet.solve(rho, gcell, walls)
        else:
            phi = s.poisson.solve(rho, gcell, support)
        return s.backend.grad(phi, h)

    def _moments(self, p: list[Any]) -> np.ndarray:
        self._merged = merge_moments(p)
        return self._merged[2]

    def _cov(self, p: list[Any]) -> None:
        from .diagnostics import write_diagnostics_row
        from .diagnostics.reduced import characteristics_from_moments

        assert self._merged is not None
        count, w_sum, means, mins, maxs = self._merged
        _, (step, period, final, slice_steps), ref = p[0]
        if count == 0:
            cov = np.full((6, 6), np.nan)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                cov = np.sum([c for c, _, _ in p], axis=0) / w_sum
        cols = characteristics_from_moments(w_sum, means, cov, mins, maxs, ref)
        row = {"step": step, "period": period, "s": ref.s}
        row.update((k, v) for k, v in cols.items() if k not in row)
        if self.diagnostics:
            write_diagnostics_row(self._writers, self._diag_dir(), step, row, ref, final=final)
        if final and slice_steps:
            return  # the last slice's row already went to the listeners (Simulation.write_reduced_diagnostics)
        for fn in self.listeners:
            fn(row)

    def _gathered(self, parts: list[dict[str, np.ndarray]]) -> ParticleContainer:
        pc = ParticleContainer(qm=self.qm)
        pc.real = np.ascontiguousarray(np.concatenate([d["real"] for d in parts], axis=1))
        pc.id = np.concatenate([d["id"] for d in parts])
        pc.state = np.concatenate([d["state"] for d in parts])
        pc.s_lost = np.concatenate([d["s_lost"] for d in parts])
        return pc

    def _monitor(self, p: list[Any]) -> None:
        from .diagnostics import BeamMonitorWriter

        if not self.diagnostics:
            return
        name, backend, encoding, step, ref, _ = p[0]
        w = BeamMonitorWriter.open(self._diag_dir() / "openPMD", name, backend, encoding)
        self._writers.setdefault(f"monitor:{name}", w)
        w.write(step, self._gathered([x[-1] for x in p]), ref)

    def _lost(self, p: list[Any]) -> None:
        from .diagnostics import BeamMonitorWriter

        pc = self._gathered([x[1] for x in p])
        if not self.diagnostics or pc.size == 0:
            return
        pc.state = np.zeros(pc.size, dtype=np.int32)
        w = BeamMonitorWriter(self._diag_dir() / "openPMD", "particles_lost", "h5")
        try:
            w.write(0, pc, p[0][0], extra={"s_lost": pc.s_lost})
        finally:
            w.close()

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()


ENDED = ("done", "error", "cancelled")


def drive(
    reducer: ShardReducer,
    first: list[tuple[str, Any]],
    send: Callable[[Any], list[tuple[str, Any]]],
    stop_requested: Callable[[], bool],
) -> int:
    """The lockstep loop: ``first`` holds each share's first message (tag, payload); ``send(reply)`` hands
    the reply to every share still running and returns every share's latest message (an ended share's
    last one). Returns the tracking step the shares ended at; raises TrackingCancelled after a stop, or the
    first error (a share's or the reducer's; the other shares are stopped first)."""
    msgs = first
    stopping = False
    failure: BaseException | None = None
    while True:
        tags = [t for t, _ in msgs]
        if all(t in ENDED for t in tags):
            errors = [p for t, p in msgs if t == "error"]
            if failure is not None:
                raise failure
            if errors:
                raise errors[0]
            steps = max(int(p) for _, p in msgs)
            if stopping or "cancelled" in tags:
                raise TrackingCancelled(f"stopped at step {steps}")
            return steps
        reply: Any = STOP
        if not stopping and any(t in ENDED for t in tags):
            stopping = True  # a share ended (error, cancel) while others wait in an exchange: stop them all
        elif not stopping and stop_requested():
            stopping = True
        elif not stopping and len(set(tags)) != 1:
            stopping, failure = True, RuntimeError(f"shares out of lockstep: {tags}")
        elif not stopping:
            try:
                reply = reducer.combine(tags[0], [p for _, p in msgs])
            except Exception as exc:  # noqa: BLE001 - stop the shares, then raise it
                stopping, failure, reply = True, exc, STOP
        msgs = send(reply)


class ThreadShard:
    """A share run in a thread of this process: its tracking thread calls ``exchange``; the driver
    ``post``s a reply and ``receive``s the next message."""

    def __init__(self, make: Callable[[Comm], ShardSimulation]):
        import queue

        self._out: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._in: queue.Queue[Any] = queue.Queue()
        self._make = make
        self.sim: ShardSimulation | None = None
        self.last: tuple[str, Any] = ("", None)
        self._thread = threading.Thread(target=self._main, daemon=True)

    def exchange(self, tag: str, payload: Any) -> Any:
        self._out.put((tag, payload))
        return self._in.get()

    def _main(self) -> None:
        sim = None
        try:
            sim = self.sim = self._make(self)
            try:
                sim.track_particles()
            finally:
                sim.finalize()
            self._out.put(("done", int(sim.tracking_step)))
        except TrackingCancelled:
            self._out.put(("cancelled", int(sim.tracking_step) if sim is not None else 0))
        except BaseException as exc:  # noqa: BLE001 - handed to the driver, which raises it
            self._out.put(("error", exc))

    def start(self) -> None:
        self._thread.start()

    def post(self, reply: Any) -> None:
        if self.last[0] not in ENDED:
            self._in.put(reply)

    def receive(self) -> tuple[str, Any]:
        if self.last[0] not in ENDED:
            self.last = self._out.get()
        return self.last

    def join(self) -> None:
        self._thread.join()


def run_threads(
    spec: Any,
    count: int,
    output_dir: str | Path | None = None,
    kind: str | None = None,
    listeners: Sequence[Callable[[dict[str, float]], Any]] = (),
    stop_requested: Callable[[], bool] = lambda: False,
) -> ShardReducer:
    """Track the job ``spec`` as ``count`` shares in threads of this process; returns the reducer (its rows
    went to ``listeners``, its files under ``output_dir``). ``stop_requested`` is asked before every round:
    True stops every share (TrackingCancelled)."""

    def maker(i: int) -> Callable[[Comm], ShardSimulation]:
        return lambda c: ShardSimulation.for_share(spec, i, count, c, kind)

    shards = [ThreadShard(maker(i)) for i in range(count)]
    for s in shards:
        s.start()
    first = [s.receive() for s in shards]
    template = next((s.sim for s in shards if s.sim is not None), None)
    if template is None:
        raise first[0][1] if first[0][0] == "error" else RuntimeError("no share started")
    reducer = ShardReducer(template, output_dir)
    reducer.listeners.extend(listeners)

    def send(reply: Any) -> list[tuple[str, Any]]:
        for s in shards:
            s.post(reply)
        return [s.receive() for s in shards]

    try:
        drive(reducer, first, send, stop_requested)
    finally:
        reducer.close()
        for s in shards:
            s.join()
    return reducer
