"""Pick the kernel for a line: the classes it uses, the kind and config it asks for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .codegen import KernelClass
from .runtime import load_kernel

#: Always in a line kernel: composed linear segments and integrated maps run as LinearMap ops.
ALWAYS = KernelClass("LinearMap", "beamtrack/engine/elements/c/linearmap.h")


def line_classes(classes: Iterable[KernelClass]) -> list[KernelClass]:
    """The classes of a line-specific kernel, in a deterministic order."""
    return sorted(set(classes) | {ALWAYS}, key=lambda k: k.name)


def get_kernel(kind: str, classes: Iterable[KernelClass], config: dict[str, Any], include_roots: Sequence[Path]) -> Any:
    """A kernel of ``kind`` holding every class in ``classes``."""
    return load_kernel(kind, line_classes(classes), include_roots)
