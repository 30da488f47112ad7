"""Simulation: ImpactX's Python interface (reference, beam, lattice, hooks, track_particles).

The tracking itself is ``tracked_run.TrackedRun``'s; a Simulation adds diagnostics files, space charge,
ISR and CSR, envelope tracking and the JobSpec round trip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from beamtrack.spec import SPECIES, JobSpec, load_spec
from beamtrack.spec import Lattice as LatticeSpec
from beamtrack.spec.job import Beam as BeamSpec
from beamtrack.spec.job import Diagnostics, ParticleBoundary, Radiation, Reference, SpaceCharge

from . import constants
from .elements.python_pushed import BeamMonitor
from .elements.registry import element_class
from .lattice import Lattice
from .particles import ParticleContainer
from .refpart import RefPart
from .tracked_run import KINDS, Hooks, TrackedRun, default_kind, gpu_available
from .tracking import TrackingCancelled


class Simulation(TrackedRun):
    """One beam through one lattice.

    kind: serial | openmp | cuda | None (auto). output_dir: where ``diags/`` is written (default: the
    working directory, as ImpactX). diagnostics: write reduced diagnostics and monitor output.
    """

    lattice: Lattice

    def __init__(
        self,
        kind: str | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        diagnostics: bool = True,
        slice_step_diagnostics: bool = False,
        compose_linear: bool = True,
        nthreads: int | None = None,
    ):
        super().__init__(kind=kind, compose_linear=compose_linear, nthreads=nthreads)
        self.output_dir = Path(output_dir) if output_dir is not None else Path.cwd()
        self.diagnostics = diagnostics
        self.slice_step_diagnostics = slice_step_diagnostics
        self.lattice = Lattice(sim=self)
        #: called with each reduced-diagnostics row (dict of ImpactX column names -> float)
        self.diagnostics_listeners: list[Callable[[dict[str, float]], Any]] = []
        # space charge (ImpactX names)
        self.space_charge: bool | str = False
        self.n_cell = [32, 32, 32]
        self.particle_shape = 2
        self.prob_relative = 1.1
        self.num_longitudinal_bins = 100
        self.current_A: float | None = None
        self.bunch_charge_C: float | None = None
        # the Gauss3D / Gauss2p5D models (ImpactX's algo.space_charge.gauss_* options)
        self.space_charge_gauss_nint = 101
        self.space_charge_gauss_taylor_delta = 0.01
        self.space_charge_gauss_charge_z_bins = 129
        self.space_charge_gauss_long_scale: float | None = None
        #: ImpactX's diag.eigenemittances: the reduced diagnostics and BeamMonitor attributes add emittance_1..3
        self.eigenemittances = False
        #: ImpactX's algo.poisson_solver: "fft" (open boundaries) or "multigrid" (3D, grounded domain walls)
        self.poisson_solver = "fft"
        #: openPMD ``id`` records as ImpactX 26.10 writes them (AMReX's packed idcpu); else the plain id
        self.openpmd_packed_ids = False
        #: shape of the PIC field gather (None: particle_shape; ImpactX gathers with 1, beamtrack.impactx sets that)
        self.space_charge_gather_shape: int | None = None
        #: ImpactX's algo.space_charge.apply_longitudinal_kick: 2.5D's pt kick from the potential (2.5D only)
        self.space_charge_apply_longitudinal_kick = True
        # synchrotron radiation in bends (ImpactX's algo.isr, isr_order, isr_on_ref_part, algo.csr, csr_bins)
        self.isr = False
        self.isr_order = 1
        self.isr_on_ref_part = False
        #: seed of the ISR normal numbers (None: derived from the beam's seed); the generator is made at the first kick
        self.isr_seed: int | None = None
        self.csr = False
        self.csr_bins = 150
        self._isr_rng: Any = None
        self._writers: dict[str, Any] = {}
        self._sc_solver: Any = None
        self._seed: int | None = None
        self._random: Literal["numpy", "amrex"] = "numpy"  # the beam's random stream (add_particles' ``random``)
        #: AMReX stream numbers drawn before the beam (0: the beam starts the stream; -1: a generator passed in)
        self._stream_start = 0
        self._distr: Any = None
        self._npart = 0
        #: (memo, key) while from_spec draws the beam with a ``draws`` memo (add_particles reads it)
        self._draws: tuple[dict[Any, Any], Any] | None = None
        #: the JobSpec's reference block and name of a simulation made by from_spec (to_spec gives them back)
        self._spec_reference: Reference | None = None
        self._spec_name = "simulation"

    # --- beam ------------------------------------------------------------------------------------
    def add_particles(
        self,
        bunch_charge_C: float,
        distr: Any,
        npart: int,
        spin_distr: Any = None,
        *,
        seed: int | None = None,
        random: str = "numpy",
        rng: Any = None,
    ) -> None:
        """Draw ``npart`` particles from distribution ``distr`` (reproducible by ``seed``) and add them;
        with ``spin_distr`` (``distribution.SpinvMF``) each particle also gets a spin drawn from it
        (after the phase space, from the same generator).

        random: "numpy" (NumPy's default generator from ``seed``) or "amrex" (AMReX's stream, ``std::mt19937(seed)``,
        seed None: 1, as ImpactX on one rank); rng: a stream already running instead (an ``AmrexRandom``: the
        drop-in's AMReX session stream, or a ``numpy.random.Generator``). ``seed`` is keyword-only: ImpactX's
        fourth positional argument is the spin distribution.
        """
        from .distribution import AmrexRandom, from_model

        if npart < 0:
            raise ValueError("npart must be >= 0")
        if random not in ("numpy", "amrex"):
            raise ValueError(f"random must be 'numpy' or 'amrex', got {random!r}")
        d = distr if hasattr(distr, "sample") else from_model(distr)
        given = rng is not None
        if rng is None:
            rng = AmrexRandom(1 if seed is None else seed) if random == "amrex" else np.random.default_rng(seed)
        if isinstance(rng, AmrexRandom):
            self._random, seed, self._stream_start = "amrex", rng.seed, rng.drawn
        else:  # a generator passed in has no seed a JobSpec could name
            self._random, self._stream_start = "numpy", -1 if given else 0
        memo = self._draws if not given and spin_distr is None else None
        coords = memo[0].get(memo[1]) if memo is not None else None
        if coords is None:
            coords = d.sample(int(npart), rng, ref=self.reference, bunch_charge_C=bunch_charge_C)
            if memo is not None:
                memo[0][memo[1]] = coords  # copied into the beam below (add_n_particles), never changed
        spins: dict[str, Any] = {}
        if spin_distr is not None and not callable(getattr(spin_distr, "sample", None)):
            raise TypeError(
                f"spin_distr must be a spin distribution (distribution.SpinvMF), not {type(spin_distr).__name__}"
            )
        if spin_distr is not None:
            spins = dict(zip(("sx", "sy", "sz"), spin_distr.sample(int(npart), rng), strict=True))
        self.bunch_charge_C = bunch_charge_C
        self._seed, self._distr, self._npart = seed, d, int(npart)
        self._spin_distr = spin_distr
        ref = self.reference
        # the engine's own method (qm in C/kg), also when ``beam`` is beamtrack.impactx's container (qm in 1/eV)
        x, y, t, px, py, pt = coords
        ParticleContainer.add_n_particles(
            self.beam, x, y, t, px, py, pt, qm=ref.charge / ref.mass, bunch_charge=bunch_charge_C, **spins
        )

    # --- space charge ----------------------------------------------------------------------------
    @property
    def space_charge_enabled(self) -> bool:
        return self.space_charge not in (False, None, "false", "False", "")

    def _space_charge_kick(self, slice_ds: float) -> None:
        if self._sc_solver is None:
            from .spacecharge import SpaceChargeSolver

            self._sc_solver = SpaceChargeSolver.from_simulation(self)
        self._sc_solver.kick(self.beam, self.reference, slice_ds)

    @property
    def collective_enabled(self) -> bool:
        """Any collective kick on: space charge, ISR or CSR."""
        return self.space_charge_enabled or bool(self.isr) or bool(self.csr)

    def has_collective_kick(self, el: Any) -> bool:
        """Whether the slices of ``el`` get a collective kick: space charge in every thick element, ISR and CSR in
        Sbend, CFbend and ExactSbend (ImpactX)."""
        if el.ds == 0:
            return False
        if self.space_charge_enabled:
            kicks = True
        elif not (self.isr or self.csr):
            return False
        else:
            from .wakefields import bend_radius

            kicks = bend_radius(el, self.reference) is not None
        if kicks and el.ds < 0:
            raise NotImplementedError(
                f"{el.model.type} with ds = {el.ds} < 0 under space charge, ISR or CSR (collective kicks of an "
                "element run backwards) is not implemented in beamtrack"
            )
        return kicks

    def collective_kicks(self, el: Any, slice_ds: float) -> None:
        """The kicks of one slice of ``el`` in ImpactX's order: CSR (its wakefield step), ISR, space charge."""
        if self.isr or self.csr:
            from .wakefields import bend_radius, csr_push, isr_push

            rc = bend_radius(el, self.reference)
            if rc is not None and self.csr:
                csr_push(self.beam, self.reference, slice_ds, rc, int(self.csr_bins))
            if rc is not None and self.isr:
                if self._isr_rng is None:
                    self._isr_rng = self._new_isr_rng()
                isr_push(
                    self.beam,
                    self.reference,
                    slice_ds,
                    rc,
                    int(self.isr_order),
                    bool(self.isr_on_ref_part),
                    self._isr_rng,
                )
        if self.space_charge_enabled:
            self._space_charge_kick(slice_ds)

    def _new_isr_rng(self) -> Any:
        """The generator of the ISR kicks' normal numbers: from ``isr_seed``, else from the beam's seed."""
        seed = self.isr_seed if self.isr_seed is not None else [self._seed or 0, 0x15B]
        return self.beam.xp.random.default_rng(seed)

    # --- envelope tracking -------------------------------------------------------------------------
    def init_envelope(self, ref: RefPart, distr: Any, intensity: float | None = None) -> None:
        """Envelope mode (ImpactX): the covariance matrix of ``distr`` relative to a copy of the reference
        ``ref`` (as ImpactX, track_envelope pushes that copy, ``envelope_ref``, not ``ref``);
        ``intensity``: bunch charge [C] for 3D or beam current [A] for 2D space charge."""
        from .envelope import create_envelope

        self._envelope_ref = ref.copy()
        self._envelope = create_envelope(distr if hasattr(distr, "model") else _distribution(distr), intensity)

    @property
    def envelope(self) -> Any:
        """The beam envelope (``beamtrack.engine.envelope.Envelope``) set by init_envelope."""
        env = self.__dict__.get("_envelope")
        if env is None:
            raise RuntimeError("sim.envelope is only available after init_envelope()")
        return env

    def track_envelope(self) -> None:
        """Push the envelope through ``periods`` passes of the lattice (ImpactX's track_envelope)."""
        from .envelope import track_envelope

        if self.isr or self.csr:
            raise NotImplementedError(
                "sim.isr / sim.csr (synchrotron radiation) in envelope tracking is not "
                "implemented in beamtrack; switch them off or track particles"
            )
        track_envelope(self, self.envelope, self._envelope_ref)

    @property
    def envelope_ref(self) -> RefPart:
        """The reference particle of envelope tracking (beamtrack extension; ImpactX keeps it internal)."""
        self.envelope  # noqa: B018 (raises before init_envelope)
        ref: RefPart = self._envelope_ref
        return ref

    # --- diagnostics -----------------------------------------------------------------------------
    def _diag_dir(self) -> Path:
        d = self.output_dir / "diags"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write_reduced_diagnostics(self, final: bool = False) -> None:
        """The beam's reduced diagnostics at this step: to diags/ (with ``diagnostics``) and the listeners.

        ``final``: the end-of-run row, to the _final files as ImpactX 26.10 writes them; the listeners get it
        unless ``slice_step_diagnostics`` already gave them this step's row."""
        if not self.diagnostics and not self.diagnostics_listeners:
            return
        from .diagnostics import reduced_beam_characteristics, row_period, write_diagnostics_row

        row = reduced_beam_characteristics(
            self.beam, self.reference, kind=self.kind, nthreads=self.nthreads, eigenemittances=self.eigenemittances
        )
        row = {
            "step": self.tracking_step,
            "period": row_period(self.tracking_period, final),
            "s": self.reference.s,
            **{k: v for k, v in row.items() if k not in ("step", "period", "s")},
        }
        if self.diagnostics:
            # the directory is made when the row's files are opened, not again for every row
            is_open = ("reduced_final" if final else "reduced") in self._writers
            write_diagnostics_row(
                self._writers,
                self.output_dir / "diags" if is_open else self._diag_dir(),
                self.tracking_step,
                row,
                self.reference,
                final=final,
                spin_columns=bool(self.spin),
                eigen_columns=self.eigenemittances,
            )
        if final and self.slice_step_diagnostics:
            return
        for fn in self.diagnostics_listeners:
            fn(row)

    def write_monitor(self, el: BeamMonitor) -> None:
        """The beam at BeamMonitor ``el`` to its openPMD series (with ``diagnostics``, every
        ``period_sample_intervals`` periods)."""
        if not self.diagnostics:
            return
        if self.tracking_period % el.period_sample_intervals != 0:
            return
        from .diagnostics import BeamMonitorWriter

        w = BeamMonitorWriter.open(
            self._diag_dir() / "openPMD", el.name, el.backend, el.encoding, packed_ids=self.openpmd_packed_ids
        )
        self._writers.setdefault(f"monitor:{el.name}", w)
        w.write(
            self.tracking_step,
            self.beam,
            self.reference,
            el.extra_records(self.beam),
            eigenemittances=self.eigenemittances,
        )

    def _write_lost_particles(self) -> None:
        """Lost particles to diags/openPMD/particles_lost.h5 with their ``s_lost`` [m] (as ImpactX)."""
        lost = self.beam.state != 0
        if not self.diagnostics or not bool(lost.any()):
            return
        from .diagnostics import BeamMonitorWriter

        pc = ParticleContainer(xp=self.beam.xp, qm=self.beam.qm)
        pc.real = self.beam.xp.ascontiguousarray(self.beam.real[:, lost])
        pc.id, pc.s_lost = self.beam.id[lost], self.beam.s_lost[lost]
        pc.state = self.beam.xp.zeros(pc.real.shape[1], dtype=self.beam.xp.int32)
        w = BeamMonitorWriter(self._diag_dir() / "openPMD", "particles_lost", "h5", packed_ids=self.openpmd_packed_ids)
        try:
            # one iteration, number 0, as ImpactX writes it (its examples read iterations[0])
            w.write(0, pc, self.reference, extra={"s_lost": pc.s_lost})
        finally:
            w.close()

    def finalize(self) -> None:
        """Write lost particles and close output files (ImpactX's finalize)."""
        if self._writers or self.diagnostics and self.tracking_step > 0:
            self._write_lost_particles()
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finalize()

    # --- spec round trip -------------------------------------------------------------------------
    @classmethod
    def from_spec(
        cls,
        spec: JobSpec | dict[str, Any] | str,
        output_dir: str | os.PathLike[str] | None = None,
        kind: str | None = None,
        *,
        draws: dict[Any, Any] | None = None,
    ) -> Simulation:
        """A ready-to-track Simulation from a JobSpec (or its dict / JSON form).

        ``draws``: a dict shared by Simulations built together (a pack's variants): one whose spec's
        beam and reference equal those of one built before with it gets the coordinates drawn then
        (the draw depends on nothing else: the same numbers), not a second draw; it holds each
        distinct beam's coordinates while it lives."""
        if not isinstance(spec, JobSpec):
            spec = load_spec(spec)
        sim = cls(kind=kind, output_dir=output_dir, slice_step_diagnostics=spec.diagnostics.slice_step_diagnostics)
        mass, charge = spec.reference.mass_and_charge()
        sim.reference.set_mass_MeV(mass).set_charge_qe(charge).set_kin_energy_MeV(spec.reference.kin_energy_MeV)
        sim._spec_reference = spec.reference
        sim.current_A = spec.beam.current_A
        sc = spec.space_charge
        if sc is not None:
            sim.space_charge = sc.mode
            sim.n_cell = list(sc.n_cell)
            sim.particle_shape = sc.particle_shape
            sim.prob_relative = sc.prob_relative
            sim.num_longitudinal_bins = sc.num_longitudinal_bins
            sim.space_charge_gauss_nint = sc.gauss_nint
            sim.space_charge_gauss_taylor_delta = sc.gauss_taylor_delta
            sim.space_charge_gauss_charge_z_bins = sc.gauss_charge_z_bins
            sim.space_charge_gauss_long_scale = sc.gauss_long_scale
            sim.poisson_solver = sc.poisson_solver
            sim.strang_split = sc.strang_split
            sim.space_charge_apply_longitudinal_kick = sc.apply_longitudinal_kick
        rad = spec.radiation
        if rad is not None:
            sim.isr, sim.isr_order, sim.isr_on_ref_part = rad.isr, rad.isr_order, rad.isr_on_ref_part
            sim.csr, sim.csr_bins = rad.csr, rad.csr_bins
        if spec.boundary is not None:
            sim.particle_bc, sim.bucket_length = spec.boundary.particle_bc, spec.boundary.bucket_length_m
        for m in spec.lattice.elements:
            sim.lattice.append(element_class(m.type).from_model(m))
        sim.periods = spec.lattice.periods
        if draws is not None:
            sim._draws = (draws, (spec.beam.model_dump_json(), spec.reference.model_dump_json(), sim.kind))
        try:
            sim.add_particles(
                bunch_charge_C=spec.beam.bunch_charge_C or 0.0,
                distr=spec.beam.distribution,
                npart=spec.beam.npart,
                seed=spec.beam.seed,
                random=spec.beam.random,
            )
        finally:
            sim._draws = None
        sim._spec_name = spec.name
        return sim

    def to_spec(self, name: str | None = None) -> JobSpec:
        """The JobSpec describing this simulation (needs a beam added by add_particles)."""
        if self._distr is None:
            raise ValueError("to_spec needs the beam to come from add_particles(distr=...)")
        if self._stream_start < 0:
            raise ValueError("to_spec: the beam was drawn from a numpy Generator passed in, which has no seed to name")
        if self._stream_start:
            raise ValueError(
                f"to_spec: the beam was drawn from AMReX's stream after {self._stream_start} other numbers; "
                "a JobSpec's beam starts the stream at its seed"
            )
        if self.isr and self.isr_seed is not None:
            raise ValueError("to_spec: a JobSpec draws the ISR numbers from the beam's seed, not sim.isr_seed")
        if self.spin or getattr(self, "_spin_distr", None) is not None:
            raise ValueError("to_spec: a JobSpec has no spin tracking or spin distribution (this simulation has)")
        ref = self._spec_reference
        if ref is None:
            species = next(
                (
                    k
                    for k, (m, q) in SPECIES.items()
                    if abs(m - self.reference.mass_MeV) < 1e-9 and q == self.reference.charge_qe
                ),
                None,
            )
            ref = (
                Reference.model_validate({"species": species, "kin_energy_MeV": self.reference.kin_energy_MeV})
                if species
                else Reference(
                    mass_MeV=self.reference.mass_MeV,
                    charge_qe=self.reference.charge_qe,
                    kin_energy_MeV=self.reference.kin_energy_MeV,
                )
            )
        sc = None
        if self.space_charge_enabled:
            from .spacecharge.solver import GAUSS_MODES, _mode

            mode = _mode(self.space_charge)
            gauss: dict[str, Any] = {}
            if mode in GAUSS_MODES:
                gauss["gauss_nint"] = self.space_charge_gauss_nint
            if mode == "Gauss2.5D":
                gauss.update(
                    gauss_taylor_delta=self.space_charge_gauss_taylor_delta,
                    gauss_charge_z_bins=self.space_charge_gauss_charge_z_bins,
                    gauss_long_scale=self.space_charge_gauss_long_scale,
                )
            if self.poisson_solver != "fft":
                gauss["poisson_solver"] = self.poisson_solver
            if not self.strang_split:
                gauss["strang_split"] = False
            if not self.space_charge_apply_longitudinal_kick:
                gauss["apply_longitudinal_kick"] = False
            sc = SpaceCharge.model_validate(
                {
                    "mode": mode,
                    "n_cell": list(self.n_cell),
                    "particle_shape": self.particle_shape,
                    "prob_relative": self.prob_relative,
                    "num_longitudinal_bins": self.num_longitudinal_bins,
                    **gauss,
                }
            )
        return JobSpec(
            name=name or self._spec_name,
            reference=ref,
            beam=BeamSpec(
                npart=self._npart,
                seed=self._seed or 0,
                random=self._random,
                bunch_charge_C=self.bunch_charge_C,
                current_A=self.current_A,
                distribution=self._distr.model,
            ),
            lattice=LatticeSpec.model_validate(
                {"periods": self.periods, "elements": [el.model for el in self.lattice]}
            ),
            space_charge=sc,
            radiation=self._radiation_spec(),
            boundary=(
                None
                if self.particle_bc == "open"
                else ParticleBoundary.model_validate(
                    {"particle_bc": self.particle_bc, "bucket_length_m": self.bucket_length}
                )
            ),
            diagnostics=Diagnostics(slice_step_diagnostics=self.slice_step_diagnostics),
        )

    def _radiation_spec(self) -> Radiation | None:
        """The JobSpec's radiation block of sim.isr / sim.csr (the options of a radiation that is on only)."""
        if not (self.isr or self.csr):
            return None
        opts: dict[str, Any] = {"isr": bool(self.isr), "csr": bool(self.csr)}
        if self.isr:
            opts.update(isr_order=int(self.isr_order), isr_on_ref_part=bool(self.isr_on_ref_part))
        if self.csr:
            opts["csr_bins"] = int(self.csr_bins)
        return Radiation(**opts)


def _distribution(model: Any) -> Any:
    from .distribution import from_model

    return from_model(model)


__all__ = ["KINDS", "Hooks", "Simulation", "TrackingCancelled", "constants", "default_kind", "gpu_available"]
