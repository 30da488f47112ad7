"""beamtrack.spec: the one source of truth for the job spec (JSON <-> Pydantic)."""

from __future__ import annotations

from typing import Any

from . import distributions, elements
from .errors import SpecError, parse_model
from .job import SPECIES, Beam, Diagnostics, JobSpec, Lattice, ParticleBoundary, Radiation, Reference, SpaceCharge
from .scan import Range, ScanSpec, expand, parse_scan

__all__ = [
    "SPECIES",
    "Beam",
    "Diagnostics",
    "JobSpec",
    "Lattice",
    "ParticleBoundary",
    "Radiation",
    "Range",
    "Reference",
    "ScanSpec",
    "SpaceCharge",
    "SpecError",
    "distributions",
    "elements",
    "expand",
    "load_spec",
    "parse_model",
    "parse_scan",
]


def load_spec(data: Any) -> JobSpec:
    """Validate a JobSpec from a dict or JSON text; raise SpecError naming each bad field."""
    return parse_model(JobSpec, data)
