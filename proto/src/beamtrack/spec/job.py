"""The JobSpec: reference particle, beam, lattice, space charge, diagnostics (shared/spec/README.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ._base import SpecModel
from .distributions import Distribution
from .elements import Element

#: Rest mass [MeV] and charge [e] of the named species: ImpactX 26.10's RefPart.set_species values (CODATA 2022
#: masses in kg over 1e6 qe / c^2; H- is a proton plus two electrons, as ImpactX), beamtrack.engine.constants.
SPECIES: dict[str, tuple[float, float]] = {
    "electron": (0.5109989506917532, -1.0),
    "positron": (0.5109989506917532, 1.0),
    "proton": (938.2720894282575, 1.0),
    "Hminus": (939.2940873296409, -1.0),
}


class Reference(SpecModel):
    """Reference particle: a named species, or mass_MeV [MeV/c^2] + charge_qe [e]; kin_energy_MeV [MeV]."""

    species: Literal["electron", "positron", "proton", "Hminus"] | None = None
    mass_MeV: Annotated[float, Field(gt=0.0)] | None = None
    charge_qe: float | None = None
    kin_energy_MeV: Annotated[float, Field(gt=0.0)]

    @model_validator(mode="after")
    def _species_or_mass(self) -> Reference:
        if self.species is None and (self.mass_MeV is None or self.charge_qe is None):
            raise ValueError("give species, or both mass_MeV and charge_qe")
        if self.species is not None and (self.mass_MeV is not None or self.charge_qe is not None):
            raise ValueError("give species or mass_MeV/charge_qe, not both")
        if self.charge_qe == 0.0:
            raise ValueError("charge_qe must be nonzero")
        return self

    def mass_and_charge(self) -> tuple[float, float]:
        """(rest mass [MeV], charge [e])."""
        if self.species is not None:
            return SPECIES[self.species]
        assert self.mass_MeV is not None and self.charge_qe is not None
        return self.mass_MeV, self.charge_qe


class Beam(SpecModel):
    """The particle beam: npart macroparticles drawn from ``distribution`` with ``seed``.

    bunch_charge_C [C] (3D space charge, and the charge of the bunch) or current_A [A] (2D/2.5D).
    random: where the uniform numbers come from: "numpy" (NumPy's default generator from ``seed``) or "amrex"
    (AMReX's CPU stream, ``std::mt19937`` seeded with ``seed`` < 2^32: with seed 1 the particles ImpactX 26.10
    draws on one rank, to round-off).
    """

    npart: Annotated[int, Field(ge=0, le=1_000_000_000)]
    random: Literal["numpy", "amrex"] = "numpy"
    seed: Annotated[int, Field(ge=0)] = 0
    bunch_charge_C: Annotated[float, Field(ge=0.0)] | None = None
    current_A: Annotated[float, Field(ge=0.0)] | None = None
    distribution: Distribution

    @field_validator("seed")
    @classmethod
    def _amrex_seed_fits(cls, seed: int, info: ValidationInfo) -> int:
        if info.data.get("random") == "amrex" and seed >= 2**32:
            raise ValueError(f"must be < 2^32 with random amrex (std::mt19937's seed), got {seed}")
        return seed


class Lattice(SpecModel):
    """The element list, repeated ``periods`` times (turns)."""

    periods: Annotated[int, Field(ge=1, le=10_000_000)] = 1
    elements: list[Element]


class SpaceCharge(SpecModel):
    """Space-charge solver settings (ImpactX's algo.space_charge, amr.n_cell, ...).

    mode: the PIC models 3D, 2D, 2.5D or ImpactX's analytic Gaussian models Gauss3D, Gauss2.5D (ImpactX's
    "Gauss2p5D"), which use no grid. gauss_nint (Gauss3D, Gauss2.5D), gauss_taylor_delta, gauss_charge_z_bins,
    gauss_long_scale [m] (Gauss2.5D only): ImpactX's algo.space_charge.gauss_* integration parameters; giving one
    other than its default for a model that does not use it is an error. poisson_solver: ImpactX's algo.poisson_solver, "fft" (open
    boundaries, integrated Green's function) or "multigrid" (mode 3D only, as ImpactX: phi = 0 on the walls of the
    domain, prob_relative x the beam; ImpactX recommends prob_relative >= 3 with it).
    """

    mode: Literal["3D", "2D", "2.5D", "Gauss3D", "Gauss2.5D"]
    n_cell: Annotated[list[Annotated[int, Field(ge=1, le=4096)]], Field(min_length=3, max_length=3)]
    particle_shape: Literal[1, 2, 3] = 2
    poisson_solver: Literal["fft", "multigrid"] = "fft"
    prob_relative: Annotated[float, Field(ge=1.0, le=100.0)] = 1.1
    num_longitudinal_bins: Annotated[int, Field(ge=2, le=100_000)] = 100
    gauss_nint: Annotated[int, Field(ge=2, le=100_001)] = 101
    gauss_taylor_delta: Annotated[float, Field(gt=0.0, lt=0.05)] = 0.01
    gauss_charge_z_bins: Annotated[int, Field(ge=2, le=1_000_000)] = 129
    gauss_long_scale: Annotated[float, Field(gt=0.0)] | None = None
    #: ImpactX's algo.space_charge.strang_split (26.10 default on): each slice is half its push, the
    #: space-charge kick for the whole slice, the other half; false: the kick, then the whole slice.
    strang_split: bool = True
    #: ImpactX's algo.space_charge.apply_longitudinal_kick (mode 2.5D only): false drops 2.5D's pt kick from the
    #: potential and the line-density slope, keeping the transverse kick.
    apply_longitudinal_kick: bool = True

    @model_validator(mode="before")
    @classmethod
    def _impactx_mode_names(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("mode") in ("2p5D", "Gauss2p5D"):
            data = {**data, "mode": str(data["mode"]).replace("2p5D", "2.5D")}
        return data

    @model_validator(mode="after")
    def _gauss_options_for_gauss_models(self) -> SpaceCharge:
        used = {
            "Gauss3D": {"gauss_nint"},
            "Gauss2.5D": {"gauss_nint", "gauss_taylor_delta", "gauss_charge_z_bins", "gauss_long_scale"},
        }
        # a gauss_* option set away from its default (a dumped spec carries the defaults of every field)
        given = {
            k
            for k in self.model_fields_set
            if k.startswith("gauss_") and getattr(self, k) != type(self).model_fields[k].default
        }
        unused = sorted(given - used.get(self.mode, set()))
        if unused:
            raise ValueError(f"{', '.join(unused)} do(es) not apply to space_charge.mode {self.mode}")
        if self.poisson_solver == "multigrid" and self.mode != "3D":
            raise ValueError(f"poisson_solver multigrid applies to space_charge.mode 3D only, not {self.mode}")
        if not self.apply_longitudinal_kick and self.mode != "2.5D":
            raise ValueError(f"apply_longitudinal_kick false applies to space_charge.mode 2.5D only, not {self.mode}")
        return self


class Radiation(SpecModel):
    """Synchrotron radiation in the bends (ImpactX's algo.isr, algo.isr_order, algo.isr_on_ref_part, algo.csr,
    algo.csr_bins), applied after each slice of every bend (Sbend, CFbend, ExactSbend: ImpactX's radiating
    elements).

    isr: incoherent synchrotron radiation (each particle's mean energy loss and its quantum fluctuation, drawn
    with the beam's seed); isr_order: 1, 2 or 3, the order in chi of ImpactX's Taylor polynomials; isr_on_ref_part:
    the reference loses the mean loss of a reference-energy particle and the particles' changes are taken
    relative to it (off: the reference keeps its energy). csr: coherent
    synchrotron radiation (ImpactX's 1D steady-state wake of the line-charge density, which needs
    beam.bunch_charge_C > 0); csr_bins: longitudinal bins of that density. An option of a radiation that is off is
    an error.
    """

    isr: bool = False
    isr_order: Literal[1, 2, 3] = 1
    isr_on_ref_part: bool = False
    csr: bool = False
    csr_bins: Annotated[int, Field(ge=2, le=1_000_000)] = 150

    @model_validator(mode="after")
    def _options_of_what_is_on(self) -> Radiation:
        defaults = type(self).model_fields
        given = {k for k in self.model_fields_set if getattr(self, k) != defaults[k].default}
        for on, opts in ((self.isr, {"isr_order", "isr_on_ref_part"}), (self.csr, {"csr_bins"})):
            unused = sorted(given & opts) if not on else []
            if unused:
                what = "isr" if "isr_order" in opts else "csr"
                raise ValueError(f"{', '.join(unused)}: does not apply while radiation.{what} is off")
        if not (self.isr or self.csr):
            raise ValueError("radiation: set isr and/or csr to true (or leave radiation out)")
        return self


class ParticleBoundary(SpecModel):
    """Longitudinal particle boundary condition after each slice (ImpactX's algo.particle_bc): "periodic" wraps t
    into the bucket, "absorbing" loses a particle that leaves it, "reflecting" reflects t and pt at its edges;
    bucket_length_m [m]: the bucket's length along the orbit (ImpactX's bucket_length)."""

    particle_bc: Literal["periodic", "absorbing", "reflecting"]
    bucket_length_m: Annotated[float, Field(gt=0.0)]


class Diagnostics(SpecModel):
    """slice_step_diagnostics: reduced diagnostics after every slice, not only at the ends."""

    slice_step_diagnostics: bool = False


class JobSpec(SpecModel):
    """One simulation: what the CLI runs and the service queues."""

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")]
    reference: Reference
    beam: Beam
    lattice: Lattice
    space_charge: SpaceCharge | None = None
    radiation: Radiation | None = None
    #: None: ImpactX's default "open" boundary (nothing happens to particles outside any bucket)
    boundary: ParticleBoundary | None = None
    diagnostics: Diagnostics = Diagnostics()
    #: Ray actors the job's particles are split across (contiguous shares of the beam drawn as one worker
    #: draws it, tracked in lockstep; diagnostics and the space-charge grid reduced across them)
    workers: Annotated[int, Field(ge=1, le=64)] = 1

    @model_validator(mode="after")
    def _what_workers_support(self) -> JobSpec:
        if self.workers == 1:
            return self
        sc = self.space_charge
        if sc is not None and sc.mode != "3D":
            raise ValueError(f"workers > 1 supports space_charge.mode 3D only (or none), not {sc.mode}")
        if self.radiation is not None:
            raise ValueError("workers > 1 does not support radiation (ISR / CSR)")
        if any(m.type == "Programmable" for m in self.lattice.elements):
            raise ValueError(
                "workers > 1 does not support Programmable elements (their code sees one worker's particles only)"
            )
        if self.beam.npart < self.workers:
            raise ValueError(f"workers = {self.workers} needs beam.npart >= workers, not {self.beam.npart}")
        return self

    @model_validator(mode="after")
    def _charge_for_space_charge(self) -> JobSpec:
        sc = self.space_charge
        if sc is not None:
            if sc.mode in ("3D", "Gauss3D", "Gauss2.5D") and not self.beam.bunch_charge_C:
                raise ValueError(f"space_charge.mode {sc.mode} needs beam.bunch_charge_C > 0")
            if sc.mode == "2D" and not self.beam.current_A:
                raise ValueError("space_charge.mode 2D needs beam.current_A > 0")
            if sc.mode == "2.5D" and not (self.beam.current_A or self.beam.bunch_charge_C):
                raise ValueError("space_charge.mode 2.5D needs beam.current_A > 0 or beam.bunch_charge_C > 0")
        if self.radiation is not None and self.radiation.csr and not self.beam.bunch_charge_C:
            raise ValueError("radiation.csr needs beam.bunch_charge_C > 0 (the wake scales with the bunch charge)")
        return self
