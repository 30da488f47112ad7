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
With ``multigrid`` and a patch smaller than the domain, level 0's rho is level 1's averaged onto it
(``coarsen_nodal``), its Dirichlet solution is interpolated onto the patch walls (``interpolate_nodal``), and level
1 is solved with these wall values (``boundary_source``); phi is 0 beyond the walls (its ghost nodes; measured: level
0's rho, phi and level 1's phi equal ImpactX's to 1e-16, 2e-12, 2e-12). When the patch is the whole domain, the
walls are the domain's, phi = 0 on them with either solver, and level 0 reaches no particle.
Particles outside the patch (ImpactX tags prob_relative[1] x the beam, so only with prob_relative[1] < 1) stay on
level 0: they deposit there (level 1 does not see their charge), and gather level 0's field: the IGF solve (fft) or
the Dirichlet one on the domain walls (multigrid) of their charge plus level 1's averaged (measured: particles after
4 slices with 53..76 of 2000 on level 0 agree with ImpactX 26.10's to 6e-12 of their change, both solvers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

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


def coarsen_nodal(rho_f: Any, ratio: Sequence[int], n_cell: Sequence[int], guard: tuple[int, int], xp: Any) -> Any:
    """ABLASTR's charge-conserving nodal average (coarsen::average::Interp) of a refined-level density onto level 0.

    rho_f: the refined nodal array (node f of an axis at index guard[0] + f, guard[0] / guard[1] extra nodes below /
    above); returns level 0's array in the same layout (n_cell + 1 valid nodes), each valid node I the sum over the
    refined nodes r I + o, |o| < r, of rho_f times prod over axes (r - |o|) / r^2, and 0 on the extra nodes (ImpactX
    adds the coarsened charge to level 0's valid nodes only)."""
    lo_g, hi_g = guard
    r = [int(v) for v in ratio]
    pad = max(r)
    f = xp.pad(rho_f, pad)
    out = xp.zeros(tuple(int(n) + 1 + lo_g + hi_g for n in n_cell), dtype=np.float64)
    valid = tuple(slice(lo_g, lo_g + int(n) + 1) for n in n_cell)
    offsets = [range(-(v - 1), v) for v in r]
    for ox in offsets[0]:
        for oy in offsets[1]:
            for oz in offsets[2]:
                o = (ox, oy, oz)
                w = 1.0
                for ax in range(3):
                    w *= (r[ax] - abs(o[ax])) / (r[ax] * r[ax])
                sl = tuple(
                    slice(pad + lo_g + o[ax], pad + lo_g + o[ax] + r[ax] * int(n_cell[ax]) + 1, r[ax])
                    for ax in range(3)
                )
                out[valid] += w * f[sl]
    return out


def interpolate_nodal(phi_c: Any, ratio: Sequence[int], n_cell: Sequence[int], guard: tuple[int, int], xp: Any) -> Any:
    """AMReX's mf_nodebilin_interp of level 0's nodal phi onto every refined node (tensor-product linear), in the
    layout of ``coarsen_nodal`` (level 0's array in, the refined array out; 0 on the extra nodes)."""
    lo_g, hi_g = guard
    c = phi_c[tuple(slice(lo_g, lo_g + int(n) + 1) for n in n_cell)]
    for ax, r in enumerate(int(v) for v in ratio):
        c = xp.moveaxis(c, ax, 0)
        m = c.shape[0] - 1
        fine = xp.empty((r * m + 1, *c.shape[1:]), dtype=np.float64)
        fine[r * m] = c[m]
        for k in range(r):
            fine[k : r * m : r] = (1.0 - k / r) * c[:-1] + (k / r) * c[1:]
        c = xp.moveaxis(fine, 0, ax)
    out = xp.zeros(tuple(int(r) * int(n) + 1 + lo_g + hi_g for r, n in zip(ratio, n_cell, strict=True)))
    out[tuple(slice(lo_g, lo_g + s) for s in c.shape)] = c
    return out


def boundary_source(phi_b: Any, walls: Sequence[tuple[int, int]], cell: Sequence[float], xp: Any) -> Any:
    """The boundary values phi_b [V] on the walls of a Dirichlet box (per axis the first and last node) moved to the
    right-hand side: eps0 x sum over axes of (G[i - 1] + G[i + 1]) / h^2, G = phi_b on the walls and 0 elsewhere
    [C/m^3]; added to rho, the zero-wall solve inside plus G on the walls is the solution with phi = phi_b there."""
    from .. import constants

    g = xp.zeros_like(phi_b)
    box = tuple(slice(lo, hi + 1) for lo, hi in walls)
    inner = tuple(slice(lo + 1, hi) for lo, hi in walls)
    g[box] = phi_b[box]
    g[inner] = 0.0
    src = xp.zeros_like(phi_b)
    for ax, h in enumerate(cell):
        src += (xp.roll(g, 1, axis=ax) + xp.roll(g, -1, axis=ax)) / (h * h)
    return constants.epsilon0 * src, g
