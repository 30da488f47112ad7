"""The space-charge kick of one slice, as ImpactX computes it (PIC modes 3D, 2D, 2.5D; analytic Gauss3D, Gauss2.5D).

Per slice of length ds (ImpactX HandleSpacecharge, PoissonSolve, ForceFromSelfFields, GatherAndPush):
1. 3D only: transform alive particles to fixed time, (x, y, t, px, py, pt) -> (x, y, z, px, py, pz)
   (ImpactX ToFixedT), in place.
2. Span a nodal grid of n_cell cells over prob_relative x the extent of the alive particles (ImpactX
   ResizeMesh), recomputed every slice, and deposit q * w with the particle shape (order 1, 2, 3).
   The array carries 2 extra nodes below and 3 above so that the widest stencil and the centred
   difference of phi never leave it (charge is never dropped).
3. Solve Poisson with open boundaries by FFT convolution with the integrated Green's function
   (``poisson.py``); or, 3D with ``poisson_solver = "multigrid"``, with ImpactX's MLMG boundary problem:
   phi = 0 on the walls of the padded domain (the n_cell cells, not the guard nodes), solved exactly by sine
   transforms (``DirichletPoissonSolver``; ImpactX recommends prob_relative >= 3 with it, its default). 3D: the Green's function is evaluated with the z cell stretched by gamma
   (ABLASTR computePhi with beta = (0, 0, beta_ref): the solve happens in the beam rest frame and
   phi is the lab-frame potential). 2D / 2.5D: one transverse solve of the charge summed along t.
4. E = -grad(phi) by centred differences on the nodes (lab cell sizes).
5. Gather E at each particle with the same shape as the deposition (the same shape makes the self-force
   vanish and total momentum conserved), or with ``gather_shape`` (ImpactX gathers linearly; beamtrack.impactx
   sets 1) and kick:
      3D:   (px, py, pz) += E * q ds / (beta c) / (gamma^2 p0)             [p0 = beta gamma m c]
      2D:   (px, py) += E_line * q ds / (beta c) / (gamma^2 p0) / (beta c)    (line charge current/(beta c))
      2.5D: (px, py) += E_line * lambda(t)/Q * q ds/(beta c)/(gamma^2 p0)/beta,
            pt -= phi_line * lambda'(t) |q|/Q * (same factor)                 (ImpactX True_2p5D;
            apply_longitudinal_kick = False drops this pt kick, as ImpactX's algo.space_charge option)
   then, 3D only, transform back to fixed s (ImpactX ToFixedS).

Intensity: 3D uses the particle weights (bunch_charge_C). 2D uses ``current_A`` when given - the weight
of a particle is current_A / qe times its share of the initial total weight (equal shares when the beam
carries no weights) - else the weights as ImpactX's Python API does (bunch charge read as current).
2.5D uses the weights (bunch charge, as ImpactX); when the beam carries none and ``current_A`` is given,
the bunch charge is current_A * sqrt(12) * sigma_t / c at the first kick (the charge of a flat-top bunch of
the same rms length), so a flat longitudinal profile reproduces the 2D model.

Gauss3D / Gauss2.5D (ImpactX Gauss3dPush / Gauss2p5dPush, J. Qiang, LBNL-2001674 (2025)): no grid; the field
of a Gaussian bunch with the beam's rms sizes (weighted) and charge (q sum w) is evaluated at each particle by
Simpson integrals over nint points (``c/sc_common.h``):
   Gauss3D (at fixed t, as the 3D model): (px, py, pz) += E * q ds / (beta c) / (gamma^2 p0),
              E_i = 2 A Q k x_i I_i / (sig_i^2 sig_z sqrt(2 pi)) (A = sig_x / sig_y, k = c^2 1e-7 = 1 / (4 pi eps0)
              as ImpactX writes it);
   Gauss2.5D (at fixed s, as the 2.5D model): the transverse field of a 2D Gaussian times the line density
              lambda(t) / beta (charge per metre of z; charge_z_bins bins over the t extent), (px, py) += E_xy *
              (same factor), and pt -= (I_phi + C) lambda'(t) / beta q k (same factor) with
              C = -ln 2 + 0.577216 - 2 ln((sig_x + sig_y) / (2 long_scale)), long_scale default 1.103 beta gamma
              sig_t (ImpactX's choice minimising the on-axis Ez error against a 3D Gaussian). ImpactX 26.10 works in
              (x, y, t) here (its sources up to 26.06 went to fixed t first); checked against 26.10 to 1e-12.

Lost particles (state != 0) neither deposit nor move; fewer than two alive particles, or a beam
without charge, give no kick. A beam flat in a dimension the mode resolves raises SpaceChargeError
(ImpactX aborts on flat beams as well).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import constants
from . import refinement
from .poisson import DirichletPoissonSolver, OpenPoissonSolver

MODES = ("3D", "2D", "2.5D", "Gauss3D", "Gauss2.5D")
#: ImpactX's algo.poisson_solver values
POISSON_SOLVERS = ("fft", "multigrid")
GAUSS_MODES = ("Gauss3D", "Gauss2.5D")
#: ImpactX's 1 / (4 pi eps0) in its Gauss models: c^2 * 1e-7 [m/F]
_K_GAUSS = constants.c * constants.c * 1.0e-7
#: extra nodes below / above the n_cell + 1 nodes spanning prob_relative x the beam
GUARD_LO, GUARD_HI = 2, 3


class SpaceChargeError(ValueError):
    """Space charge cannot be computed for this beam or these settings (the message says why)."""


def _mode(mode: Any) -> str:
    """ImpactX's mode names: "3D" (also True), "2D", "2.5D" (also "2p5D"), "Gauss3D", "Gauss2.5D" (also "Gauss2p5D")."""
    if mode is True:
        return "3D"
    m = str(mode).strip().upper().replace("P5", ".5")
    for name in MODES:
        if m == name.upper():
            return name
    raise SpaceChargeError(f"space_charge mode must be one of {', '.join(MODES)}, not {mode!r}")


def make_backend(kind: str, nthreads: int | None = None) -> Any:
    """The particle/grid backend for a kernel kind: serial | openmp | cuda | numpy."""
    from . import backend

    if kind in ("serial", "openmp"):
        from ..kernels.runtime import default_threads

        return backend.CpuBackend(kind, nthreads or default_threads())
    if kind == "cuda":
        return backend.CudaBackend()
    if kind == "numpy":
        return backend.NumpyBackend()
    raise SpaceChargeError(f"kind must be serial, openmp, cuda or numpy, not {kind!r}")


class SpaceChargeSolver:
    """Space-charge kicks for one beam (ImpactX settings and names).

    mode: "3D" | "2D" | "2.5D"; n_cell: [nx, ny, nz] cells (nz unused by 2D/2.5D); particle_shape: 1, 2, 3;
    prob_relative: grid extent over beam extent (>= 1); num_longitudinal_bins: 2.5D line-density bins;
    current_A: beam current [A] for 2D/2.5D; kind: serial | openmp | cuda | numpy; nthreads: CPU threads
    (deposition, gather and FFT workers; default: the cores this process may use).
    Gauss models (ImpactX's algo.space_charge.gauss_*): gauss_nint: Simpson points (made odd);
    gauss_taylor_delta: Gauss2.5D's [0, delta] Taylor interval; gauss_charge_z_bins: Gauss2.5D's line-density
    bins; gauss_long_scale [m]: Gauss2.5D's longitudinal scale (None: 1.103 beta gamma sig_z at each kick).
    poisson_solver: "fft" (open boundaries, IGF) or "multigrid" (3D only, as ImpactX: grounded walls at the
    domain boundary; the Gauss models use no Poisson solve). gather_shape: the shape of the field gather (None:
    particle_shape, which makes the self-force vanish and conserves the total momentum; ImpactX gathers with 1,
    trilinear / bilinear, whatever its particle_shape, measured on 26.10 to 1e-15 of the field).
    Mesh refinement (ImpactX's amr.max_level = 1, ``refinement.py``): max_level 0 or 1; prob_relative_levels:
    geometry.prob_relative per level (None: [prob_relative]); ref_ratio, blocking_factor (level 1's) and n_error_buf:
    AMReX's, an int or one per axis. With a refined patch covering the whole domain the solve is ImpactX's level 1:
    ``n_cell`` becomes ref_ratio x the given cells over the whole domain, the solve the Dirichlet one inside the patch
    walls (``poisson_solver`` reads "multigrid"; ``coarse_n_cell``, ``requested_poisson_solver`` keep what was given,
    ``refined_patch`` the level-0 cells refined); particles outside the patch get level 0's field; max_level = 1 in
    2D / 2.5D raises NotImplementedError.
    apply_longitudinal_kick: 2.5D's pt kick from the potential (ImpactX's algo.space_charge.apply_longitudinal_kick,
    read by ImpactX for 2.5D only; False is refused for the other modes, whose longitudinal kick ImpactX keeps).

    After each kick, ``rho`` [C/m^3, 2D: C/m^2], ``phi`` [V, 2D: V per unit line charge], ``fields``
    (E on the nodes [V/m]), ``grid_lo`` (position of node 0 [m]) and ``cell`` [m] describe the last solve;
    phi and E are computed on the nodes holding charge plus one node around them (0 outside, where no
    particle gathers)
    (3D: in the fixed-t frame, z along the reference). ``timings`` accumulates seconds per phase.
    """

    def __init__(
        self,
        mode: str = "3D",
        n_cell: Sequence[int] = (32, 32, 32),
        particle_shape: int = 2,
        prob_relative: float | list[float] | tuple[float, ...] = 1.1,
        num_longitudinal_bins: int = 100,
        current_A: float | None = None,
        kind: str = "openmp",
        nthreads: int | None = None,
        split_gather_push: bool = False,
        gauss_nint: int = 101,
        gauss_taylor_delta: float = 0.01,
        gauss_charge_z_bins: int = 129,
        gauss_long_scale: float | None = None,
        poisson_solver: str = "fft",
        gather_shape: int | None = None,
        apply_longitudinal_kick: bool = True,
        max_level: int = 0,
        prob_relative_levels: Sequence[float] | None = None,
        ref_ratio: int | Sequence[int] = refinement.DEFAULT_REF_RATIO,
        blocking_factor: int | Sequence[int] = refinement.DEFAULT_BLOCKING_FACTOR,
        n_error_buf: int | Sequence[int] = refinement.DEFAULT_N_ERROR_BUF,
    ):
        self.mode = _mode(mode)
        if not apply_longitudinal_kick and self.mode != "2.5D":
            raise SpaceChargeError(
                f"apply_longitudinal_kick = False applies to 2.5D space charge only (ImpactX reads it for 2.5D "
                f"and keeps the longitudinal kick of the others), not {self.mode}"
            )
        self.apply_longitudinal_kick = bool(apply_longitudinal_kick)
        if poisson_solver not in POISSON_SOLVERS:
            raise SpaceChargeError(
                f"poisson_solver must be one of {', '.join(POISSON_SOLVERS)}, not {poisson_solver!r}"
            )
        if poisson_solver == "multigrid" and self.mode in ("2D", "2.5D"):
            raise SpaceChargeError(
                f"poisson_solver = 'multigrid' supports only 3D space charge (ImpactX: "
                f"algo.poisson_solver must be fft for {self.mode}), not {self.mode}"
            )
        self.poisson_solver = self.requested_poisson_solver = poisson_solver
        self.gauss = self.mode in GAUSS_MODES
        n_cell = [int(v) for v in n_cell]
        ndim = 3 if self.mode == "3D" else 2
        if not self.gauss and (len(n_cell) < ndim or any(v < 2 for v in n_cell[:ndim])):
            raise SpaceChargeError(
                f"n_cell must give at least 2 cells in each of the first {ndim} dimensions: {n_cell}"
            )
        self.coarse_n_cell = list(n_cell)
        self.max_level = int(max_level)
        self.refined_patch: list[tuple[int, int]] | None = None
        self.ref_ratio = [1, 1, 1]
        #: with max_level = 1: the alive particles outside the refined patch at the last solve (ImpactX's level 0)
        self.particles_on_level0 = 0
        if self.max_level != 0 and not self.gauss:
            n_cell = self._refine(n_cell, prob_relative, prob_relative_levels, ref_ratio, blocking_factor, n_error_buf)
        self.n_cell = n_cell
        if particle_shape not in (1, 2, 3):
            raise SpaceChargeError(f"particle_shape must be 1, 2 or 3, not {particle_shape!r}")
        self.order = int(particle_shape)
        if gather_shape not in (None, 1, 2, 3):
            raise SpaceChargeError(f"gather_shape must be 1, 2, 3 or None (the particle_shape), not {gather_shape!r}")
        self.gather_order = self.order if gather_shape is None else int(gather_shape)
        pr = prob_relative[0] if isinstance(prob_relative, (list, tuple)) else prob_relative
        if not (pr >= 1.0 and math.isfinite(pr)):
            raise SpaceChargeError(f"prob_relative must be >= 1 (the beam size), not {pr!r}")
        self.prob_relative = float(pr)
        if int(num_longitudinal_bins) < 2:
            raise SpaceChargeError("num_longitudinal_bins must be >= 2")
        self.num_longitudinal_bins = int(num_longitudinal_bins)
        self.current_A = current_A
        if int(gauss_nint) < 2:
            raise SpaceChargeError(f"gauss_nint must be >= 2 (Simpson points), not {gauss_nint!r}")
        if not 0.0 < float(gauss_taylor_delta) < 0.05:
            raise SpaceChargeError(
                f"gauss_taylor_delta must be in (0, 0.05) (ImpactX's range), not {gauss_taylor_delta!r}"
            )
        if int(gauss_charge_z_bins) < 2:
            raise SpaceChargeError(f"gauss_charge_z_bins must be >= 2, not {gauss_charge_z_bins!r}")
        if gauss_long_scale is not None and not (float(gauss_long_scale) > 0.0 and math.isfinite(gauss_long_scale)):
            raise SpaceChargeError(f"gauss_long_scale must be > 0 [m] or None, not {gauss_long_scale!r}")
        self.gauss_nint = int(gauss_nint)
        self.gauss_taylor_delta = float(gauss_taylor_delta)
        self.gauss_charge_z_bins = int(gauss_charge_z_bins)
        self.gauss_long_scale = None if gauss_long_scale is None else float(gauss_long_scale)
        self._warned_long = False
        self.backend = make_backend(kind, nthreads)
        self.kind = self.backend.kind
        self.xp = self.backend.xp
        self.poisson = OpenPoissonSolver(self.backend)
        self.dirichlet = DirichletPoissonSolver(self.backend)
        #: time the gather and the push as two kernels (for benchmarks; the default fuses them)
        self.split_gather_push = split_gather_push
        self.timings: dict[str, float] = defaultdict(float)
        self.nsteps = 0
        self._weight_norm: tuple[bool, float] | None = None
        self.rho: Any = None
        self.phi: Any = None
        self.fields: list[Any] = []
        self.grid_lo: np.ndarray | None = None
        self.cell: np.ndarray | None = None
        self.solve_cell: tuple[float, ...] | None = None
        #: the alive particles' extent at the last solve: min x, y, t (3D: z) then max x, y, t (z) [m]
        self.beam_extent: np.ndarray | None = None

    def _refine(
        self,
        n_cell: list[int],
        prob_relative: Any,
        levels: Sequence[float] | None,
        ref_ratio: int | Sequence[int],
        blocking_factor: int | Sequence[int],
        n_error_buf: int | Sequence[int],
    ) -> list[int]:
        """The cells of ImpactX's level 1 when its patch is the whole domain (see ``refinement.py``)."""
        if self.max_level != 1:
            raise NotImplementedError(
                f"ImpactX option max_level = {self.max_level} (more than one refined level) is not implemented in "
                "beamtrack (implemented: 0 and 1)"
            )
        if self.mode != "3D":
            raise NotImplementedError(
                f"ImpactX option max_level = 1 (mesh refinement) with space_charge = {self.mode!r} is not "
                "implemented in beamtrack (3D only)"
            )
        if levels is None:
            levels = list(prob_relative) if isinstance(prob_relative, (list, tuple)) else [prob_relative]
        try:
            pr = refinement.level_prob_relative(levels, 1)
        except ValueError as e:
            raise SpaceChargeError(str(e)) from None

        def per_axis(v: int | Sequence[int]) -> list[int]:
            return [int(v)] * 3 if isinstance(v, int) else [int(a) for a in v]

        rr = per_axis(ref_ratio)
        patch = refinement.refined_patch(n_cell, pr, rr, per_axis(blocking_factor), per_axis(n_error_buf))
        if patch is None:  # ImpactX tags no cell: it builds no refined level
            return n_cell
        self.refined_patch = patch
        self.ref_ratio = rr
        self.poisson_solver = "multigrid"
        return [n * r for n, r in zip(n_cell, rr, strict=True)]

    def _walls(self) -> list[tuple[int, int]]:
        """Per axis the first and the last node of the refined patch in the refined grid's array."""
        assert self.refined_patch is not None
        pairs = zip(self.refined_patch, self.ref_ratio, strict=True)
        return [(GUARD_LO + r * a, GUARD_LO + r * (b + 1)) for (a, b), r in pairs]

    def _levels(self, real: Any, state: Any, n: int, mm: np.ndarray, lo: np.ndarray, inv_d: np.ndarray) -> Any:
        """None when every alive particle lies in the refined patch, else the state rows (0: on that level) of level 1's
        and level 0's particles: AMReX's Redistribute puts a particle on level 1 when its refined cell is in the patch."""
        walls = self._walls()
        cells = [np.floor((np.array([mm[ax], mm[3 + ax]]) - lo[ax]) * inv_d[ax]) for ax in range(3)]
        if all(c[0] >= w[0] and c[1] <= w[1] - 1 for c, w in zip(cells, walls, strict=True)):
            return None
        xp = self.xp
        alive = state[:n] == 0
        inside = alive.copy()
        for ax, (first, last) in enumerate(walls):
            c = xp.floor((real[ax, :n] - lo[ax]) * inv_d[ax])
            inside &= (c >= first) & (c <= last - 1)
        one = xp.ones(n, dtype=state.dtype)
        return xp.where(inside, 0, one).astype(state.dtype), xp.where(alive & ~inside, 0, one).astype(state.dtype)

    def _refined_phi(
        self, rho: Any, gcell: tuple[float, ...], mm: np.ndarray, levels: Any, real: Any, n: int, dep: tuple[Any, ...]
    ) -> tuple[Any, Any]:
        """phi [V] on the refined grid as ImpactX's level 1 (``refinement.py``; rho: level 1's particles' charge),
        and, with particles on level 0 (``levels``), what they gather: (state row, grid lo, 1 / cell, E of level 0).

        Level 1: phi = 0 beyond the patch walls; on them 0 (fft, or a patch covering the domain) or level 0's Dirichlet
        solution (multigrid). Level 0's charge: level 1's averaged onto it plus level 0's particles' deposit; its phi
        the IGF solve (fft) or the Dirichlet one on the domain walls (multigrid). dep: (has_w, charge per weight [C],
        gamma)."""
        walls, rr, n0 = self._walls(), self.ref_ratio, self.coarse_n_cell
        fft = self.requested_poisson_solver == "fft"
        if levels is None and (fft or refinement.covers_domain(self.refined_patch, n0)):
            return self.dirichlet.solve(rho, gcell, walls), None
        b, xp, guard = self.backend, self.xp, (GUARD_LO, GUARD_HI)
        has_w, qw, gamma = dep
        lo_c, cell_c, shape_c = self._grid(mm, 3, n0)
        gcell_c = (float(cell_c[0]), float(cell_c[1]), float(gamma * cell_c[2]))
        rho_c = refinement.coarsen_nodal(rho, rr, n0, guard, xp)
        if levels is not None:
            own = b.deposit(
                real, levels[1], n, has_w, qw / float(np.prod(cell_c)), self.order, lo_c, 1.0 / cell_c, shape_c
            )
            valid = tuple(slice(GUARD_LO, GUARD_LO + v + 1) for v in n0)
            rho_c[valid] += own[valid]
        if fft:
            phi = self.dirichlet.solve(rho, gcell, walls)
            phi_c = self.poisson.solve(rho_c, gcell_c)
        else:
            phi_c = self.dirichlet.solve(rho_c, gcell_c, [(GUARD_LO, GUARD_LO + v) for v in n0])
            phi_b = refinement.interpolate_nodal(phi_c, rr, n0, guard, xp)
            src, g = refinement.boundary_source(phi_b, walls, gcell, xp)
            phi = self.dirichlet.solve(rho + src, gcell, walls) + g
        coarse = None if levels is None else (levels[1], lo_c, 1.0 / cell_c, b.grad(phi_c, 0.5 / cell_c))
        return phi, coarse

    @classmethod
    def from_simulation(cls, sim: Any) -> SpaceChargeSolver:
        """A solver with the simulation's settings (sim.space_charge, n_cell, particle_shape, ...)."""
        return cls(
            mode=sim.space_charge,
            n_cell=sim.n_cell,
            particle_shape=sim.particle_shape,
            prob_relative=sim.prob_relative,
            num_longitudinal_bins=sim.num_longitudinal_bins,
            current_A=getattr(sim, "current_A", None),
            kind=sim.kind,
            nthreads=getattr(sim, "nthreads", None),
            gauss_nint=getattr(sim, "space_charge_gauss_nint", 101),
            gauss_taylor_delta=getattr(sim, "space_charge_gauss_taylor_delta", 0.01),
            gauss_charge_z_bins=getattr(sim, "space_charge_gauss_charge_z_bins", 129),
            gauss_long_scale=getattr(sim, "space_charge_gauss_long_scale", None),
            poisson_solver=getattr(sim, "poisson_solver", "fft"),
            gather_shape=getattr(sim, "space_charge_gather_shape", None),
            apply_longitudinal_kick=getattr(sim, "space_charge_apply_longitudinal_kick", True),
            max_level=getattr(sim, "max_level", 0),
            prob_relative_levels=getattr(sim, "prob_relative_levels", None),
            ref_ratio=getattr(sim, "ref_ratio", refinement.DEFAULT_REF_RATIO),
            blocking_factor=[
                refinement.per_level(getattr(sim, f"blocking_factor_{a}", None), 1, refinement.DEFAULT_BLOCKING_FACTOR)
                for a in "xyz"
            ],
            n_error_buf=getattr(sim, "n_error_buf", refinement.DEFAULT_N_ERROR_BUF),
        )

    # --- helpers ---------------------------------------------------------------------------------
    def _tick(self, name: str, t0: float) -> float:
        self.backend.synchronize()
        t1 = time.perf_counter()
        self.timings[name] += t1 - t0
        return t1

    def _weights(self, beam: Any) -> tuple[bool, float]:
        """(use the weight row, factor on it) giving the number of physical particles per macroparticle."""
        if self.mode in ("3D", *GAUSS_MODES) or self.current_A is None:
            return True, 1.0
        if self._weight_norm is None:
            xp, n = self.xp, beam.size
            total = float(beam.real[6, :n].sum())
            if self.mode == "2D":
                number = self.current_A / constants.qe
            else:
                if total > 0.0:
                    self._weight_norm = (True, 1.0)
                    return self._weight_norm
                alive = beam.state[:n] == 0
                t = beam.real[2, :n][alive]
                sigma_t = float(xp.sqrt(xp.mean((t - t.mean()) ** 2)))
                number = self.current_A * math.sqrt(12.0) * sigma_t / constants.c / constants.qe
            self._weight_norm = (True, number / total) if total > 0.0 else (False, number / n)
        return self._weight_norm

    def _grid(
        self, mm: np.ndarray, ndim: int, n_cell: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
        """(position of node 0 [m], cell [m], array shape) of the grid of n_cell (default: the solved grid's) cells
        spanning prob_relative x the beam extent mm, with the guard nodes."""
        lo_b, hi_b = mm[:ndim], mm[3 : 3 + ndim]
        width = hi_b - lo_b
        names = "xyz" if self.mode == "3D" else "xy"
        for ax in range(ndim):
            if not width[ax] > 0.0:
                raise SpaceChargeError(
                    f"flat beam: every alive particle has {names[ax]} = {lo_b[ax]!r}; "
                    "space charge needs a beam of non-zero extent (ImpactX refuses it too)"
                )
        n = np.array((self.n_cell if n_cell is None else n_cell)[:ndim], dtype=np.int64)
        cell = width * self.prob_relative / n
        lo = lo_b - 0.5 * width * (self.prob_relative - 1.0) - GUARD_LO * cell
        shape = tuple(int(v) + 1 + GUARD_LO + GUARD_HI for v in n)
        return lo, cell, shape

    def _support(
        self, mm: np.ndarray, lo: np.ndarray, inv_d: np.ndarray, shape: tuple[int, ...]
    ) -> list[tuple[int, int]]:
        """Per axis the nodes the alive particles deposit on: the stencils of the lowest and the highest one
        (the first node of a stencil grows with the position; same arithmetic as the kernels' sc_shape)."""
        out = []
        for ax, n in enumerate(shape):
            u = (np.array([mm[ax], mm[3 + ax]]) - lo[ax]) * inv_d[ax]
            first = np.floor(u + 0.5) - 1 if self.order == 2 else np.floor(u) - (self.order == 3)
            out.append((max(0, int(first[0])), min(n - 1, int(first[1]) + self.order)))
        return out

    # --- the kick ----------------------------------------------------------------------------------
    def kick(self, beam: Any, ref: Any, slice_ds: float) -> None:
        """Apply the space-charge kick of a slice of length ``slice_ds`` [m] to ``beam`` (in place)."""
        self._step(beam, ref, slice_ds, None)

    def self_fields(self, beam: Any, ref: Any) -> Any:
        """The self field gathered at each particle as the kick uses it, (3, n); lost particles get 0.

        3D: lab-frame (Ex, Ey, Ez) [V/m] at the fixed-t positions (the kick is q dt / p0 times
        (Ex / gamma^2, Ey / gamma^2, Ez): the magnetic force cancels all but 1/gamma^2 of the transverse one). 2D / 2.5D: (Ex, Ey) [V/m] of the
        transverse charge taken as a line density of sum(q w) [C/m], and for 2.5D the potential [V] in the
        third row. Gauss3D: as 3D. Gauss2.5D: (Ex, Ey) [V/m] of the Gaussian transverse profile with the local line
        density, and in the third row the longitudinal field W [V/m] of the model (the kick is pz -= q dt W /
        (gamma^2 p0)). The beam is not changed (the computation runs on a copy)."""
        from ..particles import ParticleContainer

        copy = ParticleContainer(xp=beam.xp, qm=beam.qm)
        copy.real = beam.real.copy()
        copy.state = beam.state.copy()
        out = self.xp.zeros((3, beam.size))
        self._step(copy, ref, 0.0, out)
        if self.mode in ("3D", "Gauss3D"):
            # the gradient of the potential computed with the gamma-stretched Green's function is the lab
            # field transversely and gamma^2 times the lab field longitudinally (ImpactX pushes with
            # q E / gamma^2 on all three components)
            out[2] /= ref.gamma**2
        return out

    def _step(self, beam: Any, ref: Any, ds: float, eout: Any) -> None:
        n = beam.size
        if n == 0 or (ds == 0.0 and eout is None):
            return
        b, real, state = self.backend, beam.real, beam.state
        if not real.flags.c_contiguous:
            raise SpaceChargeError("particle data must be C-contiguous")
        three_d = self.mode == "3D"
        ndim = 3 if three_d else 2
        gamma, bg = ref.gamma, ref.beta_gamma
        beta = bg / gamma
        t0 = time.perf_counter()
        live, wsum = b.census(real, state, n)
        # nothing to do (and no round trip through fixed t) for < 2 alive particles or a chargeless beam
        if live < 2 or (self._weights(beam) == (True, 1.0) and not wsum > 0.0):
            return
        if self.gauss:
            self._gauss_step(beam, ref, ds, eout, t0)
            return
        alive, mm = b.prepare(real, state, n, three_d, ref.pt)
        restore = three_d
        try:
            if alive < 2:
                return
            has_w, wfac = self._weights(beam)
            lo, cell, shape = self._grid(mm, ndim)
            inv_d = 1.0 / cell
            q = ref.charge
            levels = None if self.refined_patch is None else self._levels(real, state, n, mm, lo, inv_d)
            self.particles_on_level0 = 0 if levels is None else int((levels[1] == 0).sum())
            on_grid = state if levels is None else levels[0]
            rho = b.deposit(real, on_grid, n, has_w, q * wfac / float(np.prod(cell)), self.order, lo, inv_d, shape)
            line = None
            if self.mode == "2.5D":
                nb = self.num_longitudinal_bins
                t_min, t_max = float(mm[2]), float(mm[5])
                if not t_max > t_min:
                    raise SpaceChargeError(
                        f"flat beam: every alive particle has t = {t_min!r}; the 2.5D model needs a longitudinal extent"
                    )
                bin_size = (t_max - t_min) / (nb - 1)
                cd = b.deposit_line(real, state, n, has_w, constants.qe * wfac, t_min, bin_size, nb + 1)
                line = (cd, t_min, bin_size)
            t0 = self._tick("deposit", t0)
            gcell = (cell[0], cell[1], gamma * cell[2]) if three_d else (cell[0], cell[1])
            coarse = None
            if self.refined_patch is not None:
                dep = (has_w, q * wfac, gamma)
                phi, coarse = self._refined_phi(rho, tuple(float(c) for c in gcell), mm, levels, real, n, dep)
            elif self.poisson_solver == "multigrid":
                walls = [(GUARD_LO, GUARD_LO + int(v)) for v in self.n_cell[:3]]
                phi = self.dirichlet.solve(rho, tuple(float(c) for c in gcell), walls)
            else:
                phi = self.poisson.solve(rho, tuple(float(c) for c in gcell), self._support(mm, lo, inv_d, shape))
            E = b.grad(phi, 0.5 / cell)
            t0 = self._tick("solve", t0)
            self.rho, self.phi, self.fields, self.grid_lo, self.cell = rho, phi, b.field_list(E), lo, cell
            self.solve_cell = gcell  # the Green's function's cell sizes (3D: z stretched by gamma) [m]
            self.beam_extent = mm
            # ImpactX GatherAndPush: dt = ds / (beta c), push_consts = dt q / (gamma^2 p0)
            push = ds / (beta * constants.c) * q / (gamma * gamma * bg * ref.mass * constants.c)
            split = self.split_gather_push and eout is None and hasattr(b, "push3d")
            e_tmp = self.xp.empty((3, n)) if split else eout
            if coarse is not None:  # ImpactX's GatherAndPush per level: each particle gathers from its own level
                b.gather_push3d(real, on_grid, n, self.gather_order, lo, inv_d, E, push, False, bg, eout)
                b.gather_push3d(
                    real, coarse[0], n, self.gather_order, coarse[1], coarse[2], coarse[3], push, False, bg, eout
                )
                b.to_fixed_s_all(real, state, n, bg)
                restore = False
            elif three_d:
                k = 0.0 if split else push
                b.gather_push3d(real, state, n, self.gather_order, lo, inv_d, E, k, not split, bg, e_tmp)
                restore = False
                if split:
                    t0 = self._tick("gather", t0)
                    b.push3d(real, state, n, e_tmp, push, True, bg)
            else:
                prof = slope = None
                bin_min = bin_size = 0.0
                if self.mode == "2D":
                    kxy, kt = push / (beta * constants.c), 0.0
                else:
                    kxy = kt = push / beta
                    if not self.apply_longitudinal_kick:  # ImpactX: no potential gather, pt -= 0
                        kt = 0.0
                    cd, bin_min, bin_size = line  # type: ignore[misc]
                    qb = bin_size * float(cd.sum())
                    if qb > 0.0:
                        prof = cd[:-1] / qb
                        slope = (cd[1:] - cd[:-1]) / bin_size / constants.qe * abs(q) / qb
                    else:
                        kxy = kt = 0.0
                kx = 0.0 if split else kxy
                ktt = 0.0 if split else kt
                b.gather_push2d(
                    real,
                    state,
                    n,
                    self.gather_order,
                    lo,
                    inv_d,
                    E[0],
                    E[1],
                    phi,
                    kx,
                    ktt,
                    prof,
                    slope,
                    bin_min,
                    bin_size,
                    e_tmp,
                )
                if split:
                    t0 = self._tick("gather", t0)
                    b.push2d(real, state, n, e_tmp, kxy, kt, prof, slope, bin_min, bin_size)
            t0 = self._tick("push" if split else "gather_push", t0)
            self.nsteps += 1
        finally:
            if restore:
                b.to_fixed_s_all(real, state, n, bg)

    def _gauss_step(self, beam: Any, ref: Any, ds: float, eout: Any, t0: float) -> None:
        """Gauss3D (at fixed t) / Gauss2.5D (at fixed s) kick (ImpactX Gauss3dPush / Gauss2p5dPush)."""
        b, real, state, n = self.backend, beam.real, beam.state, beam.size
        gamma, bg = ref.gamma, ref.beta_gamma
        beta = bg / gamma
        fixed_t = self.mode == "Gauss3D"
        alive, mm = b.prepare(real, state, n, fixed_t, ref.pt)
        restore = fixed_t
        try:
            if alive < 2:
                return
            mom = b.wmoments(real, state, n)
            sig = np.asarray(mom[4:7], dtype=np.float64)
            for ax, name in enumerate("xyz" if fixed_t else "xyt"):
                if not sig[ax] > 0.0:
                    raise SpaceChargeError(
                        f"flat beam: sig_{name} = {sig[ax]!r}; the {self.mode} model needs a beam "
                        f"of non-zero rms size in {', '.join('xyz' if fixed_t else 'xyt')}"
                    )
            q = ref.charge
            push = ds / (beta * constants.c) * q / (gamma * gamma * bg * ref.mass * constants.c)
            t0 = self._tick("moments", t0)
            if self.mode == "Gauss3D":
                charge_C = q * float(mom[0])
                base = 2.0 * (sig[0] / sig[1]) * charge_C * _K_GAUSS / (sig[2] * math.sqrt(2.0 * math.pi))
                scale = base / sig**2
                b.gauss3d_push(real, state, n, self.gauss_nint, sig, gamma, scale, push, True, bg, eout)
            else:
                nb = self.gauss_charge_z_bins
                t_min, t_max = float(mm[2]), float(mm[5])
                bin_size = (t_max - t_min) / (nb - 1)
                prof = b.deposit_line(real, state, n, True, constants.qe, t_min, bin_size, nb + 1)
                slope = (prof[1:] - prof[:-1]) / bin_size / constants.qe
                long_scale = self.gauss_long_scale if self.gauss_long_scale is not None else 1.103 * bg * sig[2]
                aspect = math.hypot(sig[0], sig[1]) / (bg * sig[2])
                if aspect > 1.0 and not self._warned_long:
                    import warnings

                    warnings.warn(
                        f"Gauss2.5D model assumes a long bunch, but here sigma_perp / (beta_gamma * sigma_t) "
                        f"= {aspect:.4g} > 1 (ImpactX warns likewise)",
                        stacklevel=3,
                    )
                    self._warned_long = True
                pz_const = -math.log(2.0) + 0.577216 - 2.0 * math.log((sig[0] + sig[1]) / long_scale / 2.0)
                b.gauss2p5d_push(
                    real,
                    state,
                    n,
                    self.gauss_nint,
                    self.gauss_taylor_delta,
                    float(sig[0]),
                    float(sig[1]),
                    prof,
                    slope,
                    t_min,
                    bin_size,
                    math.copysign(_K_GAUSS, q) / beta,
                    q * _K_GAUSS / beta,
                    pz_const,
                    push,
                    False,
                    bg,
                    eout,
                )
            restore = False
            self._tick("gather_push", t0)
            self.nsteps += 1
        finally:
            if restore:
                b.to_fixed_s_all(real, state, n, bg)
