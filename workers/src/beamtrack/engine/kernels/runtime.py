"""Load compiled kernels and launch them on a particle container (ctypes on the CPU, CuPy on CUDA)."""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import build, codegen
from .codegen import KernelClass
from .ops import OP_DTYPE


def verbose() -> bool:
    return os.environ.get("BEAMTRACK_VERBOSE", "") not in ("", "0", "false", "False")


def vprint(msg: str) -> None:
    if verbose():
        print(f"beamtrack: {msg}", file=sys.stderr)


def default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class CpuKernel:
    """A compiled serial or OpenMP kernel; ``index[name]`` is the kind id of each element class."""

    def __init__(self, path: Path, classes: Sequence[KernelClass], kind: str, origin: str = ""):
        self.path, self.kind, self.origin = Path(path), kind, origin
        self.classes = list(classes)
        self.index = {k.name: i for i, k in enumerate(self.classes)}
        lib = ctypes.CDLL(str(self.path))
        p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32
        lib.bt_setup.argtypes = [p, i64, p]
        lib.bt_setup.restype = None
        lib.bt_track.argtypes = [p, i64, i64, p, p, p, i64, p, i32]
        lib.bt_track.restype = None
        self._lib = lib
        self.nthreads = default_threads() if kind == "openmp" else 1

    def setup(self, ops: np.ndarray, aux: np.ndarray) -> None:
        """Compute each op's coefficients (c) from its parameters and reference (in place)."""
        self._lib.bt_setup(ops.ctypes.data, len(ops), aux.ctypes.data)

    def track(self, pc: Any, ops: np.ndarray, aux: np.ndarray) -> None:
        """Push every particle of ``pc`` through ``ops`` (already set up)."""
        real = pc.real
        if not real.flags.c_contiguous:
            raise ValueError("particle data must be C-contiguous")
        n = real.shape[1]
        if n == 0 or len(ops) == 0:
            return
        self._lib.bt_track(
            real.ctypes.data, n, n, pc.state.ctypes.data, pc.s_lost.ctypes.data,
            ops.ctypes.data, len(ops), aux.ctypes.data, self.nthreads,
        )


class CudaKernel:
    """The same kernel compiled by NVRTC through CuPy's RawModule; data stays on the device."""

    block = 256

    def __init__(self, source: str, classes: Sequence[KernelClass], include_roots: Sequence[Path], origin: str = ""):
        import cupy as cp

        self.kind, self.origin, self.classes = "cuda", origin, list(classes)
        self.index = {k.name: i for i, k in enumerate(self.classes)}
        self._cp = cp
        opts = tuple(f"-I{r}" for r in include_roots) + ("--std=c++14",)
        self.module = cp.RawModule(code=source, options=opts, name_expressions=None)
        self._setup = self.module.get_function("bt_setup")
        self._track = self.module.get_function("bt_track")

    def setup(self, ops: np.ndarray, aux: np.ndarray) -> None:
        cp = self._cp
        d_ops = cp.asarray(ops.view(np.uint8))
        d_aux = cp.asarray(aux)
        n = len(ops)
        self._setup(((n + 63) // 64,), (64,), (d_ops, np.int64(n), d_aux))
        ops.view(np.uint8)[:] = d_ops.get()

    def track(self, pc: Any, ops: np.ndarray, aux: np.ndarray) -> None:
        cp = self._cp
        n = pc.real.shape[1]
        if n == 0 or len(ops) == 0:
            return
        d_ops = cp.asarray(ops.view(np.uint8))
        d_aux = cp.asarray(aux)
        grid = ((n + self.block - 1) // self.block,)
        self._track(grid, (self.block,), (pc.real, np.int64(n), np.int64(n), pc.state, pc.s_lost, d_ops, np.int64(len(ops)), d_aux))


_loaded: dict[tuple[str, tuple[KernelClass, ...], tuple[Path, ...]], Any] = {}


def load_kernel(kind: str, classes: Sequence[KernelClass], include_roots: Sequence[Path]) -> Any:
    """The kernel for ``classes`` on ``kind``: from this process, the disk cache, or a fresh compile."""
    key = (kind, tuple(classes), tuple(include_roots))
    if key in _loaded:
        return _loaded[key]
    roots = list(include_roots)
    if kind == "cuda":
        src = codegen.generate_cuda(classes)
        kernel: Any = CudaKernel(src, classes, roots, origin="nvrtc")
    else:
        src = codegen.generate_cpu(classes, kind)
        digest = build.source_hash(src, roots, kind)
        so = build.cache_dir() / digest[:2] / f"{digest}.{kind}.so"
        if so.exists():
            vprint(f"using cached {kind} kernel {so.name} ({len(classes)} classes)")
            origin = f"cache:{so}"
        else:
            vprint(f"compiling {kind} kernel for {', '.join(k.name for k in classes)}")
            t0 = time.perf_counter()
            meta = build.compile_cpu(src, kind, roots, so)
            meta.update(kind=kind, classes=[k.name for k in classes], source_hash=digest)
            build.write_metadata(so.with_suffix(".json"), meta)
            vprint(f"compiled in {time.perf_counter() - t0:.2f} s -> {so}")
            origin = f"compiled:{so}"
        kernel = CpuKernel(so, classes, kind, origin=origin)
    _loaded[key] = kernel
    return kernel


def empty_ops(n: int) -> np.ndarray:
    ops = np.zeros(n, dtype=OP_DTYPE)
    ops["nslice"] = 1
    ops["cos_rot"] = 1.0
    return ops
