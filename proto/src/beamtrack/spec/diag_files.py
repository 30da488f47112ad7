"""The names of ImpactX 26.10's ASCII diagnostics files under ``diags/``, shared by the engine that writes
them and the readers (plots, the service, tests) that may not import the engine.

``<name><SUFFIX>``: ``reduced_beam_characteristics.0`` (header ``step period s mean_x ... charge_C``) and
``ref_particle.0`` (``step s beta gamma ...``), and their ``_final`` files; ``.0`` is the MPI rank.
``beamtrack.engine.diagnostics.ascii`` writes them (its docstring says which rows go where).
"""

from __future__ import annotations

from pathlib import Path

REDUCED_FILE = "reduced_beam_characteristics"
REDUCED_FINAL_FILE = "reduced_beam_characteristics_final"
REF_PARTICLE_FILE = "ref_particle"
REF_PARTICLE_FINAL_FILE = "ref_particle_final"
#: ImpactX 26.10's suffix: the rank of the (only) writing process.
SUFFIX = ".0"
#: The suffix beamtrack wrote before it matched ImpactX 26.10; readers accept it too.
LEGACY_SUFFIX = ".0.0"


def diag_file(diag_dir: str | Path, name: str = REDUCED_FILE) -> Path:
    """The file ``name`` in ``diag_dir``: ``<name>.0`` (ImpactX 26.10), else an older ``<name>.0.0`` when only
    that one exists (the ``.0`` path when neither does)."""
    d = Path(diag_dir)
    new, old = d / f"{name}{SUFFIX}", d / f"{name}{LEGACY_SUFFIX}"
    return old if not new.exists() and old.exists() else new
