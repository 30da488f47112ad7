"""The reduced-diagnostics C kernel (c/reduced_cpu.c), serial or OpenMP, loaded by the kernel system
(``kernels.runtime.load_library``, as the space-charge library is): compiled once per build key into
the user cache, its ctypes signatures read from the C definitions (``runtime.c_signatures``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..kernels.runtime import CLibrary, load_library

CPU_SOURCE = Path(__file__).resolve().parent / "c" / "reduced_cpu.c"

#: doubles rbc_sums writes (see the layout at the top of c/reduced_cpu.c)
NOUT = 62
#: columns rbc_characteristics writes a beam (REDUCED_COLUMNS, which follow a row's step and s)
NCOL = 41


class ReducedKernel:
    """``rbc_sums``, ``rbc_sums_batch`` and ``rbc_characteristics`` of the serial or OpenMP library, on
    NumPy blocks."""

    def __init__(self, lib: CLibrary):
        # rbc_sums, rbc_sums_batch, rbc_characteristics: bound by runtime.bind, from the C definitions
        self.lib: Any = lib
        self.path, self.kind, self.origin = lib.path, lib.kind, lib.origin

    def sums(self, real: np.ndarray, state: np.ndarray, n: int, nspin: int, nthreads: int) -> np.ndarray:
        """The weighted sums of the first ``n`` particles of a C-contiguous float64 (rows, cap) block
        and its int32 state vector (layout in c/reduced_cpu.c)."""
        out = np.empty(NOUT)
        if (
            self.lib.rbc_sums(real.ctypes.data, real.shape[1], n, state.ctypes.data, nspin, out.ctypes.data, nthreads)
            < 0
        ):
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
        if self.lib.rbc_sums_batch(*args) < 0:
            raise MemoryError("rbc_sums_batch: no memory for the per-thread sums")
        return out

    def characteristics(self, sums: np.ndarray, beta_gamma: np.ndarray, charge_C: np.ndarray) -> np.ndarray:
        """The reduced beam characteristics of beams from their sums: ``sums`` (nv, NOUT) as
        ``sums_batch`` gives them, ``beta_gamma`` (nv,) the reference's beta gamma [1] and ``charge_C``
        (nv,) its charge [C] of each. Returns (nv, NCOL): the columns of REDUCED_COLUMNS,
        bit-identical to ``characteristics_from_moments`` of each row's moments."""
        sums = np.ascontiguousarray(sums, dtype=np.float64)
        nv = sums.shape[0]
        bg = np.ascontiguousarray(beta_gamma, dtype=np.float64)
        charge = np.ascontiguousarray(charge_C, dtype=np.float64)
        if sums.shape != (nv, NOUT) or bg.shape != (nv,) or charge.shape != (nv,):
            raise ValueError("characteristics: sums (nv, NOUT), beta_gamma (nv,) and charge_C (nv,)")
        out = np.empty((nv, NCOL))
        self.lib.rbc_characteristics(sums.ctypes.data, nv, bg.ctypes.data, charge.ctypes.data, out.ctypes.data)
        return out


@cache
def load_cpu(kind: str) -> ReducedKernel:
    """The serial or OpenMP library (``kind``), from the user cache or compiled now."""
    return ReducedKernel(load_library("reduced", CPU_SOURCE, kind))
