"""The result cache's key: what makes two jobs' results the same.

A job's results are a function of its spec (seeded, deterministic tracking), its hook module's
source, the engine that tracks it and the kernel kind it asked for. The key is the SHA-256 of the
canonical spec JSON (sorted keys, compact; the job's ``name`` left out, since variants and resubmits
rename a job without changing its physics) with the hook source, the engine version plus a digest
of the engine's source files (so a changed engine in a development tree is a new engine), and the
requested device. The store keeps, per owner and key, the jobs submitted with it
(``JobStore.cache_lookup``); one that succeeded and still has its artifacts serves the next.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any


@functools.cache
def engine_version() -> str:
    """``<beamtrack-engine version>+<12 hex digits of its source files>``."""
    try:
        version = importlib.metadata.version("beamtrack-engine")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    root = Path(__file__).resolve().parents[1] / "engine"
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".h", ".c", ".cpp", ".cu") and path.is_file():
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return f"{version}+{h.hexdigest()[:12]}"


def canonical_spec(spec_json: str) -> str:
    """The spec as sorted compact JSON without its ``name``."""
    doc: dict[str, Any] = json.loads(spec_json)
    doc.pop("name", None)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def cache_key(spec_json: str, *, hook_module: str = "", device: str = "auto") -> str:
    """The result-cache key of a job (hex SHA-256; see the module docstring)."""
    return cache_key_of_canonical(canonical_spec(spec_json), hook_module=hook_module, device=device)


def cache_key_of_canonical(canonical: str, *, hook_module: str = "", device: str = "auto") -> str:
    """``cache_key`` from the spec's canonical JSON (``canonical_spec``, or
    ``beamtrack.spec.scan.canonical_json`` of a scan variant's dict: the same text)."""
    h = hashlib.sha256()
    for part in (canonical, hook_module, engine_version(), device):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()
