"""The engine's own contribution to the prebuilt kernels (read by ``beamtrack.engine.kernels.kernel_definitions``).

Every package that contributes elements keeps the same three names in its
``<package>/prebuilt_kernel_definitions`` module:
- ``element_classes()`` (or a list ``ELEMENT_CLASSES``): element type names to compile into the
  prebuilt kernels. The engine takes them from the element registry when ``regenerate`` runs, so
  an element added to ``BUILTIN_ELEMENTS`` is prebuilt without editing this file.
- ``EXTRA_CLASSES``: helper headers (``KernelClass``) whose C API must be present in every prebuilt
  kernel although no element dispatches to them.
- ``BUILD_DEFAULTS``: type name -> minimal, inert constructor arguments, for classes whose kernel
  binding is only known from an instance (their class attribute ``kernel`` is not a KernelClass).
  The engine's classes all bind their kernel on the class, so the engine needs none.
"""

from __future__ import annotations

from typing import Any

from ..kernels.codegen import KernelClass


def element_classes() -> list[str]:
    """Type names of every built-in element, in registry order (classes without a C kernel are skipped later)."""
    from ..elements.registry import builtin

    return list(builtin())


EXTRA_CLASSES: list[KernelClass] = []

BUILD_DEFAULTS: dict[str, dict[str, Any]] = {}
