"""The thin Aperture (collimator) element (ImpactX's Aperture)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from beamtrack.spec import elements as spec

from ..kernels.codegen import KernelClass
from .base import Element, header, spin_header


class Aperture(Element):
    """Thin aperture: particles outside (action="transmit") or inside (action="absorb") the
    rectangular or elliptical shape of half-axes aperture_x, aperture_y [m], optionally repeated with
    periods repeat_x, repeat_y [m] (every odd row shifted by repeat_x / 2 with shift_odd_x), are lost;
    the loss is recorded (state, s_lost), not dropped."""

    model_cls = spec.Aperture
    kernel = KernelClass(
        "Aperture",
        header("aperture.h"),
        can_lose=True,
        spin_header=spin_header("field_free.h"),
        params=("aperture_x", "aperture_y", "repeat_x", "repeat_y", "shape", "action", "shift_odd_x"),
    )
    positional = ("aperture_x", "aperture_y")

    def params(self) -> Sequence[float]:
        return (
            self.aperture_x,
            self.aperture_y,
            self.repeat_x,
            self.repeat_y,
            0.0 if self.shape == "rectangular" else 1.0,
            0.0 if self.action == "transmit" else 1.0,
            1.0 if self.shift_odd_x else 0.0,
        )


class PolygonAperture(Element):
    """Thin collimator bounded by a polygon (ImpactX's PolygonAperture): vertices_x, vertices_y [m]
    (closed: the first vertex repeated last), min_radius2 [m^2] (inside without the polygon test),
    repeat_x, repeat_y [m], shift_odd_x, action transmit/absorb; losses are recorded, not dropped."""

    model_cls = spec.PolygonAperture
    kernel = KernelClass(
        "PolygonAperture",
        header("polygonaperture.h"),
        can_lose=True,
        spin_header=spin_header("field_free.h"),
        params=("min_radius2", "repeat_x", "repeat_y", "shift_odd_x", "action"),
    )
    positional = ("vertices_x", "vertices_y", "min_radius2", "repeat_x", "repeat_y", "shift_odd_x", "action")

    def params(self) -> Sequence[float]:
        return (
            self.min_radius2,
            self.repeat_x,
            self.repeat_y,
            1.0 if self.shift_odd_x else 0.0,
            0.0 if self.action == "transmit" else 1.0,
        )

    def aux_data(self) -> np.ndarray:
        """The vertices' x then their y [m] (the kernel reads aux_len / 2 of each)."""
        return np.concatenate(
            [np.asarray(self.vertices_x, dtype=np.float64), np.asarray(self.vertices_y, dtype=np.float64)]
        )
