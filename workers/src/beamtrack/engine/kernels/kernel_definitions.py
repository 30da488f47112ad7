"""The prebuilt kernel definitions: every contributing package's lists combined into ordered entries.

An entry is ``(name, {"config": {...}, "classes": [type names], "extra_classes": [KernelClass]})``,
one per configuration. Order is priority: at run time the first prebuilt kernel whose kind and
config match exactly and whose classes cover the line wins, so more specific entries come first.

Contributing packages: the engine (``beamtrack.engine.prebuilt_kernel_definitions``) and every
plugin that declares an ``include`` entry point in group ``beamtrack`` and ships a
``<package>.prebuilt_kernel_definitions`` module with ``element_classes()`` or ``ELEMENT_CLASSES``,
``EXTRA_CLASSES`` and ``BUILD_DEFAULTS`` (see the engine's module for their meaning).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from .codegen import KernelClass

#: (name, config), most specific first. Each line asks for exactly one of these (see variants.lattice_config).
CONFIGS: list[tuple[str, dict[str, bool]]] = [
    ("misaligned_apertures", {"misalignment": True, "apertures": True}),
    ("apertures", {"misalignment": False, "apertures": True}),
    ("misaligned", {"misalignment": True, "apertures": False}),
    ("default", {"misalignment": False, "apertures": False}),
]

Definition = tuple[str, dict[str, Any]]


class KernelDefinitionError(RuntimeError):
    """A listed element class cannot be resolved to its C kernel class."""


def packages() -> list[ModuleType]:
    """The ``prebuilt_kernel_definitions`` modules of the engine and of each installed plugin, engine first."""
    from .. import prebuilt_kernel_definitions as engine_defs

    mods = [engine_defs]
    for ep in entry_points(group="beamtrack"):
        if ep.name != "include":
            continue
        pkg = ep.load()
        name = f"{pkg.__name__}.prebuilt_kernel_definitions"
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if mod not in mods:
            mods.append(mod)
    return mods


def package_lists(mod: ModuleType) -> tuple[list[str], list[KernelClass], dict[str, dict[str, Any]]]:
    fn = getattr(mod, "element_classes", None)
    names = list(fn()) if callable(fn) else list(getattr(mod, "ELEMENT_CLASSES", []))
    return names, list(getattr(mod, "EXTRA_CLASSES", [])), dict(getattr(mod, "BUILD_DEFAULTS", {}))


def resolve(type_name: str, defaults: dict[str, dict[str, Any]]) -> KernelClass | None:
    """The C kernel class of element type ``type_name`` (None for elements run in Python).

    Read from the class when it binds its kernel there; otherwise from an instance built with the
    package's build-time defaults.
    """
    from ..elements.registry import element_class

    cls = element_class(type_name)
    bound = getattr(cls, "kernel", None)  # a property object when the kernel depends on the instance
    if isinstance(bound, KernelClass) or bound is None:
        return bound
    try:
        el = cls(**defaults.get(type_name, {}))
    except Exception as exc:
        raise KernelDefinitionError(
            f"cannot build {type_name} to find its kernel class ({exc}); add minimal constructor arguments "
            f"for it to BUILD_DEFAULTS in its package's prebuilt_kernel_definitions"
        ) from None
    return el.kernel


def definitions(mods: Sequence[ModuleType] | None = None) -> list[Definition]:
    """The combined, ordered definitions (class lists read now, from the registry and the plugins)."""
    names: list[str] = []
    extra: list[KernelClass] = []
    defaults: dict[str, dict[str, Any]] = {}
    for mod in packages() if mods is None else mods:
        n, e, d = package_lists(mod)
        names += [x for x in n if x not in names]
        extra += [x for x in e if x not in extra]
        defaults.update(d)
    return [
        (name, {"config": dict(cfg), "classes": list(names), "extra_classes": list(extra), "build_defaults": defaults})
        for name, cfg in CONFIGS
    ]


def kernel_classes(entry: dict[str, Any]) -> list[KernelClass]:
    """The ordered, de-duplicated C kernel classes of a definition (LinearMap always first)."""
    from .select import ALWAYS

    out = [ALWAYS]
    for type_name in entry["classes"]:
        k = resolve(type_name, entry.get("build_defaults", {}))
        if k is not None and k not in out:
            out.append(k)
    return out
