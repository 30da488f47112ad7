"""ImpactX's ``transport_map`` of the elements whose envelope map is a closed-form linear map rather than
the Jacobian of their particle push: ExactQuad, ExactMultipole, ExactCFbend, ChrPlasmaLens, ChrAcc.

Each function takes the element and the reference particle after the slice (ImpactX calls
``transport_map`` after the reference push) and returns the slice's 6x6 map on (x, px, y, py, t, pt),
before the roll (the caller applies ImpactX's ``rotate_aligned_map``). These maps are not the Jacobian of
the elements' particle push at the reference orbit (the exact Hamiltonian and the chromatic maps, integrated
by ImpactX's symplectic integrators): that Jacobian, which beamtrack used to take, differs from them by
1e-7 to 1e-1 per entry (the chromatic terms, the integrator's truncation, the kinematic terms of the exact
drift), which is why these elements were refused before.

What ImpactX 26.10 does, reproduced as it is (checked per matrix entry by tests/oracle/test_envelope_oracle.py):

- ExactQuad and ChrPlasmaLens: the hard-edge quadrupole (plasma lens: focusing in both planes) of strength
  ``k`` as given, also for ``unit = 1`` (ImpactX does not divide ``k`` by the rigidity in this map, while
  its particle push does): the envelope of a unit-1 element therefore differs from its tracked beam.
- ExactMultipole: the linear map of a quadrupole with normal and skew parts k_normal[1], k_skew[1]
  (divided by the rigidity for unit 1); a drift when both are 0. Higher orders and the dipole term drop out.
- ExactCFbend: the combined-function sector bend of curvature k_normal[0] and gradient k_normal[1]
  (unit 1: divided by the rigidity). Without a gradient ImpactX's y plane is 0/0 = NaN; beamtrack takes the
  limit (a drift in y).
- ChrAcc: the uniform acceleration ez [1/m] in the solenoid field bz [1/m], linearised at pt = 0, from the
  reference pt before and after the slice.

Source of every formula: ImpactX src/elements/{ExactQuad,ExactMultipole,ExactCFbend,ChrPlasmaLens,
ChrUniformAcc}.H, ``transport_map``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
from beamtrack.spec import elements as spec

if TYPE_CHECKING:
    from ..elements.base import Element
    from ..refpart import RefPart


def _slice_ds(el: Element) -> float:
    return float(el.ds) / el.nslice


def _quad_block(R: np.ndarray, i: int, g: float, L: float) -> None:
    """The 2x2 block of plane i (0: x, 2: y) of a hard-edge lens of strength g [1/m^2] over L [m]."""
    w = math.sqrt(abs(g))
    if g > 0.0:
        c, sw, ws = math.cos(w * L), math.sin(w * L) / w, -w * math.sin(w * L)
    elif g < 0.0:
        c, sw, ws = math.cosh(w * L), math.sinh(w * L) / w, w * math.sinh(w * L)
    else:  # ImpactX's ExactCFbend: 0/0 = NaN here; the limit
        c, sw, ws = 1.0, L, 0.0
    R[i, i], R[i, i + 1], R[i + 1, i], R[i + 1, i + 1] = c, sw, ws, c


def exact_quad(el: Element, ref: RefPart) -> np.ndarray:
    """ExactQuad::transport_map: the hard-edge quadrupole of strength ``k`` (as given, any unit)."""
    L, k = _slice_ds(el), float(cast(spec.ExactQuad, el.model).k)
    R = np.eye(6)
    _quad_block(R, 0, k, L)
    _quad_block(R, 2, -k, L)
    R[4, 5] = L / (ref.pt * ref.pt - 1.0)
    return R


def chr_plasma_lens(el: Element, ref: RefPart) -> np.ndarray:
    """ChrPlasmaLens::transport_map: a lens of strength ``k`` (as given, any unit) focusing both planes."""
    L, k = _slice_ds(el), float(cast(spec.ChrPlasmaLens, el.model).k)
    R = np.eye(6)
    _quad_block(R, 0, k, L)
    _quad_block(R, 2, k, L)
    R[4, 5] = L / (ref.pt * ref.pt - 1.0)
    return R


def exact_multipole(el: Element, ref: RefPart) -> np.ndarray:
    """ExactMultipole::transport_map: the normal + skew quadrupole k_normal[1], k_skew[1] [1/m^2]."""
    m = cast(spec.ExactMultipole, el.model)
    L = _slice_ds(el)
    brho = ref.rigidity_Tm if m.unit == 1 else 1.0
    kn = float(m.k_normal[1]) / brho if len(m.k_normal) > 1 else 0.0
    ks = float(m.k_skew[1]) / brho if len(m.k_skew) > 1 else 0.0
    kabs = math.hypot(kn, ks)
    R = np.eye(6)
    R[4, 5] = L / (ref.pt * ref.pt - 1.0)
    if kabs == 0.0:
        R[0, 1] = R[2, 3] = L
        return R
    kp, km, w = kn + kabs, kn - kabs, math.sqrt(kabs)
    sn, cs, sh, ch = math.sin(w * L), math.cos(w * L), math.sinh(w * L), math.cosh(w * L)
    k2 = 2.0 * kabs
    R[0, :4] = [
        (kp * cs - km * ch) / k2,
        (kp * sn - km * sh) / (k2 * w),
        ks * (ch - cs) / k2,
        ks * (sh - sn) / (k2 * w),
    ]
    R[1, :4] = [
        (-kp * sn - km * sh) / (2.0 * w),
        (kp * cs - km * ch) / k2,
        ks * (sn + sh) / (2.0 * w),
        ks * (ch - cs) / k2,
    ]
    R[2, :4] = [
        ks * (ch - cs) / k2,
        ks * (sh - sn) / (k2 * w),
        (-km * cs + kp * ch) / k2,
        (-km * sn + kp * sh) / (k2 * w),
    ]
    R[3, :4] = [
        ks * (sn + sh) / (2.0 * w),
        ks * (ch - cs) / k2,
        (km * sn + kp * sh) / (2.0 * w),
        (-km * cs + kp * ch) / k2,
    ]
    return R


def exact_cfbend(el: Element, ref: RefPart) -> np.ndarray:
    """ExactCFbend::transport_map: the sector bend of curvature h = k_normal[0] [1/m] with the gradient
    k = k_normal[1] [1/m^2]: gx = k + h^2 (horizontal with dispersion), gy = -k."""
    m = cast(spec.ExactCFbend, el.model)
    L = _slice_ds(el)
    brho = ref.rigidity_Tm if m.unit == 1 else 1.0
    h = float(m.k_normal[0]) / brho
    kn = float(m.k_normal[1]) / brho if len(m.k_normal) > 1 else 0.0
    rc, bet = 1.0 / h, ref.beta
    bg2 = ref.pt * ref.pt - 1.0
    gx, gy = kn + h * h, -kn
    wx = math.sqrt(abs(gx))
    R = np.eye(6)
    if gx > 0.0:
        sx, cx = math.sin(wx * L), math.cos(wx * L)
        R[1, 0] = -wx * sx
    else:
        sx, cx = math.sinh(wx * L), math.cosh(wx * L)
        R[1, 0] = wx * sx
    igbrc, iobrc, igobr = 1.0 / (gx * bet * rc), 1.0 / (wx * bet * rc), 1.0 / (gx * wx * bet * bet * rc * rc)
    R[0, 0], R[0, 1], R[0, 5] = cx, sx / wx, -(1.0 - cx) * igbrc
    R[1, 1], R[1, 5] = cx, -sx * iobrc
    R[4, 0], R[4, 1] = sx * iobrc, (1.0 - cx) * igbrc
    R[4, 5] = L / bg2 + (sx - wx * L) * igobr
    _quad_block(R, 2, gy, L)
    return R


def chr_acc(el: Element, ref: RefPart) -> np.ndarray:
    """ChrAcc (ChrUniformAcc)::transport_map: acceleration ez [1/m] with the solenoid field bz [1/m], from
    the reference pt after the slice (``ref``) and before it (pt + ez L)."""
    m = cast(spec.ChrAcc, el.model)
    L, ez, bz = _slice_ds(el), float(m.ez), float(m.bz)
    ptf = ref.pt
    pti = ptf + ez * L
    bgf, bgi = math.sqrt(ptf * ptf - 1.0), math.sqrt(pti * pti - 1.0)
    alpha = 0.5 * bz
    drift_log = math.log((bgf - ptf) / (bgi - pti)) / ez
    rbg = bgi / bgf
    R = np.eye(6)
    R[4, 5] = bgi * (ptf / bgf - pti / bgi) / ez
    R[5, 5] = rbg
    if alpha == 0.0:
        R[0, 1] = R[2, 3] = bgi * drift_log
        R[1, 1] = R[3, 3] = rbg
        return R
    s, c = math.sin(alpha * drift_log), math.cos(alpha * drift_log)
    c2, s2, cs = c * c, s * s, c * s
    R[0, :4] = [c2, bgi * cs / alpha, cs, bgi * s2 / alpha]
    R[1, :4] = [-alpha * cs / bgf, rbg * c2, -alpha * s2 / bgf, rbg * cs]
    R[2, :4] = [-cs, -bgi * s2 / alpha, c2, bgi * cs / alpha]
    R[3, :4] = [alpha * s2 / bgf, -rbg * cs, -alpha * cs / bgf, rbg * c2]
    return R
