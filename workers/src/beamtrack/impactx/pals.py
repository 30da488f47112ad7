"""ImpactX 26.10's PALS reader: ``lattice.load_file("x.pals.yaml")`` and ``lattice.from_pals(obj)``.

PALS (the Particle Accelerator Lattice Standard) files are parsed by the PyPI package ``pals-schema`` (import name
``pals``), the one ImpactX 26.10 requires, into its pydantic objects; this module turns those into beamtrack's
ImpactX elements the way ImpactX 26.10's ``pals_to_impactx`` does (read on its installed sources and measured):

- Flattening: a ``PALSroot`` with one facility entry is that entry; with several, the last one must be a reference
  (``- use: name``) to the active lattice or beamline, resolved among the facility's named entries. A ``Lattice``
  must have exactly one branch; a ``BeamLine`` is its line, nested lines and references expanded in order.
- ``Drift(length)`` -> ``Drift(ds=length)``; ``Quadrupole(length, MagneticMultipoleP)`` -> ``ChrQuad(ds=length,
  k, unit)`` with ``k = Bn1`` [T/m], ``unit = 1`` when ``Bn1`` is given (it wins over ``Kn1``), else ``k = Kn1``
  [1/m^2], ``unit = 0``. Each element gets the PALS name and ``nslice``.
- ``min_model`` (ImpactX's element-model floor, "linear" < "paraxial" < "exact"): the cheapest model at or above
  it; drifts Drift / ChrDrift / ExactDrift, quadrupoles ChrQuad (also for "linear": ImpactX's linear Quad has no
  ``unit``) / ExactQuad. Another value raises ValueError, as ImpactX.
- What ImpactX refuses raises ImpactX's RuntimeError with its message: another element kind, a quadrupole without
  ``MagneticMultipoleP`` or without ``Bn1`` / ``Kn1``, several branches, an unresolved reference, several facility
  entries without a final reference.

Stricter than ImpactX: parameters it does not read are refused with NotImplementedError naming them instead of
being dropped silently: a set body shift, aperture, reference or reference change (``BodyShiftP``, ``ApertureP``,
``ReferenceP``, ``ReferenceChangeP``) on any element or line, an ``ElectricMultipoleP``, and magnetic multipole
components other than the quadrupole's ``Bn1`` / ``Kn1`` (``Kn1L``, ``tilt1``, ``Kn2``, ...) unless zero. ``MetaP``
(alias, label, description) and the empty ``FloorP`` / ``TrackingP`` groups carry nothing for tracking and are
accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import elements

#: ImpactX's element-model tiers, cheapest first
MODEL_TIERS = ("linear", "paraxial", "exact")
#: the models ImpactX 26.10's PALS reader builds per tier
_DRIFT_MODELS: dict[str, Callable[..., Any]] = {
    "linear": elements.Drift,
    "paraxial": elements.ChrDrift,
    "exact": elements.ExactDrift,
}
_QUAD_MODELS: dict[str, Callable[..., Any]] = {"paraxial": elements.ChrQuad, "exact": elements.ExactQuad}
#: PALS parameter groups that change tracking and that ImpactX 26.10 does not read
_UNREAD_GROUPS = ("ApertureP", "BodyShiftP", "ReferenceP", "ReferenceChangeP")


def validate_model(min_model: str) -> str:
    """``min_model`` if it names a tier, else ImpactX's ValueError."""
    if min_model not in MODEL_TIERS:
        raise ValueError(f"min_model must be one of {sorted(MODEL_TIERS)}, got {min_model!r}")
    return min_model


def _select(models: dict[str, Callable[..., Any]], min_model: str) -> Callable[..., Any]:
    """The cheapest model at or above ``min_model`` (else the richest there is), as ImpactX's ``select_model``."""
    floor = MODEL_TIERS.index(min_model)
    tiers = sorted(models, key=MODEL_TIERS.index)
    return next((models[t] for t in tiers if MODEL_TIERS.index(t) >= floor), models[tiers[-1]])


def load(filename: str | Path) -> Any:
    """A PALS file (``.pals.yaml`` / ``.pals.json``) as ``pals.PALSroot`` (the ``pals-schema`` package reads it)."""
    import pals

    return pals.load(str(filename))


def flatten(pals_data: Any, registry: dict[str, Any] | None = None, lines: list[Any] | None = None) -> list[Any]:
    """The PALS elements of a root, lattice, beamline or reference, in beam order (see the module docstring);
    ``lines`` collects the lattices and beamlines passed through."""
    from pals import BeamLine, Lattice, PALSroot, PlaceholderName

    registry = {} if registry is None else registry
    lines = [] if lines is None else lines
    if isinstance(pals_data, PALSroot):
        registry = {
            item.name: item
            for item in pals_data.facility
            if not isinstance(item, PlaceholderName) and hasattr(item, "name")
        }
        if len(pals_data.facility) == 1:
            return flatten(pals_data.facility[0], registry, lines)
        active = pals_data.facility[-1]
        if not isinstance(active, PlaceholderName):
            raise RuntimeError(
                "from_pals: PALS roots with multiple facility entries must "
                "select the active lattice or beamline with a final 'use' entry."
            )
        return flatten(active, registry, lines)
    if isinstance(pals_data, PlaceholderName):
        if pals_data.element is not None:
            return flatten(pals_data.element, registry, lines)
        if pals_data.name not in registry:
            raise RuntimeError(f"from_pals: Cannot resolve PALS element reference {pals_data.name!r}.")
        return flatten(registry[pals_data.name], registry, lines)
    if isinstance(pals_data, Lattice):
        lines.append(pals_data)
        if len(pals_data.branches) != 1:
            raise RuntimeError(
                "from_pals: ImpactX currently supports PALS lattices with exactly "
                f"one branch, but got {len(pals_data.branches)}."
            )
        return flatten(pals_data.branches[0], registry, lines)
    if isinstance(pals_data, BeamLine):
        lines.append(pals_data)
        return [el for item in pals_data.line for el in flatten(item, registry, lines)]
    return [pals_data]


def _set_fields(group: Any) -> dict[str, Any]:
    """The parameters of a PALS group that differ from their defaults (extra keys: those not zero)."""
    out = {
        k: getattr(group, k)
        for k, info in type(group).model_fields.items()
        if k in group.model_fields_set and getattr(group, k) != info.default
    }
    out.update({k: v for k, v in (group.model_extra or {}).items() if v != 0})
    return out


def _refuse(pals_element: Any, what: str) -> None:
    raise NotImplementedError(
        f"PALS {pals_element.kind} {pals_element.name!r}: {what} is not implemented in beamtrack (ImpactX 26.10's "
        "PALS reader does not read it either; beamtrack refuses it rather than track without it)"
    )


def _refuse_unread(pals_element: Any) -> None:
    """NotImplementedError naming the first parameter ImpactX would not read (see the module docstring)."""
    for group_name in _UNREAD_GROUPS:
        group = getattr(pals_element, group_name, None)
        if group is not None and _set_fields(group):
            _refuse(pals_element, f"{group_name} {_set_fields(group)}")
    mm = getattr(pals_element, "MagneticMultipoleP", None)
    unread = {k: v for k, v in _set_fields(mm).items() if k not in ("Bn1", "Kn1")} if mm is not None else {}
    if unread:
        _refuse(pals_element, f"MagneticMultipoleP {unread}")
    em = getattr(pals_element, "ElectricMultipoleP", None)
    if em is not None and _set_fields(em):
        _refuse(pals_element, f"ElectricMultipoleP {_set_fields(em)}")


def _quadrupole(pals_element: Any, nslice: int, min_model: str) -> Any:
    mm = pals_element.MagneticMultipoleP
    if mm is None:
        raise RuntimeError(f"from_pals: No magnetic multipole input provided for element of kind {type(pals_element)}.")
    if getattr(mm, "Bn1", None) is not None:
        k, unit = mm.Bn1, 1
    elif getattr(mm, "Kn1", None) is not None:
        k, unit = mm.Kn1, 0
    else:
        raise RuntimeError(f"from_pals: No gradient input provided for element of kind {type(pals_element)}.")
    return _select(_QUAD_MODELS, min_model)(
        name=pals_element.name, ds=pals_element.length, k=k, unit=unit, nslice=nslice
    )


def read_lattice(pals_beamline: Any, nslice: int = 1, *, min_model: str = "linear") -> list[Any]:
    """A PALS root, lattice or beamline as ImpactX elements (the module docstring gives the mapping)."""
    from pals import Drift, Quadrupole

    validate_model(min_model)
    lines: list[Any] = []
    pals_elements = flatten(pals_beamline, lines=lines)
    out = []
    for pals_element in pals_elements:  # ImpactX's translation and its errors first
        if isinstance(pals_element, Drift):
            drift = _select(_DRIFT_MODELS, min_model)
            out.append(drift(name=pals_element.name, ds=pals_element.length, nslice=nslice))
        elif isinstance(pals_element, Quadrupole):
            out.append(_quadrupole(pals_element, nslice, min_model))
        else:
            raise RuntimeError(f"from_pals: No support for elements of kind {type(pals_element)} yet.")
    for item in [*lines, *pals_elements]:
        _refuse_unread(item)
    return out
