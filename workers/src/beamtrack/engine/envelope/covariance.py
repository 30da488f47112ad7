"""The beam envelope: a 6x6 covariance matrix with its intensity, made from a distribution, and its moments.

Order and units are ImpactX's map order (x, px, y, py, t, pt): x, y, t [m] (t = c dt), px, py, pt [1],
relative to the reference particle. Sources: ImpactX src/particles/CovarianceMatrix.H (``Envelope``),
src/initialization/InitDistribution.cpp (``create_envelope``) and
src/diagnostics/ReducedBeamCharacteristics.cpp (``reduced_beam_characteristics(cm, ref)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..diagnostics.reduced import DEPRECATED_ALIASES

if TYPE_CHECKING:
    from ..refpart import RefPart

#: map order of the covariance matrix
MAP_ORDER = ("x", "px", "y", "py", "t", "pt")

#: spin moments ImpactX sets to NaN for an envelope
_SPIN_MOMENTS = ("mean_sx", "mean_sy", "mean_sz", "sigma_sx", "sigma_sy", "sigma_sz")


class EnvelopeError(ValueError):
    """A distribution or matrix that cannot make an envelope (means, Empty/Thermal, wrong shape)."""


def _as_matrix(cm: Any) -> np.ndarray:
    a = np.array(cm.to_numpy() if hasattr(cm, "to_numpy") else cm, dtype=np.float64)
    if a.shape != (6, 6) or not np.isfinite(a).all():
        raise EnvelopeError(f"a covariance matrix must be a finite 6x6 array, not shape {a.shape}")
    return a


@dataclass
class Envelope:
    """ImpactX's ``Envelope``: ``envelope`` the 6x6 covariance matrix (map order), ``beam_intensity``
    the bunch charge [C] (3D space charge) or the beam current [A] (2D space charge); 0 = no space charge."""

    cm: np.ndarray = field(default_factory=lambda: np.zeros((6, 6)))
    beam_intensity: float = 0.0

    def __post_init__(self) -> None:
        self.cm = _as_matrix(self.cm)
        self.beam_intensity = float(self.beam_intensity)

    @property
    def envelope(self) -> np.ndarray:
        """The covariance matrix (a copy; set it to replace)."""
        return self.cm.copy()

    @envelope.setter
    def envelope(self, cm: Any) -> None:
        self.cm = _as_matrix(cm)

    def covariance_matrix(self) -> np.ndarray:
        return self.cm.copy()

    def set_covariance_matrix(self, cm: Any) -> Envelope:
        self.cm = _as_matrix(cm)
        return self

    def set_beam_intensity(self, intensity: float) -> Envelope:
        self.beam_intensity = float(intensity)
        return self

    def beam_moments(self, ref: RefPart) -> dict[str, float]:
        """ImpactX's ``Envelope.beam_moments(ref)``: the reduced beam characteristics of this matrix."""
        return envelope_moments(self.cm, ref, aliases=True)


def create_envelope(distr: Any, intensity: float | None = None) -> Envelope:
    """ImpactX's ``create_envelope``: the covariance matrix of a lambda/mu distribution from its parameters.

    Per plane q: <q^2> = lambdaQ^2 / (1 - mu^2), <q p> = -lambdaQ lambdaP mu / (1 - mu^2),
    <p^2> = lambdaP^2 / (1 - mu^2); then the dispersion matrix D (D[x, pt] = -dispX, ...) gives
    D cm D^T. Empty and Thermal, and distributions with non-zero means, raise EnvelopeError (as ImpactX).
    """
    model = getattr(distr, "model", distr)
    name = getattr(model, "type", type(distr).__name__)
    if not hasattr(model, "lambda_mu"):
        raise EnvelopeError(
            f"{name} distributions cannot create a covariance matrix (ImpactX: only the "
            "lambda/mu distributions Gaussian, Waterbag, Kurth4D, Kurth6D, KVdist, Semigaussian, Triangle)"
        )
    means = [float(getattr(model, k)) for k in ("meanX", "meanY", "meanT", "meanPx", "meanPy", "meanPt")]
    if any(means):
        raise EnvelopeError("cannot create an envelope for a distribution with non-zero means (ImpactX issue 1114)")
    lm = model.lambda_mu()
    cv = np.zeros((6, 6))
    for k, (lq, lp, mu) in enumerate(
        (("lambdaX", "lambdaPx", "muxpx"), ("lambdaY", "lambdaPy", "muypy"), ("lambdaT", "lambdaPt", "mutpt"))
    ):
        q, p, m = lm[lq], lm[lp], lm[mu]
        denom = 1.0 - m * m
        i = 2 * k
        cv[i, i] = q * q / denom
        cv[i, i + 1] = cv[i + 1, i] = -q * p * m / denom
        cv[i + 1, i + 1] = p * p / denom
    D = np.eye(6)
    D[0, 5], D[1, 5], D[2, 5], D[3, 5] = -model.dispX, -model.dispPx, -model.dispY, -model.dispPy
    return Envelope(D @ cv @ D.T, 0.0 if intensity is None else float(intensity))


def envelope_moments(cm: np.ndarray, ref: RefPart, aliases: bool = False) -> dict[str, float]:
    """ImpactX's reduced beam characteristics of a covariance matrix (``reduced_beam_characteristics(cm, ref)``).

    Means are 0, minima/maxima and charge_C NaN (an envelope has neither); sigmas, emittances, Twiss,
    dispersion and normalized emittances from the second moments as for a particle beam. With
    ``aliases`` also ImpactX's deprecated names and the NaN spin moments (what its Python returns).
    Returns ``{"s": ref.s, ...}``; units as ``diagnostics.reduced``.
    """
    nan = math.nan
    try:
        out = _moments_of_positive(cm, ref)
    except (ValueError, ZeroDivisionError):  # a negative variance or a zero emittance: NumPy's nan / inf
        out = _moments(cm, ref)
    if aliases:
        for old, new in DEPRECATED_ALIASES.items():
            out[old] = out[new]
        for k in _SPIN_MOMENTS:
            out[k] = nan
    return out


def _moments_of_positive(cm: np.ndarray, ref: RefPart) -> dict[str, float]:
    """``_moments`` in plain floats (the same operations, so the same values, in a tenth of the time);
    raises ValueError or ZeroDivisionError where ``_moments`` gives NumPy's nan or inf."""
    nan, sqrt = math.nan, math.sqrt
    c = cm.tolist()
    x_ms, px_ms, y_ms, py_ms, t_ms, pt_ms = (c[i][i] for i in range(6))
    xpx, ypy, tpt = c[0][1], c[2][3], c[4][5]
    xpt, pxpt, ypt, pypt = c[0][5], c[1][5], c[2][5], c[3][5]
    sx, sy, st, spx, spy, spt = sqrt(x_ms), sqrt(y_ms), sqrt(t_ms), sqrt(px_ms), sqrt(py_ms), sqrt(pt_ms)
    e2x, e2y, e2t = x_ms * px_ms - xpx * xpx, y_ms * py_ms - ypy * ypy, t_ms * pt_ms - tpt * tpt
    ex = sqrt(e2x) if e2x > 0.0 else 0.0
    ey = sqrt(e2y) if e2y > 0.0 else 0.0
    et = sqrt(e2t) if e2t > 0.0 else 0.0
    dx = -xpt / pt_ms if pt_ms > 0.0 else 0.0
    dpx = -pxpt / pt_ms if pt_ms > 0.0 else 0.0
    dy = -ypt / pt_ms if pt_ms > 0.0 else 0.0
    dpy = -pypt / pt_ms if pt_ms > 0.0 else 0.0
    twiss = []
    for ms, pms, qp, d, dp in ((x_ms, px_ms, xpx, dx, dpx), (y_ms, py_ms, ypy, dy, dpy)):
        q_msd = ms - pt_ms * d * d
        p_msd = pms - pt_ms * dp * dp
        qp_d = qp - pt_ms * d * dp
        emit_d = sqrt(q_msd * p_msd - qp_d * qp_d)
        twiss.append((-qp_d / emit_d, q_msd / emit_d))
    twiss.append((-tpt / et, t_ms / et))
    bg = ref.beta_gamma
    return {
        "s": float(ref.s),
        **{k: v for q in ("x", "y", "t") for k, v in ((f"mean_{q}", 0.0), (f"min_{q}", nan), (f"max_{q}", nan))},
        "sigma_x": sx,
        "sigma_y": sy,
        "sigma_t": st,
        **{k: v for q in ("px", "py", "pt") for k, v in ((f"mean_{q}", 0.0), (f"min_{q}", nan), (f"max_{q}", nan))},
        "sigma_px": spx,
        "sigma_py": spy,
        "sigma_pt": spt,
        "emittance_x": ex,
        "emittance_y": ey,
        "emittance_t": et,
        "alpha_x": twiss[0][0],
        "alpha_y": twiss[1][0],
        "alpha_t": twiss[2][0],
        "beta_x": twiss[0][1],
        "beta_y": twiss[1][1],
        "beta_t": twiss[2][1],
        "dispersion_x": dx,
        "dispersion_px": dpx,
        "dispersion_y": dy,
        "dispersion_py": dpy,
        "emittance_xn": ex * bg,
        "emittance_yn": ey * bg,
        "emittance_tn": et * bg,
        "charge_C": nan,
    }


def _moments(cm: np.ndarray, ref: RefPart) -> dict[str, float]:
    """The reduced beam characteristics of ``cm`` with NumPy's nan / inf for negative variances and
    zero emittances (what ImpactX's C++ gives)."""
    nan = math.nan
    bg = ref.beta_gamma
    x_ms, px_ms, y_ms, py_ms, t_ms, pt_ms = (float(cm[i, i]) for i in range(6))
    xpx, ypy, tpt = float(cm[0, 1]), float(cm[2, 3]), float(cm[4, 5])
    xpt, pxpt, ypt, pypt = float(cm[0, 5]), float(cm[1, 5]), float(cm[2, 5]), float(cm[3, 5])
    out: dict[str, float] = {"s": float(ref.s)}
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = {
            q: float(np.sqrt(np.float64(v)))
            for q, v in (("x", x_ms), ("y", y_ms), ("t", t_ms), ("px", px_ms), ("py", py_ms), ("pt", pt_ms))
        }
        for q in ("x", "y", "t"):
            out[f"mean_{q}"], out[f"min_{q}"], out[f"max_{q}"] = 0.0, nan, nan
        for q in ("x", "y", "t"):
            out[f"sigma_{q}"] = sig[q]
        for q in ("px", "py", "pt"):
            out[f"mean_{q}"], out[f"min_{q}"], out[f"max_{q}"] = 0.0, nan, nan
        for q in ("px", "py", "pt"):
            out[f"sigma_{q}"] = sig[q]
        emit = {}
        for q, a, b, c in (("x", x_ms, px_ms, xpx), ("y", y_ms, py_ms, ypy), ("t", t_ms, pt_ms, tpt)):
            e2 = a * b - c * c
            emit[q] = math.sqrt(e2) if e2 > 0.0 else 0.0
            out[f"emittance_{q}"] = emit[q]
        f = np.float64
        dx = -xpt / pt_ms if pt_ms > 0.0 else 0.0
        dpx = -pxpt / pt_ms if pt_ms > 0.0 else 0.0
        dy = -ypt / pt_ms if pt_ms > 0.0 else 0.0
        dpy = -pypt / pt_ms if pt_ms > 0.0 else 0.0
        twiss = {}
        for q, (ms, pms, qp, d, dp) in (("x", (x_ms, px_ms, xpx, dx, dpx)), ("y", (y_ms, py_ms, ypy, dy, dpy))):
            q_msd = ms - pt_ms * d * d
            p_msd = pms - pt_ms * dp * dp
            qp_d = qp - pt_ms * d * dp
            emit_d = np.sqrt(f(q_msd * p_msd - qp_d * qp_d))
            twiss[q] = (float(-f(qp_d) / emit_d), float(f(q_msd) / emit_d))
        twiss["t"] = (float(-f(tpt) / f(emit["t"])), float(f(t_ms) / f(emit["t"])))
    for q in ("x", "y", "t"):
        out[f"alpha_{q}"] = twiss[q][0]
    for q in ("x", "y", "t"):
        out[f"beta_{q}"] = twiss[q][1]
    out["dispersion_x"], out["dispersion_px"], out["dispersion_y"], out["dispersion_py"] = dx, dpx, dy, dpy
    for q in ("x", "y", "t"):
        out[f"emittance_{q}n"] = emit[q] * bg
    out["charge_C"] = nan
    return out
