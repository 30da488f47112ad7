"""Which scan variants may share a worker (packed execution, ``beamtrack.engine.packed``).

``pack_key`` is computed from the JobSpec alone, at submit: variants of one scan with the same
non-empty key are claimed together (``JobStore.claim_pack``) and tracked by one ``PackRunner``.
The key holds what the engine's ``pack_signature`` compares: element types, order and slice
counts, whether an element is misaligned or has an aperture (the kernel config), the particle
count, the periods and the diagnostics settings. Space charge, a hook module, a Programmable
element or ``workers`` > 1 give no key: such variants run as ordinary jobs. The worker checks the engine's
signature again, so a variant the key let through by mistake is tracked alone, never wrongly.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from beamtrack.spec import JobSpec


def pack_key(spec: JobSpec, *, hook_module: str = "", memo: dict[int, tuple[Any, Any]] | None = None) -> str:
    """The variant's pack key (hex SHA-256), or '' when it must run as an ordinary job.

    ``memo``: a dict kept across the variants of one scan, which share most element objects:
    what the key takes from an element is then read once per element object."""
    if hook_module or spec.space_charge is not None or spec.workers > 1:
        return ""
    if spec.radiation is not None or spec.boundary is not None:  # a pack runs bare lines
        return ""
    memo = {} if memo is None else memo
    line = []
    for m in spec.lattice.elements:
        hit = memo.get(id(m))
        if hit is None or hit[0] is not m:
            hit = (m, _element_part(m))
            memo[id(m)] = hit
        if hit[1] is None:
            return ""
        line.append(hit[1])
    return _digest(tuple(line), spec.beam.npart, spec.lattice.periods, spec.diagnostics.slice_step_diagnostics)


def _element_part(m: Any) -> tuple[str, int, bool, bool] | None:
    """What the key holds of element ``m`` (None: a Programmable element, never packed)."""
    if m.type == "Programmable":
        return None
    f = vars(m)  # the model's field values (getattr of a field a model lacks is slow in pydantic)
    misaligned = any(float(f.get(k) or 0.0) != 0.0 for k in ("dx", "dy", "rotation"))
    return (m.type, int(f.get("nslice", 1)), misaligned, float(f.get("aperture_x") or 0.0) > 0.0)


@functools.lru_cache(maxsize=4096)
def _digest(line: tuple[tuple[str, int, bool, bool], ...], npart: int, periods: int, slice_steps: bool) -> str:
    doc = {"line": line, "npart": npart, "periods": periods, "slice_step_diagnostics": slice_steps}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
