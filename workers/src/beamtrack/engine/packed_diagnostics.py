"""Reduced diagnostics of every variant of a pack in one pass (``beamtrack.engine.packed``).

An unpacked run computes one row per diagnostics step: the C sums of its beam (``rbc_sums``), then
ImpactX's characteristics from them in NumPy scalars (``diagnostics.reduced``), about 60 us of
Python a row. A pack of V variants does that V times a step. Here the sums of all variants come
from one call (``rbc_sums_batch``: variant v's sums exactly as ``rbc_sums`` gives them for its
beam alone, whichever thread takes it), and the characteristics are computed for all variants at
once with NumPy arrays, operation for operation as ``characteristics_from_moments`` does, so every
value is bit-identical to the unpacked row: elementwise +, -, *, / and sqrt round the same in an
array as in a scalar; ``x ** 2`` of a NumPy scalar calls libm's pow, which differs from ``x * x``
in the last bit now and then, so those three squares are taken with ``math.pow``.

Variants with spin, without a C kernel or without a live particle are left to
``reduced_beam_characteristics`` one by one (the same numbers; rare).

``BufferedReducedWriter`` and ``BufferedRefWriter`` write ImpactX's ASCII tables as the unbuffered
writers do, byte for byte, a line formatted in one ``%`` operation and flushed every
``FLUSH_LINES`` lines and at close (the unbuffered ones flush each line for live readers; a pack's
variants have their rows in the job store for those).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .diagnostics.ascii import ReducedDiagnosticsWriter, RefParticleWriter
from .diagnostics.reduced import moment_columns, reduced_beam_characteristics, twiss_columns
from .kernels.runtime import default_threads

if TYPE_CHECKING:
    from .particles import ParticleContainer
    from .refpart import RefPart

_PLANES = ("x", "y", "t")
_ROW, _COL = np.triu_indices(6)
#: Lines a buffered ASCII writer holds before it writes them.
FLUSH_LINES = 64


def pack_rows(
    block: ParticleContainer,
    nvar: int,
    npart: int,
    beams: Sequence[ParticleContainer],
    refs: Sequence[RefPart],
    which: Sequence[int],
    *,
    kind: str,
    nthreads: int | None,
) -> dict[int, dict[str, float]]:
    """``reduced_beam_characteristics(beams[v], refs[v], kind=kind, nthreads=nthreads)`` for each
    v in ``which``; ``block`` holds the variants' particles side by side (variant v: columns
    [v npart, (v + 1) npart)), ``beams[v]`` is a view of its columns."""
    out: dict[int, dict[str, float]] = {}
    sums = _batch_sums(block, nvar, npart, kind, nthreads) if which else None
    fast = [v for v in which if sums is not None and sums[v, 0] != 0 and not beams[v].has_spin]
    for v in which:
        if v not in fast:
            out[v] = reduced_beam_characteristics(beams[v], refs[v], kind=kind, nthreads=nthreads)
    if fast:
        assert sums is not None
        rows = _characteristics(sums[fast], [refs[v] for v in fast])
        out.update(zip(fast, rows, strict=True))
    return out


def _batch_sums(block: ParticleContainer, nvar: int, npart: int, kind: str, nthreads: int | None) -> Any:
    """The (nvar, 62) sums of c/reduced_cpu.c, or None where the C kernel does not serve this beam."""
    real, state = block.real, block.state
    if kind not in ("serial", "openmp") or not isinstance(real, np.ndarray) or real.dtype != np.float64:
        return None
    if state.dtype != np.int32 or not real.flags.c_contiguous or real.shape[1] != nvar * npart:
        return None
    from .diagnostics.reduced import _c_kernel

    k = _c_kernel(kind)
    if k is None:
        return None
    # the threads an unpacked run of one variant splits its sums across (so each sum is the same)
    split = (nthreads or default_threads()) if kind == "openmp" else 1
    return k.sums_batch(real, state, nvar, npart, 0, split, split)


def _characteristics(s: np.ndarray, refs: Sequence[RefPart]) -> list[dict[str, float]]:
    """``characteristics_from_moments(*_moments_from_sums(s[i]), refs[i])`` for every row of ``s``
    (variants with live particles), in arrays (see the module docstring)."""
    nv = s.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        w_sum = s[:, 1]
        s2 = np.empty((nv, 6, 6))
        s2[:, _ROW, _COL] = s[:, 14:35]
        s2[:, _COL, _ROW] = s[:, 14:35]
        m = s[:, 8:14] / w_sum[:, None]
        cov = s2 / w_sum[:, None, None] - m[:, :, None] * m[:, None, :]
        d6 = np.arange(6)
        cov[:, d6, d6] = np.maximum(cov[:, d6, d6], 0.0)
        has_nan = s[:, 47:53] > 0
        mins = np.where(has_nan, np.nan, s[:, 35:41])
        maxs = np.where(has_nan, np.nan, s[:, 41:47])
        means = s[:, 2:8] + m

        cols: dict[str, np.ndarray] = {}
        ms = cov[:, d6, d6]
        sig = np.sqrt(ms)
        moment_columns(cols, means, mins, maxs, sig)

        pt_ms = ms[:, 5]
        emit: dict[str, np.ndarray] = {}
        for i, q in enumerate(_PLANES):
            square = np.array([math.pow(c, 2.0) for c in cov[:, i, i + 3].tolist()])  # as NumPy's scalar ** 2
            e2 = ms[:, i] * ms[:, i + 3] - square
            emit[q] = np.where(e2 > 0.0, np.sqrt(e2), 0.0)
            cols[f"emittance_{q}"] = emit[q]

        disp: dict[str, np.ndarray] = {}
        for i, q in enumerate(("x", "y")):
            disp[q] = np.where(pt_ms > 0.0, -cov[:, i, 5] / pt_ms, 0.0)
            disp["p" + q] = np.where(pt_ms > 0.0, -cov[:, i + 3, 5] / pt_ms, 0.0)

        twiss_columns(cols, ms, cov, disp, emit["t"])
        bg = np.array([r.beta_gamma for r in refs])
        for q in _PLANES:
            cols[f"emittance_{q}n"] = emit[q] * bg
        cols["charge_C"] = w_sum * np.array([r.charge for r in refs]) + 0.0
    names = list(cols)
    table = np.stack([cols[c] for c in names], axis=1).tolist()
    return [{"s": float(r.s), **dict(zip(names, row, strict=True))} for r, row in zip(refs, table, strict=True)]


class _Buffered:
    """``_write_line`` of the ASCII writers, buffered (mixed into their classes; same bytes)."""

    _fh: Any
    path: Any

    def _write_line(self, step: int, values: Sequence[float], ints: Sequence[int] = ()) -> None:
        if self._fh is None:
            raise ValueError(f"{self.path} is closed")
        head = " ".join([str(int(step)), *(str(int(i)) for i in ints)])
        # "%.16e" is ascii._fmt for finite values and gives its nan / inf / -inf for the others
        line = (head + " %.16e" * len(values) + "\n") % tuple(map(float, values)) if values else head + "\n"
        lines: list[str] = self.__dict__.setdefault("_lines", [])
        lines.append(line)
        if len(lines) >= FLUSH_LINES:
            self.flush_lines()

    def flush_lines(self) -> None:
        lines: list[str] = self.__dict__.get("_lines", [])
        if lines and self._fh is not None:
            self._fh.write("".join(lines))
            self._fh.flush()
            lines.clear()

    def close(self) -> None:
        self.flush_lines()
        super().close()  # type: ignore[misc]


class BufferedReducedWriter(_Buffered, ReducedDiagnosticsWriter):
    """``ReducedDiagnosticsWriter``, buffered (module docstring)."""


class BufferedRefWriter(_Buffered, RefParticleWriter):
    """``RefParticleWriter``, buffered (module docstring)."""
