"""Element classes by ImpactX type name: the built-in ones plus plugins (entry-point group ``beamtrack.elements``)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from ..kernels.build import ENGINE_INCLUDE_ROOT
from .base import Element


def builtin() -> dict[str, type[Element]]:
    from . import BUILTIN_ELEMENTS

    return {cls.model_cls.model_fields["type"].default: cls for cls in BUILTIN_ELEMENTS}


@cache
def plugin_elements() -> dict[str, type[Element]]:
    """Element classes registered by installed plugin packages."""
    out: dict[str, type[Element]] = {}
    for ep in entry_points(group="beamtrack.elements"):
        cls = ep.load()
        out[cls.model_cls.model_fields["type"].default] = cls
    return out


@cache
def include_roots() -> tuple[Path, ...]:
    """C include roots: beamtrack's own, then the parent directory of each plugin's package
    (entry point ``include`` in group ``beamtrack``), so ``#include "pkg/path/header.h"`` works."""
    roots = [ENGINE_INCLUDE_ROOT]
    for ep in entry_points(group="beamtrack"):
        if ep.name == "include":
            mod = ep.load()
            pkg_dir = Path(mod.__file__).resolve().parent
            if pkg_dir.parent not in roots:
                roots.append(pkg_dir.parent)
    return tuple(roots)


def all_elements() -> dict[str, type[Element]]:
    return {**builtin(), **plugin_elements()}


def element_class(type_name: str) -> type[Element]:
    try:
        return all_elements()[type_name]
    except KeyError:
        raise ValueError(f"unknown element type {type_name!r}") from None
