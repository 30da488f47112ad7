"""UserKick: a thin transverse kick px += kx, py += ky (kx, ky dimensionless, like ImpactX's Kicker
with unit="dimensionless"), pushed by the plugin's own C header ``bt_userkick/c/userkick.h``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from beamtrack.engine.elements.base import Element
from beamtrack.engine.kernels.codegen import KernelClass
from beamtrack.spec.elements import ThinElement


class UserKickModel(ThinElement):
    """kx, ky: kicks added to px and py [1]."""

    type: Literal["UserKick"] = "UserKick"
    kx: float = 0.0
    ky: float = 0.0


class UserKick(Element):
    """Thin kick kx, ky [1] on px, py."""

    model_cls = UserKickModel
    kernel = KernelClass("UserKick", "bt_userkick/c/userkick.h")
    positional = ("kx", "ky")

    def params(self) -> Sequence[float]:
        return (self.kx, self.ky)


__all__ = ["UserKick", "UserKickModel"]
