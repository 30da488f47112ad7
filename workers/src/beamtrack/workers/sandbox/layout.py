"""The shared particle block: two memfds. The *real* block holds the engine's (7, n) float64
``real`` rows (C-contiguous); the *meta* block holds ``id`` (n int64) then ``state`` (n int32).
Worker and sandbox map the same pages, so a hook reads and writes the beam with no copy; the
sandbox gets the meta block through a read-only descriptor and maps it read-only, so ``id`` and
``state`` cannot be written from its side (mprotect cannot add write access to a mapping of a
file opened read-only)."""

from __future__ import annotations

from typing import Any

#: The engine's hook names (beamtrack.engine.tracking.HOOK_NAMES; a unit test keeps them equal).
HOOK_NAMES = ("before_period", "after_period", "before_element", "after_element", "before_slice")
#: Rows of ``real`` (beamtrack.engine.particles.REAL_ROWS).
REAL_ROWS = ("x", "y", "t", "px", "py", "pt", "weight")
#: Functions a hook module may give a Programmable element of the job's lattice, by the
#: element's name: ``programmable = {"name": {"beam_particles": f, "ref_particle": g}}``.
PROGRAMMABLE_FUNCTIONS = ("push", "beam_particles", "ref_particle")
#: The module-level name of that dict.
PROGRAMMABLE_DICT = "programmable"


def block_sizes(n: int) -> tuple[int, int]:
    """Bytes of the real and the meta block for ``n`` particles (each at least one page: mmap
    needs a non-empty file)."""
    return max(4096, len(REAL_ROWS) * n * 8), max(4096, n * 8 + n * 4)


def beam_views(real_buf: Any, meta_buf: Any, n: int) -> dict[str, Any]:
    """``real``, ``id`` and ``state`` arrays over ``real_buf`` and ``meta_buf`` (mmaps of the
    two blocks; a read-only mapping gives read-only arrays)."""
    import numpy as np

    real = np.frombuffer(real_buf, dtype=np.float64, count=len(REAL_ROWS) * n).reshape(len(REAL_ROWS), n)
    ids = np.frombuffer(meta_buf, dtype=np.int64, count=n)
    state = np.frombuffer(meta_buf, dtype=np.int32, count=n, offset=n * 8)
    return {"real": real, "id": ids, "state": state}
