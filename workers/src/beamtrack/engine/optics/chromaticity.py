"""First-order chromatic properties with respect to delta = dp/p0, as MAD-X and xtrack report them.

Central differences of the lattice functions at delta0 -+ delta_chrom (xtrack's ``twiss`` method,
default step 5e-5; the truncation error is delta_chrom^2 f'''/6, about 4e-10 f''' at that step):

- dqx, dqy: chromaticity dQ/ddelta, the derivative of the total tunes
- dmux, dmuy: derivative of the phase advance from the start [2 pi] along s
- bx_chrom, ax_chrom, wx_chrom (and y): Montague's chromatic functions, MAD-8 physics manual
  section 6.3: B = (dbeta/ddelta)/beta, A = dalpha/ddelta - alpha (dbeta/ddelta)/beta, W = sqrt(A^2 + B^2)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: the columns ``chromatic_functions`` adds to a Twiss table
CHROMATIC_COLUMNS = ("dmux", "dmuy", "bx_chrom", "ax_chrom", "wx_chrom", "by_chrom", "ay_chrom", "wy_chrom")


def chromatic_functions(
    minus: Mapping[str, np.ndarray], plus: Mapping[str, np.ndarray], ddelta: np.ndarray
) -> dict[str, np.ndarray]:
    """The chromatic columns (``CHROMATIC_COLUMNS``) from the lattice functions ``minus`` and ``plus``
    (betx, alfx, mux, bety, alfy, muy per row) of two momentum deviations ``ddelta`` apart (per row)."""
    out: dict[str, np.ndarray] = {}
    for p in "xy":
        dmu = (plus[f"mu{p}"] - minus[f"mu{p}"]) / ddelta
        dbet = (plus[f"bet{p}"] - minus[f"bet{p}"]) / ddelta
        dalf = (plus[f"alf{p}"] - minus[f"alf{p}"]) / ddelta
        bet = (plus[f"bet{p}"] + minus[f"bet{p}"]) / 2
        alf = (plus[f"alf{p}"] + minus[f"alf{p}"]) / 2
        b = dbet / bet
        a = dalf - dbet * alf / bet
        out[f"dmu{p}"], out[f"b{p}_chrom"], out[f"a{p}_chrom"] = dmu, b, a
        out[f"w{p}_chrom"] = np.sqrt(a**2 + b**2)
    return {k: out[k] for k in CHROMATIC_COLUMNS}
