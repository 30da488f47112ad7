"""Beam diagnostics in ImpactX's formats: reduced beam characteristics, ASCII tables, openPMD monitors.

- ``reduced_beam_characteristics(pc, ref)``: weighted moments, emittances, Twiss, dispersion, charge
  of the alive particles, keyed by ImpactX's current column names (mean_x, sigma_x, ...).
- ``ReducedDiagnosticsWriter`` / ``RefParticleWriter``: ``reduced_beam_characteristics.0.0`` and
  ``ref_particle.0.0`` as ImpactX writes them.
- ``BeamMonitorWriter``: one openPMD series per BeamMonitor name, ImpactX's layout.
"""

from .ascii import REF_PARTICLE_COLUMNS, ReducedDiagnosticsWriter, RefParticleWriter
from .openpmd import BACKENDS, BeamMonitorWarning, BeamMonitorWriter, resolve_backend
from .reduced import DEPRECATED_ALIASES, REDUCED_COLUMNS, reduced_beam_characteristics

__all__ = [
    "BACKENDS",
    "DEPRECATED_ALIASES",
    "REDUCED_COLUMNS",
    "REF_PARTICLE_COLUMNS",
    "BeamMonitorWarning",
    "BeamMonitorWriter",
    "ReducedDiagnosticsWriter",
    "RefParticleWriter",
    "reduced_beam_characteristics",
    "resolve_backend",
]
