"""ImpactX 26.10's mesh refinement (``amr.max_level = 1``): where its refined level lies, in cells of level 0.

ImpactX fixes the refined patch once, at ``init_grids``, in index space; every slice then only rescales both levels
to prob_relative[0] x the beam extent (ResizeMesh: all levels share level 0's physical domain, the refined level's
cells are ref_ratio times smaller). The patch comes from ImpactX's tagging (AmrCoreData::ErrorEst) and AMReX's grid
generation (AmrMesh::MakeNewGrids), per axis with n level-0 cells, ref ratio r and p = prob_relative:

1. tags: the cells [ceil(d / 2), ceil(n - 1 - d / 2)] with d = n - (n r p[1] / p[0]) / r (a box p[1] / p[0] of the
   domain, centred); none when that range is empty (then ImpactX builds no refined level);
2. AMReX buffers them by ``n_error_buf`` (1) cells, coarsens the tags by b = max(1, blocking_factor[1] / r) (a
   coarse block is tagged when any of its cells is), clusters them (a box of tags is one cluster), refines the
   cluster back by b and clips it to the domain.

On the refined level ImpactX deposits the charge of the particles inside the patch, solves Poisson there with
AMReX's MLMG and phi = 0 on the patch boundary (ABLASTR computePhi: with ``poisson_solver = "fft"`` the IGF solve of
level 0 skips the interpolation of phi to level 1, so the refined level's walls stay at the 0 it was reset to; with
``multigrid`` they get level 0's phi, which is 0 on the domain walls), and these particles gather from that level
(measured on ImpactX 26.10: its level-1 phi is the Dirichlet solution of its level-1 rho to the MLMG tolerance,
its particles after 4 slices agree with beamtrack's Dirichlet solve on the refined grid to 6e-12 of their change).
So when the patch is the whole domain, the model is the Dirichlet problem on r x n_cell cells over the domain, whatever
the Poisson solver, and level 0 (IGF or MLMG over the coarsened charge) reaches no particle. A patch smaller than
the domain (particles of both levels, coarse phi around the patch) is not implemented.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: AMReX's AmrInfo defaults
DEFAULT_REF_RATIO = 2
DEFAULT_BLOCKING_FACTOR = 8
DEFAULT_N_ERROR_BUF = 1


def level_prob_relative(prob_relative: Sequence[float], max_level: int) -> list[float]:
    """geometry.prob_relative per level as ImpactX reads it (read_mr_prob_relative): 3 on level 0 and 1 above unless
    given; raises ValueError where ImpactX throws (level 0 < 1, a level <= 0, not descending)."""
    levels = [3.0] + [1.0] * max_level
    for lev, v in enumerate(list(prob_relative)[: max_level + 1]):
        levels[lev] = float(v)
    if levels[0] < 1.0:
        raise ValueError("geometry.prob_relative must be >= 1.0 (the beam size) on the coarsest level")
    last = math.inf
    for v in levels:
        if v <= 0.0:
            raise ValueError("geometry.prob_relative must be strictly positive for all levels")
        if v > last:
            raise ValueError("geometry.prob_relative must be descending over refinement levels")
        last = v
    return levels


def per_level(values: Sequence[int] | int | None, lev: int, default: int) -> int:
    """An AMReX per-level option (amr.blocking_factor_x = [8, 16], ...) at level lev: the last value repeats."""
    if values is None:
        return default
    if isinstance(values, int):
        return int(values)
    vals = [int(v) for v in values]
    if not vals:
        return default
    return vals[min(lev, len(vals) - 1)]


def refined_patch(
    n_cell: Sequence[int],
    prob_relative: Sequence[float],
    ref_ratio: Sequence[int],
    blocking_factor: Sequence[int],
    n_error_buf: Sequence[int],
) -> list[tuple[int, int]] | None:
    """The level-0 cells (first, last per axis, inclusive) that level 1 refines, or None when ImpactX tags none.

    n_cell: level-0 cells per axis; prob_relative: per level (at least 2 values); ref_ratio, blocking_factor and
    n_error_buf: per axis, level 1's blocking factor, level 0's ref ratio and error buffer."""
    p0, p1 = float(prob_relative[0]), float(prob_relative[1])
    tagged: list[tuple[int, int]] = []
    for ax, n in enumerate(n_cell):
        r = int(ref_ratio[ax])
        n_fine = float(n) * float(r) * p1 / p0
        diff = float(n) - n_fine / float(r)
        lo, hi = math.ceil(0.0 + diff * 0.5), math.ceil(float(n - 1) - diff * 0.5)
        if lo > hi:
            return None
        tagged.append((lo, hi))
    patch = []
    for ax, n in enumerate(n_cell):
        r, buf = int(ref_ratio[ax]), int(n_error_buf[ax])
        b = max(1, int(blocking_factor[ax]) // r)
        lo, hi = tagged[ax][0] - buf, tagged[ax][1] + buf
        top = (n - 1) // b
        clo, chi = max(0, lo // b), min(top, hi // b)
        patch.append((max(0, clo * b), min(n - 1, (chi + 1) * b - 1)))
    return patch


def covers_domain(patch: list[tuple[int, int]] | None, n_cell: Sequence[int]) -> bool:
    """Whether the refined patch is the whole level-0 domain."""
    return patch is not None and all(p == (0, int(n) - 1) for p, n in zip(patch, n_cell, strict=True))
