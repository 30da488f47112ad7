"""The lattice: an ordered list of elements, plus its linear transfer map."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .elements.base import Element

if TYPE_CHECKING:
    from .optics.twiss import TwissInit, TwissTable
    from .refpart import RefPart
    from .tracked_run import TrackedRun


class Lattice(list[Element]):
    """A list of engine elements (ImpactX's ``sim.lattice``: append / extend / clear / load_file-free)."""

    def __init__(self, elements: Iterable[Element] = (), sim: TrackedRun | None = None):
        super().__init__()
        self._sim = sim
        self.extend(elements)

    def append(self, el: Element) -> None:
        if not isinstance(el, Element):
            raise TypeError(f"lattice elements must be beamtrack.engine.elements objects, not {type(el).__name__}")
        super().append(el)

    def extend(self, els: Iterable[Element]) -> None:
        for el in els:
            self.append(el)

    @property
    def length(self) -> float:
        """Total length of one period [m]."""
        return float(sum(el.ds for el in self))

    def twiss(
        self, init: TwissInit | dict[str, float] | None = None, reference: RefPart | None = None, **kwargs: Any
    ) -> TwissTable:
        """Twiss functions along this lattice (``beamtrack.engine.optics.twiss``): periodic with
        ``init=None`` (tunes, chromaticity, momentum compaction), else from the initial conditions
        ``init`` (betx, alfx, bety, alfy, dx, dpx, ...) of a transfer line. The reference particle is
        the owning run's unless ``reference`` is given. Other keywords: delta0, at ("element" or
        "slice"), chromaticity, delta_chrom, eps, method ("4d", or "6d" for a ring with RF: its default)."""
        from .optics import twiss

        ref = reference if reference is not None else (self._sim.reference if self._sim is not None else None)
        if ref is None:
            raise ValueError("this lattice belongs to no Simulation: pass reference=RefPart(...)")
        return twiss(self, ref, init, **kwargs)

    def transfer_map(self, kind: str = "serial") -> np.ndarray:
        """6x6 linear map of one period on (x, px, y, py, t, pt) (ImpactX's ordering), about the reference orbit.

        Computed by tracking through this lattice's own kernels (on a bare ``TrackedRun``: no output,
        no collective kicks): exact for linear elements (unit vectors), a central-difference Jacobian
        at amplitude 1e-8 for nonlinear ones.
        """
        from .tracked_run import TrackedRun

        ref = self._sim.reference if self._sim is not None else None
        sim = TrackedRun(kind=kind, compose_linear=False)
        if ref is not None:
            sim.reference = ref.copy()
        sim.lattice.extend(el for el in self if el.kernel is not None or type(el).__name__ == "Programmable")
        linear = all(el.linear for el in sim.lattice)
        eps = 1.0 if linear else 1e-8
        # order of coordinates in the container: x, y, t, px, py, pt; in the map: x, px, y, py, t, pt
        row_of = [0, 3, 1, 4, 2, 5]
        n = 12
        coords = np.zeros((6, n))
        for j in range(6):
            coords[row_of[j], 2 * j] = eps
            coords[row_of[j], 2 * j + 1] = -eps
        x, y, t, px, py, pt = coords
        sim.beam.add_n_particles(x, y, t, px, py, pt, qm=sim.beam.qm, bunch_charge=0.0)
        sim.track_particles(periods=1)
        out = np.asarray(sim.beam.host(sim.beam.real))
        R = np.empty((6, 6))
        for j in range(6):
            col = (out[:6, 2 * j] - out[:6, 2 * j + 1]) / (2 * eps)
            R[:, j] = col[row_of]
        return R
