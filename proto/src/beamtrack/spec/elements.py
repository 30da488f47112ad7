"""Lattice elements: ImpactX's element classes, parameter names and units.

Each model is one element of ``lattice.elements[]``; ``type`` is the ImpactX class name.
Conventions (ImpactX): lengths in m, quadrupole strength k in 1/m^2, bend radius rc in m,
rotation / PRot / ShortRF phase / ExactSbend phi / ThinDipole theta in degrees, DipEdge psi in rad.
Source of names and defaults: ImpactX user guide, "Lattice Elements" (Python API).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ._base import SpecModel

NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]

#: An element name: letters, digits, ``_ . + -``, not starting with ``.`` or ``-``, at most 128
#: characters. A BeamMonitor's name becomes a file name (``diags/openPMD/<name>.h5``), so a name can
#: never hold a path separator, ``..``, a NUL or a control character.
ELEMENT_NAME_PATTERN = r"^[A-Za-z0-9_+][A-Za-z0-9_.+\-]{0,127}$"
ElementName = Annotated[str, Field(min_length=1, max_length=128, pattern=ELEMENT_NAME_PATTERN)]


class ElementBase(SpecModel):
    """Common to every element: a name and a transverse misalignment.

    dx, dy: horizontal / vertical offset of the element [m]; rotation: roll about s [deg].
    """

    name: ElementName | None = None
    dx: float = 0.0
    dy: float = 0.0
    rotation: float = 0.0

    #: True for elements with a length (ds) that the tracking loop slices.
    thick: bool = Field(default=False, exclude=True, repr=False)


class ThickElement(ElementBase):
    """An element of length ``ds`` [m] pushed in ``nslice`` equal slices; ds < 0 runs the element's map
    backwards (ImpactX: the same map with a negative length, as its reversibility examples use).

    aperture_x, aperture_y: half-axes [m] of an elliptical aperture checked at the element exit;
    0 means no aperture.
    """

    ds: float
    nslice: Annotated[int, Field(ge=1, le=100_000)] = 1
    aperture_x: NonNegative = 0.0
    aperture_y: NonNegative = 0.0
    thick: bool = Field(default=True, exclude=True, repr=False)

    @model_validator(mode="after")
    def _apertures_both_or_none(self) -> ThickElement:
        if (self.aperture_x > 0) != (self.aperture_y > 0):
            raise ValueError("aperture_x and aperture_y must both be > 0 (elliptical aperture) or both 0")
        return self


class ThinElement(ElementBase):
    """A zero-length kick (ds = 0, one slice)."""

    @property
    def ds(self) -> float:
        return 0.0

    @property
    def nslice(self) -> int:
        return 1


class ThinElementWithAperture(ThinElement):
    """A zero-length kick with ImpactX's optional elliptical aperture: aperture_x, aperture_y: half-axes [m]
    (both > 0, or both 0: no aperture), checked as for thick elements."""

    aperture_x: NonNegative = 0.0
    aperture_y: NonNegative = 0.0

    @model_validator(mode="after")
    def _apertures_both_or_none(self) -> ThinElementWithAperture:
        if (self.aperture_x > 0) != (self.aperture_y > 0):
            raise ValueError("aperture_x and aperture_y must both be > 0 (elliptical aperture) or both 0")
        return self


# --- drifts and quadrupoles -------------------------------------------------------------------


class Drift(ThickElement):
    """Linear drift (paraxial map, first order in pt)."""

    type: Literal["Drift"] = "Drift"


class ChrDrift(ThickElement):
    """Drift with chromatic effects (exact in pt, paraxial in px, py)."""

    type: Literal["ChrDrift"] = "ChrDrift"


class ExactDrift(ThickElement):
    """Drift with the exact (non-paraxial) Hamiltonian."""

    type: Literal["ExactDrift"] = "ExactDrift"


class Quad(ThickElement):
    """Linear quadrupole; k [1/m^2] > 0 focuses horizontally."""

    type: Literal["Quad"] = "Quad"
    k: float


class ChrQuad(ThickElement):
    """Quadrupole with chromatic effects; k in 1/m^2 (unit=0) or T/m (unit=1)."""

    type: Literal["ChrQuad"] = "ChrQuad"
    k: float
    unit: Literal[0, 1] = 0


# --- bends ------------------------------------------------------------------------------------


class Sbend(ThickElement):
    """Linear sector bend; rc: bending radius [m] (sign gives the bending direction; 0: a drift, as ImpactX),
    ds: arc length [m]."""

    type: Literal["Sbend"] = "Sbend"
    rc: float


class ExactSbend(ThickElement):
    """Sector bend with the exact Hamiltonian; phi: bending angle [deg]; B: field [T] (0: B from phi and ds)."""

    type: Literal["ExactSbend"] = "ExactSbend"
    phi: float
    B: float = 0.0


class CFbend(ThickElement):
    """Combined-function sector bend: radius rc [m] and quadrupole strength k [1/m^2]."""

    type: Literal["CFbend"] = "CFbend"
    rc: float
    k: float

    @field_validator("rc")
    @classmethod
    def _rc_nonzero(cls, v: float) -> float:
        if v == 0.0:
            raise ValueError("rc must be nonzero")
        return v


class DipEdge(ThinElementWithAperture):
    """Dipole edge focusing (ImpactX's DipEdge); psi: pole-face angle [rad], rc [m], g: gap [m], K2: fringe-field
    integral. Nonlinear model (model="nonlinear", Hwang and Lee's sixth-order fringe map): R: scale length [m],
    K0..K6: fringe-field integrals, location: the bend's entry or exit edge, modify_ref_part: the edge moves the
    reference particle too. The linear model uses psi, rc, g and K2 only.
    """

    type: Literal["DipEdge"] = "DipEdge"
    psi: float
    rc: float
    g: NonNegative = 0.0
    K2: float = 0.0
    R: float = 1.0
    K0: float = 1.6449340668482264  # pi^2 / 6, ImpactX's default
    K1: float = 0.0
    K3: float = 1.0 / 6.0
    K4: float = 0.0
    K5: float = 0.0
    K6: float = 0.0
    model: Literal["linear", "nonlinear"] = "linear"
    location: Literal["entry", "exit"] = "entry"
    modify_ref_part: bool = False

    @field_validator("rc")
    @classmethod
    def _rc_nonzero(cls, v: float) -> float:
        if v == 0.0:
            raise ValueError("rc must be nonzero")
        return v


class ThinDipole(ThinElementWithAperture):
    """Thin dipole kick (Ripken / MaryLie model); theta: bending angle [deg], rc: curvature radius [m]."""

    type: Literal["ThinDipole"] = "ThinDipole"
    theta: float
    rc: float

    @field_validator("rc")
    @classmethod
    def _rc_nonzero(cls, v: float) -> float:
        if v == 0.0:
            raise ValueError("rc must be nonzero")
        return v


# --- thin multipoles and lenses ---------------------------------------------------------------


class Multipole(ThinElementWithAperture):
    """Thin multipole of order m (1 dipole, 2 quad, 3 sextupole, ...); K_normal, K_skew: integrated strengths [1/m^(m-1)]."""

    type: Literal["Multipole"] = "Multipole"
    multipole: Annotated[int, Field(ge=1, le=30)]
    K_normal: float = 0.0
    K_skew: float = 0.0


class NonlinearLens(ThinElementWithAperture):
    """Thin Danilov-Nagaitsev (IOTA) nonlinear lens; knll: integrated strength [m], cnll: distance of singularities [m]."""

    type: Literal["NonlinearLens"] = "NonlinearLens"
    knll: float
    cnll: Positive


class Kicker(ThinElementWithAperture):
    """Thin transverse kick; xkick, ykick dimensionless (unit='dimensionless') or in T*m (unit='T-m')."""

    type: Literal["Kicker"] = "Kicker"
    xkick: float = 0.0
    ykick: float = 0.0
    unit: Literal["dimensionless", "T-m"] = "dimensionless"


# --- focusing channels and solenoids ------------------------------------------------------------


class ConstF(ThickElement):
    """Constant linear focusing; kx, ky, kt: focusing wavenumbers [1/m]."""

    type: Literal["ConstF"] = "ConstF"
    kx: float
    ky: float
    kt: float


class Sol(ThickElement):
    """Hard-edge solenoid (fringe fields included); ks = B / (B rho) [1/m]."""

    type: Literal["Sol"] = "Sol"
    ks: float


class SoftSolenoid(ThickElement):
    """Solenoid with a soft-edge on-axis field B(z) = bscale * Fourier series; map integrated along the reference orbit.

    bscale: [1/m] (unit=0) or [T] (unit=1); cos/sin_coefficients: Fourier coefficients of the
    on-axis profile over the element length; mapsteps: integration steps per slice.
    """

    type: Literal["SoftSolenoid"] = "SoftSolenoid"
    bscale: float
    cos_coefficients: list[float] = Field(min_length=1)
    sin_coefficients: list[float] = Field(min_length=1)
    unit: Literal[0, 1] = 0
    mapsteps: Annotated[int, Field(ge=1, le=100_000)] = 10


class SoftQuadrupole(ThickElement):
    """Quadrupole with a soft-edge gradient g(z) = gscale * Fourier series [1/m^2]; map integrated along the reference orbit."""

    type: Literal["SoftQuadrupole"] = "SoftQuadrupole"
    gscale: float
    cos_coefficients: list[float] = Field(min_length=1)
    sin_coefficients: list[float] = Field(min_length=1)
    mapsteps: Annotated[int, Field(ge=1, le=100_000)] = 10


# --- RF ----------------------------------------------------------------------------------------


class RFCavity(ThickElement):
    """RF cavity with on-axis field Ez(z) = escale * Fourier series; map integrated along the reference orbit.

    escale: [1/m] (normalized by the rest energy: E / (m c^2 / q)); freq [Hz]; phase: RF driven phase [deg]
    (ImpactX's convention); mapsteps: integration steps per slice.
    """

    type: Literal["RFCavity"] = "RFCavity"
    escale: float
    freq: Positive
    phase: float
    cos_coefficients: list[float] = Field(min_length=1)
    sin_coefficients: list[float] = Field(min_length=1)
    mapsteps: Annotated[int, Field(ge=1, le=100_000)] = 10


class ShortRF(ThinElementWithAperture):
    """Thin RF gap (nonlinear); V: normalized voltage (q V / (m c^2)), freq [Hz], phase [deg] (-90 = zero crossing)."""

    type: Literal["ShortRF"] = "ShortRF"
    V: float
    freq: Positive
    phase: float = -90.0


class Buncher(ThinElementWithAperture):
    """Thin linear RF buncher; V: normalized voltage, k: RF wavenumber [1/m]."""

    type: Literal["Buncher"] = "Buncher"
    V: float
    k: float


# --- coordinate transforms and maps -------------------------------------------------------------


class PRot(ThinElement):
    """Exact pole-face rotation in the x-z plane; phi_in, phi_out [deg]."""

    type: Literal["PRot"] = "PRot"
    phi_in: float
    phi_out: float


class PlaneXYRot(ThinElement):
    """Rotation of the transverse plane about s; angle [deg]."""

    type: Literal["PlaneXYRot"] = "PlaneXYRot"
    angle: float


class SpinMap(ElementBase):
    """Thin user spin map (ImpactX 26.10's SpinMap): the spin turns first by the axis-angle vector A z [rad]
    of the orbit z = (x, px, y, py, t, pt) (A: 3x6 spin-orbit coupling), then by v [rad] (the design
    rotation); the phase space is unchanged; ds [m] advances s only (not sliced)."""

    type: Literal["SpinMap"] = "SpinMap"
    v: list[float]
    A: list[list[float]]
    ds: NonNegative = 0.0

    @property
    def nslice(self) -> int:
        return 1

    @field_validator("v")
    @classmethod
    def _three(cls, v: list[float]) -> list[float]:
        if len(v) != 3:
            raise ValueError("v must be a 3-vector")
        return v

    @field_validator("A")
    @classmethod
    def _three_by_six(cls, v: list[list[float]]) -> list[list[float]]:
        if len(v) != 3 or any(len(row) != 6 for row in v):
            raise ValueError("A must be a 3x6 matrix (list of 3 rows of 6 numbers)")
        return v


class LinearMap(ElementBase):
    """User-given 6x6 linear map R on (x, px, y, py, t, pt) (ImpactX's order); ds [m] advances s only (< 0: back)."""

    type: Literal["LinearMap"] = "LinearMap"
    R: list[list[float]]
    ds: float = 0.0

    @property
    def nslice(self) -> int:
        return 1

    @field_validator("R")
    @classmethod
    def _six_by_six(cls, v: list[list[float]]) -> list[list[float]]:
        if len(v) != 6 or any(len(row) != 6 for row in v):
            raise ValueError("R must be a 6x6 matrix (list of 6 rows of 6 numbers)")
        return v


# --- apertures, diagnostics, markers, programmable ---------------------------------------------


class Aperture(ThinElement):
    """Thin aperture; particles outside (transmit) or inside (absorb) the shape are lost and recorded.

    aperture_x, aperture_y: half-widths / half-axes [m]; repeat_x, repeat_y: period [m] of a repeated
    aperture (0 = not repeated); shift_odd_x: shift every odd row (in y) by repeat_x / 2 (hexagonal /
    triangular masks; needs repeat_y); shape: rectangular or elliptical.
    """

    type: Literal["Aperture"] = "Aperture"
    aperture_x: Positive
    aperture_y: Positive
    repeat_x: NonNegative = 0.0
    repeat_y: NonNegative = 0.0
    shift_odd_x: bool = False
    shape: Literal["rectangular", "elliptical"] = "rectangular"
    action: Literal["transmit", "absorb"] = "transmit"

    @model_validator(mode="after")
    def _shift_needs_rows(self) -> Aperture:
        if self.shift_odd_x and self.repeat_y == 0.0:
            raise ValueError("Aperture: shift_odd_x needs repeat_y > 0")
        return self


class BeamMonitor(ThinElement):
    """Writes the beam to an openPMD series ``diags/openPMD/<name>.<backend>`` (ImpactX layout).

    nonlinear_lens_invariants: also write the IOTA nonlinear insert's invariants H and I per particle (records
    ``H``, ``I``), from the bare lattice's Twiss alpha [1] and beta [m] at the monitor and the insert's
    dimensionless strength tn and scale cn [m^(1/2)] (ImpactX's defaults).
    """

    type: Literal["BeamMonitor"] = "BeamMonitor"
    name: ElementName = "monitor"  # type: ignore[assignment]
    backend: Literal["default", "h5", "bp", "bp4", "bp5", "json"] = "default"
    encoding: Literal["g", "f", "v"] = "g"
    period_sample_intervals: Annotated[int, Field(ge=1)] = 1
    nonlinear_lens_invariants: bool = False
    alpha: float = 0.0
    beta: Positive = 1.0
    tn: float = 0.4
    cn: Positive = 0.01


class Marker(ThinElement):
    """Does nothing; a named position in the lattice."""

    type: Literal["Marker"] = "Marker"


class Programmable(ThickElement):
    """An element whose push is Python code (set on the engine object, not in JSON)."""

    type: Literal["Programmable"] = "Programmable"
    ds: NonNegative = 0.0


class Empty(ThinElement):
    """Does nothing (ImpactX's Empty): no parameters, no effect on the beam or the reference."""

    type: Literal["Empty"] = "Empty"


class ChrAcc(ThickElement):
    """Uniform acceleration with chromatic effects and a uniform solenoid field (ImpactX's ChrAcc).

    ds [m]; ez = q Ez / (m c^2) [1/m] (Ez in V/m; the reference's gamma grows by ez ds, must be != 0);
    bz = q Bz / (m c) [1/m] (Bz in T).
    """

    type: Literal["ChrAcc"] = "ChrAcc"
    ez: float
    bz: float

    @field_validator("ez")
    @classmethod
    def _ez_nonzero(cls, v: float) -> float:
        if v == 0.0:
            raise ValueError(
                "ChrAcc: ez must be != 0 (ImpactX divides by it; without acceleration use ChrDrift or Sol)"
            )
        return v


class ChrPlasmaLens(ThickElement):
    """Active cylindrically symmetric plasma lens with chromatic focusing (ImpactX's ChrPlasmaLens).

    ds [m]; k: focusing strength in 1/m^2 (unit=0) or azimuthal field gradient in T/m (unit=1, divided by
    the reference rigidity); k > 0 focuses in both planes.
    """

    type: Literal["ChrPlasmaLens"] = "ChrPlasmaLens"
    k: float
    unit: Literal[0, 1] = 0


class TaperedPL(ThinElementWithAperture):
    """Thin nonlinear plasma lens with a horizontal taper (ImpactX's TaperedPL):
    dpx = -g (x + taper (x^2 + y^2) / 2), dpy = -g (y + taper x y).

    k: integrated focusing strength in 1/m (unit=0) or integrated gradient in T (unit=1, divided by the
    reference rigidity); taper [1/m] = 1 / D_x (D_x the targeted horizontal dispersion).
    """

    type: Literal["TaperedPL"] = "TaperedPL"
    k: float
    taper: float
    unit: Literal[0, 1] = 0


class QuadEdge(ThinElementWithAperture):
    """Hard-edge quadrupole fringe field (ImpactX's QuadEdge; Forest and Milutinovic 1988, eq. 28,
    symplectified, chromatic): k in 1/m^2 (unit=0) or T/m (unit=1); flag: entry or exit."""

    type: Literal["QuadEdge"] = "QuadEdge"
    k: float
    unit: Literal[0, 1] = 0
    flag: Literal["entry", "exit"] = "entry"


class PolygonAperture(ThinElement):
    """Thin collimator bounded by a polygon (ImpactX's PolygonAperture).

    vertices_x, vertices_y [m]: the polygon, counter-clockwise, first vertex repeated as the last;
    min_radius2 [m^2]: particles with x^2 + y^2 below it are inside without the polygon test;
    repeat_x, repeat_y [m]: period of a repeated aperture (0 = not repeated); shift_odd_x: shift every
    odd row (in y) by repeat_x / 2 (needs repeat_y); action: lose particles outside (transmit) or
    inside (absorb).
    """

    type: Literal["PolygonAperture"] = "PolygonAperture"
    vertices_x: list[float] = Field(min_length=2, max_length=10_000)
    vertices_y: list[float] = Field(min_length=2, max_length=10_000)
    min_radius2: NonNegative = 0.0
    repeat_x: NonNegative = 0.0
    repeat_y: NonNegative = 0.0
    shift_odd_x: bool = False
    action: Literal["transmit", "absorb"] = "transmit"

    @model_validator(mode="after")
    def _closed_polygon(self) -> PolygonAperture:
        if len(self.vertices_x) != len(self.vertices_y):
            raise ValueError("PolygonAperture: vertices_x and vertices_y must have the same length")
        if self.vertices_x[0] != self.vertices_x[-1] or self.vertices_y[0] != self.vertices_y[-1]:
            raise ValueError("PolygonAperture: the first and last vertex must be exactly equal")
        if self.shift_odd_x and self.repeat_y == 0.0:
            raise ValueError("PolygonAperture: shift_odd_x needs repeat_y > 0")
        return self


class Source(ThinElement):
    """A particle source (ImpactX's Source): appends the beam of one step of an openPMD series written by a
    BeamMonitor (``distribution`` "openPMD", the only kind ImpactX 26.10 has).

    openpmd_path: the series (relative paths from the working directory); active_once: inject in lattice
    period 0 only; load_ref_particle: first restore the reference particle from the series; load_step:
    the step (openPMD iteration) to read, or load_step_index: its position in the file (negative from the
    end); neither: the last step.
    """

    type: Literal["Source"] = "Source"
    distribution: Literal["openPMD"] = "openPMD"
    openpmd_path: Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")]
    active_once: bool = True
    load_ref_particle: bool = True
    load_step: Annotated[int, Field(ge=0)] | None = None
    load_step_index: int | None = None

    @model_validator(mode="after")
    def _one_step_selector(self) -> Source:
        if self.load_step is not None and self.load_step_index is not None:
            raise ValueError("Source: set at most one of load_step and load_step_index")
        return self


class ExactQuad(ThickElement):
    """Quadrupole with the exact (non-paraxial) Hamiltonian (ImpactX's ExactQuad); k in 1/m^2 (unit=0) or
    T/m (unit=1); int_order: order 2, 4 or 6 of ImpactX's symplectic integrator; mapsteps: integration steps
    per slice."""

    type: Literal["ExactQuad"] = "ExactQuad"
    k: float
    unit: Literal[0, 1] = 0
    int_order: Literal[2, 4, 6] = 2
    mapsteps: Annotated[int, Field(ge=1, le=100_000)] = 10


class ExactMultipole(ThickElement):
    """Thick multipole with the exact Hamiltonian (ImpactX's ExactMultipole): k_normal[m], k_skew[m] the
    normal / skew strengths of order m (0 dipole, 1 quadrupole, 2 sextupole, ...) in 1/m^(m+1) (unit=0) or
    T/m^m (unit=1, divided by the rigidity); int_order 2/4/6 and mapsteps as ExactQuad."""

    type: Literal["ExactMultipole"] = "ExactMultipole"
    k_normal: list[float] = Field(min_length=1, max_length=30)
    k_skew: list[float] = Field(min_length=1, max_length=30)
    unit: Literal[0, 1] = 0
    int_order: Literal[2, 4, 6] = 2
    mapsteps: Annotated[int, Field(ge=1, le=100_000)] = 10

    @model_validator(mode="after")
    def _same_length(self) -> ExactMultipole:
        if len(self.k_normal) != len(self.k_skew):
            raise ValueError("ExactMultipole: k_normal and k_skew must have the same length")
        return self


class ExactCFbend(ThickElement):
    """Combined-function sector bend with the exact Hamiltonian (ImpactX's ExactCFbend): k_normal[0] the
    curvature 1/rc [1/m] (unit=0) or the dipole field [T] (unit=1, divided by the rigidity), must be != 0;
    k_normal[m], k_skew[m] for m = 1..4 the quadrupole .. decapole strengths in 1/m^(m+1) or T/m^m (ImpactX's
    map has no higher orders; k_skew[0] has no effect in ImpactX and must be 0 here); int_order, mapsteps as ExactQuad."""

    type: Literal["ExactCFbend"] = "ExactCFbend"
    k_normal: list[float] = Field(min_length=1, max_length=5)
    k_skew: list[float] = Field(min_length=1, max_length=5)
    unit: Literal[0, 1] = 0
    int_order: Literal[2, 4, 6] = 2
    mapsteps: Annotated[int, Field(ge=1, le=100_000)] = 10

    @model_validator(mode="after")
    def _coefficients(self) -> ExactCFbend:
        if len(self.k_normal) != len(self.k_skew):
            raise ValueError("ExactCFbend: k_normal and k_skew must have the same length")
        if self.k_normal[0] == 0.0:
            raise ValueError("ExactCFbend: k_normal[0] (the curvature) must be != 0 (ImpactX's map divides by it)")
        if self.k_skew[0] != 0.0:
            raise ValueError("ExactCFbend: k_skew[0] must be 0 (ImpactX's map has no skew dipole term)")
        return self


Element = Annotated[
    Drift
    | ChrDrift
    | ExactDrift
    | Quad
    | ChrQuad
    | Sbend
    | ExactSbend
    | CFbend
    | DipEdge
    | ThinDipole
    | Multipole
    | NonlinearLens
    | Kicker
    | ConstF
    | Sol
    | SoftSolenoid
    | SoftQuadrupole
    | RFCavity
    | ShortRF
    | Buncher
    | PRot
    | PlaneXYRot
    | SpinMap
    | LinearMap
    | Aperture
    | BeamMonitor
    | Marker
    | Programmable
    | Empty
    | ChrAcc
    | ChrPlasmaLens
    | TaperedPL
    | QuadEdge
    | PolygonAperture
    | Source
    | ExactQuad
    | ExactMultipole
    | ExactCFbend,
    Field(discriminator="type"),
]

ELEMENT_MODELS: dict[str, type[ElementBase]] = {
    m.model_fields["type"].default: m
    for m in (
        Drift,
        ChrDrift,
        ExactDrift,
        Quad,
        ChrQuad,
        Sbend,
        ExactSbend,
        CFbend,
        DipEdge,
        ThinDipole,
        Multipole,
        NonlinearLens,
        Kicker,
        ConstF,
        Sol,
        SoftSolenoid,
        SoftQuadrupole,
        RFCavity,
        ShortRF,
        Buncher,
        PRot,
        PlaneXYRot,
        SpinMap,
        LinearMap,
        Aperture,
        BeamMonitor,
        Marker,
        Programmable,
        Empty,
        ChrAcc,
        ChrPlasmaLens,
        TaperedPL,
        QuadEdge,
        PolygonAperture,
        Source,
        ExactQuad,
        ExactMultipole,
        ExactCFbend,
    )
}
