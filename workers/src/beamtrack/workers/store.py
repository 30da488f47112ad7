"""JobStore: the one class that owns every Redis key of the service.

Keys (``P`` is the configurable prefix, default ``bt``):

- ``P:seq``              counter; every submitted job takes the next value (FIFO order, list cursor)
- ``P:job:{id}``         hash: the job record (state, owner, spec JSON, progress, timings, error)
- ``P:queue``            sorted set of queued ids, score ``-priority * 2**40 + seq`` so ZPOPMIN
                         yields the highest priority first and FIFO within a priority
- ``P:uq:{owner}``       the owner's queued ids, scored as in ``P:queue``; ``P:qowners`` the set
                         of owners with queued jobs; ``P:served`` hash owner -> tick of the
                         owner's last claim (``P:servetick``): per-user fair share (see ``claim``)
- ``P:running``          set of ids in state ``running`` (crash recovery scans it)
- ``P:idx:all``          sorted set of every id by seq (admin listing)
- ``P:idx:user:{owner}`` sorted set of the owner's ids by seq (user listing)
- ``P:disk:{owner}``     hash id -> bytes: the owner's artifacts (estimated until the job ends,
                         then measured), the per-user disk quota's account
- ``P:finished:ok``, ``P:finished:bad`` sorted sets of ended ids by end time: succeeded, and
                         failed or cancelled (artifact retention sweeps them oldest first)
- ``P:stream:{id}``      Redis Stream of the job's events: fields ``k`` (kind: state, diag, log,
                         custom, result) and ``d`` (JSON payload), or for a packed run's diag
                         rows ``c`` and ``b`` instead of ``d`` (the columns' id and the values
                         of one or more rows, ``diag_rows``; read back as the same JSON, one
                         event a row); event ids (``stream_ids``: entry ids, ``{entry}.{row}``
                         inside an entry of several rows) are resume cursors
- ``P:diagcols:{cid}``   JSON list of the column names of compact diag rows with id ``cid``
                         (their content hash: written once, never changed)
- ``P:art:{id}...``       a job's files uploaded by a worker on another node, until the server
                         pulls them (binary chunks; layout and fencing in ``transfer.py``)

Every state transition is one Lua script, so it is atomic across server replicas and workers, and
each refuses to leave a terminal state. Transitions made by a worker are fenced by the attempt
number, so a worker from an earlier attempt cannot overwrite a retried job.

Redis outages: every command is retried on a lost connection (``retry_s`` of backoff: short for
request handling, long for workers and the scheduler, whose writes must not be lost), and what
still fails reaches callers as ``Unavailable`` (HTTP 503 / gRPC UNAVAILABLE), never a raw
``redis`` exception.
"""

from __future__ import annotations

import builtins
import functools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

import redis

# the job contract lives in beamtrack.spec; these names stay importable from the store
from beamtrack.spec.contract import DEVICES, PRIORITY_MAX, PRIORITY_MIN, TERMINAL_STATES, JobState  # noqa: F401
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.typing import EncodableT

from .diag_rows import columns_id, decode_rows
from .errors import Conflict, NotFound, Unavailable

try:
    import orjson
except ImportError:  # pragma: no cover - orjson comes with the service extra
    orjson = None  # type: ignore[assignment]

P = ParamSpec("P")
R = TypeVar("R")

# Replies of the store's client (decode_responses=True: strings; redis-py types them bytes | str)
Hash = dict[str, str]
ScoredIds = list[tuple[str, float]]
StreamEntries = list[tuple[str, dict[str, str]]]
XReadReply = list[tuple[str, StreamEntries]] | None

#: Backoff between retries of a command whose connection failed [s]: first wait, longest wait.
RETRY_BASE_S, RETRY_CAP_S = 0.05, 1.0


def _retry(retry_s: float) -> Retry:
    """redis-py retry policy that keeps trying for about ``retry_s`` seconds."""
    retries = max(1, int(retry_s / RETRY_CAP_S) + 5)
    return Retry(ExponentialBackoff(cap=RETRY_CAP_S, base=RETRY_BASE_S), retries)


def _store_call(fn: Callable[P, R]) -> Callable[P, R]:
    """A store method whose Redis errors reach the caller as ``Unavailable``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise Unavailable(f"job store unavailable: {type(exc).__name__}: {exc}") from exc

    return wrapper


@dataclass
class StreamEvent:
    """One entry of a job's stream: ``id`` is the Redis entry id (the resume cursor), ``raw``
    the payload's JSON text as stored (SSE forwards it without re-encoding)."""

    id: str
    kind: str
    raw: str

    @property
    def data(self) -> dict[str, Any]:
        """The decoded payload."""
        out: dict[str, Any] = json.loads(self.raw)
        return out


@dataclass
class JobRecord:
    """A job as stored: everything GET /v1/jobs/{id} reports, plus the spec."""

    id: str
    owner: str
    name: str
    state: JobState
    priority: int
    device: str
    seq: int
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    step: int = 0
    total_steps: int = 0
    error: str = ""
    cancel_requested: bool = False
    worker: str = ""
    diag_count: int = 0
    spec: str = ""
    hook_module: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    #: The artifacts were removed by the retention policy (the record and its stream stay).
    artifacts_expired: bool = False
    #: The scan this job is variant ``variant`` of, with its parameter ``values`` ({path: value}).
    scan_id: str = ""
    variant: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    #: Served from the result cache: the job whose results (stream rows, artifacts) this one's are.
    cached_from: str = ""
    #: Variants of one scan with the same pack key may run packed (beamtrack.workers.packing);
    #: ``pack`` names the worker of the pack the job's current attempt runs in ('' when alone).
    pack_key: str = ""
    pack: str = ""

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> JobRecord:
        def opt(name: str) -> float | None:
            v = h.get(name, "")
            return float(v) if v else None

        return cls(
            id=h["id"],
            owner=h["owner"],
            name=h.get("name", ""),
            state=JobState(h["state"]),
            priority=int(h.get("priority", 0)),
            device=h.get("device", "auto"),
            seq=int(h.get("seq", 0)),
            created_at=float(h.get("created_at", 0.0)),
            started_at=opt("started_at"),
            finished_at=opt("finished_at"),
            attempts=int(h.get("attempts", 0)),
            step=int(h.get("step", 0)),
            total_steps=int(h.get("total_steps", 0)),
            error=h.get("error", ""),
            cancel_requested=h.get("cancel_requested", "0") == "1",
            worker=h.get("worker", ""),
            diag_count=int(h.get("diag_count", 0)),
            spec=h.get("spec", ""),
            hook_module=h.get("hook_module", ""),
            result=json.loads(h.get("result") or "{}"),
            artifacts_expired=h.get("artifacts_expired", "0") == "1",
            scan_id=h.get("scan_id", ""),
            variant=int(h["variant"]) if h.get("variant", "") != "" else None,
            values=json.loads(h.get("values") or "{}"),
            cached_from=h.get("cached_from", ""),
            pack_key=h.get("pack_key", ""),
            pack=h.get("pack", ""),
        )


# KEYS: none (single-instance Redis; keys derive from ARGV[1], the prefix).
# Per-user fair share: of each owner's first queued job, the one with the highest priority wins;
# among equal priorities the owner whose last claim is oldest, then the lowest queue score. Ids
# only in P:queue (queued by a server without owner queues) are claimed when no owner has one.
# ARGV: prefix, now
# A scan's event stream (P:scan:{id}:events): a ``variant`` event at each state change of one of
# its jobs ({variant, job_id, state, attempts}), and a ``result`` event ({state, counts}) once every
# variant has ended (counted in the scan's ``ended`` field: each job ends once). The stream is
# trimmed to about the scan's ``maxlen`` entries (the submitting server's stream_maxlen). The
# ended scan joins P:scans:finished:ok (some variant succeeded) or P:scans:finished:bad (none
# did), by end time, for retention (``JobStore.expired_scans``). Prepended to the scripts that
# change a job's state; a job of no scan, or of a scan already removed, is left alone.
_SCAN_NOTE = """
local function scan_xadd(p, scan, kind, data)
  local sk = p .. ':scan:' .. scan
  local h = redis.call('HMGET', sk, 'n', 'maxlen')
  if not h[1] then return end
  if h[2] then
    redis.call('XADD', sk .. ':events', 'MAXLEN', '~', h[2], '*', 'k', kind, 'd', data)
  else
    redis.call('XADD', sk .. ':events', '*', 'k', kind, 'd', data)
  end
end
local function scan_counts(p, scan)
  local counts = {queued=0, running=0, succeeded=0, failed=0, cancelled=0}
  for _, j in ipairs(redis.call('ZRANGE', p .. ':scan:' .. scan .. ':jobs', 0, -1)) do
    local st = redis.call('HGET', p .. ':job:' .. j, 'state')
    if st then counts[st] = (counts[st] or 0) + 1 end
  end
  return counts
end
local function scan_ended(p, scan, n_ended)
  local sk = p .. ':scan:' .. scan
  if redis.call('EXISTS', sk) == 0 then return end
  local ended = redis.call('HINCRBY', sk, 'ended', n_ended)
  local h = redis.call('HMGET', sk, 'n', 'cancel_requested')
  if n_ended > 0 and ended >= tonumber(h[1] or '0') then
    local counts = scan_counts(p, scan)
    local state = 'failed'
    if h[2] == '1' then state = 'cancelled' elseif counts.succeeded == tonumber(h[1]) then state = 'succeeded' end
    scan_xadd(p, scan, 'result', cjson.encode({state=state, counts=counts}))
    local t = redis.call('TIME')
    local kept = 'bad'
    if counts.succeeded > 0 then kept = 'ok' end
    redis.call('ZADD', p .. ':scans:finished:' .. kept, tonumber(t[1]) + tonumber(t[2]) / 1e6, scan)
  end
end
local function scan_note(p, id, state)
  local h = redis.call('HMGET', p .. ':job:' .. id, 'scan_id', 'variant', 'attempts')
  if not h[1] or h[1] == '' then return end
  scan_xadd(p, h[1], 'variant',
    cjson.encode({variant=tonumber(h[2]), job_id=id, state=state, attempts=tonumber(h[3] or '0')}))
  if state == 'succeeded' or state == 'failed' or state == 'cancelled' then scan_ended(p, h[1], 1) end
end
"""

_CLAIM = """
local p = ARGV[1]
while true do
  local best, owner, bl, bs, bsc = nil, nil, 0, 0, 0
  for _, o in ipairs(redis.call('SMEMBERS', p .. ':qowners')) do
    local head = redis.call('ZRANGE', p .. ':uq:' .. o, 0, 0, 'WITHSCORES')
    if #head == 0 then
      redis.call('SREM', p .. ':qowners', o)
    else
      local sc = tonumber(head[2])
      local level = math.floor(sc / 1099511627776)
      local served = tonumber(redis.call('HGET', p .. ':served', o) or '0')
      if best == nil or level < bl or (level == bl and (served < bs or (served == bs and sc < bsc))) then
        best, owner, bl, bs, bsc = head[1], o, level, served, sc
      end
    end
  end
  local id
  if best == nil then
    local popped = redis.call('ZPOPMIN', p .. ':queue')
    if #popped == 0 then return false end
    id = popped[1]
  else
    id = best
    redis.call('ZREM', p .. ':uq:' .. owner, id)
    redis.call('ZREM', p .. ':queue', id)
    redis.call('HSET', p .. ':served', owner, redis.call('INCR', p .. ':servetick'))
  end
  local jk = p .. ':job:' .. id
  if redis.call('HGET', jk, 'state') == 'queued' then
    local attempt = redis.call('HINCRBY', jk, 'attempts', 1)
    redis.call('HSET', jk, 'state', 'running', 'started_at', ARGV[2], 'worker', '', 'pack', '')
    redis.call('SADD', p .. ':running', id)
    redis.call('XADD', p .. ':stream:' .. id, '*', 'k', 'state',
      'd', cjson.encode({state='running', attempt=attempt}))
    scan_note(p, id, 'running')
    return {id, attempt}
  end
end
"""

# After ``_CLAIM`` gave the lead job ARGV[3] of scan ARGV[5]: claim up to ARGV[6] more queued
# jobs of that scan with pack key ARGV[4] into the pack named ARGV[7]. The scan's jobs hold
# consecutive queue scores (one seq range, one priority; a retry keeps its score), so they are
# read from the lead's score on, at most 4 * ARGV[6] entries.
# ARGV: prefix, now, lead id, pack key, scan id, limit, pack name
_CLAIM_PACK = """
local p = ARGV[1]
local limit = tonumber(ARGV[6])
local lead = p .. ':job:' .. ARGV[3]
local lo = redis.call('HGET', lead, 'qscore')
local n = redis.call('HGET', p .. ':scan:' .. ARGV[5], 'n')
local out = {}
redis.call('HSET', lead, 'pack', ARGV[7])
if not lo or not n or limit < 1 then return out end
local ids = redis.call('ZRANGEBYSCORE', p .. ':queue', lo, tonumber(lo) + tonumber(n), 'LIMIT', 0, 4 * limit)
for _, id in ipairs(ids) do
  if #out >= 2 * limit then break end
  local jk = p .. ':job:' .. id
  local h = redis.call('HMGET', jk, 'state', 'pack_key', 'scan_id', 'owner')
  if h[1] == 'queued' and h[2] == ARGV[4] and h[3] == ARGV[5] then
    redis.call('ZREM', p .. ':queue', id)
    redis.call('ZREM', p .. ':uq:' .. h[4], id)
    local attempt = redis.call('HINCRBY', jk, 'attempts', 1)
    redis.call('HSET', jk, 'state', 'running', 'started_at', ARGV[2], 'worker', '', 'pack', ARGV[7])
    redis.call('SADD', p .. ':running', id)
    redis.call('XADD', p .. ':stream:' .. id, '*', 'k', 'state',
      'd', cjson.encode({state='running', attempt=attempt, pack=ARGV[7]}))
    scan_note(p, id, 'running')
    table.insert(out, id)
    table.insert(out, attempt)
  end
end
return out
"""

# ARGV: prefix, id, attempt, to_state, now, error, result_json
_FINISH = """
local p, id = ARGV[1], ARGV[2]
local jk = p .. ':job:' .. id
local h = redis.call('HMGET', jk, 'state', 'attempts')
if h[1] ~= 'running' or h[2] ~= ARGV[3] then return 0 end
redis.call('HSET', jk, 'state', ARGV[4], 'finished_at', ARGV[5], 'error', ARGV[6],
  'result', ARGV[7])
redis.call('SREM', p .. ':running', id)
redis.call('ZADD', p .. ':finished:' .. (ARGV[4] == 'succeeded' and 'ok' or 'bad'), ARGV[5], id)
local sk = p .. ':stream:' .. id
redis.call('XADD', sk, '*', 'k', 'state', 'd', cjson.encode({state=ARGV[4], error=ARGV[6]}))
redis.call('XADD', sk, '*', 'k', 'result', 'd', ARGV[7])
scan_note(p, id, ARGV[4])
return 1
"""

# ARGV: prefix, id, attempt, reason, max_attempts, now
_REQUEUE = """
local p, id = ARGV[1], ARGV[2]
local jk = p .. ':job:' .. id
local h = redis.call('HMGET', jk, 'state', 'attempts', 'qscore', 'cancel_requested', 'owner')
if h[1] ~= 'running' or h[2] ~= ARGV[3] then return 'stale' end
local sk = p .. ':stream:' .. id
redis.call('SREM', p .. ':running', id)
local final = nil
local err = ''
if h[4] == '1' then
  final = 'cancelled'
elseif tonumber(h[2]) >= tonumber(ARGV[5]) then
  final = 'failed'
  err = 'worker lost ' .. h[2] .. ' times, giving up: ' .. ARGV[4]
end
if final then
  local res = cjson.encode({state=final, error=err})
  redis.call('HSET', jk, 'state', final, 'finished_at', ARGV[6], 'error', err, 'result', res)
  redis.call('ZADD', p .. ':finished:bad', ARGV[6], id)
  redis.call('XADD', sk, '*', 'k', 'state', 'd', cjson.encode({state=final, error=err}))
  redis.call('XADD', sk, '*', 'k', 'result', 'd', res)
  scan_note(p, id, final)
  return final
end
redis.call('HSET', jk, 'state', 'queued', 'error', '')
redis.call('ZADD', p .. ':queue', h[3], id)
redis.call('ZADD', p .. ':uq:' .. h[5], h[3], id)
redis.call('SADD', p .. ':qowners', h[5])
redis.call('XADD', sk, '*', 'k', 'state',
  'd', cjson.encode({state='queued', reason='retry after: ' .. ARGV[4]}))
scan_note(p, id, 'queued')
return 'queued'
"""

# ARGV: prefix, id, now
_CANCEL = """
local p, id = ARGV[1], ARGV[2]
local jk = p .. ':job:' .. id
local state = redis.call('HGET', jk, 'state')
if not state then return 'missing' end
local sk = p .. ':stream:' .. id
if state == 'queued' then
  redis.call('ZREM', p .. ':queue', id)
  redis.call('ZREM', p .. ':uq:' .. redis.call('HGET', jk, 'owner'), id)
  local res = cjson.encode({state='cancelled', error=''})
  redis.call('HSET', jk, 'state', 'cancelled', 'finished_at', ARGV[3], 'result', res,
    'cancel_requested', '1')
  redis.call('ZADD', p .. ':finished:bad', ARGV[3], id)
  redis.call('XADD', sk, '*', 'k', 'state', 'd', cjson.encode({state='cancelled', error=''}))
  redis.call('XADD', sk, '*', 'k', 'result', 'd', res)
  scan_note(p, id, 'cancelled')
  return 'cancelled'
end
if state == 'running' then
  redis.call('HSET', jk, 'cancel_requested', '1')
  redis.call('XADD', sk, '*', 'k', 'log', 'd', cjson.encode({msg='cancel requested'}))
  return 'requested'
end
return 'terminal:' .. state
"""


# Store a chunk of new jobs (``JobStore.submit_jobs``: several of these in one MULTI/EXEC).
# ARGV: prefix, owner, scan id ('' for none), now, the fields every job shares (JSON list
# [f1, v1, ...]), the jobs (JSON list of [id, seq, qscore, [f1, v1, ...], result, cached
# state event, disk estimate, cache key, variant]; result '' for a job to queue), then each
# job's spec JSON (apart: a spec inside the JSON list would be escaped and decoded again).
_SUBMIT_JOBS = """
local p, owner, scan, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local common = cjson.decode(ARGV[5])
local jobs = cjson.decode(ARGV[6])
local queued, disk, idx, in_scan = {}, {}, {}, {}
local cached = 0
for n, j in ipairs(jobs) do
  local id = j[1]
  local sk = p .. ':stream:' .. id
  redis.call('XADD', sk, '*', 'k', 'state', 'd', '{"state": "queued"}')
  if j[5] ~= '' then
    cached = cached + 1
    redis.call('ZADD', p .. ':finished:ok', now, id)
    redis.call('XADD', sk, '*', 'k', 'state', 'd', j[6])
    redis.call('XADD', sk, '*', 'k', 'result', 'd', j[5])
  else
    table.insert(disk, id)
    table.insert(disk, j[7])
    table.insert(queued, j[3])
    table.insert(queued, id)
    if j[8] ~= '' then redis.call('ZADD', p .. ':cache:' .. owner .. ':' .. j[8], j[2], id) end
  end
  local h = {}
  for _, v in ipairs(common) do table.insert(h, v) end
  for _, v in ipairs(j[4]) do table.insert(h, v) end
  table.insert(h, 'spec')
  table.insert(h, ARGV[6 + n])
  redis.call('HSET', p .. ':job:' .. id, unpack(h))
  table.insert(idx, j[2])
  table.insert(idx, id)
  table.insert(in_scan, j[9])
  table.insert(in_scan, id)
end
if #queued > 0 then
  redis.call('HSET', p .. ':disk:' .. owner, unpack(disk))
  redis.call('ZADD', p .. ':queue', unpack(queued))
  redis.call('ZADD', p .. ':uq:' .. owner, unpack(queued))
end
if scan ~= '' then
  local first = tonumber(ARGV[7 + #jobs] or '0')
  if first == 1 then
    scan_xadd(p, scan, 'state',
      cjson.encode({state='queued', variants=tonumber(redis.call('HGET', p .. ':scan:' .. scan, 'n'))}))
  end
end
if #idx > 0 then
  redis.call('ZADD', p .. ':idx:all', unpack(idx))
  redis.call('ZADD', p .. ':idx:user:' .. owner, unpack(idx))
  if scan ~= '' then redis.call('ZADD', p .. ':scan:' .. scan .. ':jobs', unpack(in_scan)) end
end
if scan ~= '' then scan_ended(p, scan, cached) end
return #jobs
"""

# The result cache's hits (``JobStore.cache_lookup``): for each key ARGV[3..], the newest of the
# owner's jobs with it that succeeded and has its artifacts; drops finished candidates that
# cannot serve. Returns [key index (1-based), job id, ...] for the keys with a hit.
# ARGV: prefix, owner, key...
_CACHE_HITS = """
local p, owner = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local ck = p .. ':cache:' .. owner .. ':' .. ARGV[i]
  local hit = false
  for _, id in ipairs(redis.call('ZREVRANGE', ck, 0, -1)) do
    local h = redis.call('HMGET', p .. ':job:' .. id, 'state', 'artifacts_expired')
    if not h[1] then
      redis.call('ZREM', ck, id)
    elseif h[1] == 'succeeded' and h[2] ~= '1' then
      if not hit then
        hit = true
        table.insert(out, i - 2)
        table.insert(out, id)
      end
    elseif h[1] == 'succeeded' or h[1] == 'failed' or h[1] == 'cancelled' then
      redis.call('ZREM', ck, id)
    end
  end
end
return out
"""

# How many of scan ARGV[2]'s jobs are in each state: [state, count, ...]. ARGV: prefix, scan id
_SCAN_COUNTS = """
local p = ARGV[1]
local counts = {}
for _, id in ipairs(redis.call('ZRANGE', p .. ':scan:' .. ARGV[2] .. ':jobs', 0, -1)) do
  local state = redis.call('HGET', p .. ':job:' .. id, 'state')
  if state then counts[state] = (counts[state] or 0) + 1 end
end
local out = {}
for state, n in pairs(counts) do
  table.insert(out, state)
  table.insert(out, n)
end
return out
"""

# Diagnostics rows of several jobs (``JobStore.publish_rows_many``: a pack's variants), atomically.
# ARGV: prefix, stream maxlen, then per job: id, row count c, last step ('' for none), c rows (JSON).
_PUBLISH_ROWS = """
local p, maxlen = ARGV[1], ARGV[2]
local i = 3
while i <= #ARGV do
  local id, c, step = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local sk = p .. ':stream:' .. id
  for r = 1, c do
    redis.call('XADD', sk, 'MAXLEN', '~', maxlen, '*', 'k', 'diag', 'd', ARGV[i + 2 + r])
  end
  local jk = p .. ':job:' .. id
  redis.call('HINCRBY', jk, 'diag_count', c)
  if step ~= '' then redis.call('HSET', jk, 'step', step) end
  i = i + 3 + c
end
return 0
"""

# Compact rows (``JobStore.publish_row_values_many``), atomically. ARGV: prefix, columns id, columns
# JSON, then per job: id, entry count c, row count, last step, the entries' MAXLEN, c entries.
_PUBLISH_ROW_VALUES = """
local p, cid = ARGV[1], ARGV[2]
redis.call('SET', p .. ':diagcols:' .. cid, ARGV[3], 'NX')
local i = 4
while i <= #ARGV do
  local id, c, rows, step, maxlen = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local sk = p .. ':stream:' .. id
  for r = 1, c do
    redis.call('XADD', sk, 'MAXLEN', '~', maxlen, '*', 'k', 'diag', 'c', cid, 'b', ARGV[i + 4 + r])
  end
  local jk = p .. ':job:' .. id
  redis.call('HINCRBY', jk, 'diag_count', rows)
  redis.call('HSET', jk, 'step', step)
  i = i + 5 + c
end
return 0
"""

#: Entries one ``XREAD`` of a stream reader asks for (``read_events``): a packed variant's compact
#: entry holds up to 16 rows (``pack_runner._RowPublisher.ENTRY_ROWS``), so a read of ``count``
#: events holds at most ``count`` + 16 x READ_ENTRIES rows, as rows of one entry each did before.
READ_ENTRIES = 64

#: Jobs per ``_SUBMIT_JOBS`` call (its arguments are held in memory by Redis while it runs).
SUBMIT_CHUNK = 1000


class JobStore:
    """Every Redis key and every transition of the service (see the module docstring)."""

    def __init__(self, client: redis.Redis, *, prefix: str = "bt", stream_maxlen: int = 1_000_000):
        self.r = client
        self.prefix = prefix
        self.stream_maxlen = stream_maxlen
        self._claim = self.r.register_script(_SCAN_NOTE + _CLAIM)
        self._claim_pack = self.r.register_script(_SCAN_NOTE + _CLAIM_PACK)
        self._finish = self.r.register_script(_SCAN_NOTE + _FINISH)
        self._requeue = self.r.register_script(_SCAN_NOTE + _REQUEUE)
        self._cancel = self.r.register_script(_SCAN_NOTE + _CANCEL)
        self._submit_jobs = self.r.register_script(_SCAN_NOTE + _SUBMIT_JOBS)
        self._cache_hits = self.r.register_script(_CACHE_HITS)
        self._scan_counts = self.r.register_script(_SCAN_COUNTS)
        self._publish_rows = self.r.register_script(_PUBLISH_ROWS)
        self._publish_row_values = self.r.register_script(_PUBLISH_ROW_VALUES)
        #: column names of compact diag rows by id (content-addressed: never stale)
        self._diag_columns: dict[str, builtins.list[str]] = {}

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "bt", stream_maxlen: int = 1_000_000, retry_s: float = 2.0
    ) -> JobStore:
        """Connect to ``url`` (redis://host:port/db); responses are decoded as UTF-8. A command
        whose connection fails is retried for about ``retry_s`` seconds (workers and the
        scheduler pass minutes: their writes wait for Redis to come back)."""
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            health_check_interval=30,
            retry=_retry(retry_s),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        return cls(client, prefix=prefix, stream_maxlen=stream_maxlen)

    # -- key names ---------------------------------------------------------------------------
    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def job_key(self, job_id: str) -> str:
        return self._k("job", job_id)

    def stream_key(self, job_id: str) -> str:
        return self._k("stream", job_id)

    # -- health ------------------------------------------------------------------------------
    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.r.close()

    # -- submit / read -----------------------------------------------------------------------
    def submit(
        self,
        *,
        owner: str,
        name: str,
        spec_json: str,
        priority: int = 0,
        device: str = "auto",
        hook_module: str = "",
        disk_estimate: int = 0,
    ) -> JobRecord:
        """Store a new job in state queued and enqueue it; returns the record. ``disk_estimate``
        [B] is charged to the owner's disk account until the job's real output is measured."""
        if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            raise ValueError(f"priority must be in [{PRIORITY_MIN}, {PRIORITY_MAX}]")
        job_id = uuid.uuid4().hex
        try:
            seq = int(self.r.incr(self._k("seq")))
            now = time.time()
            qscore = -priority * 2**40 + seq
            rec: dict[EncodableT, EncodableT] = {
                "id": job_id,
                "owner": owner,
                "name": name,
                "state": JobState.QUEUED.value,
                "priority": priority,
                "device": device,
                "seq": seq,
                "qscore": qscore,
                "created_at": repr(now),
                "attempts": 0,
                "step": 0,
                "total_steps": 0,
                "error": "",
                "cancel_requested": "0",
                "diag_count": 0,
                "spec": spec_json,
                "hook_module": hook_module,
                "result": "",
            }
            pipe = self.r.pipeline(transaction=True)
            pipe.hset(self.job_key(job_id), mapping=rec)
            pipe.zadd(self._k("idx", "all"), {job_id: seq})
            pipe.zadd(self._k("idx", "user", owner), {job_id: seq})
            pipe.hset(self._k("disk", owner), job_id, int(disk_estimate))
            pipe.xadd(self.stream_key(job_id), {"k": "state", "d": json.dumps({"state": "queued"})})
            pipe.zadd(self._k("queue"), {job_id: qscore})
            pipe.zadd(self._k("uq", owner), {job_id: qscore})
            pipe.sadd(self._k("qowners"), owner)
            pipe.execute()
        except redis.RedisError as exc:
            raise Unavailable(f"job store unavailable: {exc}") from exc
        return self.get(job_id)

    def get(self, job_id: str) -> JobRecord:
        """The record of ``job_id``; NotFound when there is none."""
        try:
            h = cast(Hash, self.r.hgetall(self.job_key(job_id)))
        except redis.RedisError as exc:
            raise Unavailable(f"job store unavailable: {exc}") from exc
        if not h:
            raise NotFound(f"job {job_id} not found")
        return JobRecord.from_hash(h)

    @_store_call
    def list_jobs(
        self,
        *,
        owner: str | None,
        state: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[builtins.list[JobRecord], int | None]:
        """Jobs newest first (of ``owner``, or all when None), optionally only in ``state``.

        ``cursor`` is the ``next_cursor`` of the previous page (a seq, exclusive); the returned
        cursor is None on the last page.
        """
        index = self._k("idx", "user", owner) if owner is not None else self._k("idx", "all")
        out: builtins.list[JobRecord] = []
        hi: str = f"({cursor}" if cursor is not None else "+inf"
        batch = max(limit * 2, 50)
        while len(out) < limit:
            ids = cast(ScoredIds, self.r.zrevrangebyscore(index, hi, "-inf", start=0, num=batch, withscores=True))
            if not ids:
                return out, None
            pipe = self.r.pipeline(transaction=False)
            for job_id, _ in ids:
                pipe.hgetall(self.job_key(job_id))
            for (_job_id, score), h in zip(ids, pipe.execute(), strict=True):
                hi = f"({int(score)}"
                if h and (state is None or h["state"] == state):
                    out.append(JobRecord.from_hash(h))
                    if len(out) == limit:
                        more = self.r.zrevrangebyscore(index, hi, "-inf", start=0, num=1)
                        return out, (int(score) if more else None)
            if len(ids) < batch:
                return out, None
        return out, None

    @_store_call
    def counts(self) -> dict[str, int]:
        """Queue length and number of running jobs (for /metrics and the scheduler)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(self._k("queue"))
        pipe.scard(self._k("running"))
        queued, running = pipe.execute()
        return {"queued": int(queued), "running": int(running)}

    @_store_call
    def finished_counts(self) -> dict[str, int]:
        """Ended jobs still on record: succeeded, and failed or cancelled (for /metrics)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(self._k("finished", "ok"))
        pipe.zcard(self._k("finished", "bad"))
        ok, bad = pipe.execute()
        return {"succeeded": int(ok), "failed_or_cancelled": int(bad)}

    @_store_call
    def queued_ids(self) -> builtins.list[str]:
        """Queued ids by priority, then submit order: the order one owner's jobs are claimed in
        (``claim``'s fair share interleaves owners of one priority)."""
        return cast(builtins.list[str], self.r.zrange(self._k("queue"), 0, -1))

    @_store_call
    def running_ids(self) -> builtins.list[str]:
        return sorted(cast(set[str], self.r.smembers(self._k("running"))))

    # -- transitions -------------------------------------------------------------------------
    @_store_call
    def claim(self) -> tuple[str, int] | None:
        """Move the next queued job to running; returns (id, attempt) or None when empty. The
        next job: the highest priority first; among owners with a job at that priority, the one
        whose last claim is oldest (per-user fair share: a 10,000-variant scan does not hold back
        another user's job behind it), then submit order."""
        res = self._claim(args=[self.prefix, repr(time.time())])
        if not res:
            return None
        return str(res[0]), int(res[1])

    @_store_call
    def claim_pack(self, lead: JobRecord, *, limit: int, name: str) -> builtins.list[tuple[str, int]]:
        """After ``claim`` returned ``lead`` (a scan variant with a pack key): move up to
        ``limit`` more queued variants of its scan with the same key to running, in the pack
        ``name``; returns their (id, attempt) in queue order (the lead not included)."""
        if not lead.pack_key or not lead.scan_id:
            return []
        res = self._claim_pack(
            args=[self.prefix, repr(time.time()), lead.id, lead.pack_key, lead.scan_id, int(limit), name]
        )
        return [(str(res[i]), int(res[i + 1])) for i in range(0, len(res), 2)]

    @_store_call
    def queued_in_scan(self, lead: JobRecord) -> int:
        """How many variants of ``lead``'s scan are still queued after it (``lead`` just claimed):
        one ZCOUNT over the scan's queue scores, which are consecutive (see ``_CLAIM_PACK``)."""
        if not lead.scan_id:
            return 0
        pipe = self.r.pipeline(transaction=False)
        pipe.hget(self.job_key(lead.id), "qscore")
        pipe.hget(self.scan_key(lead.scan_id), "n")
        lo, n = pipe.execute()
        if lo is None or n is None:
            return 0
        return int(self.r.zcount(self._k("queue"), float(lo), float(lo) + int(n)))

    @_store_call
    def cancel(self, job_id: str) -> str:
        """Cancel a job: 'cancelled' (was queued) or 'requested' (running; the worker stops).

        Raises NotFound for an unknown job and Conflict for a job already in a terminal state.
        """
        out = str(self._cancel(args=[self.prefix, job_id, repr(time.time())]))
        if out == "missing":
            raise NotFound(f"job {job_id} not found")
        if out.startswith("terminal:"):
            raise Conflict(f"job {job_id} is already {out.split(':', 1)[1]}")
        return out

    @_store_call
    def finish(
        self,
        job_id: str,
        attempt: int,
        state: JobState,
        *,
        error: str = "",
        result: dict[str, Any] | None = None,
    ) -> bool:
        """Move a running job (this attempt) to a terminal state; False when fenced off."""
        if not state.is_terminal():
            raise ValueError(f"finish needs a terminal state, not {state.value}")
        payload = dict(result or {})
        payload.update(state=state.value, error=error)
        ok = self._finish(
            args=[self.prefix, job_id, attempt, state.value, repr(time.time()), error, json.dumps(payload)]
        )
        return bool(ok)

    @_store_call
    def finish_many(self, items: Iterable[FinishedRun]) -> builtins.list[bool]:
        """For each run of a pack: its step, its measured disk use, then ``finish``; all in one
        round trip. Returns ``finish``'s answer of each."""
        pipe = self.r.pipeline(transaction=False)
        items = list(items)
        now = repr(time.time())
        for it in items:
            if not it.state.is_terminal():
                raise ValueError(f"finish needs a terminal state, not {it.state.value}")
            payload = {**it.result, "state": it.state.value, "error": it.error}
            pipe.hset(self.job_key(it.job_id), "step", it.step)
            pipe.hset(self._k("disk", it.owner), it.job_id, int(it.disk_bytes))
            self._finish(
                args=[self.prefix, it.job_id, it.attempt, it.state.value, now, it.error, json.dumps(payload)],
                client=pipe,
            )
        out = pipe.execute()
        return [bool(ok) for ok in out[2::3]]

    @_store_call
    def requeue(self, job_id: str, attempt: int, reason: str, *, max_attempts: int) -> str:
        """After a worker loss: 'queued' again, or 'failed' after ``max_attempts``, or
        'cancelled' when a cancel was pending; 'stale' when the attempt no longer runs."""
        return str(self._requeue(args=[self.prefix, job_id, attempt, reason, max_attempts, repr(time.time())]))

    # -- disk accounting and retention ---------------------------------------------------------
    @_store_call
    def disk_usage(self, owner: str) -> int:
        """Bytes charged to ``owner``: kept artifacts plus estimates of unfinished jobs."""
        return sum(int(v) for v in self.r.hvals(self._k("disk", owner)))

    @_store_call
    def record_disk(self, job_id: str, owner: str, n_bytes: int) -> None:
        """Charge ``owner`` the measured size of ``job_id``'s artifacts."""
        self.r.hset(self._k("disk", owner), job_id, int(n_bytes))

    @_store_call
    def expired(self, *, ok_before: float, bad_before: float, limit: int = 100) -> builtins.list[str]:
        """Ended jobs whose artifacts are due for removal: succeeded before ``ok_before``,
        failed or cancelled before ``bad_before`` (epoch seconds), oldest first."""
        ok = self.r.zrangebyscore(self._k("finished", "ok"), "-inf", ok_before, start=0, num=limit)
        bad = self.r.zrangebyscore(self._k("finished", "bad"), "-inf", bad_before, start=0, num=limit)
        return [*bad, *ok]

    @_store_call
    def forget_artifacts(self, job_id: str) -> None:
        """After the artifacts of ``job_id`` were deleted: no longer charged, not swept again,
        and the record says so (``artifacts_expired``)."""
        owner = cast(str | None, self.r.hget(self.job_key(job_id), "owner"))
        pipe = self.r.pipeline(transaction=True)
        pipe.zrem(self._k("finished", "ok"), job_id)
        pipe.zrem(self._k("finished", "bad"), job_id)
        if owner:
            pipe.hdel(self._k("disk", owner), job_id)
            pipe.hset(self.job_key(job_id), "artifacts_expired", "1")
        pipe.execute()

    # -- worker side -------------------------------------------------------------------------
    @_store_call
    def mark_started(self, job_id: str, *, worker: str, total_steps: int) -> None:
        self.r.hset(self.job_key(job_id), mapping={"worker": worker, "total_steps": total_steps})

    @_store_call
    def mark_started_many(self, items: Iterable[tuple[str, str, int]]) -> None:
        """``mark_started`` of each (job id, worker, total steps), in one round trip (a pack)."""
        pipe = self.r.pipeline(transaction=False)
        for job_id, worker, total_steps in items:
            pipe.hset(self.job_key(job_id), mapping={"worker": worker, "total_steps": total_steps})
        pipe.execute()

    @_store_call
    def start_many(self, items: Iterable[tuple[str, str, int, str]]) -> None:
        """For each (job id, worker, total steps, message) of a pack: ``mark_started`` and the log
        event ``message``, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for job_id, worker, total_steps, msg in items:
            pipe.hset(self.job_key(job_id), mapping={"worker": worker, "total_steps": total_steps})
            pipe.xadd(
                self.stream_key(job_id),
                {"k": "log", "d": json.dumps({"msg": msg})},
                maxlen=self.stream_maxlen,
                approximate=True,
            )
        pipe.execute()

    @_store_call
    def is_cancel_requested(self, job_id: str) -> bool:
        return self.r.hget(self.job_key(job_id), "cancel_requested") == "1"

    @_store_call
    def cancels_requested(self, job_ids: Iterable[str]) -> builtins.list[bool]:
        """``is_cancel_requested`` of each job, in one round trip (a pack's watcher)."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(self.job_key(job_id), "cancel_requested")
        return [flag == "1" for flag in pipe.execute()]

    @_store_call
    def publish_rows(self, job_id: str, attempt: int, rows: Iterable[dict[str, float]]) -> int:
        """Append diagnostics rows to the stream and advance the progress step; returns count.

        One MULTI/EXEC: a worker killed mid-batch leaves neither rows nor count, so a retry's
        skip of already-published rows stays exact."""
        pipe = self.r.pipeline(transaction=True)
        n = 0
        last_step: float | None = None
        for row in rows:
            pipe.xadd(
                self.stream_key(job_id),
                {"k": "diag", "d": json.dumps(row)},
                maxlen=self.stream_maxlen,
                approximate=True,
            )
            last_step = row.get("step", last_step)
            n += 1
        if n:
            pipe.hincrby(self.job_key(job_id), "diag_count", n)
            if last_step is not None:
                pipe.hset(self.job_key(job_id), "step", int(last_step))
            pipe.execute()
        return n

    @_store_call
    def publish_rows_many(self, batches: Iterable[tuple[str, int, builtins.list[dict[str, Any]]]]) -> int:
        """``publish_rows`` for several jobs (id, attempt, rows) in one script call (a pack's
        variants; atomic as ``publish_rows``'s transaction); returns how many rows were written."""
        args: builtins.list[Any] = [self.prefix, self.stream_maxlen]
        n = 0
        for job_id, _attempt, rows in batches:
            if not rows:
                continue
            last_step = rows[-1].get("step")
            args += [job_id, len(rows), "" if last_step is None else int(last_step)]
            args += [_encode_row(row) for row in rows]
            n += len(rows)
        if n:
            self._publish_rows(args=args)
        return n

    @_store_call
    def publish_row_values_many(
        self, columns: Sequence[str], batches: Iterable[tuple[str, int, builtins.list[bytes], int, int]]
    ) -> int:
        """Compact diagnostics rows with ``columns`` for several jobs (id, attempt, entry values
        (``diag_rows.encode_rows`` or ``encode_block``: one or more rows each), how many rows
        they hold, step of the last row) in one script call, as ``publish_rows_many`` publishes
        JSON rows (the same counts, read back as the same rows, one event a row); returns how
        many rows were written. A job's stream is trimmed to about ``stream_maxlen`` rows: its
        entries to ``stream_maxlen`` over the rows an entry of this call holds."""
        cols = builtins.list(columns)
        cid = columns_id(cols)
        args: builtins.list[Any] = [self.prefix, cid, json.dumps(cols)]
        n = 0
        for job_id, _attempt, values, rows, last_step in batches:
            if values:
                entries = max(1, self.stream_maxlen * len(values) // max(rows, 1))
                args += [job_id, len(values), rows, int(last_step), entries, *values]
                n += rows
        if n:
            self._publish_row_values(args=args)
            self._diag_columns.setdefault(cid, cols)
        return n

    def _columns(self, cid: str) -> builtins.list[str]:
        """The column names of compact diag rows ``cid`` (read from Redis once a process)."""
        cols = self._diag_columns.get(cid)
        if cols is None:
            cols = columns_from(self.r.get(self._k("diagcols", cid)))
            if cols is None:
                raise ValueError(f"diagnostics rows with unknown columns {cid!r}")
            self._diag_columns[cid] = cols
        return cols

    def _rows_of(self, fields: dict[str, str]) -> builtins.list[dict[str, Any]]:
        """The diagnostics rows of a ``diag`` entry: a JSON row, or a compact entry's rows."""
        if "b" in fields:
            return decode_rows(self._columns(fields["c"]), fields["b"])
        row: dict[str, Any] = json.loads(fields["d"])
        return [row]

    def _events(
        self, entry_id: str, fields: dict[str, str], after_row: int | None = None
    ) -> builtins.list[StreamEvent]:
        """The events of one stream entry as readers get them, after row ``after_row`` of the
        entry (``split_event_id``): one, or a compact entry's rows one an event (``stream_ids``;
        the JSON of its row each; an entry that does not decode, whatever a worker stored, as
        one event ``{}``, as SSE sends undecodable JSON)."""
        kind = str(fields.get("k", ""))
        if "b" not in fields:
            payloads = [str(fields.get("d", ""))]
        else:
            try:
                payloads = [row_json(row) for row in self._rows_of(fields)]
            except (ValueError, KeyError):
                payloads = ["{}"]
        start = 0 if after_row is None else after_row + 1
        ids = stream_ids(entry_id, len(payloads))
        return [StreamEvent(i, kind, p) for i, p in zip(ids[start:], payloads[start:], strict=True)]

    @_store_call
    def set_step(self, job_id: str, step: int) -> None:
        self.r.hset(self.job_key(job_id), "step", step)

    @_store_call
    def publish(self, job_id: str, kind: str, data: dict[str, Any]) -> str:
        """Append one event of ``kind`` (log, custom) to the job's stream; returns its id."""
        return str(
            self.r.xadd(
                self.stream_key(job_id), {"k": kind, "d": json.dumps(data)}, maxlen=self.stream_maxlen, approximate=True
            )
        )

    # -- streams -----------------------------------------------------------------------------
    def read_events(
        self,
        job_id: str,
        after: str = "0-0",
        *,
        block_ms: int | None = None,
        count: int = 1000,
    ) -> builtins.list[StreamEvent]:
        """Events strictly after event id ``after`` (an entry's, or a row's inside a compact
        entry: ``split_event_id``), about ``count`` of them at most (``READ_ENTRIES``); waits up
        to ``block_ms`` when none yet."""
        key = self.stream_key(job_id)
        entry, row = split_event_id(after)
        out: builtins.list[StreamEvent] = []
        if row is not None:  # the rest of a compact entry first
            for entry_id, fields in cast(StreamEntries, self.r.xrange(key, entry, entry, count=1)):
                out += self._events(entry_id, fields, row)
        block = None if out else block_ms
        while len(out) < count:  # READ_ENTRIES at a time: about ``count`` events, whatever an entry holds
            res = cast(XReadReply, self.r.xread({key: entry}, count=READ_ENTRIES, block=block))
            entries = [e for _key, es in res or [] for e in es]
            for entry_id, fields in entries:
                out += self._events(entry_id, fields)
            if len(entries) < READ_ENTRIES:
                break
            entry, block = entries[-1][0], None
        return out

    def follow(self, job_id: str, after: str = "0-0", *, block_ms: int = 5000) -> Iterator[list[StreamEvent]]:
        """Yield batches of events after ``after`` until the job's ``result`` event (or at once
        when the job is finished and ``after`` is past it); an empty batch after each idle wait
        lets callers send a keep-alive and notice a disconnected client."""
        cursor = after
        while True:
            events = self.read_events(job_id, cursor)
            if not events:
                if self.get(job_id).state.is_terminal():
                    # the result event is written atomically with the terminal state
                    events = self.read_events(job_id, cursor)
                    if not events:
                        return
                else:
                    events = self.read_events(job_id, cursor, block_ms=block_ms)
                    if not events:
                        yield []
                        continue
            for n, ev in enumerate(events):
                if ev.kind == "result":
                    yield events[: n + 1]
                    return
            cursor = events[-1].id
            yield events

    @_store_call
    def diagnostics(self, job_id: str) -> builtins.list[dict[str, float]]:
        """Every diagnostics row published for the job, in order."""
        rows: builtins.list[dict[str, float]] = []
        lo = "-"
        while True:
            entries = cast(StreamEntries, self.r.xrange(self.stream_key(job_id), lo, "+", count=5000))
            if not entries:
                return rows
            for _entry_id, fields in entries:
                if fields["k"] == "diag":
                    rows += self._rows_of(fields)
            lo = "(" + entries[-1][0]

    # -- scans and the result cache --------------------------------------------------------------
    # Keys: P:scan:{id} hash (the scan record), P:scan:{id}:jobs sorted set (job id -> variant
    # index), P:scans:all / P:scans:user:{owner} sorted sets of scan ids by scan seq (P:scanseq),
    # P:scan:{id}:events the scan's event stream (see ``_SCAN_NOTE``), P:scans:finished:ok and
    # P:scans:finished:bad sorted sets of ended scan ids by end time (retention: ``expired_scans``),
    # P:cache:{owner}:{key} sorted set of the jobs submitted with result-cache key ``key`` (by seq).
    def scan_key(self, scan_id: str) -> str:
        return self._k("scan", scan_id)

    @_store_call
    def submit_jobs(
        self,
        *,
        owner: str,
        jobs: builtins.list[NewJob],
        priority: int = 0,
        device: str = "auto",
        scan: dict[str, Any] | None = None,
    ) -> builtins.list[str]:
        """Store ``jobs`` in one transaction (all or none), and the scan record ``scan`` when
        given (fields id, name, spec, paths, columns); returns the job ids in order. A job with
        ``cached`` is stored already succeeded, its result that of the cached job plus
        ``cached_from``; every other is queued, charged its disk estimate and becomes a cache
        candidate for its key."""
        if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
            raise ValueError(f"priority must be in [{PRIORITY_MIN}, {PRIORITY_MAX}]")
        n = len(jobs)
        seq0 = int(self.r.incrby(self._k("seq"), n)) - n if n else 0
        now = repr(time.time())
        pipe = self.r.pipeline(transaction=True)
        scan_id = ""
        if scan is not None:
            scan_id = scan["id"]
            scan_seq = int(self.r.incr(self._k("scanseq")))
            pipe.hset(
                self.scan_key(scan_id),
                mapping={
                    "id": scan_id,
                    "owner": owner,
                    "name": scan["name"],
                    "seq": scan_seq,
                    "created_at": now,
                    "n": n,
                    "priority": priority,
                    "device": device,
                    "spec": scan["spec"],
                    "paths": json.dumps(scan["paths"]),
                    "columns": json.dumps(scan["columns"]),
                    "cancel_requested": "0",
                    "maxlen": self.stream_maxlen,
                },
            )
            pipe.zadd(self._k("scans", "all"), {scan_id: scan_seq})
            pipe.zadd(self._k("scans", "user", owner), {scan_id: scan_seq})
        # the fields every job starts with (a cached job's hash overrides some of them)
        common = [
            *("owner", owner, "state", JobState.QUEUED.value, "priority", str(priority), "device", device),
            *("created_at", now, "attempts", "0", "step", "0", "total_steps", "0", "error", ""),
            *("cancel_requested", "0", "diag_count", "0", "result", "", "scan_id", scan_id),
        ]
        ids: builtins.list[str] = []
        chunk: builtins.list[builtins.list[Any]] = []
        specs: builtins.list[str] = []
        for i, job in enumerate(jobs):
            job_id = uuid.uuid4().hex
            ids.append(job_id)
            seq = seq0 + i + 1
            qscore = -priority * 2**40 + seq
            fields = [
                *("id", job_id, "name", job.name, "seq", str(seq), "qscore", str(qscore)),
                *("hook_module", job.hook_module, "variant", "" if job.variant is None else str(job.variant)),
                *("values", json.dumps(job.values), "cache_key", job.cache_key, "pack_key", job.pack_key),
            ]
            result = state_event = ""
            if job.cached is not None:
                src = job.cached
                result = json.dumps({**src.result, "cached_from": src.id})
                state_event = json.dumps({"state": "succeeded", "error": "", "cached_from": src.id})
                fields += [
                    *("state", JobState.SUCCEEDED.value, "started_at", now, "finished_at", now),
                    *("step", str(src.step), "total_steps", str(src.total_steps), "diag_count", str(src.diag_count)),
                    *("result", result, "cached_from", src.id),
                ]
            chunk.append(
                [
                    job_id,
                    str(seq),
                    str(qscore),
                    fields,
                    result,
                    state_event,
                    str(int(job.disk_estimate)),
                    job.cache_key,
                    i,
                ]
            )
            specs.append(job.spec_json)
            if len(chunk) >= SUBMIT_CHUNK or i == n - 1:
                first = "1" if i < SUBMIT_CHUNK else "0"  # the scan's first event comes with its first chunk
                self._submit_jobs(
                    args=[self.prefix, owner, scan_id, now, json.dumps(common), json.dumps(chunk), *specs, first],
                    client=pipe,
                )
                chunk, specs = [], []
        pipe.sadd(self._k("qowners"), owner)
        pipe.execute()
        return ids

    @_store_call
    def cache_add(self, owner: str, key: str, job_id: str) -> None:
        """Make ``job_id`` a cache candidate for ``key`` (a job queued by ``submit``)."""
        seq = self.r.hget(self.job_key(job_id), "seq")
        self.r.hset(self.job_key(job_id), "cache_key", key)
        self.r.zadd(self._k("cache", owner, key), {job_id: int(seq or 0)})

    @_store_call
    def cache_lookup(self, owner: str, keys: Iterable[str]) -> dict[str, JobRecord]:
        """For each key, the newest of the owner's jobs with that key that succeeded and still
        has its artifacts; candidates that failed, were cancelled or lost their artifacts are
        dropped from the key's set. Keys without such a job are absent."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        res = self._cache_hits(args=[self.prefix, owner, *keys])
        hits = [(keys[int(res[i]) - 1], str(res[i + 1])) for i in range(0, len(res), 2)]
        pipe = self.r.pipeline(transaction=False)
        for _key, job_id in hits:
            pipe.hgetall(self.job_key(job_id))
        return {key: JobRecord.from_hash(h) for (key, _id), h in zip(hits, pipe.execute(), strict=True) if h}

    def scan_stream_key(self, scan_id: str) -> str:
        """The scan's event stream (see ``_SCAN_NOTE``)."""
        return self._k("scan", scan_id, "events")

    @_store_call
    def scan_ended(self, scan_id: str) -> bool:
        """Whether every variant of the scan has ended (True for a scan that is gone)."""
        ended, n = self.r.hmget(self.scan_key(scan_id), ["ended", "n"])
        if n is None:
            return True  # the scan is gone
        if ended is not None:
            return int(ended) >= int(n)
        counts = self.scan_counts(scan_id)  # a scan stored before scans counted their ended variants
        return counts["queued"] + counts["running"] == 0

    @_store_call
    def expired_scans(self, *, ok_before: float, bad_before: float, limit: int = 100) -> builtins.list[str]:
        """Ended scans due for removal, oldest first: those with a succeeded variant that ended
        before ``ok_before``, the others before ``bad_before`` (epoch seconds)."""
        ok = self.r.zrangebyscore(self._k("scans", "finished", "ok"), "-inf", ok_before, start=0, num=limit)
        bad = self.r.zrangebyscore(self._k("scans", "finished", "bad"), "-inf", bad_before, start=0, num=limit)
        return [*bad, *ok]

    @_store_call
    def delete_scan(self, scan_id: str) -> None:
        """Remove the scan: its record, variant list and event stream, and its place in the
        listings (its variants stay, as jobs; a stream following it ends)."""
        owner = cast(str | None, self.r.hget(self.scan_key(scan_id), "owner"))
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.scan_key(scan_id), self._k("scan", scan_id, "jobs"), self.scan_stream_key(scan_id))
        pipe.zrem(self._k("scans", "all"), scan_id)
        if owner:
            pipe.zrem(self._k("scans", "user", owner), scan_id)
        pipe.zrem(self._k("scans", "finished", "ok"), scan_id)
        pipe.zrem(self._k("scans", "finished", "bad"), scan_id)
        pipe.execute()

    @_store_call
    def get_scan(self, scan_id: str) -> ScanRecord:
        """The scan record of ``scan_id``; NotFound when there is none."""
        h = cast(Hash, self.r.hgetall(self.scan_key(scan_id)))
        if not h:
            raise NotFound(f"scan {scan_id} not found")
        return ScanRecord.from_hash(h)

    @_store_call
    def scan_job_ids(self, scan_id: str) -> builtins.list[str]:
        """The scan's job ids in variant order."""
        return cast(builtins.list[str], self.r.zrange(self._k("scan", scan_id, "jobs"), 0, -1))

    @_store_call
    def jobs(self, job_ids: Iterable[str]) -> builtins.list[JobRecord]:
        """The records of ``job_ids`` (in order; vanished ones left out), in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(self.job_key(job_id))
        return [JobRecord.from_hash(h) for h in pipe.execute() if h]

    @_store_call
    def scan_counts(self, scan_id: str) -> dict[str, int]:
        """How many of the scan's variants are in each job state (every state named); counted
        in Redis (one round trip, whatever the scan's size)."""
        res = self._scan_counts(args=[self.prefix, scan_id])
        counts = {s.value: 0 for s in JobState}
        for i in range(0, len(res), 2):
            counts[str(res[i])] = int(res[i + 1])
        return counts

    @_store_call
    def list_scans(
        self, *, owner: str | None, limit: int = 50, cursor: int | None = None
    ) -> tuple[builtins.list[ScanRecord], int | None]:
        """Scans newest first (of ``owner``, or all when None); cursor as for ``list``."""
        index = self._k("scans", "user", owner) if owner is not None else self._k("scans", "all")
        hi = f"({cursor}" if cursor is not None else "+inf"
        ids = cast(ScoredIds, self.r.zrevrangebyscore(index, hi, "-inf", start=0, num=limit + 1, withscores=True))
        pipe = self.r.pipeline(transaction=False)
        for scan_id, _ in ids[:limit]:
            pipe.hgetall(self.scan_key(scan_id))
        out = [ScanRecord.from_hash(h) for h in pipe.execute() if h]
        nxt = int(ids[limit - 1][1]) if len(ids) > limit else None
        return out, nxt

    @_store_call
    def cancel_scan(self, scan_id: str) -> dict[str, int]:
        """Mark the scan cancelled and cancel each unfinished variant (queued ones at once,
        running ones asked to stop); finished variants keep their results. Returns how many
        variants were 'cancelled' and 'requested'."""
        self.r.hset(self.scan_key(scan_id), "cancel_requested", "1")
        ids = self.scan_job_ids(scan_id)
        pipe = self.r.pipeline(transaction=False)
        now = repr(time.time())
        for job_id in ids:
            self._cancel(args=[self.prefix, job_id, now], client=pipe)
        out = {"cancelled": 0, "requested": 0}
        for res in pipe.execute():
            if str(res) in out:
                out[str(res)] += 1
        return out

    @_store_call
    def last_diagnostics(self, job_ids: builtins.list[str]) -> builtins.list[dict[str, Any] | None]:
        """Each job's last diagnostics row (None when it published none); one round trip for
        jobs whose stream ends with its row within a few events (a finished job's does)."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.xrevrange(self.stream_key(job_id), "+", "-", count=8)
        out: builtins.list[dict[str, Any] | None] = []
        for job_id, entries in zip(job_ids, pipe.execute(), strict=True):
            row = None
            while entries:
                row = next((self._rows_of(f)[-1] for _i, f in entries if f["k"] == "diag"), None)
                if row is not None:
                    break
                entries = self.r.xrevrange(self.stream_key(job_id), "(" + entries[-1][0], "-", count=200)
            out.append(row)
        return out


@dataclass
class FinishedRun:
    """One run's end for ``JobStore.finish_many``."""

    job_id: str
    attempt: int
    owner: str
    state: JobState
    step: int
    disk_bytes: int
    error: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class NewJob:
    """A job to store with ``JobStore.submit_jobs``."""

    name: str
    spec_json: str
    hook_module: str = ""
    disk_estimate: int = 0
    cache_key: str = ""
    variant: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    #: A succeeded job with the same cache key: the new job is served from it.
    cached: JobRecord | None = None
    #: Scan variants with the same non-empty key may run packed (beamtrack.workers.packing).
    pack_key: str = ""


@dataclass
class ScanRecord:
    """A scan as stored: its variants are jobs (``JobStore.scan_job_ids``)."""

    id: str
    owner: str
    name: str
    seq: int
    created_at: float
    n: int
    priority: int
    device: str
    spec: str
    paths: builtins.list[str]
    columns: builtins.list[str] | None
    cancel_requested: bool

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> ScanRecord:
        return cls(
            id=h["id"],
            owner=h["owner"],
            name=h.get("name", ""),
            seq=int(h.get("seq", 0)),
            created_at=float(h.get("created_at", 0.0)),
            n=int(h.get("n", 0)),
            priority=int(h.get("priority", 0)),
            device=h.get("device", "auto"),
            spec=h.get("spec", ""),
            paths=json.loads(h.get("paths") or "[]"),
            columns=json.loads(h.get("columns") or "null"),
            cancel_requested=h.get("cancel_requested", "0") == "1",
        )


def _encode_row(row: dict[str, Any]) -> bytes | str:
    """A diagnostics row as JSON (orjson where installed: a pack publishes 100,000s of rows)."""
    if orjson is not None:
        return orjson.dumps(row)
    return json.dumps(row)


def stream_ids(entry_id: str, n: int) -> builtins.list[str]:
    """The event ids of the ``n`` rows of one stream entry: ``{entry}.{j}`` for row j, the
    entry's own id for its last row (so the entry id resumes after the whole entry, as for an
    entry of one event)."""
    return [f"{entry_id}.{j}" for j in range(n - 1)] + [entry_id]


def split_event_id(event_id: str) -> tuple[str, int | None]:
    """The stream entry id of an event id (``stream_ids``) and the index of its row inside the
    entry (None: the entry's last or only event)."""
    entry, dot, row = event_id.partition(".")
    return entry, (int(row) if dot else None)


def columns_from(text: str | bytes | None) -> builtins.list[str] | None:
    """The column names stored under a ``P:diagcols`` key, or None when there are none (a JSON
    list of strings, as ``publish_row_values_many`` writes it)."""
    try:
        cols = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return cols if isinstance(cols, builtins.list) and all(isinstance(c, str) for c in cols) else None


def row_json(row: dict[str, Any]) -> str:
    """A diagnostics row as JSON text (a compact row's payload for stream readers)."""
    return orjson.dumps(row).decode() if orjson is not None else json.dumps(row)


def scan_state(counts: dict[str, int], *, cancel_requested: bool) -> str:
    """A scan's state from its variants' counts: queued (none started), running, succeeded
    (every variant), failed (all ended, some failed), cancelled (cancelled, all ended)."""
    total = sum(counts.values())
    unfinished = counts.get("queued", 0) + counts.get("running", 0)
    if unfinished:
        return "queued" if counts.get("queued", 0) == total and not cancel_requested else "running"
    if cancel_requested:
        return "cancelled"
    return "succeeded" if counts.get("succeeded", 0) == total else "failed"
