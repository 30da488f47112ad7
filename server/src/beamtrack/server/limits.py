"""Request-size limits shared by both front doors."""

from __future__ import annotations

from beamtrack.workers.errors import PayloadTooLarge
from beamtrack.workers.sandbox import MAX_HOOK_MODULE_BYTES

#: Room in a request for what is not the spec or the hook module (JSON keys, priority, device).
ENVELOPE_BYTES = 16 * 1024


def request_limit(max_spec_bytes: int) -> int:
    """Largest request body (REST) or message (gRPC) accepted: the spec, a hook module of the
    largest accepted size (JSON-escaped, up to twice its bytes) and the envelope."""
    return max_spec_bytes + 2 * MAX_HOOK_MODULE_BYTES + ENVELOPE_BYTES


def check_spec_size(size: int, max_spec_bytes: int) -> None:
    """PayloadTooLarge naming ``spec`` when the spec's JSON text is over the limit."""
    if size > max_spec_bytes:
        msg = f"{size} bytes of JSON; at most {max_spec_bytes} are accepted (BEAMTRACK_MAX_SPEC_BYTES)"
        raise PayloadTooLarge(f"spec: {msg}", details=[{"loc": "spec", "msg": msg}])


def body_too_large(size: int, limit: int) -> PayloadTooLarge:
    msg = f"request of {size} bytes or more; at most {limit} are accepted"
    return PayloadTooLarge(f"body: {msg}", details=[{"loc": "body", "msg": msg}])
