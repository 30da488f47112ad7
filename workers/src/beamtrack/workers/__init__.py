"""beamtrack.workers: the job store (every Redis key), the Ray job runner, the Redis launcher.

Needs the ``service`` extra (ray, redis). The engine never imports this package.
"""

from __future__ import annotations

from .errors import Conflict, InvalidArgument, NotFound, ServiceError, Unauthenticated, Unavailable
from .store import DEVICES, PRIORITY_MAX, PRIORITY_MIN, JobRecord, JobState, JobStore, StreamEvent

__all__ = [
    "DEVICES", "PRIORITY_MAX", "PRIORITY_MIN", "Conflict", "InvalidArgument", "JobRecord",
    "JobState", "JobStore", "NotFound", "ServiceError", "StreamEvent", "Unauthenticated",
    "Unavailable",
]
