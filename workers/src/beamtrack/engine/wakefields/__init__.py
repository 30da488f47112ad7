"""Collective effects in bends from ImpactX's particles/wakefields: incoherent synchrotron radiation (``isr.py``)
and the 1D steady-state coherent synchrotron radiation (``csr.py``).

Per slice, ImpactX's order is: CSR (its wakefield step), ISR, space charge, then the element's push (with the
Strang split, the kicks sit between two half slices). ``bend_radius`` says which elements radiate.
"""

from __future__ import annotations

from typing import Any

from .csr import csr_force, csr_push, csr_wake
from .isr import ISR_ORDERS, isr_push


def bend_radius(el: Any, ref: Any) -> float | None:
    """|rc| [m] of a Sbend, CFbend or ExactSbend (the ExactSbend's for ``ref``), else None (ImpactX's ISRBendElement /
    CSRBendElement: no other element radiates)."""
    from ..elements.bends import CFbend, ExactSbend, Sbend

    if isinstance(el, ExactSbend):
        return None if el.is_drift else abs(el.radius(ref))  # phi = B = 0: ImpactX's infinite radius, no kick
    if isinstance(el, (Sbend, CFbend)):
        return abs(el.rc)
    return None


__all__ = ["ISR_ORDERS", "bend_radius", "csr_force", "csr_push", "csr_wake", "isr_push"]
