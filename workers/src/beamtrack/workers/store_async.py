"""AsyncStreams: the job store's stream reads for the servers' async stream path (redis.asyncio).

Key names come from the JobStore (its module docstring lists them); this module adds one key,
``P:wake:{uuid}``, a stream of at most one entry a server process writes to wake its own
blocking read (it expires an hour after the last write).

Short reads go through a bounded, blocking connection pool, so any number of open client
streams shares a few Redis connections; the wait for new entries on many job streams at once is
one ``XREAD BLOCK`` on a connection of its own (``wait``).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import redis
import redis.asyncio as aredis

from .errors import Unavailable
from .store import READ_ENTRIES, JobStore, StreamEntries, StreamEvent, XReadReply, columns_from, split_event_id

#: Seconds a control key outlives its last wake-up (a killed server leaves it behind).
WAKE_TTL_S = 3600
#: CLIENT SETNAME of every connection this module opens (visible in CLIENT LIST).
CLIENT_NAME = "beamtrack-streams"


def _unavailable(exc: redis.RedisError) -> Unavailable:
    return Unavailable(f"job store unavailable: {exc}")


class AsyncStreams:
    """Stream reads of one server process over redis.asyncio; use from one event loop."""

    def __init__(self, store: JobStore, url: str, *, max_connections: int = 16, pool_timeout_s: float = 10.0):
        self.store = store
        self.pool = aredis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=max_connections,
            timeout=pool_timeout_s,
            health_check_interval=30,
            client_name=CLIENT_NAME,
        )
        self.r = aredis.Redis(connection_pool=self.pool)
        # the blocking read: a connection of its own, never one of the pool's
        # its reads block up to a minute (the longest stream_block_ms): the socket waits longer
        self._blocking = aredis.Redis.from_url(
            url, decode_responses=True, single_connection_client=True, client_name=CLIENT_NAME, socket_timeout=75.0
        )
        self.wake_key = store._k("wake", uuid.uuid4().hex)

    async def close(self) -> None:
        try:
            await self.r.delete(self.wake_key)
        except redis.RedisError:
            pass
        await self._blocking.aclose()
        await self.r.aclose()
        await self.pool.aclose()

    async def read(self, job_id: str, after: str, *, count: int = 1000) -> list[StreamEvent]:
        """The job's events strictly after entry id ``after`` (no wait)."""
        return await self.read_stream(self.store.stream_key(job_id), after, count=count)

    async def read_stream(self, key: str, after: str, *, count: int = 1000) -> list[StreamEvent]:
        """Events of the stream ``key`` (a job's or a scan's) strictly after event id ``after``
        (an entry's or a row's inside a compact entry, as ``JobStore.read_events``; no wait)."""
        entry, row = split_event_id(after)
        out: list[StreamEvent] = []
        try:
            if row is not None:  # the rest of a compact entry first
                for entry_id, fields in cast(StreamEntries, await self.r.xrange(key, entry, entry, count=1)):
                    out += await self._events(entry_id, fields, row)
            while len(out) < count:  # as JobStore.read_events: READ_ENTRIES at a time
                res = cast(XReadReply, await self.r.xread({key: entry}, count=READ_ENTRIES))
                entries = [e for _key, es in res or [] for e in es]
                for entry_id, fields in entries:
                    out += await self._events(entry_id, fields)
                if len(entries) < READ_ENTRIES:
                    break
                entry = entries[-1][0]
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return out

    async def _events(self, entry_id: str, fields: dict[str, str], after_row: int | None = None) -> list[StreamEvent]:
        """``JobStore._events`` of one entry (a compact one's columns read from Redis once a process)."""
        if "b" in fields:
            await self._load_columns(fields.get("c", ""))
        return self.store._events(entry_id, fields, after_row)

    async def _load_columns(self, cid: str) -> None:
        """Cache the column names of compact diag rows ``cid`` in the store (``JobStore._columns``)."""
        if cid in self.store._diag_columns:
            return
        try:
            text = await self.r.get(self.store._k("diagcols", cid))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        columns = columns_from(text)
        if columns is not None:
            self.store._diag_columns[cid] = columns
        # else the row reads as {} (JobStore._events), as an undecodable JSON payload does

    async def job_fields(self, job_id: str, *names: str) -> list[str | None]:
        """Fields of the job's record (None for each when the job does not exist)."""
        try:
            values: list[Any] = await self.r.hmget(self.store.job_key(job_id), list(names))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return [None if v is None else str(v) for v in values]

    async def scan_fields(self, scan_id: str, *names: str) -> list[str | None]:
        """Fields of the scan's record (None for each when the scan does not exist)."""
        try:
            values: list[Any] = await self.r.hmget(self.store.scan_key(scan_id), list(names))
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return [None if v is None else str(v) for v in values]

    async def wake(self) -> None:
        """End the current ``wait`` of this process early (its key set changed)."""
        try:
            pipe = self.r.pipeline(transaction=False)
            pipe.xadd(self.wake_key, {"w": "1"}, maxlen=1, approximate=False)
            pipe.expire(self.wake_key, WAKE_TTL_S)
            await pipe.execute()
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc

    async def wait(self, cursors: dict[str, str], wake_cursor: str, *, block_ms: int) -> tuple[dict[str, str], str]:
        """Block until a stream in ``cursors`` (stream key -> entry id) has an entry after its
        cursor, a ``wake`` came after ``wake_cursor``, or ``block_ms`` passed. Returns
        ``({stream key: id of the stream's newest entry}, wake cursor)`` for the streams that
        moved."""
        streams: dict[Any, Any] = dict(cursors)
        streams[self.wake_key] = wake_cursor
        try:
            res = cast(XReadReply, await self._blocking.xread(streams, count=1, block=block_ms))
            moved = [key for key, _entries in res or [] if key in cursors]
            for key, entries in res or []:
                if key == self.wake_key and entries:
                    wake_cursor = entries[-1][0]
            newest: dict[str, str] = {}
            if moved:
                pipe = self._blocking.pipeline(transaction=False)
                for key in moved:
                    pipe.xrevrange(key, "+", "-", count=1)
                for key, last in zip(moved, await pipe.execute(), strict=True):
                    if last:
                        newest[key] = last[0][0]
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        return newest, wake_cursor
