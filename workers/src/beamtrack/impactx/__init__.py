"""ImpactX 26.10's Python API over the beamtrack engine: port a script by renaming its imports.

    from beamtrack.impactx import ImpactX, distribution, elements   # was: from impactx import ...
    import beamtrack.impactx.amrex as amr                           # was: import amrex.space3d as amr

Names mean what ImpactX's documentation says (``add_particles(bunch_charge, distr, npart, spin_distr)``,
``qm`` in 1/eV, ``sim.tracking_element`` the element); physics runs in ``beamtrack.engine``. What
ImpactX offers and beamtrack does not implement raises ``NotImplementedError`` naming it.
"""

from . import amrex, distribution, elements, wakeconvolution
from .amrex import SmallMatrix_3x1_F_SI1_double as Vector3
from .amrex import SmallMatrix_3x6_F_SI1_double as Map3x6
from .amrex import SmallMatrix_6x6_F_SI1_double as Map6x6
from .envelope import Envelope, create_envelope
from .helpers import Config, fourier_coefficients, push, twiss
from .lattice import FilteredElementsList
from .madx import load_reference as read_beam
from .refpart import RefPart
from .simulation import ImpactX, ImpactXParticleContainer
from .transformation import CoordSystem, coordinate_transformation

amr = amrex
__version__ = "26.10"

__all__ = [
    "Config",
    "CoordSystem",
    "Envelope",
    "FilteredElementsList",
    "ImpactX",
    "ImpactXParticleContainer",
    "Map3x6",
    "Map6x6",
    "RefPart",
    "Vector3",
    "amr",
    "amrex",
    "coordinate_transformation",
    "create_envelope",
    "distribution",
    "elements",
    "fourier_coefficients",
    "push",
    "read_beam",
    "twiss",
    "wakeconvolution",
]
