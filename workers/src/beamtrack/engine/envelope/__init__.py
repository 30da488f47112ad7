"""Envelope tracking (ImpactX's ``init_envelope`` / ``track_envelope``): the beam's 6x6 covariance matrix
pushed through each slice's linear map, with ImpactX's 2D and 3D envelope space charge.

    from beamtrack.engine import Simulation, distribution, elements
    sim = Simulation()
    sim.reference.set_species("electron").set_kin_energy_MeV(2e3)
    sim.init_envelope(sim.reference, distribution.Waterbag(...))
    sim.lattice.extend([elements.Drift(ds=0.25), ...])
    sim.track_envelope()          # sim.envelope.envelope: the matrix after the line
"""

from .covariance import MAP_ORDER, Envelope, EnvelopeError, create_envelope, envelope_moments
from .spacecharge import EnvelopeSpaceChargeWarning, elliptic_rd, space_charge2d_push, space_charge3d_push
from .tracking import EXPLICIT_MAPS, EnvelopeTrackingError, SliceMaps, track_envelope

__all__ = [
    "EXPLICIT_MAPS",
    "MAP_ORDER",
    "Envelope",
    "EnvelopeError",
    "EnvelopeSpaceChargeWarning",
    "EnvelopeTrackingError",
    "SliceMaps",
    "create_envelope",
    "elliptic_rd",
    "envelope_moments",
    "space_charge2d_push",
    "space_charge3d_push",
    "track_envelope",
]
