"""ImpactX 26.10's wake functions and 1D charge tools (its ``impactx.wakeconvolution`` module; WakeConvolution and
ChargeBinning in ImpactX's particles/wakefields), as NumPy functions over arrays.

- ``alpha(s) = 1 - a1 sqrt(s) - (1 - 2 a1) s``, a1 = 0.4648;
- the wakes of a round pipe of radius a, gap g and period length L (ImpactX's fits, WakeConvolution.cpp):
  ``w_t_rf = 4 Z0 c s0 H(s) / (pi a^4) sqrt(|s| / s0) exp(-sqrt(|s| / s0))``, s0 = 0.169 a^1.79 g^0.38 / L^1.17;
  ``w_l_rf = Z0 c H(s) exp(-sqrt(|s| / s00)) / (pi a^2)``, s00 = g (a / (alpha(g / L) L))^2 / 8; Z0 = 377 Ohm;
- ``w_l_csr(s, R, b)``: the bin-averaged steady-state CSR wake (``csr.py``);
- ``deposit_charge``: qe w / b per particle in bin floor((t - bin_min) / b) (particles outside are dropped),
  ``derivative_charge``: forward differences / b (/ qe for the number density),
  ``convolve_fft``: the periodic convolution on the wake's 2 N points, times the bin width, first N values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import constants
from .csr import csr_wake

#: ImpactX's free-space impedance [Ohm] (rounded as ImpactX has it) and resistive-wall fit constant
Z0 = 377.0
ALPHA_1 = 0.4648


def unit_step(s: Any) -> Any:
    """Heaviside step, 1 at s = 0 (ImpactX's unit_step)."""
    return np.where(np.asarray(s) >= 0.0, 1.0, 0.0)


def alpha(s: Any) -> Any:
    s = np.asarray(s, dtype=np.float64)
    return 1.0 - ALPHA_1 * np.sqrt(s) - (1.0 - 2.0 * ALPHA_1) * s


def w_t_rf(s: Any, a: float, g: float, L: float) -> Any:
    """ImpactX's transverse wake fit [V/(C m^2)]."""
    s = np.asarray(s, dtype=np.float64)
    s0 = 0.169 * a**1.79 * g**0.38 / L**1.17
    term = np.sqrt(np.abs(s) / s0) * np.exp(-np.sqrt(np.abs(s) / s0))
    return 4.0 * Z0 * constants.c * s0 * unit_step(s) / (np.pi * a**4) * term


def w_l_rf(s: Any, a: float, g: float, L: float) -> Any:
    """ImpactX's longitudinal wake fit [V/(C m)]."""
    s = np.asarray(s, dtype=np.float64)
    s00 = g * (a / (alpha(g / L) * L)) ** 2 / 8.0
    return Z0 * constants.c * unit_step(s) * np.exp(-np.sqrt(np.abs(s) / s00)) / (np.pi * a**2)


def w_l_csr(s: Any, R: float, bin_size: float) -> Any:
    return csr_wake(np.asarray(s, dtype=np.float64), R, bin_size, np)


def deposit_charge(t: Any, w: Any, out: np.ndarray, bin_min: float, bin_size: float, unity_weight: bool) -> None:
    """Add qe w / bin_size (w = 1 with unity_weight) of each particle at t to its bin of ``out`` (in place)."""
    t = np.asarray(t, dtype=np.float64)
    k = np.floor((t - bin_min) / bin_size).astype(np.int64)
    ok = (k >= 0) & (k < out.size)
    q = np.ones(t.size) if unity_weight else np.asarray(w, dtype=np.float64)
    out += np.bincount(k[ok], weights=constants.qe * q[ok] / bin_size, minlength=out.size)[: out.size]


def derivative_charge(profile: Any, slopes: np.ndarray, bin_size: float, number_density: bool) -> None:
    """slopes[i] = (profile[i + 1] - profile[i]) / bin_size (/ qe with number_density), in place."""
    p = np.asarray(profile, dtype=np.float64)
    d = (p[1:] - p[:-1]) / bin_size
    slopes[: d.size] = d / constants.qe if number_density else d


def convolve_fft(slope: Any, wake: Any, delta_t: float) -> np.ndarray:
    """ImpactX's convolve_fft: slope (N) zero-padded to the wake's 2 N points, periodic convolution, times
    delta_t, the first N values."""
    slope, wake = np.asarray(slope, dtype=np.float64), np.asarray(wake, dtype=np.float64)
    if 2 * slope.size != wake.size:
        raise ValueError(f"convolve_fft: the wake needs twice the slope's points ({2 * slope.size}), not {wake.size}")
    m = wake.size
    return np.fft.irfft(np.fft.rfft(slope, n=m) * np.fft.rfft(wake), n=m)[: slope.size] * delta_t
