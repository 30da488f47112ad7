"""Compile kernels (system C compiler for the CPU kinds, NVRTC through CuPy for cuda) and key them by content.

Two hashes name a kernel:
- the *source hash*: SHA-256 of the generated source, its kind, and the path and bytes of every
  header it includes (followed transitively through ``#include "..."`` in the include roots).
  A prebuilt kernel whose recorded source hash differs from the installed sources is stale.
- the *build key*: the source hash plus the compiler's identity and flags. The user cache is
  addressed by it, so a changed header, compiler or flag gives a new kernel, never a stale one.

Two processes compiling the same kernel at once serialise on a lock file next to the output; each
writes a private temporary file and renames it into place, so readers only see complete files.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path


class KernelBuildError(RuntimeError):
    """The C compiler failed; the message holds its diagnostics."""


ENGINE_DIR = Path(__file__).resolve().parents[1]
#: The include root of beamtrack's own headers: #include "beamtrack/engine/..." resolves here.
ENGINE_INCLUDE_ROOT = ENGINE_DIR.parents[1]
#: Where ``beamtrack-prebuild regenerate`` puts prebuilt kernels (inside the installed package).
PACKAGE_PREBUILT_DIR = Path(__file__).resolve().parent / "prebuilt"


def cache_dir() -> Path:
    """User kernel cache: $BEAMTRACK_KERNEL_CACHE, else $XDG_CACHE_HOME/beamtrack/kernels (~/.cache/...)."""
    env = os.environ.get("BEAMTRACK_KERNEL_CACHE")
    base = (
        Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "beamtrack" / "kernels"
    )
    base.mkdir(parents=True, exist_ok=True)
    return base


def prebuilt_dir() -> Path:
    """The prebuilt kernel store: $BEAMTRACK_PREBUILT_DIR, else ``kernels/prebuilt`` in the package."""
    env = os.environ.get("BEAMTRACK_PREBUILT_DIR")
    return Path(env) if env else PACKAGE_PREBUILT_DIR


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


def nvrtc_options(include_roots: Sequence[Path]) -> list[str]:
    return [*(f"-I{r}" for r in include_roots), "--std=c++14"]


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def included_headers(source: str, include_roots: Sequence[Path]) -> list[tuple[str, Path | None]]:
    """Every quoted include reachable from ``source``: (include name, resolved file or None), sorted.

    Resolution follows the compiler's ``-I`` order. Conditional includes are followed too: the hash
    may cover a header the compiler skips, never the other way round.
    """
    found: dict[str, Path | None] = {}
    todo = _INCLUDE.findall(source)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = next((r / name for r in include_roots if (r / name).is_file()), None)
        found[name] = path
        if path is not None:
            todo.extend(_INCLUDE.findall(path.read_text(errors="replace")))
    return sorted(found.items())


def source_hash(source: str, include_roots: Sequence[Path], kind: str) -> str:
    """SHA-256 of the generated source, its kind and every header it includes (by include name and bytes)."""
    h = hashlib.sha256()
    h.update(kind.encode() + b"\0" + source.encode() + b"\0")
    for name, path in included_headers(source, include_roots):
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path is not None else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def toolchain(kind: str) -> dict[str, object]:
    """The compiler identity and flags that go into the build key and the metadata."""
    if kind == "cuda":
        import cupy
        from cupy.cuda import nvrtc

        major, minor = nvrtc.getVersion()
        return {
            "compiler": f"nvrtc {major}.{minor} (cupy {cupy.__version__})",
            "flags": ["--std=c++14"],
            "arch": cuda_arch(),
        }
    return {"compiler": compiler_version(), "flags": cflags(kind), "cpu": host_cpu()}


@cache
def host_cpu() -> str:
    """This machine's CPU as the compiler sees it with -march=native: model name and a digest of its
    feature flags (/proc/cpuinfo). A kernel built for one CPU may use instructions another lacks."""
    model, flags = platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model == platform.machine():
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = " ".join(sorted(value.split()))
    except OSError:
        pass
    return f"{model} [{hashlib.sha256(flags.encode()).hexdigest()[:10]}]"


def cpu_mismatch(meta: Mapping[str, object]) -> str | None:
    """Why a CPU kernel built with -march=native cannot run here, or None."""
    flags = meta.get("flags") or []
    assert isinstance(flags, list)
    if meta.get("kind") == "cuda" or not any(str(f).startswith("-march=native") for f in flags):
        return None
    if meta.get("cpu") != host_cpu():
        return f"built for CPU {meta.get('cpu')!r} with -march=native, this machine is {host_cpu()!r}"
    return None


def build_key(src_hash: str, kind: str) -> str:
    h = hashlib.sha256(src_hash.encode())
    h.update(json.dumps(toolchain(kind), sort_keys=True).encode())
    return h.hexdigest()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock held while the block runs (other processes wait for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _stamp(t0: float) -> dict[str, object]:
    return {
        "build_seconds": round(time.perf_counter() - t0, 3),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def compile_cpu(source: str, kind: str, include_roots: Sequence[Path], out: Path) -> dict[str, object]:
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
    return {**toolchain(kind), **_stamp(t0)}


def cuda_arch() -> str:
    """``sm_XY`` of the current CUDA device."""
    import cupy

    cc = cupy.cuda.Device().compute_capability
    return f"sm_{cc}"


def compile_cuda(source: str, include_roots: Sequence[Path], out: Path) -> dict[str, object]:
    """Compile ``source`` with NVRTC into a cubin for the current device at ``out`` (atomically)."""
    from cupy.cuda import nvrtc

    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    arch = cuda_arch()
    prog = nvrtc.createProgram(source, "beamtrack_kernel.cu", (), ())
    try:
        try:
            nvrtc.compileProgram(prog, (*nvrtc_options(include_roots), f"--gpu-architecture={arch}"))
        except nvrtc.NVRTCError as exc:
            raise KernelBuildError(
                f"compiling the cuda kernel failed: {exc}\n{nvrtc.getProgramLog(prog)[-4000:]}"
            ) from None
        binary = nvrtc.getCUBIN(prog)
    finally:
        nvrtc.destroyProgram(prog)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_bytes(binary)
    os.replace(tmp, out)
    return {**toolchain("cuda"), **_stamp(t0)}


def write_metadata(path: Path, meta: dict[str, object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
    os.replace(tmp, path)
