"""Beam diagnostics in ImpactX's formats: reduced beam characteristics, ASCII tables, openPMD monitors.

- ``reduced_beam_characteristics(pc, ref)``: weighted moments, emittances, Twiss, dispersion, charge
  of the alive particles, keyed by ImpactX's current column names (mean_x, sigma_x, ...).
- ``ReducedDiagnosticsWriter`` / ``RefParticleWriter``: ``reduced_beam_characteristics.0`` and
  ``ref_particle.0`` (and their ``_final``) as ImpactX 26.10 writes them; the file names as constants.
- ``BeamMonitorWriter``: one openPMD series per BeamMonitor name, ImpactX's layout.
"""

from .ascii import (
    LEGACY_SUFFIX,
    REDUCED_FILE,
    REDUCED_FINAL_FILE,
    REF_PARTICLE_COLUMNS,
    REF_PARTICLE_FILE,
    REF_PARTICLE_FINAL_FILE,
    SUFFIX,
    ReducedDiagnosticsWriter,
    RefParticleWriter,
    diag_file,
    row_period,
    write_diagnostics_row,
)
from .openpmd import BACKENDS, BeamMonitorWarning, BeamMonitorWriter, resolve_backend
from .reduced import DEPRECATED_ALIASES, REDUCED_COLUMNS, reduced_beam_characteristics

__all__ = [
    "BACKENDS",
    "DEPRECATED_ALIASES",
    "LEGACY_SUFFIX",
    "REDUCED_COLUMNS",
    "REDUCED_FILE",
    "REDUCED_FINAL_FILE",
    "REF_PARTICLE_COLUMNS",
    "REF_PARTICLE_FILE",
    "REF_PARTICLE_FINAL_FILE",
    "SUFFIX",
    "BeamMonitorWarning",
    "BeamMonitorWriter",
    "ReducedDiagnosticsWriter",
    "RefParticleWriter",
    "diag_file",
    "reduced_beam_characteristics",
    "resolve_backend",
    "row_period",
    "write_diagnostics_row",
]
