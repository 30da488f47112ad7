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
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import constants
from .diagnostics.reduced import REDUCED_COLUMNS, moment_columns, reduced_beam_characteristics, twiss_columns
from .kernels.runtime import default_threads

if TYPE_CHECKING:
    from .particles import ParticleContainer
    from .refpart import RefPart

_PLANES = ("x", "y", "t")
_energy_charge = operator.attrgetter("pt", "charge_qe")
_ROW, _COL = np.triu_indices(6)
#: The columns of a reduced-diagnostics row after ``s`` (``reduced_beam_characteristics``' order).
_NAMES = tuple(c for c in REDUCED_COLUMNS if c != "s")


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
    plain = []
    for v in which:
        if beams[v].has_spin:  # more columns than the table's
            out[v] = reduced_beam_characteristics(beams[v], refs[v], kind=kind, nthreads=nthreads)
        else:
            plain.append(v)
    names, table = pack_table(block, nvar, npart, beams, refs, plain, kind=kind, nthreads=nthreads)
    for v, row in zip(plain, table.tolist(), strict=True):
        out[v] = {"s": float(refs[v].s), **dict(zip(names, row, strict=True))}
    return out


def pack_table(
    block: ParticleContainer,
    nvar: int,
    npart: int,
    beams: Sequence[ParticleContainer],
    refs: Sequence[RefPart],
    which: Sequence[int],
    *,
    kind: str,
    nthreads: int | None,
) -> tuple[list[str], np.ndarray]:
    """``pack_rows`` as a table: the column names (``REDUCED_COLUMNS`` without ``s``) and a
    (len(which), len(names)) float64 array, row i variant ``which[i]``'s values (bit-identical
    to the dicts' floats). Variants with spin are refused (their rows have more columns)."""
    names = list(_NAMES)
    table = np.empty((len(which), len(names)))
    if not which:
        return names, table
    if block.has_spin:  # the beams are views of the block's columns: all of its rows
        raise ValueError("pack_table: a variant has spin; take its row with reduced_beam_characteristics")
    sums = _batch_sums(block, nvar, npart, kind, nthreads)
    if sums is not None and (sums[list(which), 0] != 0).all():  # the usual case: one table of columns
        cols = _characteristics(sums[list(which)], [refs[v] for v in which])
        return names, np.column_stack([cols[c] for c in names])
    pos = {v: i for i, v in enumerate(which)}
    fast = [v for v in which if sums is not None and sums[v, 0] != 0]
    if len(fast) < len(which):
        for v in which:
            if sums is None or sums[v, 0] == 0:
                row = reduced_beam_characteristics(beams[v], refs[v], kind=kind, nthreads=nthreads)
                table[pos[v]] = [row[c] for c in names]
    if fast:
        assert sums is not None
        cols = _characteristics(sums[fast], [refs[v] for v in fast])
        rows = [pos[v] for v in fast]
        for j, c in enumerate(names):
            table[rows, j] = cols[c]
    return names, table


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


def _characteristics(s: np.ndarray, refs: Sequence[RefPart]) -> dict[str, np.ndarray]:
    """``characteristics_from_moments(*_moments_from_sums(s[i]), refs[i])`` for every row of ``s``
    (variants with live particles), in arrays (see the module docstring): column name -> values."""
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
            c = cov[:, i, i + 3].tolist()
            square = np.fromiter(map(math.pow, c, itertools.repeat(2.0)), float, len(c))  # as NumPy's scalar ** 2
            e2 = ms[:, i] * ms[:, i + 3] - square
            emit[q] = np.where(e2 > 0.0, np.sqrt(e2), 0.0)
            cols[f"emittance_{q}"] = emit[q]

        disp: dict[str, np.ndarray] = {}
        for i, q in enumerate(("x", "y")):
            disp[q] = np.where(pt_ms > 0.0, -cov[:, i, 5] / pt_ms, 0.0)
            disp["p" + q] = np.where(pt_ms > 0.0, -cov[:, i + 3, 5] / pt_ms, 0.0)

        twiss_columns(cols, ms, cov, disp, emit["t"])
        pt, charge_qe = np.array([_energy_charge(r) for r in refs]).reshape(nv, 2).T
        bg = np.sqrt(pt * pt - 1.0)  # RefPart.beta_gamma
        for q in _PLANES:
            cols[f"emittance_{q}n"] = emit[q] * bg
        cols["charge_C"] = w_sum * (charge_qe * constants.qe) + 0.0  # RefPart.charge
    return cols
