"""ImpactX 26.10's ``impactx.elements``: its constructors (positional order, defaults) over the engine's elements.

Each class here subclasses the engine element of the same name, so the tracking loop, the kernels and
the spec see the one implementation; only the constructor differs: ImpactX's full positional order
(``Drift(ds, dx, dy, rotation, aperture_x, aperture_y, nslice, name)``) and ImpactX's defaults
(``DipEdge``'s ``K2 = 1``). A parameter ImpactX has and the engine does not implement raises
``NotImplementedError`` naming it when it is given a value other than ImpactX's default; the element
types ImpactX has and beamtrack lacks raise ``NotImplementedError`` when constructed.
"""

from __future__ import annotations

from typing import Any

from beamtrack.engine import elements as E

from .lattice import KnownElementsList as KnownElementsList  # ImpactX keeps its list type in impactx.elements

_REQ = object()  # marks a required parameter

#: ImpactX 26.10's constructor parameters per element type, in order (name, default), from its Python
#: bindings' signatures (``help(impactx.elements.Quad)``); _REQ = required.
_COMMON_THICK = (("dx", 0.0), ("dy", 0.0), ("rotation", 0.0), ("aperture_x", 0.0), ("aperture_y", 0.0))
SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "Aperture": (
        ("aperture_x", _REQ),
        ("aperture_y", _REQ),
        ("repeat_x", 0.0),
        ("repeat_y", 0.0),
        ("shift_odd_x", False),
        ("shape", "rectangular"),
        ("action", "transmit"),
        ("dx", 0.0),
        ("dy", 0.0),
        ("rotation", 0.0),
        ("name", None),
    ),
    "BeamMonitor": (
        ("name", _REQ),
        ("backend", "default"),
        ("encoding", "g"),
        ("period_sample_intervals", 1),
        ("particles", True),
        ("beam_moments", True),
    ),
    "Buncher": (("V", _REQ), ("k", _REQ), *_COMMON_THICK, ("name", None)),
    "CFbend": (("ds", _REQ), ("rc", _REQ), ("k", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ChrDrift": (("ds", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ChrQuad": (("ds", _REQ), ("k", _REQ), ("unit", 0), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ConstF": (("ds", _REQ), ("kx", _REQ), ("ky", _REQ), ("kt", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "DipEdge": (
        ("psi", _REQ),
        ("rc", _REQ),
        ("g", _REQ),
        ("R", 1.0),
        ("K0", 1.6449340668482264),
        ("K1", 0.0),
        ("K2", 1.0),
        ("K3", 0.16666666666666666),
        ("K4", 0.0),
        ("K5", 0.0),
        ("K6", 0.0),
        ("model", "linear"),
        ("location", "entry"),
        ("modify_ref_part", False),
        *_COMMON_THICK,
        ("name", None),
    ),
    "Drift": (("ds", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ExactDrift": (("ds", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ExactSbend": (("ds", _REQ), ("phi", _REQ), ("B", 0.0), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "Kicker": (("xkick", _REQ), ("ykick", _REQ), ("unit", "dimensionless"), *_COMMON_THICK, ("name", None)),
    "LinearMap": (("R", _REQ), ("ds", 0.0), *_COMMON_THICK, ("name", None)),
    "SpinMap": (("v", _REQ), ("A", _REQ), ("ds", 0.0), ("dx", 0.0), ("dy", 0.0), ("rotation", 0.0), ("name", None)),
    "Marker": (("name", _REQ),),
    "Multipole": (("multipole", _REQ), ("K_normal", _REQ), ("K_skew", _REQ), *_COMMON_THICK, ("name", None)),
    "NonlinearLens": (("knll", _REQ), ("cnll", _REQ), *_COMMON_THICK, ("name", None)),
    "PRot": (("phi_in", _REQ), ("phi_out", _REQ), ("name", None)),
    "PlaneXYRot": (("angle", _REQ), ("dx", 0.0), ("dy", 0.0), ("rotation", 0.0), ("name", None)),
    "Programmable": (("ds", 0.0), ("nslice", 1), ("name", None)),
    "Quad": (("ds", _REQ), ("k", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "RFCavity": (
        ("ds", _REQ),
        ("escale", _REQ),
        ("freq", _REQ),
        ("phase", _REQ),
        ("cos_coefficients", _REQ),
        ("sin_coefficients", _REQ),
        *_COMMON_THICK,
        ("mapsteps", 10),
        ("nslice", 1),
        ("name", None),
    ),
    "Sbend": (("ds", _REQ), ("rc", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ShortRF": (("V", _REQ), ("freq", _REQ), ("phase", -90.0), *_COMMON_THICK, ("name", None)),
    "SoftQuadrupole": (
        ("ds", _REQ),
        ("gscale", _REQ),
        ("cos_coefficients", _REQ),
        ("sin_coefficients", _REQ),
        *_COMMON_THICK,
        ("mapsteps", 10),
        ("nslice", 1),
        ("name", None),
    ),
    "SoftSolenoid": (
        ("ds", _REQ),
        ("bscale", _REQ),
        ("cos_coefficients", _REQ),
        ("sin_coefficients", _REQ),
        ("unit", 0),
        *_COMMON_THICK,
        ("mapsteps", 10),
        ("nslice", 1),
        ("name", None),
    ),
    "Sol": (("ds", _REQ), ("ks", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ThinDipole": (("theta", _REQ), ("rc", _REQ), *_COMMON_THICK, ("name", None)),
    "Empty": (),
    "ChrAcc": (("ds", _REQ), ("ez", _REQ), ("bz", _REQ), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "ChrPlasmaLens": (("ds", _REQ), ("k", _REQ), ("unit", 0), *_COMMON_THICK, ("nslice", 1), ("name", None)),
    "TaperedPL": (("k", _REQ), ("taper", _REQ), ("unit", 0), *_COMMON_THICK, ("name", None)),
    "QuadEdge": (("k", _REQ), ("unit", 0), ("flag", "entry"), *_COMMON_THICK, ("name", None)),
    "PolygonAperture": (
        ("vertices_x", _REQ),
        ("vertices_y", _REQ),
        ("min_radius2", 0.0),
        ("repeat_x", 0.0),
        ("repeat_y", 0.0),
        ("shift_odd_x", False),
        ("action", "transmit"),
        ("dx", 0.0),
        ("dy", 0.0),
        ("rotation", 0.0),
        ("name", None),
    ),
    "Source": (
        ("distribution", _REQ),
        ("openpmd_path", _REQ),
        ("active_once", True),
        ("load_ref_particle", True),
        ("load_step", None),
        ("load_step_index", None),
        ("name", None),
    ),
    "ExactQuad": (
        ("ds", _REQ),
        ("k", _REQ),
        ("unit", 0),
        *_COMMON_THICK,
        ("int_order", 2),
        ("mapsteps", 10),
        ("nslice", 1),
        ("name", None),
    ),
    "ExactMultipole": (
        ("ds", _REQ),
        ("k_normal", _REQ),
        ("k_skew", _REQ),
        ("unit", 0),
        *_COMMON_THICK,
        ("int_order", 2),
        ("mapsteps", 10),
        ("nslice", 1),
        ("name", None),
    ),
    "ExactCFbend": (
        ("ds", _REQ),
        ("k_normal", _REQ),
        ("k_skew", _REQ),
        ("unit", 0),
        *_COMMON_THICK,
        ("int_order", 2),
        ("mapsteps", 10),
        ("nslice", 1),
        ("name", None),
    ),
}

#: parameters ImpactX takes as float sequences (lists, NumPy arrays), passed on as lists
_FLOAT_LISTS = {
    "PolygonAperture": ("vertices_x", "vertices_y"),
    "ExactMultipole": ("k_normal", "k_skew"),
    "ExactCFbend": ("k_normal", "k_skew"),
}

#: elements ImpactX 26.10 also builds from sampled on-axis data: (z, <this keyword>, ncoef) instead of the
#: Fourier coefficients (its Python extensions of RFCavity, SoftSolenoid, SoftQuadrupole)
_FIELD_DATA = {"RFCavity": "field_on_axis", "SoftSolenoid": "field_on_axis", "SoftQuadrupole": "gradient_on_axis"}


def _coefficients_from_field_data(type_name: str, kwargs: dict[str, Any]) -> None:
    """Replace z, field_on_axis (gradient_on_axis) and ncoef in kwargs by ImpactX's fourier_coefficients of them."""
    data_key = _FIELD_DATA[type_name]
    data = {k: kwargs.pop(k) for k in ("z", data_key, "ncoef") if k in kwargs and kwargs[k] is not None}
    if not data:
        return
    if "cos_coefficients" in kwargs or "sin_coefficients" in kwargs:
        raise ValueError(
            f"{type_name}: provide either (cos_coefficients, sin_coefficients) or (z, {data_key}, ncoef), not both."
        )
    if len(data) != 3:
        raise ValueError(
            f"{type_name}: when using field data, all three parameters 'z', '{data_key}', and 'ncoef' must be provided."
        )
    from .helpers import fourier_coefficients

    cos_c, sin_c = fourier_coefficients(data["z"], data[data_key], int(data["ncoef"]))
    kwargs["cos_coefficients"], kwargs["sin_coefficients"] = list(cos_c), list(sin_c)


#: ImpactX element types beamtrack does not have yet.
MISSING: tuple[str, ...] = ()


def _bind(type_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """ImpactX's arguments as a full {name: value} mapping (its positional order, its defaults)."""
    sig = SIGNATURES[type_name]
    if len(args) > len(sig):
        raise TypeError(f"{type_name}() takes at most {len(sig)} positional arguments ({len(args)} given)")
    names = [n for n, _ in sig]
    out: dict[str, Any] = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"{type_name}() got an unexpected keyword argument {k!r}")
        if k in out:
            raise TypeError(f"{type_name}() got multiple values for argument {k!r}")
        out[k] = v
    for n, d in sig:
        if n not in out:
            if d is _REQ:
                raise TypeError(f"{type_name}() missing required argument {n!r}")
            out[n] = d
    return out


def _engine_kwargs(type_name: str, engine_cls: type[E.Element], bound: dict[str, Any]) -> dict[str, Any]:
    """Keep what the engine model has; a parameter it lacks must be at ImpactX's default (else NotImplementedError)."""
    fields = engine_cls.model_cls.model_fields
    defaults = dict(SIGNATURES[type_name])
    kw: dict[str, Any] = {}
    for n, v in bound.items():
        if n in fields:
            if n == "name" and v is None:
                continue
            kw[n] = v
        elif v != defaults[n]:
            raise NotImplementedError(
                f"ImpactX option {type_name}({n}={v!r}) is not implemented in beamtrack (only {n}={defaults[n]!r})"
            )
    return kw


def _make(type_name: str) -> type[E.Element]:
    engine_cls: type[E.Element] = getattr(E, type_name)

    def __init__(self: E.Element, *args: Any, **kwargs: Any) -> None:
        extra = (
            {k: kwargs.pop(k) for k in ("push", "beam_particles", "ref_particle") if k in kwargs}
            if type_name == "Programmable"
            else {}
        )
        if type_name in _FIELD_DATA:
            _coefficients_from_field_data(type_name, kwargs)
        bound = _bind(type_name, args, kwargs)
        if type_name == "LinearMap":
            bound["R"] = _matrix_rows(bound["R"])
        if type_name == "SpinMap":  # amrex.SmallMatrix 3x1 / 3x6 (1-based) or array-likes
            bound["v"] = _small_matrix(bound["v"], (3,))
            bound["A"] = _small_matrix(bound["A"], (3, 6))
        for key in _FLOAT_LISTS.get(type_name, ()):  # ImpactX takes any float sequence (lists, NumPy arrays)
            bound[key] = [float(v) for v in bound[key]]
        engine_cls.__init__(self, **_engine_kwargs(type_name, engine_cls, bound), **extra)

    doc = (
        f"ImpactX's ``elements.{type_name}({', '.join(n for n, _ in SIGNATURES[type_name])})`` "
        f"over the engine's {type_name}."
    )
    return type(type_name, (engine_cls,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


def _matrix_rows(R: Any) -> list[list[float]]:
    """A 6x6 map as rows: an ``amrex.SmallMatrix`` (1-based) or any 6x6 array-like."""
    to_numpy = getattr(R, "to_numpy", None)
    if to_numpy is not None:
        R = to_numpy()
    import numpy as np

    return np.asarray(R, dtype=float).reshape(6, 6).tolist()


def _small_matrix(M: Any, shape: tuple[int, ...]) -> Any:
    """An ``amrex.SmallMatrix`` (or array-like) as nested lists of ``shape``."""
    to_numpy = getattr(M, "to_numpy", None)
    if to_numpy is not None:
        M = to_numpy()
    import numpy as np

    return np.asarray(M, dtype=float).reshape(shape).tolist()


def _missing(type_name: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"ImpactX element {type_name} is not implemented in beamtrack")

    return type(
        type_name,
        (),
        {
            "__init__": __init__,
            "__module__": __name__,
            "__doc__": f"ImpactX's {type_name}: not implemented in beamtrack (raises).",
        },
    )


Aperture = _make("Aperture")
BeamMonitor = _make("BeamMonitor")
Buncher = _make("Buncher")
CFbend = _make("CFbend")
ChrDrift = _make("ChrDrift")
ChrQuad = _make("ChrQuad")
ConstF = _make("ConstF")
DipEdge = _make("DipEdge")
Drift = _make("Drift")
ExactDrift = _make("ExactDrift")
ExactSbend = _make("ExactSbend")
Kicker = _make("Kicker")
LinearMap = _make("LinearMap")


def _linear_map_symplectic(self: Any) -> bool:
    """ImpactX's ``LinearMap.symplectic``: max |R^T J R - J| <= 1e-10 (its double-precision tolerance), J the
    6x6 symplectic form on (x, px, y, py, t, pt)."""
    import numpy as np

    R = np.asarray(self.R, dtype=float).reshape(6, 6)
    J = np.kron(np.eye(3), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    return bool(np.abs(R.T @ J @ R - J).max() <= 1e-10)


LinearMap.symplectic = property(_linear_map_symplectic)  # type: ignore[attr-defined]
Marker = _make("Marker")
Multipole = _make("Multipole")
NonlinearLens = _make("NonlinearLens")
PRot = _make("PRot")
PlaneXYRot = _make("PlaneXYRot")
Programmable = _make("Programmable")


def _get_push(self: Any) -> Any:
    """What the engine's tracking loop calls: ``push(sim, step, period)``, once per slice."""
    return self.__dict__.get("_engine_push")


def _set_push(self: Any, fn: Any) -> None:
    """ImpactX calls ``push(pc, step, period)`` with the particle container; the engine passes the simulation."""
    object.__setattr__(self, "_impactx_push", fn)
    _engine_code(self)


def _get_beam_particles(self: Any) -> Any:
    return self.__dict__.get("_impactx_beam_particles")


def _set_beam_particles(self: Any, fn: Any) -> None:
    """ImpactX's ``beam_particles(pti, refpart)``: called with its particle iterator (``beamtrack.impactx.pariter``)."""
    object.__setattr__(self, "_impactx_beam_particles", fn)
    _engine_code(self)


def _engine_code(self: Any) -> None:
    """The engine-side push: ImpactX's ``push`` when set, else its push_all: the reference (``ref_particle``),
    then ``beam_particles`` on the particles alive."""
    push = self.__dict__.get("_impactx_push")
    beam_particles = self.__dict__.get("_impactx_beam_particles")
    engine_fn = None
    if push is not None:

        def engine_fn(sim: Any, step: int, period: int) -> None:
            push(sim.beam, step, period)

    elif beam_particles is not None:
        from .pariter import call_beam_particles

        def engine_fn(sim: Any, step: int, period: int) -> None:
            _programmable_push_ref(self, sim.reference, 1)
            call_beam_particles(beam_particles, sim.beam, sim.reference)

    object.__setattr__(self, "_engine_push", engine_fn)


def _programmable_push_ref(self: Any, ref: Any, nslices: int) -> None:
    """ImpactX pushes the reference through a Programmable only by its ``ref_particle``: without one it leaves the
    reference where it is (printing "NO HOOK"); beamtrack warns once per element instead of printing."""
    if self.ref_particle is not None:
        E.Programmable.push_ref(self, ref, nslices)
    elif not self.__dict__.get("_warned_no_ref_hook"):
        import warnings

        object.__setattr__(self, "_warned_no_ref_hook", True)
        warnings.warn(
            f"Programmable {self.name!r} has no ref_particle: the reference particle is not pushed through it "
            "(as in ImpactX)",
            RuntimeWarning,
            stacklevel=2,
        )


Programmable.push_ref = _programmable_push_ref  # type: ignore[method-assign]
Programmable.push = property(_get_push, _set_push)  # type: ignore[attr-defined]
Programmable.beam_particles = property(_get_beam_particles, _set_beam_particles)  # type: ignore[attr-defined]
Quad = _make("Quad")
RFCavity = _make("RFCavity")
Sbend = _make("Sbend")
ShortRF = _make("ShortRF")
SoftQuadrupole = _make("SoftQuadrupole")
SoftSolenoid = _make("SoftSolenoid")
Sol = _make("Sol")
ThinDipole = _make("ThinDipole")

ChrAcc = _make("ChrAcc")
ChrPlasmaLens = _make("ChrPlasmaLens")
Empty = _make("Empty")
ExactCFbend = _make("ExactCFbend")
ExactMultipole = _make("ExactMultipole")
ExactQuad = _make("ExactQuad")
PolygonAperture = _make("PolygonAperture")
QuadEdge = _make("QuadEdge")
Source = _make("Source")
SpinMap = _make("SpinMap")
TaperedPL = _make("TaperedPL")

__all__ = sorted([*SIGNATURES, *MISSING, "KnownElementsList"])
