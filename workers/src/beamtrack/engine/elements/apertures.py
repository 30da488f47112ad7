"""The thin Aperture (collimator) element (ImpactX's Aperture)."""

from __future__ import annotations

from collections.abc import Sequence

from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from .base import Element, header, spin_header


class Aperture(Element):
    """Thin aperture: particles outside (action="transmit") or inside (action="absorb") the
    rectangular or elliptical shape of half-axes aperture_x, aperture_y [m], optionally repeated with
    periods repeat_x, repeat_y [m], are lost; the loss is recorded (state, s_lost), not dropped."""

    model_cls = spec.Aperture
    kernel = KernelClass("Aperture", header("aperture.h"), can_lose=True,
                         spin_header=spin_header("field_free.h"))
    positional = ("aperture_x", "aperture_y")

    def params(self) -> Sequence[float]:
        return (
            self.aperture_x, self.aperture_y, self.repeat_x, self.repeat_y,
            0.0 if self.shape == "rectangular" else 1.0,
            0.0 if self.action == "transmit" else 1.0,
        )
