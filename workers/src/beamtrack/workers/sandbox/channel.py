"""The channel between a worker and its hook sandbox: one connected AF_UNIX stream socket pair,
messages framed as a 4-byte big-endian length and a JSON object. JSON, never pickle: the worker
reads what untrusted code wrote, so nothing it reads may run code or build arbitrary objects."""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from typing import Any

#: Largest message either side accepts [bytes]; a longer length prefix is a protocol violation.
MAX_MESSAGE = 1 << 20
_LEN = struct.Struct(">I")


class ChannelClosed(EOFError):
    """The other side closed the socket (or died)."""


class ChannelTimeout(TimeoutError):
    """No complete message before the deadline."""


class ProtocolError(ValueError):
    """The other side sent something that is not a message of this protocol."""


def send_msg(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one message; ``fds`` travel with it as SCM_RIGHTS (the memfd of the particle block)."""
    data = json.dumps(msg, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    frame = _LEN.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [frame], fds)
        frame = frame[sent:]
    if frame:
        sock.sendall(frame)


class Receiver:
    """Reads messages from ``sock`` with one buffer, so a message usually costs one recvmsg."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.fds: list[int] = []

    def _fill(self, need: int, deadline: float | None) -> None:
        while len(self.buf) < need:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    raise ChannelTimeout("no reply before the deadline")
            chunk, fds, _flags, _addr = socket.recv_fds(self.sock, max(65536, need - len(self.buf)), 4)
            self.fds.extend(fds)
            if not chunk:
                raise ChannelClosed("channel closed")
            self.buf += chunk

    def recv(self, deadline: float | None = None) -> tuple[dict[str, Any], list[int]]:
        """One message and the file descriptors that came with it; ``deadline`` is a
        ``time.monotonic()`` value (None waits for ever)."""
        self._fill(_LEN.size, deadline)
        (n,) = _LEN.unpack_from(self.buf)
        if n > MAX_MESSAGE:
            raise ProtocolError(f"message length {n} exceeds {MAX_MESSAGE}")
        self._fill(_LEN.size + n, deadline)
        raw = bytes(self.buf[_LEN.size:_LEN.size + n])
        del self.buf[:_LEN.size + n]
        fds, self.fds = self.fds, []
        try:
            msg = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(f"not JSON: {exc}") from None
        if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
            raise ProtocolError("a message must be a JSON object with an 'op' string")
        return msg, fds
