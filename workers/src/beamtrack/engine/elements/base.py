"""Engine element base: a validated spec model (the one source of parameters) plus its kernel binding.

An engine element wraps the Pydantic model of ``beamtrack.spec.elements``: construction validates
ImpactX's parameter names and units, attribute reads and writes go to the model (a hook that sets
``quad.k = 2.0`` is validated and the next pass uses it, fused kernels included).
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import operator
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

import numpy as np
from beamtrack.spec import parse_model
from beamtrack.spec.elements import Aperture, ElementBase

from ..kernels.codegen import KernelClass
from ..kernels.ops import APERTURE, MISALIGNED, NPARAM
from ..refpart import RefPart

HEADER_DIR = "beamtrack/engine/elements/c"


def header(name: str) -> str:
    """Include path of a built-in element header (relative to the engine's include root)."""
    return f"{HEADER_DIR}/{name}"


def spin_header(name: str) -> str:
    """Include path of a built-in spin-push header (``NAME_spin_setup`` / ``NAME_spin_push``)."""
    return f"{HEADER_DIR}/spin/{name}"


class Element:
    """Base of all engine elements. Subclasses set ``model_cls`` and, when pushed by a C kernel, ``kernel``.

    Class attributes:
      kernel: the C element class (name, header) or None for elements run in Python.
      linear: the slice map is linear and homogeneous in (x, px, y, py, t, pt) (composable to a matrix).
      positional: ImpactX's positional constructor arguments, in order.
      geometric_ref: push_ref moves the reference rigidly (no energy change, no side effects), so
        the tracking loop may replay a recorded reference motion.
    """

    model_cls: ClassVar[type[ElementBase]]
    kernel: ClassVar[KernelClass | None] = None
    linear: ClassVar[bool] = False
    positional: ClassVar[tuple[str, ...]] = ("ds",)
    geometric_ref: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model_cls" in cls.__dict__ or "positional" in cls.__dict__:
            sig = constructor_signature(cls)
            if sig is not None:
                cls.__signature__ = sig  # type: ignore[attr-defined]
                cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n" + parameters_doc(cls, sig)

    def __init__(self, *args: Any, **kwargs: Any):
        if len(args) > len(self.positional):
            raise TypeError(f"{type(self).__name__} takes at most {len(self.positional)} positional arguments")
        for name, value in zip(self.positional, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}: {name} given twice")
            kwargs[name] = value
        kwargs.pop("type", None)
        object.__setattr__(self, "_model", parse_model(self.model_cls, kwargs))
        object.__setattr__(self, "_version", 0)

    @classmethod
    def from_model(cls, model: ElementBase) -> Element:
        el = cls.__new__(cls)
        object.__setattr__(el, "_model", _own_copy(model))
        object.__setattr__(el, "_version", 0)
        return el

    # --- parameters live in the model -------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        model = self.__dict__.get("_model")
        if model is not None and (name in type(model).model_fields or hasattr(type(model), name)):
            return getattr(model, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self._model).model_fields:
            setattr(self._model, name, value)  # validated (validate_assignment)
            object.__setattr__(self, "_version", self._version + 1)
        else:
            object.__setattr__(self, name, value)

    @property
    def model(self) -> ElementBase:
        return self._model

    @property
    def element_type(self) -> str:
        """ImpactX's name of this element's type, e.g. "Quad" (the ``type`` tag of its spec model)."""
        tag: str = type(self._model).model_fields["type"].default
        return tag

    @property
    def version(self) -> int:
        """Bumped on every parameter change; the tracking loop rebuilds its kernel ops when it changes."""
        return self._version

    def to_dict(self) -> dict[str, Any]:
        return self._model.model_dump(exclude_none=True)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"

    # --- geometry --------------------------------------------------------------------------------
    @property
    def ds(self) -> float:
        return float(getattr(self._model, "ds", 0.0))

    @property
    def nslice(self) -> int:
        return int(getattr(self._model, "nslice", 1))

    @property
    def thick(self) -> bool:
        return self.ds != 0.0

    # --- reference particle ----------------------------------------------------------------------
    def push_ref(self, ref: RefPart, nslices: int) -> None:
        """Advance the reference particle through ``nslices`` slices of this element (default: straight)."""
        ds = self.ds / self.nslice * nslices
        push_ref_straight(ref, ds)

    # --- kernel ops ------------------------------------------------------------------------------
    def params(self) -> Sequence[float]:
        """Values of op.p for the C kernel, one per name of ``kernel.params`` in that order (the C headers
        read them as ``NAME_<param>(op)``), or none when ``fill_ops`` writes the slots itself."""
        return ()

    def aux_data(self) -> np.ndarray | None:
        """Variable-length data for the kernel (e.g. Fourier coefficients), or None."""
        return None

    def fill_ops(self, ops: np.ndarray, ref_in: RefPart, ref_out: RefPart, nslices: int) -> None:
        """Fill ``ops`` (a view of OP_DTYPE records; one record by default) for ``nslices`` slices.

        The caller sets kind, index, s_exit and aux_offset. ``ref_out`` is the reference after the
        slices (ImpactX pushes the reference before the beam).
        """
        op = ops[0]
        op["nslice"] = nslices
        op["ds"] = self.ds / self.nslice
        fill_common(op, self, ref_out)
        p = list(self.params())
        if len(p) > NPARAM:
            raise ValueError(f"{type(self).__name__}: {len(p)} kernel parameters > {NPARAM}")
        names = self.kernel.params if self.kernel is not None else ()
        if p and names and len(p) != len(names):
            raise ValueError(f"{type(self).__name__}: params() gives {len(p)} values for the kernel's {names}")
        op["p"][: len(p)] = p

    def op_count(self, nslices: int) -> int:
        """How many op records ``fill_ops`` writes for ``nslices`` slices."""
        return 1


def _own_copy(model: ElementBase) -> ElementBase:
    """``model.model_copy(deep=True)`` at a fraction of the cost (a spec's elements are copied once
    per run, 1,000s of times in a scan): a shallow copy whose mutable values (lists, dicts, arrays,
    nested models) are deep copies; numbers and strings are immutable and shared."""
    m = model.model_copy()
    for k, value in m.__dict__.items():
        if not isinstance(value, (int, float, str, bool, type(None))):
            m.__dict__[k] = copy.deepcopy(value)
    return m


def _plain_type(tp: Any) -> Any:
    """``tp`` without pydantic's Annotated metadata (``Annotated[str, ...] | None`` -> ``str | None``)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _plain_type(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, [_plain_type(a) for a in get_args(tp)])
    return tp


def constructor_signature(cls: type[Element]) -> inspect.Signature | None:
    """The constructor signature of an element class, from its spec model's fields: ImpactX's
    positional arguments first, then the other fields keyword-only, with their types and defaults
    (so help() and IDEs show ds, k, nslice, ...). None when the class has no model."""
    model = getattr(cls, "model_cls", None)
    if model is None:
        return None
    fields = {k: f for k, f in model.model_fields.items() if k not in ("type", "thick")}
    params = []
    P = inspect.Parameter
    for name in cls.positional:
        f = fields.get(name)
        if f is not None:
            default = P.empty if f.is_required() else f.get_default(call_default_factory=True)
            params.append(P(name, P.POSITIONAL_OR_KEYWORD, default=default, annotation=_plain_type(f.annotation)))
    for name, f in fields.items():
        if name not in cls.positional:
            default = P.empty if f.is_required() else f.get_default(call_default_factory=True)
            params.append(P(name, P.KEYWORD_ONLY, default=default, annotation=_plain_type(f.annotation)))
    try:
        return inspect.Signature(params)
    except ValueError:
        # a required positional after one with a default (e.g. Source): every field keyword-only, so
        # the signature still names exactly the model's fields
        return inspect.Signature([p.replace(kind=P.KEYWORD_ONLY) for p in params])


#: units of the fields every element shares (``ElementBase``, ``ThickElement``); an element's own
#: fields are described, with their units, in its class docstring or their Field(description=...)
COMMON_FIELD_DOCS = {
    "ds": "length [m]",
    "name": "element name (a BeamMonitor's is its file name)",
    "dx": "horizontal misalignment [m]",
    "dy": "vertical misalignment [m]",
    "rotation": "roll about s [deg]",
    "nslice": "slices the tracking loop pushes the element in",
    "aperture_x": "elliptical aperture half-axis in x at the exit [m]; 0: none",
    "aperture_y": "elliptical aperture half-axis in y at the exit [m]; 0: none",
}


def _unit_in(doc: str, name: str) -> str | None:
    """The unit a docstring gives ``name`` as "name [unit]" or "name, other [unit]", else None."""
    m = re.search(rf"\b{re.escape(name)}\b((?:\s*,\s*\w+)*)\s*\[([^\]]+)\]", doc)
    return m.group(2) if m else None


def parameters_doc(cls: type[Element], sig: inspect.Signature) -> str:
    """The "Parameters" section of an element class's docstring (help(), IDEs): each constructor
    parameter with its type, default, and description (its Field's, or ``COMMON_FIELD_DOCS``) or
    the unit the class or model docstring gives it ("k [1/m^2]")."""
    fields = cls.model_cls.model_fields
    docs = (cls.__doc__ or "") + "\n" + (cls.model_cls.__doc__ or "")
    lines = [f"Parameters (spec model beamtrack.spec.elements.{cls.model_cls.__name__}):"]
    for p in sig.parameters.values():
        ann = getattr(p.annotation, "__name__", None) or str(p.annotation).replace("typing.", "")
        head = f"{p.name}: {ann}" + ("" if p.default is inspect.Parameter.empty else f" = {p.default!r}")
        unit = _unit_in(docs, p.name)
        info = fields[p.name].description or COMMON_FIELD_DOCS.get(p.name) or (f"[{unit}]" if unit else None)
        lines.append(f"    {head}" + (f" -- {info}" if info else ""))
    return "\n".join(lines)


def fill_common(op: np.void, el: Element, ref: RefPart) -> None:
    """Misalignment, aperture and reference fields shared by all ops of an element."""
    m = el.model
    dx, dy, rot = float(m.dx), float(m.dy), float(m.rotation)
    flags = 0
    if dx or dy or rot:
        flags |= MISALIGNED
    op["dx"], op["dy"] = dx, dy
    op["cos_rot"], op["sin_rot"] = math.cos(math.radians(rot)), math.sin(math.radians(rot))
    ax, ay = float(getattr(m, "aperture_x", 0.0) or 0.0), float(getattr(m, "aperture_y", 0.0) or 0.0)
    if ax > 0 and ay > 0 and not isinstance(m, Aperture):
        flags |= APERTURE
        op["aperture_x"], op["aperture_y"] = ax, ay
    op["flags"] = flags
    op["beta"], op["gamma"], op["beta_gamma"], op["pt_ref"] = ref.beta, ref.gamma, ref.beta_gamma, ref.pt


def push_ref_straight(ref: RefPart, ds: float) -> None:
    """Reference particle through a straight section of length ds [m] (ImpactX's Drift::operator()(RefPart))."""
    if ds == 0.0:
        return
    step = ds / ref.beta_gamma
    ref.x += step * ref.px
    ref.y += step * ref.py
    ref.z += step * ref.pz
    ref.t -= step * ref.pt
    ref.s += ds


def push_ref_bend(ref: RefPart, ds: float, rc: float) -> None:
    """Reference particle along an arc of length ds [m] and radius rc [m] in the x-z plane (ImpactX's Sbend)."""
    push_ref_arc(ref, ds, ds / rc, rc)


def push_ref_arc(ref: RefPart, ds: float, theta: float, rc: float) -> None:
    """Reference particle along ``ds`` [m] of s, turning by ``theta`` [rad] on a radius ``rc`` [m].

    ImpactX's Sbend / ExactSbend ``operator()(RefPart)``; for ExactSbend the angle and the radius are
    independent (with a given field B the radius is rigidity / B, the angle phi), s advances by ds.
    """
    if ds == 0.0 and theta == 0.0:
        return
    B = ref.beta_gamma / rc
    c, s = math.cos(theta), math.sin(theta)
    px, pz = ref.px, ref.pz
    ref.px = px * c - pz * s
    ref.pz = pz * c + px * s
    ref.x += (ref.pz - pz) / B
    ref.y += (theta / B) * ref.py
    ref.z -= (ref.px - px) / B
    ref.t -= (theta / B) * ref.pt
    ref.s += ds
