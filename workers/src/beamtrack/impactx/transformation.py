"""ImpactX's ``CoordSystem`` and ``coordinate_transformation(pc, direction)``: the beam's live
particles between fixed-s coordinates (x, y, t, px, py, pt; ImpactX's tracking coordinates) and
fixed-t coordinates (x, y, z, px, py, pz; e.g. for a surrogate model trained in the lab frame).

The maps are ImpactX's ToFixedT / ToFixedS (the ones space charge uses, ``engine.spacecharge``),
with the design momentum from the reference particle (pt_ref = -gamma, pz_ref = beta gamma). As in
ImpactX the rows keep their places (z in t's row, pz in pt's), the container remembers which system
it is in, and transforming into the system it is already in raises. Lost particles are left as
they are (ImpactX keeps them in another container).
"""

from __future__ import annotations

import enum
import math
from typing import Any

from beamtrack.engine.spacecharge.backend import np_to_fixed_s, np_to_fixed_t


class CoordSystem(enum.Enum):
    """ImpactX's coordinate systems: ``s`` fixed s (tracking), ``t`` fixed t."""

    s = 0
    t = 1


def coord_system(pc: Any) -> CoordSystem:
    """The system ``pc``'s particles are in (a container starts in fixed s)."""
    system = getattr(pc, "_coord_system", CoordSystem.s)
    assert isinstance(system, CoordSystem)
    return system


def coordinate_transformation(pc: Any, direction: CoordSystem) -> None:
    """Transform the live particles of ``pc`` (an ``ImpactXParticleContainer``) into ``direction``."""
    if not isinstance(direction, CoordSystem):
        raise TypeError(f"direction must be a CoordSystem (CoordSystem.s or CoordSystem.t), not {direction!r}")
    if coord_system(pc) == direction:
        raise ValueError(f"Already in fixed {direction.name} coordinates!")
    ptd = float(pc.ref_particle().pt)  # design pt = -gamma
    alive = pc.state == 0
    rows = pc.arrays()
    names = ("position_x", "position_y", "position_t", "momentum_x", "momentum_y", "momentum_t")
    cols = [rows[k][alive] for k in names]
    if direction == CoordSystem.t:
        out = np_to_fixed_t(ptd, *cols)
    else:
        out = np_to_fixed_s(math.sqrt(ptd * ptd - 1.0), *cols)
    for k, v in zip(names, out, strict=True):
        rows[k][alive] = v
    pc._coord_system = direction
