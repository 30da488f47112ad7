"""What a job will cost, estimated from its spec alone: memory, disk and compute.

The service checks these numbers against its per-job and per-user limits at submit, before
anything is queued, so a spec that cannot run (``npart: 3e8`` on an 8 GiB worker, a
``1024^3`` space-charge grid) is refused with the field that drives the cost, not OOM-killed.

The model and where its constants come from (``beamtrack run`` on examples/fodo.json with the
serial kernel, peak RSS from ``getrusage``, see BENCHMARKS.md "Resource estimates"):

- memory = base + npart * ``BYTES_PER_PARTICLE`` + grid cells * ``BYTES_PER_CELL``. Measured: 197 B
  per particle (2e6 particles: the (7, n) float64 block, id, state, s_lost, the distribution's
  and the reduced diagnostics' temporaries) and 245-270 B per cell of a 3D grid (64^3 and 128^3:
  charge, the doubled-grid FFT arrays, the field); the constants round up by ~30 %.
- disk = every BeamMonitor write (9 float64 records per particle, ImpactX's layout) + one
  reduced-diagnostics and one reference-particle line per diagnostics step + the lost-particle
  series (at most every particle once). Diagnostics rows also go to the job's Redis stream.
- pushes = npart * slices per period * periods: the element pushes the kernels do. The wall-time
  estimate divides by ``OPTIMISTIC_PUSHES_PER_S`` (faster than any measured kernel, so a refusal
  at submit only ever hits a job that could not finish in time on any worker); the wall-clock
  limit at run time catches the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .elements import BeamMonitor
from .job import JobSpec

#: Fixed memory of a worker's job: interpreter, NumPy, kernels, openPMD [B].
BASE_BYTES = 200 * 2**20
BYTES_PER_PARTICLE = 256
BYTES_PER_CELL = 320
#: One BeamMonitor snapshot: position x y t, momentum x y t, qm, weighting, id [B per particle].
MONITOR_BYTES_PER_PARTICLE = 9 * 8
#: One line of reduced_beam_characteristics plus one of ref_particle, and its stream entry [B].
DIAG_BYTES_PER_STEP = 4096
LOST_BYTES_PER_PARTICLE = 10 * 8
OPTIMISTIC_PUSHES_PER_S = 2e9


@dataclass(frozen=True)
class Cost:
    """One estimated cost and the spec field that drives it (a JSON path, e.g. ``beam.npart``)."""

    amount: float
    loc: str
    why: str


@dataclass(frozen=True)
class ResourceEstimate:
    """A job's estimated peak memory [B], output [B], pushes [1] and diagnostics steps [1]."""

    memory: Cost
    disk: Cost
    time_s: Cost
    pushes: float
    steps: int


def _slices(spec: JobSpec) -> tuple[int, int]:
    """(element pushes per particle per period, diagnostics steps per period)."""
    pushes = 0
    steps = 0
    for el in spec.lattice.elements:
        n = int(getattr(el, "nslice", 1)) if el.thick else 1
        pushes += n
        steps += n if spec.diagnostics.slice_step_diagnostics else 1
    return pushes, steps


def _monitor_writes(spec: JobSpec) -> int:
    """Snapshots all BeamMonitors of the lattice write over the run (ImpactX writes one at each
    pass whose period is a multiple of ``period_sample_intervals``)."""
    periods = spec.lattice.periods
    return sum(
        math.ceil(periods / el.period_sample_intervals) for el in spec.lattice.elements if isinstance(el, BeamMonitor)
    )


def estimate(spec: JobSpec) -> ResourceEstimate:
    """The estimated cost of running ``spec`` (see the module docstring for the model)."""
    npart = spec.beam.npart
    periods = spec.lattice.periods
    cells = 0
    if spec.space_charge is not None:
        cells = math.prod(spec.space_charge.n_cell)
    particle_mem = npart * BYTES_PER_PARTICLE
    grid_mem = cells * BYTES_PER_CELL
    if grid_mem > particle_mem:
        memory = Cost(
            BASE_BYTES + particle_mem + grid_mem, "space_charge.n_cell", f"a space-charge grid of {cells:.3g} cells"
        )
    else:
        memory = Cost(BASE_BYTES + particle_mem + grid_mem, "beam.npart", f"{npart:.3g} particles")

    pushes_per_period, steps_per_period = _slices(spec)
    steps = steps_per_period * periods + 1
    writes = _monitor_writes(spec)
    monitor_disk = float(writes) * npart * MONITOR_BYTES_PER_PARTICLE
    diag_disk = float(steps) * DIAG_BYTES_PER_STEP
    total_disk = monitor_disk + diag_disk + npart * LOST_BYTES_PER_PARTICLE
    if monitor_disk >= diag_disk:
        disk = Cost(total_disk, "beam.npart", f"{writes} BeamMonitor snapshots of {npart:.3g} particles")
    else:
        disk = Cost(total_disk, "lattice.periods", f"{steps:.3g} diagnostics steps")

    pushes = float(npart) * pushes_per_period * periods
    time_s = Cost(
        pushes / OPTIMISTIC_PUSHES_PER_S,
        "lattice.periods",
        f"{pushes:.3g} element pushes ({npart:.3g} particles x {pushes_per_period} slices x {periods} periods)",
    )
    return ResourceEstimate(memory=memory, disk=disk, time_s=time_s, pushes=pushes, steps=steps)


def mib(n_bytes: float) -> str:
    """``n_bytes`` as a short human-readable size (MiB below 10 GiB, else GiB)."""
    if n_bytes < 10 * 2**30:
        return f"{n_bytes / 2**20:,.0f} MiB"
    return f"{n_bytes / 2**30:,.1f} GiB"
