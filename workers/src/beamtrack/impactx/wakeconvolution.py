"""ImpactX 26.10's ``impactx.wakeconvolution``: the wake functions and 1D charge tools ImpactX exposes to Python
(alpha, unit_step, w_l_csr, w_l_rf, w_t_rf, deposit_charge, derivative_charge, convolve_fft), over
``beamtrack.engine.wakefields.wake``. The vectors are ``amrex.PODVector_real_std`` as in ImpactX (beamtrack's stand-in,
``beamtrack.impactx.amrex``), or NumPy arrays; the scalar functions also take arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from beamtrack.engine.wakefields import wake as _w

from .amrex import PODVector_real_std


def _arr(v: Any) -> np.ndarray:
    return v.to_numpy() if isinstance(v, PODVector_real_std) else np.asarray(v, dtype=np.float64)


def _scalar(x: Any) -> Any:
    return float(x) if np.ndim(x) == 0 else x


def alpha(s: Any) -> Any:
    """ImpactX's alpha function of the resistive-wall fit."""
    return _scalar(_w.alpha(s))


def unit_step(s: Any) -> Any:
    return _scalar(_w.unit_step(s))


def w_l_csr(s: Any, R: float, bin_size: float) -> Any:
    """Bin-averaged steady-state CSR wake (s, bend radius R [m], bin size [m])."""
    return _scalar(_w.w_l_csr(s, R, bin_size))


def w_l_rf(s: Any, a: float, g: float, L: float) -> Any:
    """ImpactX's longitudinal wake fit (s [m], pipe radius a, gap g, period L [m])."""
    return _scalar(_w.w_l_rf(s, a, g, L))


def w_t_rf(s: Any, a: float, g: float, L: float) -> Any:
    """ImpactX's transverse wake fit (s [m], pipe radius a, gap g, period L [m])."""
    return _scalar(_w.w_t_rf(s, a, g, L))


def deposit_charge(
    pc: Any, charge_distribution: Any, bin_min: float, bin_size: float, is_unity_particle_weight: bool
) -> None:
    """Add the alive particles of ``pc`` to ``charge_distribution`` [C/m per bin] in place (ImpactX's deposit_charge)."""
    n = pc.size
    alive = pc.host(pc.state[:n]) == 0
    t, w = pc.host(pc.real[2, :n])[alive], pc.host(pc.real[6, :n])[alive]
    _w.deposit_charge(t, w, _arr(charge_distribution), bin_min, bin_size, bool(is_unity_particle_weight))


def derivative_charge(charge_distribution: Any, slopes: Any, bin_size: float, get_number_density: bool) -> None:
    """slopes = d(profile)/dt by forward differences, in place (ImpactX's derivative_charge)."""
    _w.derivative_charge(_arr(charge_distribution), _arr(slopes), bin_size, bool(get_number_density))


def convolve_fft(beam_profile_slope: Any, wake_func: Any, delta_t: float) -> PODVector_real_std:
    """ImpactX's convolve_fft: slope (N) with the wake on 2 N points, times delta_t; the first N values."""
    return PODVector_real_std.from_numpy(_w.convolve_fft(_arr(beam_profile_slope), _arr(wake_func), delta_t))
