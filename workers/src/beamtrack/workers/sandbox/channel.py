"""The channel between a worker and its hook sandbox: one connected AF_UNIX stream socket pair,
messages framed as a 4-byte big-endian length and a JSON object. JSON, never pickle: the worker
reads what untrusted code wrote, so nothing it reads may run code or build arbitrary objects.

Only the worker sends file descriptors (the memfds of the particle block). The worker reads with
plain ``recv`` (no ancillary data), so descriptors the sandbox tries to pass are discarded by the
kernel before they reach the worker (and the sandbox's seccomp filter refuses ``sendmsg``)."""

from __future__ import annotations

import json
import select
import socket
import struct
import time
import unicodedata
from typing import Any

#: Largest message either side accepts [bytes]; a longer length prefix is a protocol violation.
MAX_MESSAGE = 1 << 20
#: Most file descriptors one message may carry to the sandbox.
MAX_FDS = 4
_LEN = struct.Struct(">I")


class ChannelClosed(EOFError):
    """The other side closed the socket (or died)."""


class ChannelTimeout(TimeoutError):
    """No complete message before the deadline."""


class ProtocolError(ValueError):
    """The other side sent something that is not a message of this protocol."""


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"{name} is not a JSON number")


def send_msg(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one message; ``fds`` travel with it as SCM_RIGHTS (the memfds of the particle block)."""
    data = json.dumps(msg, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    frame = _LEN.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [frame], fds)
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


class Receiver:
    """Reads messages from ``sock`` with one buffer, so a message usually costs one recv.

    ``accept_fds`` (the sandbox's side only): collect descriptors passed with the data. Without
    it (the worker's side) the socket is read with ``recv``, which makes the kernel close any
    descriptor the other side sent."""

    def __init__(self, sock: socket.socket, *, accept_fds: bool = False):
        self.sock = sock
        self.accept_fds = accept_fds
        self.buf = bytearray()
        self.fds: list[int] = []

    def _fill(self, need: int, deadline: float | None) -> None:
        while len(self.buf) < need:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    raise ChannelTimeout("no reply before the deadline")
            size = max(65536, need - len(self.buf))
            if self.accept_fds:
                chunk, fds, _flags, _addr = socket.recv_fds(self.sock, size, MAX_FDS)
                self.fds.extend(fds)
            else:
                chunk = self.sock.recv(size)
            if not chunk:
                raise ChannelClosed("channel closed")
            self.buf += chunk

    def recv(self, deadline: float | None = None) -> tuple[dict[str, Any], list[int]]:
        """One message and the file descriptors that came with it; ``deadline`` is a
        ``time.monotonic()`` value (None waits for ever)."""
        self._fill(_LEN.size, deadline)
        (n,) = _LEN.unpack_from(self.buf)
        if n > MAX_MESSAGE:
            raise ProtocolError(f"message length {n} exceeds {MAX_MESSAGE} bytes")
        self._fill(_LEN.size + n, deadline)
        raw = bytes(self.buf[_LEN.size : _LEN.size + n])
        del self.buf[: _LEN.size + n]
        fds, self.fds = self.fds, []
        try:
            msg = json.loads(raw, parse_constant=_no_constant)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(f"not JSON: {exc}") from None
        except RecursionError:
            raise ProtocolError("JSON nested too deeply") from None
        except ValueError as exc:  # ProtocolError from parse_constant, over-long integers
            raise ProtocolError(f"not a valid message: {exc}") from None
        if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
            raise ProtocolError("a message must be a JSON object with an 'op' string")
        return msg, fds


def clean_text(value: Any, limit: int) -> str:
    """``value`` as text that is safe to put in a job's error or log: control characters other
    than newline and tab (terminal escapes, carriage returns, C1 codes), format characters (bidi
    overrides) and lone surrogates are dropped, and at most ``limit`` characters are kept."""
    text = value if isinstance(value, str) else repr(value)
    out = "".join(c for c in text if c in "\n\t" or (unicodedata.category(c) not in ("Cc", "Cf", "Cs")))
    if len(out) > limit:
        out = out[:limit] + f"... ({len(out) - limit} more characters)"
    return out
