"""Compile kernels with the system C compiler and keep them in a content-addressed cache.

The cache key is the SHA-256 of the generated source, every header it can include, the compiler's
version and the flags: a changed header or compiler gives a new kernel, never a stale one. Two
processes compiling the same kernel at once each write a private temporary file and rename it into
place atomically, so readers only ever see complete shared objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path



class KernelBuildError(RuntimeError):
    """The C compiler failed; the message holds its diagnostics."""


ENGINE_DIR = Path(__file__).resolve().parents[1]
#: The include root of beamtrack's own headers: #include "beamtrack/engine/..." resolves here.
ENGINE_INCLUDE_ROOT = ENGINE_DIR.parents[1]


def cache_dir() -> Path:
    """User kernel cache: $BEAMTRACK_KERNEL_CACHE, else ~/.cache/beamtrack/kernels."""
    env = os.environ.get("BEAMTRACK_KERNEL_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "beamtrack" / "kernels"
    base.mkdir(parents=True, exist_ok=True)
    return base


def compiler() -> str:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or "cc"


@cache
def compiler_version() -> str:
    try:
        out = subprocess.run([compiler(), "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise KernelBuildError(f"no working C compiler ({compiler()}): {exc}") from None
    return out.splitlines()[0] if out else "unknown"


def cflags(kind: str) -> list[str]:
    """Compiler flags for a CPU kind; BEAMTRACK_CFLAGS replaces the optimisation flags."""
    opt = os.environ.get("BEAMTRACK_CFLAGS", "-O3 -march=native -fno-math-errno -fno-trapping-math").split()
    common = ["-std=c11", "-fPIC", "-shared", *opt]
    return [*common, "-fopenmp"] if kind == "openmp" else [*common, "-fopenmp-simd"]


def headers_digest(include_roots: list[Path]) -> str:
    """Hash of every header under each include root's packages (what the kernel may include)."""
    h = hashlib.sha256()
    for root in include_roots:
        for path in sorted(root.rglob("*.h")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def source_hash(source: str, include_roots: list[Path], kind: str) -> str:
    h = hashlib.sha256()
    h.update(source.encode())
    h.update(headers_digest(include_roots).encode())
    h.update(kind.encode())
    if kind != "cuda":
        h.update(compiler_version().encode())
        h.update(" ".join(cflags(kind)).encode())
    return h.hexdigest()


def compile_cpu(source: str, kind: str, include_roots: list[Path], out: Path) -> dict[str, object]:
    """Compile ``source`` into the shared object ``out`` (atomically). Returns build metadata."""
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-") as tmp:
        src = Path(tmp) / "kernel.c"
        src.write_text(source)
        tmp_so = Path(tmp) / "kernel.so"
        cmd = [compiler(), *cflags(kind), *[f"-I{r}" for r in include_roots], str(src), "-o", str(tmp_so), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise KernelBuildError(f"compiling the {kind} kernel failed:\n{proc.stderr[-4000:]}")
        os.replace(tmp_so, out)
    return {
        "compiler": compiler_version(),
        "flags": cflags(kind),
        "build_seconds": round(time.perf_counter() - t0, 3),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_metadata(path: Path, meta: dict[str, object]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
    os.replace(tmp, path)
