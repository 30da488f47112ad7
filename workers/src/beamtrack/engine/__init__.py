"""beamtrack.engine: ImpactX-compatible beam tracking on compiled C kernels.

from beamtrack.engine import Simulation, elements, distribution
"""

import os

# OpenMP threads that spin while they wait for work collapse on a busy machine (measured: FODO
# 0.72 s with libgomp's default vs 0.031 s passive on a loaded 2-core box; bench/bench_omp_wait.py).
# libgomp reads this once, when the first OpenMP kernel loads; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import elements  # noqa: E402
from .refpart import RefPart  # noqa: E402
from .simulation import Simulation  # noqa: E402
from .tracking import HookError, TrackingCancelled  # noqa: E402

__all__ = ["HookError", "RefPart", "Simulation", "TrackingCancelled", "elements", "distribution"]


def __getattr__(name: str):  # lazy: the distribution package may import scipy
    if name == "distribution":
        import importlib

        return importlib.import_module(".distribution", __name__)
    raise AttributeError(name)
