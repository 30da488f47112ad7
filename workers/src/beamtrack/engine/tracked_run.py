"""TrackedRun: what the tracking loop (``tracking.Tracker``) drives, and the bare run of test particles.

A TrackedRun holds a reference particle, a beam, a line of elements, user hooks and the kernel kind,
and tracks the beam through ``periods`` passes of the line. It writes no output and applies no
collective kick: ``Simulation`` (ImpactX's Python interface) extends it with diagnostics files,
space charge, ISR and CSR. Transfer maps and the optics probes track their test particles on a plain
TrackedRun, so the lattice never needs the Simulation (the dependency rule of pyproject's
``[tool.importlinter]``).

The methods the loop calls between slices (``check_stop``, ``report_progress``,
``has_collective_kick``, ``collective_kicks``, ``apply_particle_boundary``,
``write_reduced_diagnostics``, ``write_monitor``) are this class's public interface.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .elements.base import Element
from .elements.python_pushed import BeamMonitor
from .elements.registry import include_roots
from .kernels import select
from .particles import ParticleContainer
from .refpart import RefPart
from .tracking import HOOK_NAMES, Tracker, TrackingCancelled, tracker_signature

KINDS = ("serial", "openmp", "cuda")


@functools.cache
def gpu_available() -> bool:
    """Whether CuPy sees a GPU (asked once a process: the import alone costs ~0.2 ms a run)."""
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:  # cupy missing or no driver: no GPU
        return False


def default_kind() -> str:
    """cuda when CuPy sees a GPU, else openmp on a multi-core machine, else serial (BEAMTRACK_KIND overrides)."""
    env = os.environ.get("BEAMTRACK_KIND")
    if env:
        return env
    if gpu_available():
        return "cuda"
    return "openmp" if (os.cpu_count() or 1) > 1 else "serial"


class Hooks(dict[str, Callable[[Any], Any]]):
    """``sim.hook[name] = fn(sim)`` for name in before_period, after_period, before_element, after_element, before_slice."""

    def __setitem__(self, name: str, fn: Callable[[Any], Any]) -> None:
        if name not in HOOK_NAMES:
            raise KeyError(f"unknown hook {name!r}; hooks are {', '.join(HOOK_NAMES)}")
        if fn is not None and not callable(fn):
            raise TypeError(f"hook {name!r} must be callable")
        super().__setitem__(name, fn)


class TrackedRun:
    """A beam through a line of elements, with hooks, no output files and no collective kicks.

    kind: serial | openmp | cuda | None (auto). compose_linear: push runs of linear elements as one
    6x6 matrix. nthreads: OpenMP threads (None: the runtime's default).
    """

    def __init__(self, kind: str | None = None, compose_linear: bool = True, nthreads: int | None = None):
        kind = kind or default_kind()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "cuda" and not gpu_available():
            raise RuntimeError("kind 'cuda' needs CuPy and a GPU; use 'serial' or 'openmp'")
        self.kind = kind
        self.nthreads = nthreads
        self.compose_linear = compose_linear
        #: write reduced diagnostics after every slice (ImpactX's slice_step_diagnostics), else per period
        self.slice_step_diagnostics = False
        self.reference = RefPart()
        xp: Any = np
        if kind == "cuda":
            import cupy

            xp = cupy
        self.beam = ParticleContainer(xp=xp)
        self.lattice: list[Element] = []
        self.periods = 1
        self.hook = Hooks()
        self.tracking_step = 0
        self.tracking_period = 0
        self.tracking_element = 0
        #: called after each pushed group with (tracking_step, total_steps)
        self.progress_listeners: list[Callable[[int, int], Any]] = []
        #: spin tracking (ImpactX's algo.spin): push each particle's spin (Thomas-BMT) through every element
        self.spin = False
        #: collective kicks between two half slices (ImpactX's default), else before the whole slice
        self.strang_split = True
        #: ImpactX's algo.particle_bc: open | periodic | absorbing | reflecting, with the bucket length [m]
        self.particle_bc = "open"
        self.bucket_length = 0.0
        self._stop = False
        self._tracker: Tracker | None = None
        self._config_cache: tuple[Any, dict[str, Any]] | None = None
        self._total_steps = 0

    # --- kernels ---------------------------------------------------------------------------------
    def kernel(self, kind: str | None = None) -> Any:
        """The kernel for this lattice's element classes (prebuilt, cached, or compiled now)."""
        classes = {el.kernel for el in self.lattice if el.kernel is not None}
        k = select.get_kernel(kind or self.kind, classes, self.kernel_config(), include_roots())
        if k.kind == "openmp" and self.nthreads:
            k.nthreads = self.nthreads
        return k

    def kernel_config(self) -> dict[str, Any]:
        """Compile-time switches this run asks of its kernel (``kernels.variants``): misalignment and
        aperture code only when an element of the lattice is misaligned or has an aperture."""
        key = (tuple(el.version for el in self.lattice), tuple(map(id, self.lattice)), bool(self.spin))
        if self._config_cache is None or self._config_cache[0] != key:
            cfg = select.variants.lattice_config(self.lattice)
            if self.spin:
                cfg["spin"] = True
            self._config_cache = (key, cfg)
        return self._config_cache[1]

    # --- between slices: what the loop calls -------------------------------------------------------
    @property
    def collective_enabled(self) -> bool:
        """Any collective kick on (space charge, ISR or CSR in a Simulation); a bare run has none."""
        return False

    def has_collective_kick(self, el: Element) -> bool:
        """Whether the slices of ``el`` get a collective kick; a bare run gives none."""
        return False

    def collective_kicks(self, el: Element, slice_ds: float) -> None:
        """The collective kicks of one slice of ``el`` (length ``slice_ds`` [m]); a bare run has none."""

    def apply_particle_boundary(self) -> None:
        """ImpactX's ParticleBoundary after each slice's push (``particle_bc``, ``bucket_length`` [m])."""
        if self.particle_bc != "open":
            from .boundary import apply_particle_bc

            apply_particle_bc(self.beam, self.reference, self.particle_bc, self.bucket_length)

    def write_reduced_diagnostics(self, final: bool = False) -> None:
        """Record the beam's reduced diagnostics at this step (``final``: the end-of-run record, ImpactX's
        _final files); a bare run records none."""

    def write_monitor(self, el: BeamMonitor) -> None:
        """Write the beam at the BeamMonitor ``el``; a bare run writes no files."""

    def check_stop(self) -> None:
        """Raise TrackingCancelled when ``request_stop`` was called (the loop asks at each step boundary)."""
        if self._stop:
            raise TrackingCancelled(f"stopped at step {self.tracking_step}")

    def report_progress(self) -> None:
        """Tell the progress listeners the step reached, out of this track call's last step."""
        for fn in self.progress_listeners:
            fn(self.tracking_step, self._total_steps)

    # --- tracking --------------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        """Global steps of a full run: periods x slices of one period."""
        return self.periods * sum(el.nslice for el in self.lattice)

    def request_stop(self) -> None:
        """Ask a running track_particles() to stop at the next step boundary (raises TrackingCancelled)."""
        self._stop = True

    def track_particles(self, periods: int | None = None) -> None:
        """Track the beam through ``periods`` passes of the lattice (default ``periods``)."""
        periods = self.periods if periods is None else periods
        self.reference.check_energy()
        self._total_steps = self.tracking_step + periods * sum(el.nslice for el in self.lattice)
        # a Tracker keeps its kernel and cached ops: reuse it while the line and settings are the same
        # (an ImpactX script often calls track_particles one period at a time)
        tracker = self._tracker
        if tracker is None or tracker.signature != tracker_signature(self) or tracker.config != self.kernel_config():
            tracker = self._tracker = Tracker(self)
        if self.spin:
            self.beam.enable_spin()
        if self.tracking_step == 0:
            self.write_reduced_diagnostics()
        tracker.run(periods)
        self.write_reduced_diagnostics(final=True)
