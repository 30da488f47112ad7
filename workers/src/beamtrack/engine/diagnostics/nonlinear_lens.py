"""The two invariants of the IOTA nonlinear insert per particle, as ImpactX's BeamMonitor writes them (records H, I).

V. Danilov and S. Nagaitsev, PRSTAB 13, 084002 (2010), Sect. V.A; ImpactX src/diagnostics/NonlinearLensInvariants.H.
With the bare lattice's Twiss alpha, beta [m] (equal in x and y) at the monitor, the insert's strength tn [1] and
scale cn [m^(1/2)], the normalized coordinates are xn = x / (cn sqrt(beta)), pxn = px sqrt(beta) / cn + alpha xn
(same in y), zeta = xn + i yn, and

    H = (xn^2 + yn^2 + pxn^2 + pyn^2) / 2 + tn Re(zeta / sqrt(1 - zeta^2) arcsin(zeta)),
    I = (xn pyn - yn pxn)^2 + pxn^2 + xn^2 + tn Re((zeta + conj(zeta)) / sqrt(1 - zeta^2) arcsin(zeta)),

arcsin(zeta) = -i log(i zeta + sqrt(1 - zeta^2)) on the principal branches. x, y [m], px, py [1] are ImpactX's.
"""

from __future__ import annotations

from typing import Any


def nonlinear_lens_invariants(
    x: Any, y: Any, px: Any, py: Any, alpha: float, beta: float, tn: float, cn: float, xp: Any
) -> tuple[Any, Any]:
    """(H, I) [1] of each particle (arrays of the array module ``xp``: NumPy or CuPy)."""
    scale = cn * xp.sqrt(beta)
    xn = x / scale
    yn = y / scale
    pxn = px * xp.sqrt(beta) / cn + alpha * xn
    pyn = py * xp.sqrt(beta) / cn + alpha * yn
    zeta = xn + 1j * yn
    croot = xp.sqrt(1.0 - zeta * zeta)
    carcsin = -1j * xp.log(1j * zeta + croot)
    h_potential = (zeta / croot * carcsin).real
    i_potential = ((2.0 * xn) / croot * carcsin).real  # zeta + conj(zeta) = 2 xn
    jz = xn * pyn - yn * pxn
    H = (xn * xn + yn * yn + pxn * pxn + pyn * pyn) / 2.0 + tn * h_potential
    I_ = jz * jz + pxn * pxn + xn * xn + tn * i_potential
    return H, I_
