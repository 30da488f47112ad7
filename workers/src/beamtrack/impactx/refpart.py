"""ImpactX 26.10's ``RefPart``: the engine's reference particle with ImpactX's ``load_file``."""

from __future__ import annotations

from pathlib import Path

from beamtrack.engine.refpart import RefPart as EngineRefPart


class RefPart(EngineRefPart):
    """The reference particle (units as ``beamtrack.engine.refpart``), plus ImpactX's ``load_file``."""

    def load_file(self, madx_file: str | Path) -> RefPart:
        """Charge, mass and kinetic energy from a MAD-X file's BEAM line (ENERGY is the total energy [GeV],
        1 GeV when not given, as MAD-X); returns self. See ``beamtrack.impactx.madx``."""
        from .madx import load_reference

        return load_reference(self, madx_file)

    def copy(self) -> RefPart:
        return RefPart(**{k: getattr(self, k) for k in self.__dataclass_fields__})


def as_impactx_refpart(ref: EngineRefPart) -> RefPart:
    """``ref`` itself, made an ImpactX RefPart (same object, same fields: the subclass adds methods only)."""
    if not isinstance(ref, RefPart):
        ref.__class__ = RefPart
    return ref  # type: ignore[return-value]
