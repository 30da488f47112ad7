"""First-order chromaticity dQ/ddelta (delta = dp/p0, as MAD-X and xtrack report it).

A central difference of the total tunes at delta0 -+ delta_chrom (xtrack's ``twiss`` method, default
step 5e-5): the error is delta_chrom^2 Q'''/6, about 4e-10 Q''' at the default step.
"""

from __future__ import annotations

from collections.abc import Callable


def chromaticity(
    tunes_at: Callable[[float], tuple[float, float]], delta0: float = 0.0, delta_chrom: float = 5e-5
) -> tuple[float, float]:
    """(dqx, dqy) from ``tunes_at(delta) -> (qx, qy)``, the total tunes at momentum deviation delta."""
    if not delta_chrom > 0:
        raise ValueError(f"delta_chrom must be > 0, not {delta_chrom}")
    qm = tunes_at(delta0 - delta_chrom)
    qp = tunes_at(delta0 + delta_chrom)
    return (qp[0] - qm[0]) / (2 * delta_chrom), (qp[1] - qm[1]) / (2 * delta_chrom)
