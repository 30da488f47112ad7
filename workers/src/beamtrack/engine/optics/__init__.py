"""Optics from the engine's own maps: linear maps along s, twiss, tunes, chromaticity, turn-by-turn data.

- ``maps``: orbits and Jacobians at every element / slice boundary, from tracking test particles
- ``tunes``: the linear normal form of a one-turn map; NAFF tunes of turn-by-turn data
- ``chromaticity``: dQ/ddelta and the chromatic functions by central differences in delta
- ``coupling``: Edwards-Teng parameters of the 4D normal form
- ``twiss``: periodic and transfer-line lattice functions as a ``TwissTable`` (a pandas DataFrame)
- ``twiss_6d``: the 6D periodic twiss of a ring with RF (synchrotron tune, 6D dispersion)
- ``turn_by_turn``: coordinates of chosen particles every turn
"""

from .chromaticity import CHROMATIC_COLUMNS, chromatic_functions
from .coupling import EDWARDS_TENG_COLUMNS, edwards_teng
from .maps import (
    MapsAlongS,
    Prober,
    ReferenceEnergyError,
    check_reference,
    closed_orbit,
    closed_orbit_6d,
    delta_of_pt,
    pt_of_delta,
)
from .tunes import UnstableMotionError, fractional_tunes, naff_tune, normal_form_4d, normal_form_6d
from .turn_by_turn import TurnByTurnMonitor, track_turn_by_turn
from .twiss import TwissInit, TwissTable, twiss

__all__ = [
    "CHROMATIC_COLUMNS",
    "EDWARDS_TENG_COLUMNS",
    "MapsAlongS",
    "Prober",
    "ReferenceEnergyError",
    "TurnByTurnMonitor",
    "TwissInit",
    "TwissTable",
    "UnstableMotionError",
    "check_reference",
    "chromatic_functions",
    "closed_orbit",
    "closed_orbit_6d",
    "delta_of_pt",
    "edwards_teng",
    "fractional_tunes",
    "naff_tune",
    "normal_form_4d",
    "normal_form_6d",
    "pt_of_delta",
    "track_turn_by_turn",
    "twiss",
]
