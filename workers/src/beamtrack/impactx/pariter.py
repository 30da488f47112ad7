"""ImpactX's particle iterator (``pti``), as a ``Programmable.beam_particles(pti, refpart)`` function sees it.

beamtrack holds the whole beam in one block, so there is one "tile": ``beam_particles`` is called once
per slice (as ImpactX on one CPU box). ``pti.soa().to_xp()`` (or ``to_numpy()`` / ``to_cupy()``) gives
ImpactX's named tuple: ``real`` {position_x, position_y, position_t [m], momentum_x, momentum_y,
momentum_t [1], spin_x, spin_y, spin_z [1], qm, weighting [1]}, ``int`` {} and ``idcpu`` (AMReX's packed
id). While no particle is lost, position_*, momentum_*, weighting (and spin_* when the beam carries spin)
are views of the beam's own rows: writes land in the beam, nothing is copied. ImpactX's pti holds only
the particles alive; once some are lost, beamtrack gathers the alive ones into arrays and writes those
back after the function returns. ``qm`` (q / m [C/kg], one value per particle, as ImpactX stores it),
``idcpu`` and spin without spin tracking are copies, read-only on the CPU (writing them raises ValueError: beamtrack
keeps qm per beam and would drop the change; CuPy arrays have no read-only flag, so on a GPU such writes are lost).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
from beamtrack.engine.diagnostics.openpmd import pack_idcpu
from beamtrack.engine.particles import IMPACTX_NAMES, REAL_ROWS, SPIN_NAMES, SPIN_ROWS

#: ImpactX 26.10's real component names, in its order (measured: ``soa.real_names``)
REAL_NAMES = (
    "position_x",
    "position_y",
    "position_t",
    "momentum_x",
    "momentum_y",
    "momentum_t",
    "spin_x",
    "spin_y",
    "spin_z",
    "qm",
    "weighting",
)
SoA = namedtuple("SoA", ["real", "int", "idcpu"])


def _read_only(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        a.flags.writeable = False
    return a


class StructOfArrays:
    """The particle data of one tile (AMReX's ``StructOfArrays``): ``to_xp``, ``to_numpy``, ``to_cupy``."""

    real_names = list(REAL_NAMES)
    int_names: list[str] = []

    def __init__(self, beam: Any, rows: Any, idx: Any):
        self._beam, self._rows, self._idx = beam, rows, idx

    @property
    def num_real_comps(self) -> int:
        return len(REAL_NAMES)

    @property
    def num_int_comps(self) -> int:
        return 0

    def num_particles(self) -> int:
        return int(self._rows.shape[1])

    size = num_particles
    num_real_particles = num_particles
    num_total_particles = num_particles

    def has_idcpu(self) -> bool:
        return True

    def to_xp(self, copy: bool = False) -> SoA:
        """ImpactX's named tuple of arrays (NumPy on the CPU, CuPy on a GPU beam); copy: copies instead of views."""
        beam, xp = self._beam, self._beam.xp
        rows = self._rows.copy() if copy else self._rows
        real: dict[str, Any] = {IMPACTX_NAMES[r]: rows[i] for i, r in enumerate(REAL_ROWS)}
        n = int(rows.shape[1])
        if beam.has_spin:
            real.update((SPIN_NAMES[r], rows[len(REAL_ROWS) + i]) for i, r in enumerate(SPIN_ROWS))
        else:
            real.update((SPIN_NAMES[r], _read_only(xp.zeros(n))) for r in SPIN_ROWS)
        qm_given = getattr(beam, "_qm_given", None)  # ImpactX keeps add_n_particles' qm as given
        real["qm"] = _read_only(xp.full(n, float(beam.qm if qm_given is None else qm_given)))
        ids = beam.id if self._idx is None else beam.id[self._idx]
        idcpu = _read_only(pack_idcpu(ids, xp))
        return SoA(real={k: real[k] for k in REAL_NAMES}, int={}, idcpu=idcpu)

    def to_numpy(self, copy: bool = False) -> SoA:
        if self._beam.xp is not np:
            raise TypeError("this beam lives on the GPU: use to_cupy() or to_xp()")
        return self.to_xp(copy)

    def to_cupy(self, copy: bool = False) -> SoA:
        if self._beam.xp is np:
            raise TypeError("this beam lives on the CPU: use to_numpy() or to_xp()")
        return self.to_xp(copy)


class ParticleIterator:
    """ImpactX's ``ImpactXParIter`` over beamtrack's one tile (level 0, index 0)."""

    level = 0
    index = 0

    def __init__(self, beam: Any):
        self._beam = beam
        alive = beam.alive
        all_alive = bool(beam.xp.all(alive)) if beam.size else True
        self._idx = None if all_alive else beam.xp.nonzero(alive)[0]
        self._rows = beam.real if self._idx is None else beam.real[:, self._idx]

    def write_back(self) -> None:
        """Scatter the gathered alive particles back into the beam (only when some were lost)."""
        if self._idx is not None:
            self._beam.real[:, self._idx] = self._rows

    def soa(self) -> StructOfArrays:
        return StructOfArrays(self._beam, self._rows, self._idx)

    @property
    def size(self) -> int:
        return int(self._rows.shape[1])

    num_particles = size
    num_real_particles = size

    def is_valid(self) -> bool:
        return True


def call_beam_particles(fn: Any, beam: Any, ref: Any) -> None:
    """Call ImpactX-style ``fn(pti, refpart)`` on the beam's alive particles."""
    pti = ParticleIterator(beam)
    fn(pti, ref)
    pti.write_back()
