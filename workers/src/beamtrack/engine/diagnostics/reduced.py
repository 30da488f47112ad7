"""Reduced beam characteristics: weighted moments, emittances, Twiss and dispersion of the alive beam.

Follows ImpactX's ``impactx::diagnostics::reduced_beam_characteristics`` (src/diagnostics/
ReducedBeamCharacteristics.cpp): weighted means ``<q> = sum(w q) / sum(w)``, central second moments
``<dq dp> = sum(w (q - <q>)(p - <p>)) / sum(w)`` (a second pass over the data, as ImpactX does),
then per plane

- sigma_q = sqrt(<dq^2>) [m for x, y, t; 1 for px, py, pt]
- emittance_q = sqrt(<dq^2><dp^2> - <dq dp>^2), or 0 where that argument is not > 0 [m]
- dispersion_q = -<dq dpt> / <dpt^2>, dispersion_pq = -<dpq dpt> / <dpt^2>, or 0 when <dpt^2> is
  not > 0 [m; 1] (the minus sign because pt = -dE/(p0 c))
- beta_q, alpha_q of the transverse planes from the moments with the dispersive part removed:
  <dq^2>_d = <dq^2> - <dpt^2> D^2, <dq dp>_d = <dq dp> - <dpt^2> D D', emittance_d from those;
  beta = <dq^2>_d / emittance_d [m], alpha = -<dq dp>_d / emittance_d [1];
  beta_t = <dt^2> / emittance_t, alpha_t = -<dt dpt> / emittance_t (no dispersion removal)
- emittance_qn = emittance_q * (beta gamma)_ref [m]; charge_C = sum(w) * q_ref [C].

Divisions follow IEEE arithmetic as ImpactX's C++ does (0/0 -> NaN), without NumPy warnings: an empty
beam gives NaN means, sigmas, Twiss and extrema, 0 emittances and dispersions, charge_C = 0.

The sums of a NumPy beam are taken in one pass by the C kernel of c/reduced_cpu.c (serial or OpenMP),
about a shift near the mean so a large offset costs no digits; ``_moments`` is its NumPy twin (and the
path for CuPy beams), which it matches to ~1e-13 relative (tests/unit/test_reduced_kernel.py). The
columns of such a row come from the same library (``rbc_characteristics``, bit for bit what
``characteristics_from_moments`` computes from the sums: the same test file), except with
eigen-emittances; every other path (NumPy, CuPy, a sharded beam's combined moments) takes them from
``characteristics_from_moments``.

Column names are ImpactX's current ones (mean_x, min_x, max_x, sigma_x, ...), as its header writer
and its docs' "dataanalysis" page use today; DESIGN.md's x_mean / sig_x are ImpactX's deprecated
aliases, listed in ``DEPRECATED_ALIASES`` (the BeamMonitor still writes both, as ImpactX does).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from ..kernels.runtime import default_threads, vprint
from .eigenemittances import EIGEN_COLUMNS
from .eigenemittances import eigenemittances as _eigenemittances
from .eigenemittances import impactx_sigma as _impactx_sigma

if TYPE_CHECKING:
    from ..particles import ParticleContainer
    from ..refpart import RefPart

_PLANES = ("x", "y", "t")
_COORDS = ("x", "y", "t", "px", "py", "pt")

#: Columns of ImpactX's reduced_beam_characteristics file after ``step s``, in ImpactX's order
#: (without the optional eigenemittance and spin columns).
REDUCED_COLUMNS: tuple[str, ...] = (
    *(f"{k}_{q}" for q in _PLANES for k in ("mean", "min", "max")),
    *(f"sigma_{q}" for q in _PLANES),
    *(f"{k}_p{q}" for q in _PLANES for k in ("mean", "min", "max")),
    *(f"sigma_p{q}" for q in _PLANES),
    *(f"emittance_{q}" for q in _PLANES),
    *(f"alpha_{q}" for q in _PLANES),
    *(f"beta_{q}" for q in _PLANES),
    "dispersion_x",
    "dispersion_px",
    "dispersion_y",
    "dispersion_py",
    *(f"emittance_{q}n" for q in _PLANES),
    "charge_C",
)

#: Spin moments (ImpactX 26.10 with algo.spin, before charge_C): weighted means (the polarization
#: vector) and standard deviations of sx, sy, sz [1]
SPIN_COLUMNS: tuple[str, ...] = (*(f"mean_s{c}" for c in "xyz"), *(f"sigma_s{c}" for c in "xyz"))

#: ImpactX's deprecated names (still set by ImpactX, e.g. as BeamMonitor attributes) -> current names.
DEPRECATED_ALIASES: dict[str, str] = {
    **{f"{c}_{k}": f"{k}_{c}" for c in _COORDS for k in ("mean", "min", "max")},
    **{f"sig_{c}": f"sigma_{c}" for c in _COORDS},
}


def _moments(pc: ParticleContainer) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Total weight, weighted means (6,), central covariance (6, 6), minima (6,), maxima (6,) of the
    alive particles, on the host. Rows in the order x, y, t, px, py, pt. The NumPy/CuPy twin of
    ``_c_sums`` (two passes: means, then centred second moments)."""
    xp = pc.xp
    n = pc.size
    alive = pc.state[:n] == 0
    n_alive = int(alive.sum())
    nan6 = np.full(6, np.nan)
    if n_alive == 0:
        return 0.0, nan6, np.full((6, 6), np.nan), nan6, nan6.copy()
    block = pc.real[:, :n] if n_alive == n else pc.real[:, alive]
    coords, w = block[:6], block[6]
    w_sum = xp.reshape(w.sum(), (1,))
    with np.errstate(divide="ignore", invalid="ignore"):  # all weights 0: NaN moments, as ImpactX
        means = (coords @ w) / w_sum
        d = coords - means[:, None]
        cov = ((d * w) @ d.T) / w_sum
    packed = xp.concatenate([w_sum, means, cov.ravel(), coords.min(axis=1), coords.max(axis=1)])
    host: np.ndarray = np.asarray(pc.host(packed), dtype=np.float64)
    return float(host[0]), host[1:7], host[7:43].reshape(6, 6), host[43:49], host[49:55]


_TRIU = np.triu_indices(6)


@cache
def _c_kernel(kind: str) -> Any:
    """The compiled reduced-diagnostics kernel of a CPU kind, or None where none can be built (no C
    compiler: the NumPy twin then serves, as it does for CuPy beams)."""
    from ..kernels.build import KernelBuildError
    from .kernels import load_cpu

    try:
        return load_cpu(kind)
    except (KernelBuildError, OSError) as exc:
        vprint(f"reduced diagnostics on NumPy: no {kind} kernel ({exc})")
        return None


def _c_sums(pc: ParticleContainer, kind: str, nthreads: int | None) -> np.ndarray | None:
    """``rbc_sums`` of c/reduced_cpu.c over a NumPy beam (one pass in C), or None where it cannot run."""
    real, state = pc.real, pc.state
    if not isinstance(real, np.ndarray) or real.dtype != np.float64 or state.dtype != np.int32:
        return None
    # a packed variant's beam is a column slice of the pack's block: the kernel takes rows of
    # pc.size contiguous values, so such a view is copied (so every beam gets the same sums)
    real = np.ascontiguousarray(real[:, : pc.size])
    state = np.ascontiguousarray(state[: pc.size])
    k = _c_kernel(kind)
    if k is None:
        return None
    threads = (nthreads or default_threads()) if kind == "openmp" else 1
    out: np.ndarray = k.sums(real, state, pc.size, 3 if pc.has_spin else 0, threads)
    return out


def _moments_from_sums(s: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``_moments``'s results from the shifted sums: <q> = K + S1/W, <dq dp> = S2/W - (S1/W)(S1/W)."""
    nan6 = np.full(6, np.nan)
    if s[0] == 0:
        return 0.0, nan6, np.full((6, 6), np.nan), nan6, nan6.copy()
    w_sum = float(s[1])
    s2 = np.empty((6, 6))
    s2[_TRIU] = s[14:35]
    s2.T[_TRIU] = s[14:35]
    with np.errstate(divide="ignore", invalid="ignore"):
        m = s[8:14] / w_sum
        cov = s2 / w_sum - np.outer(m, m)
    np.fill_diagonal(cov, np.maximum(np.diag(cov), 0.0))  # rounding must not give a negative variance
    has_nan = s[47:53] > 0
    mins, maxs = np.where(has_nan, np.nan, s[35:41]), np.where(has_nan, np.nan, s[41:47])
    return w_sum, s[2:8] + m, cov, mins, maxs


def _spin_from_sums(s: np.ndarray) -> dict[str, float]:
    """``_spin_moments``'s results from the shifted sums."""
    if s[0] == 0:
        return dict.fromkeys(SPIN_COLUMNS, float("nan"))
    with np.errstate(divide="ignore", invalid="ignore"):
        m = s[56:59] / s[1]
        sig = np.sqrt(np.maximum(s[59:62] / s[1] - m * m, 0.0))
    return dict(zip(SPIN_COLUMNS, map(float, np.concatenate([s[53:56] + m, sig])), strict=True))


def reduced_beam_characteristics(
    pc: ParticleContainer,
    ref: RefPart,
    *,
    kind: str | None = None,
    nthreads: int | None = None,
    eigenemittances: bool = False,
) -> dict[str, float]:
    """ImpactX's reduced beam characteristics of the alive particles, weighted by ``weight``.

    Returns ``{"s": ref.s, <REDUCED_COLUMNS>: value}`` (and ``SPIN_COLUMNS`` for a beam with spin) as
    Python floats; units as in ImpactX's docs:
    positions and sigmas of x, y, t [m], of px, py, pt [1]; emittances [m]; beta [m]; alpha [1];
    dispersion_x/y [m], dispersion_px/py [1]; charge_C [C]. Works on NumPy and CuPy beams (only
    the 55 reduced numbers leave the device). ``eigenemittances``: also ImpactX's ``emittance_1..3`` [m]
    (``EIGEN_COLUMNS``, diagnostics/eigenemittances.py).

    ``kind``: how the sums of a NumPy beam are taken: "serial" (the default) or "openmp" (``nthreads``
    threads, default as the tracking kernels) run the one-pass C kernel of c/reduced_cpu.c; "numpy"
    (and "cuda") the NumPy twin, as CuPy beams always do.
    """
    if kind not in (None, "serial", "openmp", "numpy", "cuda"):
        raise ValueError(f"kind must be serial, openmp, numpy or cuda, not {kind!r}")
    sums = None if kind in ("numpy", "cuda") else _c_sums(pc, kind or "serial", nthreads)
    if sums is not None and not eigenemittances:
        # the columns from the sums in C too (rbc_characteristics: the bits of characteristics_from_moments)
        values = _c_kernel(kind or "serial").characteristics(
            sums[None, :], np.array([ref.beta_gamma]), np.array([ref.charge])
        )
        out = {"s": float(ref.s), **dict(zip(REDUCED_COLUMNS, values[0].tolist(), strict=True))}
    else:
        out = characteristics_from_moments(
            *(_moments(pc) if sums is None else _moments_from_sums(sums)), ref, eigenemittances=eigenemittances
        )
    if pc.has_spin:
        out.update(_spin_moments(pc) if sums is None else _spin_from_sums(sums))
    return out


def characteristics_from_moments(
    w_sum: float,
    means: np.ndarray,
    cov: np.ndarray,
    mins: np.ndarray,
    maxs: np.ndarray,
    ref: RefPart,
    *,
    eigenemittances: bool = False,
) -> dict[str, float]:
    """The columns of ``reduced_beam_characteristics`` (without spin) from the beam's total weight, weighted
    means (6,), central covariance (6, 6), minima and maxima (6,) in the order x, y, t, px, py, pt (NaN for an
    empty beam); a beam split across workers combines its parts' sums into these (``engine.sharded``).
    ``eigenemittances``: with ImpactX's emittance_1..3 [m] (NaN for an empty beam)."""
    bg = ref.beta_gamma
    out: dict[str, Any] = {"s": float(ref.s)}
    with np.errstate(divide="ignore", invalid="ignore"):
        ms = np.diag(cov)  # <dq^2>: x, y, t, px, py, pt
        sig = np.sqrt(ms)
        moment_columns(out, means, mins, maxs, sig)

        pt_ms = ms[5]
        emit: dict[str, np.float64] = {}
        for i, q in enumerate(_PLANES):
            e2 = ms[i] * ms[i + 3] - cov[i, i + 3] ** 2
            emit[q] = np.sqrt(e2) if e2 > 0.0 else np.float64(0.0)
            out[f"emittance_{q}"] = emit[q]

        disp: dict[str, np.float64] = {}
        for i, q in enumerate(("x", "y")):
            disp[q] = -cov[i, 5] / pt_ms if pt_ms > 0.0 else np.float64(0.0)
            disp["p" + q] = -cov[i + 3, 5] / pt_ms if pt_ms > 0.0 else np.float64(0.0)

        twiss_columns(out, ms, cov, disp, emit["t"])
        for q in _PLANES:
            out[f"emittance_{q}n"] = emit[q] * bg
        if eigenemittances:
            eig = (float("nan"),) * 3 if w_sum == 0.0 else _eigenemittances(_impactx_sigma(cov, bg))
            out.update(zip(EIGEN_COLUMNS, eig, strict=True))
        out["charge_C"] = w_sum * ref.charge + 0.0  # + 0.0: no "-0" for an empty beam
    return {k: float(v) for k, v in out.items()}


def moment_columns(out: dict[str, Any], means: np.ndarray, mins: np.ndarray, maxs: np.ndarray, sig: np.ndarray) -> None:
    """Add mean, min, max and sigma of x, y, t, then of px, py, pt (ImpactX's column order) to ``out`` from the
    arrays (..., 6) of one beam (c/reduced_cpu.c's rbc_characteristics computes the same in C)."""
    for i, q in enumerate(_PLANES):
        out[f"mean_{q}"], out[f"min_{q}"], out[f"max_{q}"] = means[..., i], mins[..., i], maxs[..., i]
    for i, q in enumerate(_PLANES):
        out[f"sigma_{q}"] = sig[..., i]
    for i, q in enumerate(_PLANES):
        j = i + 3
        out[f"mean_p{q}"], out[f"min_p{q}"], out[f"max_p{q}"] = means[..., j], mins[..., j], maxs[..., j]
    for i, q in enumerate(_PLANES):
        out[f"sigma_p{q}"] = sig[..., i + 3]


def twiss_columns(out: dict[str, Any], ms: np.ndarray, cov: np.ndarray, disp: dict[str, Any], emit_t: Any) -> None:
    """Add alpha_x..t, beta_x..t [m] and dispersion_x, px, y, py [m, 1] to ``out``: x and y from the moments with
    the dispersion taken out (ImpactX's ReducedBeamCharacteristics), t from <t pt> and <t^2> over emittance_t.
    ``ms`` the variances (..., 6), ``cov`` the covariance (..., 6, 6), ``disp`` the dispersions by name, of one beam
    (c/reduced_cpu.c's rbc_characteristics computes the same in C)."""
    pt_ms = ms[..., 5]
    twiss: dict[str, tuple[Any, Any]] = {}
    for i, q in enumerate(("x", "y")):
        d, dp = disp[q], disp["p" + q]
        q_msd = ms[..., i] - pt_ms * d * d
        p_msd = ms[..., i + 3] - pt_ms * dp * dp
        qp_d = cov[..., i, i + 3] - pt_ms * d * dp
        emit_d = np.sqrt(q_msd * p_msd - qp_d * qp_d)
        twiss[q] = (-qp_d / emit_d, q_msd / emit_d)
    twiss["t"] = (-cov[..., 2, 5] / emit_t, ms[..., 2] / emit_t)
    for q in _PLANES:
        out[f"alpha_{q}"] = twiss[q][0]
    for q in _PLANES:
        out[f"beta_{q}"] = twiss[q][1]
    for k in ("x", "px", "y", "py"):
        out[f"dispersion_{k}"] = disp[k]


def _spin_moments(pc: ParticleContainer) -> dict[str, float]:
    """Weighted means and standard deviations of the alive particles' spin components (ImpactX's
    mean_sx ... sigma_sz; NaN for an empty beam)."""
    xp = pc.xp
    n = pc.size
    alive = pc.state[:n] == 0
    if int(alive.sum()) == 0:
        return dict.fromkeys(SPIN_COLUMNS, float("nan"))
    block = pc.real[:, :n][:, alive]
    spin, w = block[7:10], block[6]
    with np.errstate(divide="ignore", invalid="ignore"):
        w_sum = w.sum()
        means = (spin @ w) / w_sum
        d = spin - means[:, None]
        ms = ((d * d) @ w) / w_sum
    host = np.asarray(pc.host(xp.concatenate([means, xp.sqrt(ms)])), dtype=np.float64)
    return dict(zip(SPIN_COLUMNS, map(float, host), strict=True))
