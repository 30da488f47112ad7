"""beamtrack.workers: the job store (every Redis key), the Ray job runner, the Redis launcher,
the hook sandbox.

Needs the ``service`` extra (ray, redis). The engine never imports this package. Names are
imported lazily: the hook sandbox's host process imports ``beamtrack.workers.sandbox`` and must
not load redis (or anything else it does not need) before it locks itself in.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Conflict": "errors",
    "InvalidArgument": "errors",
    "NotFound": "errors",
    "ServiceError": "errors",
    "Unauthenticated": "errors",
    "Unavailable": "errors",
    "DEVICES": "store",
    "PRIORITY_MAX": "store",
    "PRIORITY_MIN": "store",
    "JobRecord": "store",
    "JobState": "store",
    "JobStore": "store",
    "StreamEvent": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'beamtrack.workers' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
