"""ImpactX 26.10's ``ImpactX`` simulation object and its particle container, over the engine's Simulation.

``ImpactX`` is the engine's ``Simulation`` (same tracking loop, kernels, diagnostics) with ImpactX's
surface: ``init_grids``, ``beam.ref``, ``add_particles(bunch_charge, distr, npart, spin_distr)``,
``tracking_element`` as the element, ``evolve``, ``track_reference``, and strict attributes:
an unknown attribute raises ``AttributeError``, an ImpactX option beamtrack does not implement raises
``NotImplementedError`` naming it (setting it to the value that switches it off is accepted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from beamtrack.engine import constants
from beamtrack.engine.diagnostics import reduced_beam_characteristics
from beamtrack.engine.diagnostics.openpmd import pack_idcpu
from beamtrack.engine.diagnostics.reduced import DEPRECATED_ALIASES
from beamtrack.engine.particles import ParticleContainer
from beamtrack.engine.refpart import RefPart as EngineRefPart
from beamtrack.engine.simulation import Simulation

from .lattice import KnownElementsList
from .pariter import REAL_NAMES
from .refpart import RefPart, as_impactx_refpart

#: c^2 [m^2/s^2]: ImpactX's qm [1/eV] = q / (m c^2) = (q/m [C/kg]) / c^2 (q in e, m c^2 in eV).
_C2 = constants.c * constants.c

#: ImpactX options that only steer AMReX's grid decomposition, profiling, logging or warnings: accepted,
#: no effect on the physics here (one rank, one FFT grid).
NO_PHYSICS = frozenset(
    {
        "blocking_factor_x",
        "blocking_factor_y",
        "blocking_factor_z",
        "max_grid_size",
        "max_grid_size_x",
        "max_grid_size_y",
        "max_grid_size_z",
        "dynamic_size",
        "verbose",
        "tiny_profiler",
        "tiny_profiler_file",
        "memory_profiler",
        "abort_on_warning_threshold",
        "always_warn_immediately",
        "abort_on_unused_inputs",
        # MLMG's iteration controls: poisson_solver = "multigrid" solves MLMG's boundary problem exactly (sine
        # transforms), which meets any tolerance and iteration limit MLMG is given
        "mlmg_absolute_tolerance",
        "mlmg_relative_tolerance",
        "mlmg_max_iters",
        "mlmg_verbosity",
    }
)

#: ImpactX options beamtrack implements only at one value: {name: (accepted values, what it is)}.
ONLY_VALUES: dict[str, tuple[tuple[Any, ...], str]] = {
    # max_level = 1: ImpactX's refined level where it covers the whole domain (engine/spacecharge/refinement.py)
    "max_level": ((0, 1), "mesh refinement beyond one refined level"),
    "particle_lost_diagnostics_backend": (("h5", "default"), "lost-particle backend other than HDF5"),
    "diag_file_prefix": (("diags",), "a diagnostics folder other than diags"),
    "diag_file_min_digits": ((6,), "file-name digits other than 6"),
    "domain": ((None,), "a fixed space-charge domain (beamtrack sizes it by prob_relative)"),
}

#: ImpactX methods / properties beamtrack does not implement.
MISSING_METHODS = {
    "load_inputs_file": "ImpactX inputs files",
    "init_beam_distribution_from_inputs": "ImpactX inputs files",
    "init_lattice_elements_from_inputs": "ImpactX inputs files",
    "deposit_charge": "charge deposition from Python",
    "resize_mesh": "resizing the AMReX mesh from Python",
    "Geom": "AMReX geometry objects",
    "DistributionMap": "AMReX distribution maps",
    "boxArray": "AMReX box arrays",
}

_SC_MODES = {
    "3D": "3D",
    "2D": "2D",
    "2P5D": "2.5D",
    "2.5D": "2.5D",
    "TRUE": "3D",
    "GAUSS3D": "Gauss3D",
    "GAUSS2P5D": "Gauss2.5D",
    "GAUSS2.5D": "Gauss2.5D",
}


#: ImpactX 26.10's ``to_df`` columns, in its order (measured on impactx-noacc 26.10); spin_* are 0 without spin.
DF_COLUMNS = ("idcpu", *REAL_NAMES)


class ImpactXParticleContainer(ParticleContainer):
    """ImpactX's ``sim.beam``: the engine's particle container with ImpactX's units and methods.

    ``add_n_particles``' ``qm`` is ImpactX's q / (m c^2) [1/eV]; the engine keeps q/m [C/kg] (``self.qm``).
    ``to_df``'s ``qm`` column holds what ImpactX 26.10 stores: q/m [C/kg] for a beam from ``add_particles``,
    the value given to ``add_n_particles`` as it was given (ImpactX stores that one unconverted).
    """

    def __init__(self, sim: Simulation, xp: Any = np):
        super().__init__(xp=xp)
        self._sim = sim
        self._qm_given: float | None = None

    @property
    def ref(self) -> RefPart:
        """The reference particle (ImpactX's ``beam.ref``, the engine's ``sim.reference``)."""
        return as_impactx_refpart(self._sim.reference)

    def ref_particle(self) -> RefPart:
        return as_impactx_refpart(self._sim.reference)

    def set_ref_particle(self, ref: EngineRefPart) -> None:
        self._sim.reference = ref

    def set_bucket_length(self, bucket_length: float) -> None:
        """The bucket length [m] of ``sim.particle_bc`` (ImpactX keeps it on the particle container)."""
        self._sim.bucket_length = float(bucket_length)

    def get_bucket_length(self) -> float:
        return float(self._sim.bucket_length)

    def add_n_particles(  # type: ignore[override]
        self,
        x: Any,
        y: Any,
        t: Any,
        px: Any,
        py: Any,
        pt: Any,
        qm: float,
        bunch_charge: float | None = None,
        w: Any = None,
        sx: Any = None,
        sy: Any = None,
        sz: Any = None,
    ) -> None:
        """Append particles (ImpactX's signature): qm = q / (m c^2) [1/eV]; bunch_charge [C] or weights w;
        sx, sy, sz: spin components (all three or none)."""
        if (bunch_charge is None) == (w is None):
            raise ValueError("add_n_particles needs exactly one of bunch_charge and w")
        ref = self._sim.reference
        qm_ref = ref.charge_qe / (ref.mass_MeV * 1e6)
        qm_si = ref.charge / ref.mass if abs(qm - qm_ref) <= 1e-12 * abs(qm_ref) else float(qm) * _C2
        n0 = self.size
        super().add_n_particles(x, y, t, px, py, pt, qm=qm_si, bunch_charge=bunch_charge or 0.0, sx=sx, sy=sy, sz=sz)
        self._qm_given = float(qm)
        if w is not None:
            self.real[6, n0:] = self.xp.asarray(w, dtype=self.xp.float64).ravel()

    def to_df(  # type: ignore[override]
        self,
        local: bool = True,
        comm: Any = None,
        root_rank: int = 0,
        include_lost: bool = False,
    ) -> Any:
        """The alive particles as ImpactX's DataFrame (its columns and order, ``idcpu`` packed as AMReX does);
        None when there are none, as ImpactX. include_lost (beamtrack extension) adds the lost ones with
        their ``state`` and ``s_lost`` [m] columns."""
        df = super().to_df(include_lost=include_lost)
        if len(df) == 0:
            return None
        df["idcpu"] = pack_idcpu(df["id"].to_numpy())
        for c in ("spin_x", "spin_y", "spin_z"):
            if c not in df:  # a beam without spin rows: ImpactX's spins are zero then
                df[c] = 0.0
        if self._qm_given is not None:
            df["qm"] = self._qm_given
        extra = [c for c in ("state", "s_lost") if c in df]
        return df[[*DF_COLUMNS, *extra]]

    def clear_particles(self) -> None:
        """Remove every particle, keep the reference particle (AMReX's clear_particles). Particle ids keep
        counting from where they were, as in ImpactX (AMReX's id counter is global)."""
        xp = self.xp
        self.real = xp.zeros((self.real.shape[0], 0), dtype=xp.float64)
        self.id = xp.zeros(0, dtype=xp.int64)
        self.state = xp.zeros(0, dtype=xp.int32)
        self.s_lost = xp.zeros(0, dtype=xp.float64)
        self._qm_given = None

    def clear(self, keep_mass: bool = False, keep_charge: bool = False) -> None:
        """Remove every particle and reset the reference particle, keeping its mass / charge if asked (ImpactX)."""
        self.clear_particles()
        ref = self._sim.reference
        mass, charge = ref.mass_MeV, ref.charge_qe
        self._sim.reference = RefPart()
        if keep_mass:
            self._sim.reference.set_mass_MeV(mass)
        if keep_charge:
            self._sim.reference.set_charge_qe(charge)

    def beam_moments(self) -> dict[str, float]:
        """ImpactX's beam moments at the current s (same numbers as the reduced diagnostics), with ImpactX's
        deprecated aliases (``sig_x`` = ``sigma_x``, ``x_mean`` = ``mean_x``, ...) as ImpactX 26.10 returns them."""
        rbc = reduced_beam_characteristics(self, self._sim.reference)
        rbc.update((old, rbc[new]) for old, new in DEPRECATED_ALIASES.items())
        return rbc

    reduced_beam_characteristics = beam_moments

    def total_number_of_particles(self, valid_particles_only: bool = True, local: bool = False) -> int:  # type: ignore[override]
        return super().total_number_of_particles(include_lost=not valid_particles_only)

    def number_of_particles(self) -> int:
        return super().total_number_of_particles(include_lost=False)


class ImpactX(Simulation):
    """ImpactX 26.10's simulation object (``from beamtrack.impactx import ImpactX``).

    kind / nthreads / output_dir: the engine's choices (kernel kind, CPU threads, where ``diags/`` goes).
    """

    def __init__(self, kind: str | None = None, nthreads: int | None = None, output_dir: Any = None):
        super().__init__(kind=kind, nthreads=nthreads, output_dir=output_dir)
        self.beam = ImpactXParticleContainer(self, xp=self.beam.xp)
        self.lattice = KnownElementsList(sim=self)
        self.reference = RefPart()
        self._tracking_element_index: int | None = None
        self._grids = False
        self._options: dict[str, Any] = {}
        from . import amrex

        # ImpactX() initializes AMReX unless the script did (and then finalize() ends it): a new stream each time
        self._owns_amrex = not amrex.initialized()
        if self._owns_amrex:
            amrex.initialize()
        # ImpactX gathers the PIC field linearly whatever its particle_shape (measured on 26.10)
        self.space_charge_gather_shape = 1
        # ImpactX 26.10's effective defaults when a script sets neither (its PoissonSolve falls back to MLMG, its
        # mesh to prob_relative 3; measured: the unset run's phi is the Dirichlet solution, its domain 3 x the beam)
        self.poisson_solver = "multigrid"
        self.prob_relative = 3.0
        #: geometry.prob_relative per mesh-refinement level as the script gave it (None: [prob_relative])
        self.prob_relative_levels: list[float] | None = None
        # openPMD ids as ImpactX writes them: AMReX's packed idcpu (ImpactX's analysis scripts index by it)
        self.openpmd_packed_ids = True
        self._locked = True

    # --- strict attributes -------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or not self.__dict__.get("_locked"):
            object.__setattr__(self, name, value)
            return
        cls_attr = getattr(type(self), name, None)
        if isinstance(cls_attr, property):
            object.__setattr__(self, name, value)
        elif name in MISSING_METHODS:
            raise NotImplementedError(
                f"ImpactX option sim.{name} ({MISSING_METHODS[name]}) is not implemented in beamtrack"
            )
        elif name in NO_PHYSICS:
            self._options[name] = value
        elif name in ONLY_VALUES:
            allowed, what = ONLY_VALUES[name]
            if not any(value == a and type(value) is not bool or value is a for a in allowed):
                raise NotImplementedError(
                    f"ImpactX option sim.{name} = {value!r} ({what}) is not implemented in beamtrack"
                )
            self._options[name] = value
        elif name == "omp_threads":
            self._options[name] = value
            object.__setattr__(self, "nthreads", int(value) if isinstance(value, int) else None)
        elif name == "space_charge":
            object.__setattr__(self, name, _space_charge_mode(value))
        elif name == "reference":
            object.__setattr__(self, name, as_impactx_refpart(value))
        elif name == "lattice":  # ImpactX: sim.lattice = [...] (any iterable of elements) replaces the lattice
            object.__setattr__(
                self, name, value if isinstance(value, KnownElementsList) else KnownElementsList(value, self)
            )
        elif name == "isr_order":
            if value not in (1, 2, 3) or isinstance(value, bool):
                raise ValueError(f"ImpactX option sim.isr_order must be 1, 2 or 3 (Taylor orders), not {value!r}")
            object.__setattr__(self, name, int(value))
        elif name == "csr_bins":
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise ValueError(f"ImpactX option sim.csr_bins must be an integer >= 2, not {value!r}")
            object.__setattr__(self, name, value)
        elif name == "particle_bc":
            from beamtrack.engine.boundary import PARTICLE_BCS

            if value not in PARTICLE_BCS:
                raise ValueError(
                    f"ImpactX option sim.particle_bc must be one of {', '.join(PARTICLE_BCS)}, not {value!r}"
                )
            object.__setattr__(self, name, value)
        elif name == "poisson_solver":
            if value not in ("fft", "multigrid"):
                raise ValueError(f"ImpactX option sim.poisson_solver must be 'fft' or 'multigrid', not {value!r}")
            object.__setattr__(self, name, value)
        elif name == "prob_relative":
            vals = list(value) if isinstance(value, (list, tuple)) else [value]
            object.__setattr__(self, name, float(vals[0]))
            object.__setattr__(self, "prob_relative_levels", [float(v) for v in vals])
        elif name == "space_charge_num_longitudinal_bins":
            object.__setattr__(self, "num_longitudinal_bins", int(value))
        elif name == "space_charge_apply_longitudinal_kick":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"ImpactX option sim.{name} must be a bool, not {value!r}")
            object.__setattr__(self, name, bool(value))
        elif name == "n_cell":
            object.__setattr__(self, name, [int(v) for v in value])
        elif name in self.__dict__:
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"ImpactX has no option {name!r}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in MISSING_METHODS:
            raise NotImplementedError(f"ImpactX sim.{name} ({MISSING_METHODS[name]}) is not implemented in beamtrack")
        opts = self.__dict__.get("_options", {})
        if name in opts:
            return opts[name]
        if name in ONLY_VALUES and ONLY_VALUES[name][0]:
            return ONLY_VALUES[name][0][0]
        if name == "space_charge_num_longitudinal_bins":
            return self.num_longitudinal_bins
        raise AttributeError(f"ImpactX has no attribute {name!r}")

    # --- ImpactX's surface -------------------------------------------------------------------------
    @property
    def tracking_element(self) -> Any:
        """The element being tracked (ImpactX), None before tracking; the engine writes its index."""
        i = self.__dict__.get("_tracking_element_index")
        if i is None or i >= len(self.lattice):
            return None
        return self.lattice[i]

    @tracking_element.setter
    def tracking_element(self, value: Any) -> None:
        object.__setattr__(self, "_tracking_element_index", value if isinstance(value, int) else None)

    @property
    def tracking_element_index(self) -> int | None:
        """Index in ``lattice`` of the element being tracked (beamtrack extension)."""
        return self.__dict__.get("_tracking_element_index")

    @property
    def finest_level(self) -> int:
        """1 once a space-charge solve ran on ImpactX's refined level (max_level = 1), else 0."""
        solver = self.__dict__.get("_sc_solver")
        return 1 if solver is not None and getattr(solver, "refined_patch", None) is not None else 0

    # --- the space-charge grids (beamtrack.impactx.fields) ------------------------------------------
    def _grid_multifabs(self, lev: int, what: str) -> Any:
        from .fields import grids

        solver = self.__dict__.get("_sc_solver")
        patch = getattr(solver, "refined_patch", None)
        refined = patch is not None
        if refined and lev == 0:
            raise NotImplementedError(
                f"ImpactX sim.{what}(0) with max_level = 1 (level 0's grid) is not implemented in beamtrack: its hooks "
                "read the refined level 1"
            )
        if refined and lev == 1 and patch != [(0, n - 1) for n in getattr(solver, "coarse_n_cell", [])]:
            raise NotImplementedError(
                f"ImpactX sim.{what}(1) with a refined patch smaller than the domain (level-0 cells {patch}) is not "
                "implemented in beamtrack (its level-1 grid spans the whole domain)"
            )
        if lev != (1 if refined else 0):
            raise IndexError(f"sim.{what}({lev}): beamtrack's mesh-refinement levels are 0 to {self.finest_level}")
        if solver is not None and solver.gauss:
            raise NotImplementedError(
                f"ImpactX sim.{what} with space_charge = {solver.mode!r} is not implemented in beamtrack: the Gauss "
                "models solve on no grid (ImpactX returns its grid unset)"
            )
        if solver is None or solver.rho is None:
            raise RuntimeError(
                f"sim.{what}: beamtrack allocates the space-charge grid at the first space-charge kick "
                "(read it from a hook after one, e.g. after_element)"
            )
        cached = self.__dict__.get("_grid_views")
        if cached is None or cached[0] != (id(solver), solver.nsteps):
            cached = ((id(solver), solver.nsteps), grids(solver, solver.poisson_solver))
            object.__setattr__(self, "_grid_views", cached)
        return cached[1]

    def rho(self, lev: int) -> Any:
        """Charge density [C/m^3] of the last space-charge solve, a MultiFab (2D / 2.5D: ImpactX's x-y projection, its
        3D density summed over the z nodes; beamtrack.impactx.fields)."""
        return self._grid_multifabs(lev, "rho")["rho"]

    def phi(self, lev: int) -> Any:
        """Scalar potential [V] of the last space-charge solve, a MultiFab."""
        return self._grid_multifabs(lev, "phi")["phi"]

    def space_charge_field(self, lev: int, comp: str) -> Any:
        """Space-charge field component comp (x, y or z) [V/m] of the last solve, a MultiFab."""
        if comp not in ("x", "y", "z"):
            raise KeyError(f"space_charge_field: comp must be x, y or z, not {comp!r}")
        return self._grid_multifabs(lev, "space_charge_field")[comp]

    def init_grids(self) -> None:
        """ImpactX's grid set-up: n_cell, prob_relative, blocking factors already set are kept; no AMReX grid here."""
        self._grids = True

    def particle_container(self) -> ImpactXParticleContainer:
        return self.beam  # type: ignore[return-value]

    def add_particles(
        self,
        bunch_charge: float,
        distr: Any,
        npart: int,
        spin_distr: Any = None,  # type: ignore[override]
        *,
        seed: int | None = None,
        random: str = "amrex",
        rng: Any = None,
    ) -> None:
        """ImpactX's add_particles(bunch_charge [C], distr, npart, spin_distr): drawn from AMReX's random stream as
        ImpactX 26.10 draws on one rank (its particles, to round-off), continuing it from call to call. beamtrack's
        keywords as the engine's: seed and random ("numpy" or "amrex") for a new stream, rng for a running one."""
        from . import amrex

        if seed is None and rng is None and random == "amrex":
            rng = amrex.random_stream()
        super().add_particles(bunch_charge, distr, npart, spin_distr, seed=seed, random=random, rng=rng)

    def init_envelope(self, ref: EngineRefPart, distr: Any, intensity: float | None = None) -> None:
        """Envelope tracking mode: the covariance matrix of ``distr`` relative to (a copy of) ``ref``;
        intensity: bunch charge [C] (3D space charge) or beam current [A] (2D)."""
        from .envelope import create_envelope

        super().init_envelope(ref, distr, intensity)
        self._envelope = create_envelope(distr, intensity)

    def evolve(self) -> None:
        """Run the main loop (ImpactX's evolve = track_particles)."""
        self.track_particles()

    def _new_isr_rng(self) -> Any:
        """ISR's normal numbers from AMReX's stream, as ImpactX's ``RandomNormal`` (its kicks, per particle); with
        ``sim.isr_seed`` (beamtrack's) NumPy's generator from that seed."""
        from . import amrex

        return super()._new_isr_rng() if self.isr_seed is not None else amrex.random_stream()

    def finalize(self) -> None:
        """ImpactX's finalize: write the lost particles, close the output files, and end AMReX if this ImpactX()
        started it (a later ImpactX() starts AMReX's random stream again, as in ImpactX)."""
        from . import amrex

        super().finalize()
        if self._owns_amrex and amrex.initialized():
            amrex.finalize()
        self._owns_amrex = False

    def track_reference(self, ref: EngineRefPart) -> None:
        """Track only the reference particle ``ref`` through ``periods`` passes of the lattice (ImpactX's
        track_reference): the hooks run as in particle tracking; with diagnostics on, ``diags/ref_particle.0``
        gets step 0 and, with slice_step_diagnostics, a row per slice; ``diags/ref_particle_final.0`` the end."""
        from beamtrack.engine.diagnostics import REF_PARTICLE_FINAL_FILE, RefParticleWriter
        from beamtrack.engine.tracking import call_hook

        if self.space_charge:
            raise RuntimeError("Space charge effects cannot be modeled for single particle tracking.")
        if self.csr:
            raise RuntimeError(
                "Coherent Synchrotron Radiation (CSR) cannot be modeled for single particle tracking. "
                "Please set the CSR option to false."
            )
        writer = RefParticleWriter(self._diag_dir()) if self.diagnostics else None
        step = 0
        try:
            if writer is not None:
                writer.write(step, ref)
            for period in range(self.periods):
                self.tracking_step, self.tracking_period = step, period
                self.tracking_element = 0
                call_hook(self, "before_period")
                for i, el in enumerate(self.lattice):
                    ref.sedge = ref.s
                    self.tracking_element = i
                    call_hook(self, "before_element")
                    for _ in range(el.nslice):
                        step += 1
                        self.tracking_step = step
                        call_hook(self, "before_slice")
                        el.push_ref(ref, 1)
                        if writer is not None and self.slice_step_diagnostics:
                            writer.write(step, ref)
                    call_hook(self, "after_element")
                call_hook(self, "after_period")
        finally:
            if writer is not None:
                writer.close()
        self.tracking_element = None
        if writer is not None:
            with RefParticleWriter(self._diag_dir(), REF_PARTICLE_FINAL_FILE) as final:
                final.write(step, ref)


def _space_charge_mode(value: Any) -> bool | str:
    if value is False or value is None or (isinstance(value, str) and value.strip().lower() in ("false", "", "0")):
        return False
    key = "TRUE" if value is True else str(value).strip().upper()
    if key not in _SC_MODES:
        raise NotImplementedError(
            f"ImpactX option sim.space_charge = {value!r} is not implemented in beamtrack "
            f"(implemented: False, '3D', '2D', '2p5D', 'Gauss3D', 'Gauss2p5D')"
        )
    return _SC_MODES[key]
