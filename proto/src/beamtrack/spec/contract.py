"""The job contract: the one definition of a job's states, its bounds, and the errors a client may
see, with the HTTP status and gRPC status code of each.

Every layer takes these from here: the job store (``beamtrack.workers.store``), the REST routes and
the gRPC servicer (``beamtrack.server``), the SDK (``beamtrack.client``, which turns an error body
back into the same class). ``proto/beamtrack/v1/jobs.proto`` mirrors the state enum; a test checks
the two agree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field


class JobState(StrEnum):
    """Job lifecycle: queued -> running -> succeeded | failed | cancelled (running may requeue)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def is_terminal(self) -> bool:
        """True for succeeded, failed and cancelled: no transition leaves these."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


TERMINAL_STATES = frozenset(s.value for s in JobState if s.is_terminal())
#: Queue priorities a job may have (higher runs first); non-admins are capped lower by a setting.
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000
#: Devices a job may ask for: ``auto`` takes a GPU when the cluster has a free one.
DEVICES = ("auto", "serial", "openmp", "cuda")


class Progress(BaseModel):
    """How far a job is: ``step`` of ``total_steps`` (0 until the worker starts), ``fraction`` [1]."""

    step: int
    total_steps: int
    fraction: float


class JobPublic(BaseModel):
    """A job as the service shows it (REST bodies, the CLI; gRPC's ``Job`` through
    ``beamtrack.spec.v1.convert``); times are Unix seconds."""

    id: str
    owner: str
    name: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    priority: int
    device: str
    progress: Progress
    created_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    error: str | None
    cancel_requested: bool
    result: dict[str, Any] | None
    artifacts_expired: bool = Field(False, description="The retention policy removed the artifacts")
    scan_id: str | None = Field(None, description="The scan this job is a variant of")
    variant: int | None = Field(None, description="Its variant index in the scan")
    values: dict[str, Any] | None = Field(None, description="Its scan parameter values by path")
    cached_from: str | None = Field(
        None, description="Served from the result cache: the job whose results (diagnostics, artifacts) these are"
    )


class JobList(BaseModel):
    """A page of jobs, newest first."""

    items: list[JobPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")


class Artifact(BaseModel):
    """One output file of a job (``GET /v1/jobs/{id}/artifacts``)."""

    name: str = Field(description="Path under the job's output directory, e.g. diags/openPMD/monitor.h5")
    size: int = Field(description="Size [bytes]")


class TwissPublic(BaseModel):
    """``GET /v1/jobs/{id}/twiss``: the Twiss table of the job's lattice as columns and rows, and the
    scalars (tunes qx, qy [1]; chromaticities dqx, dqy w.r.t. delta [1]; momentum_compaction_factor
    [1], length [m], ...), in xtrack's names and units (``beamtrack.engine.optics.twiss``)."""

    job_id: str
    periodic: bool
    columns: list[str]
    rows: list[list[Any]] = Field(
        description="One per element boundary (or slice, with at=slice); non-finite numbers as null"
    )
    scalars: dict[str, Any]


class ServiceError(Exception):
    """Base of every error a client may see.

    ``code`` is the stable machine-readable name (the ``error.code`` of a REST body), ``http_status``
    the REST status, ``grpc_status`` the name of the ``grpc.StatusCode`` the gRPC servicer answers
    with. ``details`` lists ``{"loc": field path, "msg": reason}``.
    """

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500
    grpc_status: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidArgument(ServiceError):
    """Bad input; ``details`` names each bad field (HTTP 422, gRPC INVALID_ARGUMENT)."""

    code, http_status, grpc_status = "INVALID_ARGUMENT", 422, "INVALID_ARGUMENT"


class PayloadTooLarge(InvalidArgument):
    """A request, or a field of it such as the spec, over its size limit (HTTP 413; gRPC
    INVALID_ARGUMENT, as for any invalid input)."""

    http_status = 413


class Unauthenticated(ServiceError):
    """Missing or unknown bearer token (HTTP 401)."""

    code, http_status, grpc_status = "UNAUTHENTICATED", 401, "UNAUTHENTICATED"


class PermissionDenied(ServiceError):
    """The caller is known but may not do this, e.g. a priority above the user ceiling (HTTP 403)."""

    code, http_status, grpc_status = "PERMISSION_DENIED", 403, "PERMISSION_DENIED"


class NotFound(ServiceError):
    """No such job, or not one the caller may see (HTTP 404)."""

    code, http_status, grpc_status = "NOT_FOUND", 404, "NOT_FOUND"


class Conflict(ServiceError):
    """The job's state does not allow the operation, e.g. cancelling a finished job (HTTP 409)."""

    code, http_status, grpc_status = "FAILED_PRECONDITION", 409, "FAILED_PRECONDITION"


class ResourceExhausted(ServiceError):
    """A per-user quota is used up, e.g. the concurrent streams one user may hold (HTTP 429)."""

    code, http_status, grpc_status = "RESOURCE_EXHAUSTED", 429, "RESOURCE_EXHAUSTED"


class Unavailable(ServiceError):
    """A backing service (Redis, Ray) cannot be reached (HTTP 503)."""

    code, http_status, grpc_status = "UNAVAILABLE", 503, "UNAVAILABLE"


#: Every error class a client may see, by its code (PayloadTooLarge shares InvalidArgument's).
ERRORS: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        ServiceError,
        InvalidArgument,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        ResourceExhausted,
        Unavailable,
    )
}


def error_class(code: str) -> type[ServiceError]:
    """The error class of a code a server sent (ServiceError for a code this version lacks)."""
    return ERRORS.get(code, ServiceError)
