"""ImpactX's Source element: appends a beam read back from an openPMD series (restart)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from beamtrack.spec import elements as spec

from .base import Element
from .python_pushed import Programmable

if TYPE_CHECKING:
    from ..simulation import Simulation


class Source(Programmable):
    """A particle source (ImpactX 26.10's Source): on reaching it, the tracking loop appends the beam of
    one step of the BeamMonitor series ``openpmd_path`` to ``sim.beam`` (``beamtrack.engine.restart``),
    restoring the reference particle first when ``load_ref_particle``; with ``active_once`` only in
    lattice period 0. Zero length; run in Python as a Programmable element (so lattices holding one are
    not packed or sharded)."""

    model_cls = spec.Source  # type: ignore[assignment]
    positional = ("distribution", "openpmd_path", "active_once", "load_ref_particle", "load_step", "load_step_index")

    def __init__(self, *args: Any, **kwargs: Any):
        Element.__init__(self, *args, **kwargs)
        self._set_code(self._inject, None, None)

    @classmethod
    def from_model(cls, model: Any) -> Element:
        el = Element.from_model.__func__(cls, model)  # type: ignore[attr-defined]
        assert isinstance(el, Source)
        el._set_code(el._inject, None, None)
        return el

    def _inject(self, sim: Simulation, step: int, period: int) -> None:
        if self.active_once and period > 0:
            return
        from ..restart import load_beam

        load_beam(
            sim,
            self.openpmd_path,
            load_ref_particle=bool(self.load_ref_particle),
            load_step=self.load_step,
            load_step_index=self.load_step_index,
        )
