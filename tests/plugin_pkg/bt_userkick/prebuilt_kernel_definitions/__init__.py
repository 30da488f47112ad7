"""The UserKick plugin's contribution to beamtrack's prebuilt kernels."""

from __future__ import annotations

from typing import Any

from beamtrack.engine.kernels.codegen import KernelClass

ELEMENT_CLASSES: list[str] = ["UserKick"]

EXTRA_CLASSES: list[KernelClass] = []

BUILD_DEFAULTS: dict[str, dict[str, Any]] = {}
