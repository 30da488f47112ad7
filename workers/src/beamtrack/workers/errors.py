"""The service's error hierarchy, defined once in the job contract (``beamtrack.spec.contract``)
with the HTTP status and gRPC status code of each class; re-exported here for the workers."""

from __future__ import annotations

from beamtrack.spec.contract import (
    Conflict,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "Conflict",
    "InvalidArgument",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "ResourceExhausted",
    "ServiceError",
    "Unauthenticated",
    "Unavailable",
]
