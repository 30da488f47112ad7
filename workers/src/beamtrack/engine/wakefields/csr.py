"""Coherent synchrotron radiation (CSR) in bends: ImpactX 26.10's 1D steady-state model (HandleWakefield,
ChargeBinning, WakeConvolution, WakePush).

Per slice of length ds in a Sbend, CFbend or ExactSbend of radius R = |rc|:
1. bin the alive particles in t: csr_bins points from t_min to t_max, bin size b = (t_max - t_min) / (csr_bins - 1),
   line density lambda_k = qe sum(w) / b of the particles with floor((t - t_min) / b) = k (csr_bins + 1 bins);
2. slopes lambda'_k = (lambda_{k+1} - lambda_k) / b / qe (number density), k < csr_bins;
3. the bin-integrated steady-state wake of the 1D model (Saldin, Schneidmiller, Yurkov, NIM A 398 (1997) 373;
   Derbenev et al., DESY-TESLA-FEL-95-05): W(s) = -(3/2) kappa / b (H(s + b/2) |s + b/2|^(2/3) -
   H(s - b/2) |s - b/2|^(2/3)), kappa = 2 r_e m_e c^2 / (3^(1/3) R^(2/3)), sampled at s = k b for k < csr_bins and
   at s = (k - 2 csr_bins) b for csr_bins < k < 2 csr_bins (0 at k = csr_bins);
4. F_k = b sum_j lambda'_j W_{k - j} (periodic convolution on 2 csr_bins points, as ImpactX's FFT);
5. each alive particle: pt -= ds F_idx / (c p0) with idx = int((t - t_min) / b) and p0 the reference momentum [kg m/s].
F [J/m] is the longitudinal force of the 1D steady-state model; over a Gaussian bunch of N particles and rms length
sigma_z its mean and rms are -0.3505 and 0.2459 N r_e m c^2 / (R^(2/3) sigma_z^(4/3)) (Saldin et al.; checked in
tests/physics/test_radiation.py).

As ImpactX: the charge unit is qe and r_e, m_e are the electron's, for any species. Vectorised over the beam
arrays (bincount and FFT of NumPy, or CuPy on the device).
"""

from __future__ import annotations

import math
from typing import Any

from .. import constants

#: the electron radius as ImpactX's w_l_csr computes it, qe^2 / (4 pi eps0 m_e c^2) from the CODATA 2022 e, eps0,
#: m_e (1.4e-11 off the tabulated r_e that its ISR uses; measured against 26.10's wakeconvolution.w_l_csr)
R_E_CSR = constants.qe**2 / (4.0 * math.pi * constants.epsilon0 * constants.me_kg * constants.c**2)


def csr_wake(s: Any, R: float, bin_size: float, xp: Any) -> Any:
    """ImpactX's w_l_csr: the steady-state CSR wake averaged over one bin [J/m per particle per metre of slope]."""
    kappa = 2.0 * R_E_CSR * constants.me_kg * constants.c**2 / 3.0 ** (1.0 / 3.0) / R ** (2.0 / 3.0)
    hi, lo = s + 0.5 * bin_size, s - 0.5 * bin_size
    return (
        -1.5
        * kappa
        / bin_size
        * (xp.where(hi >= 0.0, xp.abs(hi) ** (2.0 / 3.0), 0.0) - xp.where(lo >= 0.0, xp.abs(lo) ** (2.0 / 3.0), 0.0))
    )


def csr_force(t: Any, w: Any, R: float, bins: int, xp: Any) -> tuple[Any, float, float]:
    """(F [J/m] per bin, t_min [m], bin size [m]) of the particles at t [m] with weights w (number per particle)."""
    t_min, t_max = float(t.min()), float(t.max())
    if not t_max > t_min:
        raise ValueError(
            "coherent synchrotron radiation (csr) needs a beam with a finite extent in t; "
            f"{'there is one particle' if t.size == 1 else 'the beam is flat in t'} (ImpactX refuses it too)"
        )
    b = (t_max - t_min) / (bins - 1)
    k = xp.floor((t - t_min) / b).astype(xp.int64)
    ok = (k >= 0) & (k < bins + 1)
    lam = xp.bincount(k[ok], weights=constants.qe * w[ok] / b, minlength=bins + 1)
    slopes = (lam[1:] - lam[:-1]) / b / constants.qe
    i = xp.arange(2 * bins)
    s = xp.where(i < bins, i, i - 2 * bins) * b
    wake = xp.where(i == bins, 0.0, csr_wake(s, R, b, xp))
    F = xp.fft.irfft(xp.fft.rfft(slopes, n=2 * bins) * xp.fft.rfft(wake), n=2 * bins)[:bins] * b
    return F, t_min, b


def csr_push(beam: Any, ref: Any, slice_ds: float, rc: float, bins: int) -> None:
    """Apply ImpactX's CSR kick of one slice [m] in a bend of radius rc [m] to the alive particles (in place)."""
    if slice_ds == 0.0:
        return
    if int(bins) < 2:
        raise ValueError(f"csr_bins must be >= 2, not {bins!r}")
    n, xp = beam.size, beam.xp
    alive = xp.flatnonzero(beam.state[:n] == 0)
    if alive.size == 0:
        return
    t = beam.real[2, alive]
    F, t_min, b = csr_force(t, beam.real[6, alive], abs(rc), int(bins), xp)
    idx = xp.clip(((t - t_min) / b).astype(xp.int64), 0, int(bins) - 1)
    p0 = ref.beta_gamma * ref.mass * constants.c
    beam.real[5, alive] -= slice_ds / (constants.c * p0) * F[idx]
