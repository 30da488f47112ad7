"""The engine's name for ``beamtrack.plot`` (installed with ``beamtrack-client[plot]``), kept for
scripts that import ``beamtrack.engine.plot``; ``TwissTable.plot`` draws through it."""

from __future__ import annotations

try:
    from beamtrack.plot import (
        draw_lattice,
        job,
        lattice_boxes,
        moments,
        phase_space,
        read_monitor,
        read_reduced,
        run,
        twiss,
    )
except ImportError as exc:  # the engine installed without the plot extra
    raise ImportError(
        f"beamtrack.engine.plot needs beamtrack.plot: pip install 'beamtrack-engine[plot]' ({exc})"
    ) from exc

__all__ = [
    "draw_lattice",
    "job",
    "lattice_boxes",
    "moments",
    "phase_space",
    "read_monitor",
    "read_reduced",
    "run",
    "twiss",
]
