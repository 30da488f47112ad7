"""ImpactX's space-charge grids as hooks read them: ``sim.rho(lev)``, ``sim.phi(lev)``, ``sim.space_charge_field(lev,
comp)``, each an AMReX ``MultiFab`` of one box (level 0; with max_level = 1 the refined level 1 alone, which
covers the whole domain: beamtrack.engine.spacecharge.refinement).

Layout as ImpactX 26.10 (measured on impactx-noacc): nodal data, ``mf.array(mfi).to_numpy()`` indexed
[ix, iy, iz, comp] with the ghost nodes included. 3D space charge: n_cell + 1 valid nodes per axis; ghosts: rho 2,
phi 1 (multigrid: 3), the field 2. Units: rho [C/m^3], phi [V], space_charge_field [V/m], in the fixed-t frame in
which both codes solve (the z cell stretched by gamma). 2D / 2.5D: ImpactX's x-y projection, one z node, n_cell + 1
valid nodes in x and y; ghosts: rho 0, phi (1, 1, 0), the field (2, 2, 0) (phi's ghosts 0), Ez 0. ImpactX deposits
on a 3D mesh spanning prob_relative x the beam's t extent in n_cell[2] cells and sums rho [C/m^3] over its z nodes,
so its 2D rho, phi and field are the engine's projected ones (rho [C/m^2]) divided by that z cell dz (its push
multiplies the field by dz again). The Gauss models use no grid: reading one raises NotImplementedError.

rho (and with the multigrid solver phi and the field) are the engine solver's own arrays (views into its guarded
grids, beamtrack.engine.spacecharge); writes land there and last until the next space-charge solve, as in ImpactX
(whose next deposit and solve overwrite them too). The 2D / 2.5D grids, scaled by 1 / dz, are copies kept until the
next solve: writes to them last as long (the kick of that slice is already done, in ImpactX too). The FFT solver
computes phi only around the charge, so phi and the field on the whole domain (ImpactX's) are solved again from rho
when a hook first asks, then kept, writes included, until the next solve. Before the first space-charge kick there
is no grid yet: reading raises RuntimeError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

#: the engine solver's guard nodes below / above the valid ones (beamtrack.engine.spacecharge.solver)
_GUARD_LO, _GUARD_HI = 2, 3


class Box:
    """An AMReX box of nodes: ``small_end``, ``big_end`` (inclusive), ``size``."""

    def __init__(self, lo: tuple[int, ...], hi: tuple[int, ...]):
        self.small_end, self.big_end = lo, hi

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(h - lo + 1 for lo, h in zip(self.small_end, self.big_end, strict=True))

    def __repr__(self) -> str:
        return f"<Box of size '{self.size}'>"


class MFIter:
    """The one box of a beamtrack MultiFab (``tilebox``, ``validbox``, ``fabbox``)."""

    def __init__(self, mf: MultiFab):
        self._mf = mf

    def validbox(self) -> Box:
        return Box((0, 0, 0), tuple(n - 1 for n in self._mf.shape[:3]))

    tilebox = validbox

    def fabbox(self) -> Box:
        g, n = self._mf.n_grow_vect, self._mf.shape[:3]
        return Box(tuple(-v for v in g), tuple(m - 1 + v for m, v in zip(n, g, strict=True)))

    def is_valid(self) -> bool:
        return True


class Array4:
    """One box's data with its ghosts (AMReX's ``Array4``): ``to_numpy()`` / ``to_xp()`` / ``to_cupy()``."""

    def __init__(self, data: Any):
        self._data = data

    def to_xp(self, copy: bool = False) -> Any:
        return self._data.copy() if copy else self._data

    def to_numpy(self, copy: bool = False) -> Any:
        if not isinstance(self._data, np.ndarray):
            raise TypeError("this grid lives on the GPU: use to_cupy() or to_xp()")
        return self.to_xp(copy)

    def to_cupy(self, copy: bool = False) -> Any:
        if isinstance(self._data, np.ndarray):
            raise TypeError("this grid lives on the CPU: use to_numpy() or to_xp()")
        return self.to_xp(copy)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)


class MultiFab:
    """ImpactX's nodal MultiFab of one box: ``data`` [ix, iy, iz, comp] with ``n_grow_vect`` ghost nodes per axis."""

    is_all_nodal = True
    is_all_cell_centered = False

    def __init__(self, data: Any, grow: tuple[int, int, int]):
        self._data, self._grow = data, grow

    def __iter__(self) -> Iterator[MFIter]:
        yield MFIter(self)

    def array(self, mfi: MFIter) -> Array4:
        return Array4(self._data)

    const_array = array

    def to_xp(self, copy: bool = False) -> list[Any]:
        """One array per box (ImpactX returns a list of them), ghosts included."""
        return [Array4(self._data).to_xp(copy)]

    def to_numpy(self, copy: bool = False) -> list[Any]:
        return [Array4(self._data).to_numpy(copy)]

    @property
    def n_grow_vect(self) -> tuple[int, int, int]:
        return self._grow

    @property
    def n_comp(self) -> int:
        return int(self._data.shape[3])

    num_comp = nComp = n_comp

    @property
    def shape(self) -> tuple[int, ...]:
        """Valid nodes per axis and the components (ImpactX's ``mf.shape``)."""
        g = self._grow
        return (*(int(n) - 2 * v for n, v in zip(self._data.shape[:3], g, strict=True)), self.n_comp)

    @property
    def shape_with_ghosts(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self._data.shape)

    def _valid(self, comp: int = 0) -> Any:
        g = self._grow
        return self._data[tuple(slice(v, int(n) - v) for v, n in zip(g, self._data.shape[:3], strict=True)) + (comp,)]

    def sum(self, comp: int = 0, local: bool = False) -> float:
        """Sum over the valid nodes."""
        return float(self._valid(comp).sum())

    def min(self, comp: int = 0, nghost: int = 0, local: bool = False) -> float:
        return float(self._valid(comp).min())

    def max(self, comp: int = 0, nghost: int = 0, local: bool = False) -> float:
        return float(self._valid(comp).max())

    def norm0(self, comp: int = 0, nghost: int = 0, local: bool = False) -> float:
        return float(abs(self._valid(comp)).max())

    def set_val(self, value: float, comp: int = 0, ncomp: int = 1, nghost: int | None = None) -> None:
        """Set components comp .. comp + ncomp - 1 on every node, ghosts included."""
        self._data[..., comp : comp + ncomp] = value

    def mult(self, value: float, comp: int = 0, ncomp: int = 1, nghost: int = 0) -> None:
        self._data[..., comp : comp + ncomp] *= value


def _window(a: Any, grow: tuple[int, ...], ndim: int) -> Any:
    """ImpactX's box (valid nodes plus ``grow`` ghosts) of an engine grid, with the axes ImpactX has (x, y, z, comp):
    a view when the engine's guards cover the ghosts, else a zero-padded copy."""
    xp = np if isinstance(a, np.ndarray) else __import__("cupy")
    if all(g <= _GUARD_LO for g in grow[:ndim]):
        view = a[tuple(slice(_GUARD_LO - g, int(n) - _GUARD_HI + g) for g, n in zip(grow, a.shape, strict=False))]
    else:
        pad = [(max(g - _GUARD_LO, 0), max(g - _GUARD_HI, 0)) for g in grow[:ndim]]
        padded = xp.pad(a, pad)
        view = padded[
            tuple(
                slice(_GUARD_LO + lo - g, int(n) - _GUARD_HI - hi + g)
                for g, n, (lo, hi) in zip(grow, padded.shape, pad, strict=False)
            )
        ]
    while view.ndim < 3:
        view = view[..., None]
    return view[..., None]


def _full_domain_fft(solver: Any) -> tuple[Any, list[Any]]:
    """FFT: phi on every valid node (the engine solves only around the charge) and its gradient, with ImpactX's
    ghosts (measured): in 3D its open-boundary solution also fills the high ghost node of each axis, the low one
    stays 0; in x-y (2D / 2.5D) both stay 0. The field at the domain's edge nodes is the central difference against
    them."""
    ndim = solver.rho.ndim
    n = [int(v) for v in solver.n_cell[:ndim]]
    phi = solver.poisson.solve(solver.rho, tuple(float(c) for c in solver.solve_cell))
    xp = np if isinstance(phi, np.ndarray) else __import__("cupy")
    solved = xp.zeros(phi.shape, dtype=bool)
    high_ghost = 1 if ndim == 3 else 0
    solved[tuple(slice(_GUARD_LO, _GUARD_LO + v + 1 + high_ghost) for v in n)] = True
    phi[~solved] = 0.0
    valid = xp.zeros(phi.shape, dtype=bool)
    valid[tuple(slice(_GUARD_LO, _GUARD_LO + v + 1) for v in n)] = True
    fields = solver.backend.field_list(solver.backend.grad(phi, 0.5 / solver.cell))
    for e in fields:
        e[~valid] = 0.0
    return phi, fields


def impactx_z_cell(solver: Any) -> float:
    """ImpactX's z cell [m] in its 2D / 2.5D models: its mesh spans prob_relative x the beam's t extent [m] in
    n_cell[2] cells (ImpactX ResizeMesh on x, y, t), although only the x-y projection is solved."""
    ext = solver.beam_extent
    return float(ext[5] - ext[2]) * solver.prob_relative / int(solver.n_cell[2])


def _grids_2d(solver: Any) -> dict[str, MultiFab]:
    """2D / 2.5D: ImpactX's x-y grids (one z node, no z ghosts) in its units: the engine's projected charge
    [C/m^2], potential and field, each divided by ImpactX's z cell (ImpactX sums its 3D rho [C/m^3] over the z
    nodes, solves that in x-y, and multiplies the gathered field by dz in the push). Ez is 0, as in ImpactX."""
    dz = impactx_z_cell(solver)
    grow_rho, grow_phi, grow_e = (0, 0, 0), (1, 1, 0), (2, 2, 0)
    phi, fields = _full_domain_fft(solver)
    out = {"rho": MultiFab(_window(solver.rho / dz, grow_rho, 2), grow_rho)}
    out["phi"] = MultiFab(_window(phi / dz, grow_phi, 2), grow_phi)
    for c, e in zip("xy", fields, strict=True):
        out[c] = MultiFab(_window(e / dz, grow_e, 2), grow_e)
    out["z"] = MultiFab(_window(0.0 * fields[0], grow_e, 2), grow_e)
    return out


def grids(solver: Any, poisson_solver: str) -> dict[str, MultiFab]:
    """The solver's last rho, phi and field as ImpactX's MultiFabs: keys rho, phi, x, y, z (the PIC models)."""
    if solver.mode in ("2D", "2.5D"):
        return _grids_2d(solver)
    if solver.mode != "3D":
        raise NotImplementedError(
            f"ImpactX sim.rho / sim.phi / sim.space_charge_field with space_charge = {solver.mode!r} is not "
            "implemented in beamtrack (the Gauss models solve on no grid)"
        )
    grow_rho, grow_e = (2, 2, 2), (2, 2, 2)
    grow_phi = (3, 3, 3) if poisson_solver == "multigrid" else (1, 1, 1)
    if poisson_solver == "multigrid":  # the engine's Dirichlet solution covers the whole domain, as ImpactX's
        phi, fields = solver.phi, list(solver.fields)
    else:
        phi, fields = _full_domain_fft(solver)
    out = {"rho": MultiFab(_window(solver.rho, grow_rho, 3), grow_rho)}
    out["phi"] = MultiFab(_window(phi, grow_phi, 3), grow_phi)
    for i, c in enumerate("xyz"):
        out[c] = MultiFab(_window(fields[i], grow_e, 3), grow_e)
    return out
