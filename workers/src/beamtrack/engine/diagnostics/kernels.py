"""Load the reduced-diagnostics C kernel (c/reduced_cpu.c), serial or OpenMP, through the engine's build
cache: one shared object per (source, headers, compiler, flags) content hash under ``build.cache_dir()``,
as ``spacecharge.kernels`` does."""

from __future__ import annotations

import ctypes
import time
from functools import cache
from pathlib import Path

import numpy as np

from ..kernels import build
from ..kernels.runtime import vprint

CPU_SOURCE = Path(__file__).resolve().parent / "c" / "reduced_cpu.c"

#: doubles rbc_sums writes (see the layout at the top of c/reduced_cpu.c)
NOUT = 62


class ReducedKernel:
    """ctypes handle on ``rbc_sums`` of the compiled serial or OpenMP library."""

    def __init__(self, path: Path, kind: str, origin: str):
        self.path, self.kind, self.origin = path, kind, origin
        self._lib = ctypes.CDLL(str(path))
        fn = self._lib.rbc_sums
        p, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32
        fn.argtypes = [p, i64, i64, p, i32, p, i32]
        fn.restype = i64
        self._fn = fn
        batch = self._lib.rbc_sums_batch
        batch.argtypes = [p, i64, i64, i64, p, i32, p, i32, i32]
        batch.restype = i64
        self._batch = batch

    def sums(self, real: np.ndarray, state: np.ndarray, n: int, nspin: int, nthreads: int) -> np.ndarray:
        """The weighted sums of the first ``n`` particles of a C-contiguous float64 (rows, cap) block
        and its int32 state vector (layout in c/reduced_cpu.c)."""
        out = np.empty(NOUT)
        if self._fn(real.ctypes.data, real.shape[1], n, state.ctypes.data, nspin, out.ctypes.data, nthreads) < 0:
            raise MemoryError("rbc_sums: no memory for the per-thread sums")
        return out

    def sums_batch(
        self, real: np.ndarray, state: np.ndarray, nvar: int, n: int, nspin: int, split: int, nthreads: int
    ) -> np.ndarray:
        """``sums`` of ``nvar`` beams of ``n`` particles side by side in one C-contiguous float64
        (rows, cap) block (beam v: columns [v n, (v + 1) n)), each as ``sums(..., nthreads=split)``
        gives it; ``nthreads`` threads share the beams. Returns (nvar, NOUT)."""
        out = np.empty((nvar, NOUT))
        args = (real.ctypes.data, real.shape[1], nvar, n, state.ctypes.data, nspin, out.ctypes.data, split, nthreads)
        if self._batch(*args) < 0:
            raise MemoryError("rbc_sums_batch: no memory for the per-thread sums")
        return out


@cache
def load_cpu(kind: str) -> ReducedKernel:
    """The serial or OpenMP library: from the disk cache, or compiled now (atomically) and cached."""
    if kind not in ("serial", "openmp"):
        raise ValueError(f"not a CPU kind: {kind!r}")
    roots = [build.ENGINE_INCLUDE_ROOT]
    src = CPU_SOURCE.read_text()
    digest = build.build_key(build.source_hash(src, roots, kind), kind)
    so = build.cache_dir() / digest[:2] / f"{digest}.reduced.{kind}.so"
    with build.file_lock(so.with_suffix(".lock")):
        if so.exists():
            vprint(f"using cached {kind} reduced-diagnostics kernel {so.name}")
            return ReducedKernel(so, kind, f"cache:{so}")
        vprint(f"compiling the {kind} reduced-diagnostics kernel")
        t0 = time.perf_counter()
        meta = build.compile_cpu(src, kind, roots, so)
        meta.update(kind=kind, classes=["reduced_diagnostics"], source_hash=digest)
        build.write_metadata(so.with_suffix(".json"), meta)
        vprint(f"compiled in {time.perf_counter() - t0:.2f} s -> {so}")
    return ReducedKernel(so, kind, f"compiled:{so}")
