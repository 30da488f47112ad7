"""Reduced diagnostics of every variant of a pack in one pass (``beamtrack.engine.packed``).

An unpacked run computes one row per diagnostics step: the C sums of its beam (``rbc_sums``), then
ImpactX's characteristics from them (``diagnostics.reduced``: ``rbc_characteristics`` for one
beam), two C calls and the Python around them a row. A pack of V variants would do that V times a
step. Here the sums of all variants come from one call (``rbc_sums_batch``: variant v's sums exactly as ``rbc_sums`` gives them for its
beam alone, whichever thread takes it), and the characteristics of all variants from another
(``rbc_characteristics``: operation for operation as ``characteristics_from_moments``, so every
value is bit-identical to the unpacked row's float; tests/unit/test_reduced_kernel.py).

Variants with spin, and beams the C kernel does not take, are left to
``reduced_beam_characteristics`` one by one (the same numbers; rare).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import constants
from .diagnostics.reduced import REDUCED_COLUMNS, _c_kernel, reduced_beam_characteristics
from .kernels.runtime import default_threads
from .packed_output import REF_STATE

if TYPE_CHECKING:
    from .particles import ParticleContainer
    from .refpart import RefPart

_energy_charge = operator.attrgetter("pt", "charge_qe")
_PT, _CHARGE_QE = REF_STATE.index("pt"), REF_STATE.index("charge_qe")
#: The columns of a reduced-diagnostics row after ``s`` (``reduced_beam_characteristics``' order).
_NAMES = REDUCED_COLUMNS


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
    ref_table: np.ndarray | None = None,
) -> tuple[list[str], np.ndarray]:
    """``pack_rows`` as a table: the column names (``REDUCED_COLUMNS`` without ``s``) and a
    (len(which), len(names)) float64 array, row i variant ``which[i]``'s values (bit-identical
    to the dicts' floats). Variants with spin are refused (their rows have more columns).
    ``ref_table``: ``refs`` of ``which`` as rows of ``packed_output.REF_STATE``, when the caller
    holds them so (else each reference's pt and charge are read)."""
    names = list(_NAMES)
    if not which:
        return names, np.empty((0, len(names)))
    if block.has_spin:  # the beams are views of the block's columns: all of its rows
        raise ValueError("pack_table: a variant has spin; take its row with reduced_beam_characteristics")
    k = _c_kernel(kind) if _c_block(block, nvar, npart, kind) else None
    if k is None:  # no C kernel for this beam: each variant's row on its own (the same numbers)
        table = np.empty((len(which), len(names)))
        for i, v in enumerate(which):
            row = reduced_beam_characteristics(beams[v], refs[v], kind=kind, nthreads=nthreads)
            table[i] = [row[c] for c in names]
        return names, table
    # the threads an unpacked run of one variant splits its sums across (so each sum is the same)
    split = (nthreads or default_threads()) if kind == "openmp" else 1
    sums = k.sums_batch(block.real, block.state, nvar, npart, 0, split, split)
    if ref_table is not None:
        pt, charge_qe = ref_table[:, _PT], ref_table[:, _CHARGE_QE]
    else:
        pt, charge_qe = np.array([_energy_charge(refs[v]) for v in which]).reshape(len(which), 2).T
    beta_gamma = np.sqrt(pt * pt - 1.0)  # RefPart.beta_gamma, elementwise
    table = k.characteristics(sums[list(which)], beta_gamma, charge_qe * constants.qe)  # RefPart.charge
    return names, table


def _c_block(block: ParticleContainer, nvar: int, npart: int, kind: str) -> bool:
    """Whether the C kernel of ``kind`` takes the sums of this block (a CPU kind, NumPy float64 rows)."""
    real, state = block.real, block.state
    if kind not in ("serial", "openmp") or not isinstance(real, np.ndarray) or real.dtype != np.float64:
        return False
    return state.dtype == np.int32 and real.flags.c_contiguous and real.shape[1] == nvar * npart
