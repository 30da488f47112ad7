"""ImpactX's module-level helpers: ``twiss``, ``push``, ``fourier_coefficients``, ``Config``."""

from __future__ import annotations

import math
from typing import Any

from beamtrack.engine.refpart import RefPart


def twiss(
    beta_x: float,
    beta_y: float,
    beta_t: float,
    emitt_x: float,
    emitt_y: float,
    emitt_t: float,
    alpha_x: float = 0.0,
    alpha_y: float = 0.0,
    alpha_t: float = 0.0,
    mean_x: float = 0.0,
    mean_y: float = 0.0,
    mean_t: float = 0.0,
    mean_px: float = 0.0,
    mean_py: float = 0.0,
    mean_pt: float = 0.0,
    dispersion_x: float = 0.0,
    dispersion_y: float = 0.0,
    dispersion_px: float = 0.0,
    dispersion_py: float = 0.0,
) -> dict[str, float]:
    """Courant-Snyder parameters -> the phase-space ellipse keywords of ImpactX's distributions.

    With gamma = (1 + alpha^2) / beta per plane: lambdaQ = sqrt(emitt / gamma) [m], lambdaPq =
    sqrt(emitt / beta) [1], mu = alpha / sqrt(beta gamma) (the rms ellipse x^2 gamma + 2 alpha x px +
    beta px^2 = emitt; ImpactX's docs, "Twiss parameters"); means and dispersion pass through.
    """
    if min(beta_x, beta_y, beta_t) <= 0.0:
        raise ValueError("Input Error: The beta function values need to be non-zero positive values in all dimensions.")
    if min(emitt_x, emitt_y, emitt_t) <= 0.0:
        raise ValueError("Input Error: Emittance values need to be non-zero positive values in all dimensions.")
    out: dict[str, float] = {}
    for q, beta, alpha, emitt in (
        ("X", beta_x, alpha_x, emitt_x),
        ("Y", beta_y, alpha_y, emitt_y),
        ("T", beta_t, alpha_t, emitt_t),
    ):
        gamma = (1.0 + alpha * alpha) / beta
        out[f"lambda{q}"] = math.sqrt(emitt / gamma)
        out[f"lambdaP{q.lower()}"] = math.sqrt(emitt / beta)
        out[f"mu{q.lower()}p{q.lower()}"] = alpha / math.sqrt(beta * gamma)
    out.update(
        meanX=mean_x,
        meanY=mean_y,
        meanT=mean_t,
        meanPx=mean_px,
        meanPy=mean_py,
        meanPt=mean_pt,
        dispX=dispersion_x,
        dispY=dispersion_y,
        dispPx=dispersion_px,
        dispPy=dispersion_py,
    )
    return out


def fourier_coefficients(z: Any, field_or_gradient: Any, ncoef: int) -> tuple[Any, Any]:
    """Cosine and sine Fourier coefficients of on-axis field data (ImpactX's ``fourier_coefficients``).

    z [m] (increasing, N samples from the element's entry to its exit; the range is scaled to the
    element's ds), field_or_gradient (N values, usually normalised to a peak of 1; the element's
    escale / bscale / gscale multiplies them). With L = z[-1] - z[0] and zmid the midpoint, for j < ncoef:
    cos_j = (2/L) integral f(z) cos(2 pi j (z - zmid) / L) dz, sin_j likewise with sin: the trapezoidal
    rule on N points spaced evenly over [z[0], z[-1]], f linearly interpolated there (as ImpactX 26.10).
    """
    import numpy as np

    z = np.asarray(z, dtype=float)
    f = np.asarray(field_or_gradient, dtype=float)
    n = z.size
    length = z[-1] - z[0]
    grid = z[0] + np.arange(n) * (length / (n - 1))
    weights = np.full(n, length / (n - 1))
    weights[[0, -1]] *= 0.5
    wf = weights * np.interp(grid, z, f) * (2.0 / length)
    phase = np.outer(grid - 0.5 * (z[0] + z[-1]), 2.0 * np.pi * np.arange(ncoef) / length)
    return wf @ np.cos(phase), wf @ np.sin(phase)


def push(target: Any, element: Any, step: int = 0, period: int = 0) -> None:
    """Push a reference particle, or a whole beam (with its reference), through one element (ImpactX's push)."""
    if isinstance(target, RefPart):
        target.sedge = target.s
        element.push_ref(target, element.nslice)
        return
    sim = getattr(target, "_sim", None)
    if sim is None:
        raise TypeError("push() takes a RefPart or an ImpactX particle container (sim.beam)")
    from beamtrack.engine.simulation import Simulation

    one = Simulation(kind=sim.kind, diagnostics=False)
    one.reference = sim.reference
    one.beam = target
    one.compose_linear = sim.compose_linear
    one.lattice.append(element)
    one.tracking_step, one.tracking_period = step, period
    one.track_particles(periods=1)


class Config:
    """ImpactX's build configuration, as beamtrack runs: double precision, one process."""

    precision = "DOUBLE"
    precision_particles = "DOUBLE"
    have_mpi = False
    have_gpu = False
    have_omp = True
    have_fft = True
    have_openpmd = True
    have_simd = False
    gpu_backend: str | None = None
    openpmd_backends = {"hdf5": True, "json": True, "adios2": False, "adios1": False, "mpi": False, "toml": False}

    @classmethod
    def to_dict(cls) -> dict[str, Any]:
        return {
            k: getattr(cls, k)
            for k in (
                "precision",
                "precision_particles",
                "have_mpi",
                "have_gpu",
                "have_omp",
                "have_fft",
                "have_openpmd",
                "have_simd",
                "gpu_backend",
            )
        }
