"""Lattice elements with ImpactX's names and parameters (see beamtrack.spec.elements for units)."""

from .base import Element
from .drifts_quads import Drift, Quad
from .python_side import BeamMonitor, LinearMap, Marker, Programmable

BUILTIN_ELEMENTS: list[type[Element]] = [Drift, Quad, LinearMap, BeamMonitor, Marker, Programmable]

__all__ = ["BUILTIN_ELEMENTS", "BeamMonitor", "Drift", "Element", "LinearMap", "Marker", "Programmable", "Quad"]
