"""ImpactX's ``Envelope`` and ``create_envelope`` (top-level names of ``impactx``) over the engine's envelope.

``Envelope.envelope`` is an ``amrex.SmallMatrix_6x6_F_SI1_double`` (1-based, ``to_numpy()``) as in ImpactX;
setting it accepts one or any 6x6 array. Physics: ``beamtrack.engine.envelope``.
"""

from __future__ import annotations

from typing import Any

from beamtrack.engine import envelope as _engine

from .amrex import SmallMatrix_6x6_F_SI1_double


class Envelope(_engine.Envelope):
    """The beam envelope: 6x6 covariance matrix (map order x, px, y, py, t, pt) and beam intensity
    (bunch charge [C] for 3D, beam current [A] for 2D space charge)."""

    @property  # type: ignore[override]
    def envelope(self) -> SmallMatrix_6x6_F_SI1_double:
        return SmallMatrix_6x6_F_SI1_double(self.cm)

    @envelope.setter
    def envelope(self, cm: Any) -> None:
        self.set_covariance_matrix(cm)

    def covariance_matrix(self) -> SmallMatrix_6x6_F_SI1_double:  # type: ignore[override]
        return SmallMatrix_6x6_F_SI1_double(self.cm)


def create_envelope(distr: Any, intensity: float | None = None) -> Envelope:
    """ImpactX's ``create_envelope(distr, intensity)``: the covariance matrix of a lambda/mu distribution."""
    env = _engine.create_envelope(distr, intensity)
    return Envelope(env.cm, env.beam_intensity)
