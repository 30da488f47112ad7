"""Kernel configurations: the compile-time switches that change a kernel's generated code.

A config is a dict with exactly these keys (all bool):
- ``misalignment``: the per-slice shift/roll into and out of the element frame (``BT_MISALIGNED`` ops);
- ``apertures``: the elliptical aperture check with its loss bookkeeping (``BT_APERTURE`` ops).
Each key is a compile switch of ``loops/config.h`` (``BT_WITH_MISALIGNMENT``, ``BT_WITH_APERTURES``)
defined at the top of the generated source; one that is off makes the compiler drop that code path
(precision is always float64). One more key, ``spin``, is present only when true: the
kernel also carries each particle's spin (rows 7..9 of the particle block) through the spin pushes
of its classes (``bt_spin.h``; switch ``BT_SPIN``); a config without it is a kernel without spin rows.
The engine asks for the config its lattice needs
(:func:`lattice_config`); an op whose flags a kernel was not compiled for is never pushed by it:
the kernel hands over to one compiled with the wider config (see ``runtime.CpuKernel``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import codegen
from .codegen import KernelClass
from .ops import APERTURE, MISALIGNED, empty_ops

#: config key -> op flag it enables
FLAGS: dict[str, int] = {"misalignment": MISALIGNED, "apertures": APERTURE}
#: config key -> its compile switch in loops/config.h
_MACRO = {"misalignment": "BT_WITH_MISALIGNMENT", "apertures": "BT_WITH_APERTURES"}
DEFAULT_CONFIG: dict[str, bool] = {k: False for k in FLAGS}


#: kernel-wide switches that are no op flag, present in a config only when true
SWITCHES = ("spin",)


def normalize(config: Mapping[str, Any]) -> dict[str, bool]:
    """``config`` with every flag key present (and ``spin`` when true); unknown keys are an error naming them."""
    unknown = sorted(set(config) - set(FLAGS) - set(SWITCHES))
    if unknown:
        raise ValueError(f"unknown kernel config key(s) {', '.join(unknown)}; known: {', '.join((*FLAGS, *SWITCHES))}")
    out = {k: bool(config.get(k, False)) for k in FLAGS}
    for k in SWITCHES:
        if config.get(k):
            out[k] = True
    return out


def supported_flags(config: Mapping[str, Any]) -> int:
    out = 0
    for key, flag in FLAGS.items():
        if config.get(key):
            out |= flag
    return out


def config_for_flags(flags: int, base: Mapping[str, Any] | None = None) -> dict[str, bool]:
    """The smallest config that covers ``base`` and every bit of ``flags``."""
    cfg = normalize(base or {})
    for key, flag in FLAGS.items():
        if flags & flag:
            cfg[key] = True
    return cfg


def lattice_config(elements: Iterable[Any]) -> dict[str, bool]:
    """The config a line of engine elements needs: the op flags its elements set (``base.fill_common``)."""
    import numpy as np

    from ..elements.base import fill_common
    from ..refpart import RefPart

    ref = RefPart()
    op = empty_ops(1)[0]
    flags = 0
    for el in elements:
        if el.kernel is None:
            continue
        fill_common(op, el, ref)
        flags |= int(np.int32(op["flags"]))
    return config_for_flags(flags)


def defines(config: Mapping[str, Any]) -> dict[str, int]:
    """The ``loops/config.h`` compile switches of a normalized ``config`` (``spin`` is not one: see ``generate``)."""
    return {_MACRO[key]: int(bool(config[key])) for key in sorted(config) if key in _MACRO}


def generate(
    kind: str, classes: Sequence[KernelClass], config: Mapping[str, Any], extra_classes: Sequence[KernelClass] = ()
) -> str:
    """The kernel source for ``kind`` holding ``classes`` (kind ids = positions), built for ``config``.

    ``extra_classes`` are helper headers whose C API the kernel must contain without dispatching to them.
    """
    cfg = normalize(config)
    comment = f"kernel config: {', '.join(f'{k}={int(bool(cfg[k]))}' for k in sorted(cfg))}"
    return codegen.generate(kind, classes, defines(cfg), extra_classes, spin=cfg.get("spin", False), comment=comment)
