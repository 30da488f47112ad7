"""beamtrack.engine: ImpactX-compatible beam tracking on compiled C kernels.

    from beamtrack.engine import Simulation, elements, distribution
"""

from . import elements
from .refpart import RefPart
from .simulation import Simulation
from .tracking import HookError, TrackingCancelled

__all__ = ["HookError", "RefPart", "Simulation", "TrackingCancelled", "elements", "distribution"]


def __getattr__(name: str):  # lazy: the distribution package may import scipy
    if name == "distribution":
        import importlib

        return importlib.import_module(".distribution", __name__)
    raise AttributeError(name)
