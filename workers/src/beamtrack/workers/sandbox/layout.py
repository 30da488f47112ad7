"""The shared particle block: one memfd holding the engine's (7, n) float64 ``real`` rows, then
``id`` (n int64), then ``state`` (n int32), each C-contiguous. Worker and sandbox map the same
pages, so a hook reads and writes the beam with no copy."""

from __future__ import annotations

from typing import Any

#: The engine's hook names (beamtrack.engine.tracking.HOOK_NAMES; a unit test keeps them equal).
HOOK_NAMES = ("before_period", "after_period", "before_element", "after_element", "before_slice")
#: Rows of ``real`` (beamtrack.engine.particles.REAL_ROWS).
REAL_ROWS = ("x", "y", "t", "px", "py", "pt", "weight")


def block_size(n: int) -> int:
    """Bytes of the block for ``n`` particles (at least one page: mmap needs a non-empty file)."""
    return max(4096, len(REAL_ROWS) * n * 8 + n * 8 + n * 4)


def beam_views(buf: Any, n: int) -> dict[str, Any]:
    """``real``, ``id`` and ``state`` arrays over ``buf`` (an mmap of the block)."""
    import numpy as np

    nreal = len(REAL_ROWS) * n
    real = np.frombuffer(buf, dtype=np.float64, count=nreal).reshape(len(REAL_ROWS), n)
    ids = np.frombuffer(buf, dtype=np.int64, count=n, offset=nreal * 8)
    state = np.frombuffer(buf, dtype=np.int32, count=n, offset=nreal * 8 + n * 8)
    return {"real": real, "id": ids, "state": state}
