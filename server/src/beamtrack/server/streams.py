"""The live event streams of both front doors (SSE and gRPC) on one event loop.

An open stream holds neither a thread nor a Redis connection while it waits: the ``StreamHub``
keeps one blocking ``XREAD`` (on a connection of its own) over every stream someone follows (a
job's, or a scan's), and wakes that stream's subscribers when it moves; each subscriber then
reads its own range (from its own cursor, so resuming stays exact) through a small shared pool.
Each user may hold ``max_per_user`` streams at once, jobs' and scans' together
(ResourceExhausted beyond).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from beamtrack.spec.contract import TERMINAL_STATES
from beamtrack.workers.errors import InvalidArgument, NotFound, ResourceExhausted, ServiceError
from beamtrack.workers.store import StreamEvent, split_event_id
from beamtrack.workers.store_async import AsyncStreams

from .service import Principal, _valid_stream_id

log = logging.getLogger("beamtrack.server.streams")
#: Seconds between checks that an idle followed job (or scan) still exists and is not finished
#: (its result event ends a stream; this catches one removed while followed).
RECHECK_S = 10.0
#: Pause after a failed blocking read before the next try [s].
RETRY_S = 0.5


def _key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _entry(cursor: str) -> str:
    """The stream entry a subscriber's cursor is in (a row's inside a compact entry: that entry,
    whose rest the subscriber read before it waits)."""
    return split_event_id(cursor)[0]


@dataclass
class _Watch:
    """One followed stream: the newest entry id the hub knows of and who waits for more."""

    cursor: str | None = None
    refs: int = 0
    waiters: set[asyncio.Event] = field(default_factory=set)


#: Where a followed stream stands: ``live`` (more may come), ``ended`` (its result event is
#: written), ``gone`` (its job or scan does not exist).
Status = Callable[[], Awaitable[str]]


def _bad_cursor() -> InvalidArgument:
    return InvalidArgument(
        "after: not an event id returned by this API", details=[{"loc": "after", "msg": "invalid event id"}]
    )


class StreamHub:
    """Fan-out of job and scan streams to subscribers (see the module docstring). ``start`` and every
    other method run on the one event loop that serves the streams."""

    def __init__(self, streams: AsyncStreams, *, block_ms: int, max_per_user: int):
        self.streams = streams
        self.block_ms = block_ms
        self.max_per_user = max_per_user
        self.per_user: dict[str, int] = {}
        self._watch: dict[str, _Watch] = {}
        self._changed = asyncio.Event()
        self._blocked = False
        self._wake_sent = False
        self._wake_cursor = "0-0"
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> int:
        """Streams open now, all users."""
        return sum(self.per_user.values())

    def clients(self) -> float:
        """Streams open now (for /metrics, read from another thread: a snapshot of the counts)."""
        return float(sum(list(self.per_user.values())))

    @property
    def followed_jobs(self) -> int:
        """Streams followed now (jobs' and scans')."""
        return len(self._watch)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="stream-hub")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for w in self._watch.values():
            for ev in w.waiters:
                ev.set()
        await self.streams.close()

    # -- subscriptions -----------------------------------------------------------------------
    async def open(self, who: Principal, job_id: str, after: str | None) -> Subscription:
        """A subscription to the job's events after ``after`` (from the start when None).

        The same visibility as JobService.get (NotFound for an unknown or another user's job),
        InvalidArgument for a malformed cursor, ResourceExhausted past the per-user limit."""
        if not job_id or len(job_id) > 64 or not job_id.isalnum():
            raise NotFound(f"job {job_id!r} not found")
        cursor = after or "0-0"
        if not _valid_stream_id(cursor):
            raise _bad_cursor()
        (owner,) = await self.streams.job_fields(job_id, "owner")
        if owner is None or (not who.admin and owner != who.user):
            raise NotFound(f"job {job_id} not found")

        async def status() -> str:
            (state,) = await self.streams.job_fields(job_id, "state")
            if state is None:
                return "gone"
            return "ended" if state in TERMINAL_STATES else "live"

        return self._admit(who, self.streams.store.stream_key(job_id), cursor, status)

    async def open_scan(self, who: Principal, scan_id: str, after: str | None) -> Subscription:
        """A subscription to the scan's events after ``after`` (``state``, ``variant``, then
        ``result`` once every variant ended); the same refusals as ``open``, with the
        visibility of JobService.get_scan."""
        if not scan_id or len(scan_id) > 64 or not scan_id.isalnum():
            raise NotFound(f"scan {scan_id!r} not found")
        cursor = after or "0-0"
        if not _valid_stream_id(cursor):
            raise _bad_cursor()
        (owner,) = await self.streams.scan_fields(scan_id, "owner")
        if owner is None or (not who.admin and owner != who.user):
            raise NotFound(f"scan {scan_id} not found")

        async def status() -> str:
            ended, n = await self.streams.scan_fields(scan_id, "ended", "n")
            if n is None:
                return "gone"
            if ended is None:  # a scan stored before scans counted their ended variants
                done = await asyncio.to_thread(self.streams.store.scan_ended, scan_id)
            else:
                done = int(ended) >= int(n)
            return "ended" if done else "live"

        return self._admit(who, self.streams.store.scan_stream_key(scan_id), cursor, status)

    def _admit(self, who: Principal, key: str, cursor: str, status: Status) -> Subscription:
        """Take one of the user's stream slots (ResourceExhausted when none is left) and follow
        the stream ``key``."""
        held = self.per_user.get(who.user, 0)
        if held >= self.max_per_user:
            msg = f"{held} streams open; at most {self.max_per_user} per user (BEAMTRACK_MAX_STREAMS_PER_USER)"
            raise ResourceExhausted(f"streams: {msg}", details=[{"loc": "streams", "msg": msg}])
        self.per_user[who.user] = held + 1
        self._watch.setdefault(key, _Watch()).refs += 1
        return Subscription(self, who.user, key, cursor, status)

    def _release(self, user: str, key: str) -> None:
        n = self.per_user.get(user, 0) - 1
        if n > 0:
            self.per_user[user] = n
        else:
            self.per_user.pop(user, None)
        w = self._watch.get(key)
        if w is not None:
            w.refs -= 1
            if w.refs <= 0:
                del self._watch[key]

    async def _wait(self, key: str, cursor: str, timeout: float) -> bool:
        """True once the stream ``key`` may hold entries after ``cursor``; False after
        ``timeout`` seconds without news."""
        w = self._watch[key]
        cursor = _entry(cursor)
        if w.cursor is not None and _key(w.cursor) > _key(cursor):
            return True
        if w.cursor is None or _key(cursor) > _key(w.cursor):
            new = w.cursor is None
            w.cursor = cursor
            if new:
                self._kick()
        ev = asyncio.Event()
        w.waiters.add(ev)
        try:
            async with asyncio.timeout(timeout):
                await ev.wait()
            return True
        except TimeoutError:
            return False
        finally:
            w.waiters.discard(ev)

    def _kick(self) -> None:
        """The set of followed streams grew: make the blocking read start over with it."""
        self._changed.set()
        if self._blocked and not self._wake_sent:
            self._wake_sent = True
            asyncio.get_running_loop().create_task(self._send_wake())

    async def _send_wake(self) -> None:
        try:
            await self.streams.wake()
        except ServiceError as exc:
            log.warning("stream hub: %s", exc.message)

    async def _run(self) -> None:
        while True:
            cursors = {j: w.cursor for j, w in self._watch.items() if w.cursor is not None}
            if not cursors:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._changed.clear()
            self._blocked, self._wake_sent = True, False
            try:
                newest, self._wake_cursor = await self.streams.wait(cursors, self._wake_cursor, block_ms=self.block_ms)
            except ServiceError as exc:
                log.warning("stream hub: %s", exc.message)
                # subscribers re-read on their own (and see the outage) while this retries
                for w in self._watch.values():
                    for ev in w.waiters:
                        ev.set()
                await asyncio.sleep(RETRY_S)
                continue
            finally:
                self._blocked = False
            for key, last in newest.items():
                moved = self._watch.get(key)
                if moved is None:
                    continue
                if moved.cursor is None or _key(last) > _key(moved.cursor):
                    moved.cursor = last
                for ev in moved.waiters:
                    ev.set()


class Subscription:
    """One open stream; ``batches`` yields its events, ``close`` (idempotent) frees its slot."""

    def __init__(self, hub: StreamHub, user: str, key: str, cursor: str, status: Status):
        self.hub = hub
        self.user = user
        self.key = key
        self.cursor = cursor
        self.status = status
        self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self.hub._release(self.user, self.key)

    async def batches(self) -> AsyncIterator[list[StreamEvent]]:
        """Batches of events after the cursor until the stream's ``result`` event (or at once
        when its job or scan is finished and the cursor is past it, or it is gone); an empty
        batch is a keep-alive tick, one every ``block_ms`` while nothing arrives."""
        hub, key = self.hub, self.key
        tick = hub.block_ms / 1000.0
        try:
            while True:
                events = await hub.streams.read_stream(key, self.cursor)
                if not events:
                    status = await self.status()
                    if status == "gone":
                        return
                    if status == "ended":
                        # the result event is written atomically with the terminal state
                        events = await hub.streams.read_stream(key, self.cursor)
                        if not events:
                            return
                    else:
                        recheck = time.monotonic() + RECHECK_S
                        while not await hub._wait(key, self.cursor, tick):
                            yield []
                            if time.monotonic() > recheck:
                                break
                        continue
                for n, ev in enumerate(events):
                    if ev.kind == "result":
                        yield events[: n + 1]
                        return
                self.cursor = events[-1].id
                yield events
        finally:
            self.close()
