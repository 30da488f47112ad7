"""Artifacts leave the worker node through the job store (Redis), so a job may run on any node.

A worker that sees the server's artifact directory (same node, or a volume they share: the
directory holds the server's ``.beamtrack-store`` marker with the id the worker was given) writes
the job's files there directly. Any other worker writes them to a scratch directory of its own
node and, once the job has ended and before its terminal state is recorded, uploads them into
Redis in chunks; the server pulls them into its own artifact directory (when it reaps the job,
or at the first artifact request) and deletes them from Redis.

Keys (``P`` is the store's prefix; every one expires after the artifact retention of the job's
outcome, so an upload nobody pulls is gone when the files would have been):

- ``P:art:{id}``                   hash: ``attempt``, ``manifest`` (JSON ``[{name, size,
                                   chunks}]``), ``bytes``; written last, by a script fenced on the
                                   attempt that is running: it is the upload's commit
- ``P:art:{id}:keys``              set of every chunk key written for the job (any attempt), so
                                   cleanup finds partial uploads of a lost worker too
- ``P:art:{id}:{attempt}:{f}:{c}`` chunk ``c`` of file ``f`` (at most ``CHUNK_BYTES``)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis

from .errors import Unavailable
from .store import JobStore

#: Largest chunk stored under one key [B], and chunks sent per round trip.
CHUNK_BYTES = 4 << 20
CHUNKS_PER_CALL = 4
#: File in the server's artifact directory naming the store (its content is the store id).
MARKER = ".beamtrack-store"
#: Prefix of the directories a pull assembles before renaming them into place.
INCOMING = ".incoming-"

# KEYS: none; ARGV: prefix, id, attempt, manifest json, total bytes, ttl seconds
_COMMIT = """
local p, id = ARGV[1], ARGV[2]
local h = redis.call('HMGET', p .. ':job:' .. id, 'state', 'attempts')
if h[1] ~= 'running' or h[2] ~= ARGV[3] then return 0 end
local ak = p .. ':art:' .. id
local mine = ak .. ':' .. ARGV[3] .. ':'
for _, k in ipairs(redis.call('SMEMBERS', ak .. ':keys')) do
  if string.sub(k, 1, #mine) ~= mine then
    redis.call('DEL', k)
    redis.call('SREM', ak .. ':keys', k)
  end
end
redis.call('DEL', ak)
redis.call('HSET', ak, 'attempt', ARGV[3], 'manifest', ARGV[4], 'bytes', ARGV[5])
redis.call('EXPIRE', ak, ARGV[6])
redis.call('EXPIRE', ak .. ':keys', ARGV[6])
return 1
"""


class UploadTooLarge(Exception):
    """The job's files are over the cap of an upload through the store."""


@dataclass(frozen=True)
class Transfer:
    """How a worker hands its files to the server: ``store_id`` of the server's artifact
    directory (the shared-directory fast path when the worker sees it), ``always_upload`` to
    skip that path, the cap of one job's upload [B], and the keys' lifetime [s] after a
    success and after a failure or cancel (the artifact retention)."""

    store_id: str = ""
    always_upload: bool = False
    max_bytes: int = 1 << 30
    ttl_s: int = 7 * 86_400
    failed_ttl_s: int = 86_400


def store_marker(root: Path) -> str:
    """The id of the artifact directory ``root`` (created with its marker if missing). Server
    replicas sharing one directory share its id."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / MARKER
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    tmp = root / f"{MARKER}.{uuid.uuid4().hex}"
    tmp.write_text(secrets.token_hex(16) + "\n")
    try:
        os.link(tmp, path)  # first writer wins; a concurrent replica reads the winner's id
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def shares_store(root: Path, store_id: str) -> bool:
    """Whether ``root``, as this node sees it, is the server's artifact directory."""
    if not store_id:
        return False
    try:
        return (root / MARKER).read_text().strip() == store_id
    except OSError:
        return False


def _binary(store: JobStore) -> redis.Redis:
    """A client of the store's Redis that returns bytes (the store's own decodes UTF-8). It owns its
    pool (``from_pool``), so its ``close()`` closes the sockets too: a client given a pool leaves them
    to the garbage collector."""
    kwargs = dict(store.r.get_connection_kwargs())
    kwargs["decode_responses"] = False
    kwargs.pop("encoding_errors", None)
    return redis.Redis.from_pool(redis.ConnectionPool(**kwargs))


def _key(store: JobStore, job_id: str, *parts: object) -> str:
    return ":".join([store.prefix, "art", job_id, *(str(p) for p in parts)])


def files_of(src: Path) -> list[tuple[str, int]]:
    """(relative name, size) of every regular file under ``src``, sorted (symlinks skipped)."""
    out = []
    for path in sorted(src.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out.append((str(path.relative_to(src)), path.stat().st_size))
    return out


def upload(store: JobStore, job_id: str, attempt: int, src: Path, *, max_bytes: int, ttl_s: int) -> int:
    """Upload every file under ``src`` as attempt ``attempt`` of ``job_id``; returns the bytes
    sent (0 when the attempt no longer runs: it commits nothing and its chunks are deleted).
    Raises UploadTooLarge, sending nothing, over ``max_bytes``."""
    files = files_of(src)
    total = sum(size for _, size in files)
    if total > max_bytes:
        raise UploadTooLarge(
            f"the job's files hold {total / 2**20:,.1f} MiB, over the "
            f"{max_bytes / 2**20:,.0f} MiB an upload through the job store may "
            "carry (BEAMTRACK_ARTIFACT_UPLOAD_MAX_MB)"
        )
    rb = _binary(store)
    keys_set = _key(store, job_id, "keys")
    manifest: list[dict[str, Any]] = []
    written: list[str] = []
    try:
        pipe = rb.pipeline(transaction=False)
        pending = 0
        for f, (name, size) in enumerate(files):
            chunks = 0
            with open(src / name, "rb") as fh:
                while True:
                    data = fh.read(CHUNK_BYTES)
                    if not data and chunks:
                        break
                    key = _key(store, job_id, attempt, f, chunks)
                    pipe.sadd(keys_set, key)
                    pipe.set(key, data, ex=ttl_s)
                    written.append(key)
                    chunks += 1
                    pending += 1
                    if pending >= CHUNKS_PER_CALL:
                        pipe.expire(keys_set, ttl_s)
                        pipe.execute()
                        pending = 0
                    if len(data) < CHUNK_BYTES:
                        break
            manifest.append({"name": name, "size": size, "chunks": chunks})
        pipe.expire(keys_set, ttl_s)
        pipe.execute()
        ok = rb.eval(_COMMIT, 0, store.prefix, job_id, attempt, json.dumps(manifest), total, ttl_s)
        if not ok:  # fenced off: a newer attempt owns the job
            _delete(rb, keys_set, written)
        return total if ok else 0
    except redis.RedisError as exc:
        raise Unavailable(f"job store unavailable: {type(exc).__name__}: {exc}") from exc
    finally:
        rb.close()


def _delete(rb: redis.Redis, keys_set: str, keys: list[str]) -> None:
    for i in range(0, len(keys), 512):
        part = keys[i : i + 512]
        rb.delete(*part)
        rb.srem(keys_set, *part)


def uploaded(store: JobStore, job_id: str) -> bool:
    """Whether an upload of ``job_id`` waits in the store."""
    return bool(store.r.exists(_key(store, job_id)))


def pull(store: JobStore, job_id: str, root: Path) -> bool:
    """Move an upload of ``job_id`` into ``root/<job id>`` (assembled beside it, then renamed
    into place, so a reader never sees a partial directory) and delete it from the store.
    Returns False when there was none. Raises ValueError for an upload that is not whole or
    holds a name that would leave the job's directory."""
    if not job_id.isalnum():
        return False
    try:
        # most jobs have none (their worker wrote into the shared directory): asked on the store's
        # own pooled connection, not a bytes client's new one (a reaped pack asks for each variant)
        if not store.r.exists(_key(store, job_id)):
            return False
    except redis.RedisError as exc:
        raise Unavailable(f"job store unavailable: {type(exc).__name__}: {exc}") from exc
    rb = _binary(store)
    try:
        head = cast(dict[bytes, bytes], rb.hgetall(_key(store, job_id)))  # a bytes client (_binary)
        if not head:
            return False
        attempt = head[b"attempt"].decode()
        manifest = json.loads(head[b"manifest"])
        dest = root / job_id
        tmp = root / f"{INCOMING}{job_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True, mode=0o700)
        try:
            base = tmp.resolve()
            for f, entry in enumerate(manifest):
                path = (tmp / entry["name"]).resolve()
                if not path.is_relative_to(base) or path == base:
                    raise ValueError(f"artifact name {entry['name']!r} leaves the job's directory")
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "wb") as fh:
                    for c0 in range(0, int(entry["chunks"]), CHUNKS_PER_CALL):
                        keys = [
                            _key(store, job_id, attempt, f, c)
                            for c in range(c0, min(c0 + CHUNKS_PER_CALL, int(entry["chunks"])))
                        ]
                        chunks = cast(list[bytes | None], rb.mget(keys))  # a bytes client (_binary)
                        for key, data in zip(keys, chunks, strict=True):
                            if data is None:
                                if dest.is_dir():  # another reader pulled it and deleted it
                                    return True
                                raise ValueError(f"chunk {key} of the upload is missing")
                            fh.write(data)
                if path.stat().st_size != int(entry["size"]):
                    raise ValueError(
                        f"artifact {entry['name']!r}: {path.stat().st_size} B arrived, {entry['size']} B were sent"
                    )
            try:
                tmp.rename(dest)
            except OSError:
                if not dest.is_dir():  # else another reader pulled it first
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        forget(store, job_id, rb)
        return True
    except redis.RedisError as exc:
        raise Unavailable(f"job store unavailable: {type(exc).__name__}: {exc}") from exc
    finally:
        rb.close()


def forget(store: JobStore, job_id: str, rb: redis.Redis | None = None) -> None:
    """Delete every upload key of ``job_id`` (retention, or after a pull)."""
    own = rb is None
    client = _binary(store) if rb is None else rb
    try:
        keys_set = _key(store, job_id, "keys")
        members = [k.decode() for k in client.smembers(keys_set)]  # type: ignore[union-attr]
        _delete(client, keys_set, members)
        client.delete(_key(store, job_id), keys_set)
    finally:
        if own:
            client.close()
