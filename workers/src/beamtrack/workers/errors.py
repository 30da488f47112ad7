"""The service's one error hierarchy; the server maps each class once to HTTP and gRPC codes."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a client may see; ``code`` is the stable machine-readable name."""

    code = "INTERNAL"

    def __init__(self, message: str, *, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidArgument(ServiceError):
    """Bad input; ``details`` lists ``{"loc": field path, "msg": reason}`` (HTTP 422)."""

    code = "INVALID_ARGUMENT"


class Unauthenticated(ServiceError):
    """Missing or unknown bearer token (HTTP 401)."""

    code = "UNAUTHENTICATED"


class NotFound(ServiceError):
    """No such job, or not one the caller may see (HTTP 404)."""

    code = "NOT_FOUND"


class Conflict(ServiceError):
    """The job's state does not allow the operation, e.g. cancelling a finished job (HTTP 409)."""

    code = "FAILED_PRECONDITION"


class Unavailable(ServiceError):
    """A backing service (Redis, Ray) cannot be reached (HTTP 503)."""

    code = "UNAVAILABLE"


class PayloadTooLarge(InvalidArgument):
    """A request (or a field of it, e.g. the spec) over its configured size limit (HTTP 413;
    gRPC INVALID_ARGUMENT, as for any invalid input)."""


class ResourceExhausted(ServiceError):
    """A per-user quota is used up, e.g. the concurrent streams one user may hold (HTTP 429)."""

    code = "RESOURCE_EXHAUSTED"
