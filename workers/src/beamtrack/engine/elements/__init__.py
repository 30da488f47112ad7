"""Lattice elements with ImpactX's names and parameters (see beamtrack.spec.elements for units)."""

from .accel_lenses import ChrAcc, ChrPlasmaLens, Empty, ExactCFbend, ExactMultipole, ExactQuad, QuadEdge, TaperedPL
from .apertures import Aperture, PolygonAperture
from .base import Element
from .bends import CFbend, DipEdge, ExactSbend, PRot, Sbend, ThinDipole
from .chromatic import ChrDrift, ChrQuad
from .drifts_quads import Drift, ExactDrift, Quad
from .fieldmaps import SoftQuadrupole, SoftSolenoid
from .focusing import ConstF, Sol
from .linear_map import LinearMap
from .python_pushed import BeamMonitor, Marker, Programmable
from .rf import Buncher, RFCavity, ShortRF
from .source import Source
from .thin import Kicker, Multipole, NonlinearLens, PlaneXYRot, SpinMap

BUILTIN_ELEMENTS: list[type[Element]] = [Drift, Quad, LinearMap, BeamMonitor, Marker, Programmable]
BUILTIN_ELEMENTS += [ChrDrift, ExactDrift, ChrQuad, Sbend, ExactSbend, CFbend, DipEdge, ThinDipole, PRot]
BUILTIN_ELEMENTS += [
    Multipole,
    NonlinearLens,
    Kicker,
    PlaneXYRot,
    ConstF,
    Sol,
    SoftSolenoid,
    SoftQuadrupole,
    RFCavity,
    ShortRF,
    Buncher,
    Aperture,
]
BUILTIN_ELEMENTS += [SpinMap]
BUILTIN_ELEMENTS += [Empty, ChrAcc, ChrPlasmaLens, TaperedPL, QuadEdge, PolygonAperture, Source, ExactQuad]
BUILTIN_ELEMENTS += [ExactMultipole, ExactCFbend]

__all__ = [
    "Aperture",
    "Buncher",
    "ConstF",
    "Kicker",
    "Multipole",
    "NonlinearLens",
    "PlaneXYRot",
    "RFCavity",
    "ShortRF",
    "SoftQuadrupole",
    "SoftSolenoid",
    "Sol",
]
__all__ += ["BUILTIN_ELEMENTS", "BeamMonitor", "Drift", "Element", "LinearMap", "Marker", "Programmable", "Quad"]
__all__ += ["CFbend", "ChrDrift", "ChrQuad", "DipEdge", "ExactDrift", "ExactSbend", "PRot", "Sbend", "ThinDipole"]
__all__ += ["SpinMap"]
__all__ += [
    "ChrAcc",
    "ChrPlasmaLens",
    "Empty",
    "ExactCFbend",
    "ExactMultipole",
    "ExactQuad",
    "PolygonAperture",
    "QuadEdge",
    "Source",
    "TaperedPL",
]
