"""beamtrack.server: settings, JobService, REST (FastAPI) and gRPC front doors, scheduler."""

from __future__ import annotations

from .service import JobService, Principal
from .settings import ApiToken, Settings, hash_token

__all__ = ["ApiToken", "JobService", "Principal", "Settings", "hash_token"]
