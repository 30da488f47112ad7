"""The gRPC client's errors as the job contract's classes (``beamtrack.spec.contract``).

A ``grpc.RpcError`` from the service becomes a ``GrpcApiError`` that is also an instance of the
contract's class for its status (the contract's codes are the gRPC status names), so
``except NotFound`` catches it from either client; it stays a ``grpc.RpcError`` whose ``code()``
and ``details()`` are grpc's (a ``grpc.StatusCode`` and the message). ``message`` is the message,
``status`` the StatusCode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from beamtrack.spec.contract import ServiceError, error_class


class GrpcApiError(grpc.RpcError):  # type: ignore[misc]  # grpcio ships no type stubs
    """An error answer of the service over gRPC (see the module docstring)."""

    def __init__(self, rpc: grpc.RpcError):
        self._rpc = rpc
        self.status: grpc.StatusCode = rpc.code()
        self.message: str = rpc.details() or ""
        # not ServiceError.__init__: its ``details`` list would hide grpc's details() method
        Exception.__init__(self, f"{self.status.name}: {self.message}")

    def code(self) -> grpc.StatusCode:
        return self.status

    def details(self) -> str:
        return self.message


_CLASSES: dict[type[ServiceError], type[GrpcApiError]] = {}


def grpc_error(rpc: grpc.RpcError) -> GrpcApiError:
    """The GrpcApiError of ``rpc``, of the contract's class for its status code."""
    if isinstance(rpc, GrpcApiError):
        return rpc
    code = rpc.code() if callable(getattr(rpc, "code", None)) else None
    kind = error_class(code.name if isinstance(code, grpc.StatusCode) else "INTERNAL")
    cls = _CLASSES.get(kind)
    if cls is None:
        cls = _CLASSES[kind] = type(kind.__name__ + "GrpcError", (GrpcApiError, kind), {})
    return cls(rpc)


class TypedErrorStub:
    """A gRPC stub whose calls raise ``grpc_error(...)`` for the RpcError of a unary call (the
    errors of a stream come while iterating it: the caller converts those)."""

    def __init__(self, stub: Any):
        self._stub = stub

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except grpc.RpcError as exc:
                raise grpc_error(exc) from None

        return call
