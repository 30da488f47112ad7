"""The figures: Twiss functions and beam moments vs s with the lattice drawn beneath, phase space.

matplotlib is imported on first use. Every function returns a matplotlib Figure and, with ``path``,
saves it (PNG by the suffix). The figures are made without pyplot (``matplotlib.figure.Figure``):
no GUI backend is needed, none stays open in pyplot's registry (a script plotting many jobs keeps
no memory), and Jupyter shows a returned figure as any other.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .lattice import draw_lattice
from .sources import particles_frame, reduced_frame, twiss_frame

PathArg = str | os.PathLike[str] | None


def _save(fig: Any, path: PathArg) -> Any:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def _with_lattice(lattice: Sequence[Any] | None, nrows: int = 1) -> tuple[Any, list[Any], Any]:
    from matplotlib.figure import Figure

    ratios = [3] * nrows + ([0.6] if lattice is not None else [])
    fig = Figure(figsize=(8, 2.6 * nrows + 1.2))
    grid = fig.subplots(
        len(ratios),
        1,
        sharex=True,
        gridspec_kw={"height_ratios": ratios},
        squeeze=False,
    )
    axes: list[Any] = list(grid[:, 0])
    strip = axes.pop() if lattice is not None else None
    return fig, axes, strip


def _finish(fig: Any, last_ax: Any, strip: Any, lattice: Sequence[Any] | None, s0: float, path: PathArg) -> Any:
    if strip is not None and lattice is not None:
        draw_lattice(strip, lattice, s0)
    else:
        last_ax.set_xlabel("s [m]")
    fig.tight_layout()
    return _save(fig, path)


def twiss(tw: Any, lattice: Sequence[Any] | None = None, path: PathArg = None) -> Any:
    """beta_x, beta_y [m] and, on a second axis, the dispersion D_x [m] vs s, from a Twiss table (a
    TwissTable of ``lattice.twiss()``, or a job's from ``Client.twiss``); the lattice beneath when given."""
    df = twiss_frame(tw)
    fig, (ax,), strip = _with_lattice(lattice)
    s = np.asarray(df["s"], dtype=float)
    ax.plot(s, df["betx"], label=r"$\beta_x$", color="tab:blue")
    ax.plot(s, df["bety"], label=r"$\beta_y$", color="tab:red")
    ax.set_ylabel(r"$\beta$ [m]")
    ax2 = ax.twinx()
    ax2.plot(s, df["dx"], label=r"$D_x$", color="tab:green", ls="--")
    ax2.set_ylabel(r"$D_x$ [m]")
    title = []
    for k, fmt in (("qx", "{:.5f}"), ("qy", "{:.5f}"), ("dqx", "{:.3f}"), ("dqy", "{:.3f}")):
        v = df.attrs.get(k)
        if v is not None and np.isfinite(v):
            title.append(f"{k} = {fmt.format(v)}")
    if title:
        ax.set_title(", ".join(title), fontsize=9)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [str(line.get_label()) for line in lines], loc="upper right", fontsize=8)
    return _finish(fig, ax, strip, lattice, float(s[0]), path)


def moments(reduced: Any, lattice: Sequence[Any] | None = None, path: PathArg = None) -> Any:
    """Beam sizes sigma_x, sigma_y [mm] and normalised emittances [mm mrad] vs s, from reduced beam
    characteristics (a DataFrame of ImpactX's columns, a job's rows from ``Client.diagnostics``, or
    the reduced-diagnostics file / diags directory of a run); the lattice beneath when given (drawn
    from the first row's s, one period)."""
    df = reduced_frame(reduced)
    fig, (ax_s, ax_e), strip = _with_lattice(lattice, nrows=2)
    s = np.asarray(df["s"], dtype=float)
    ax_s.plot(s, 1e3 * df["sigma_x"], label=r"$\sigma_x$")
    ax_s.plot(s, 1e3 * df["sigma_y"], label=r"$\sigma_y$")
    ax_s.set_ylabel(r"$\sigma$ [mm]")
    ax_s.legend(fontsize=8)
    ax_e.plot(s, 1e6 * df["emittance_xn"], label=r"$\epsilon_{x,n}$")
    ax_e.plot(s, 1e6 * df["emittance_yn"], label=r"$\epsilon_{y,n}$")
    ax_e.set_ylabel(r"$\epsilon_n$ [mm mrad]")
    ax_e.legend(fontsize=8)
    return _finish(fig, ax_e, strip, lattice, float(s[0]), path)


def phase_space(source: Any, path: PathArg = None, bins: int = 80, iteration: int | None = None) -> Any:
    """Phase-space densities x-px, y-py, t-pt and x-y (weighted 2D histograms) of a beam: a
    ParticleContainer or Simulation, a DataFrame with ImpactX's columns (``beam.to_df()``), or a
    BeamMonitor openPMD series path (``iteration``: default the last)."""
    from matplotlib.figure import Figure

    df = particles_frame(source, iteration)
    if len(df) == 0:
        raise ValueError("no particles to plot (an empty beam, or every particle lost)")
    fig = Figure(figsize=(8, 7))
    axes = fig.subplots(2, 2)
    pairs = [
        ("position_x", "momentum_x", "x [mm]", "px [mrad]"),
        ("position_y", "momentum_y", "y [mm]", "py [mrad]"),
        ("position_t", "momentum_t", "t [mm]", r"pt [$10^{-3}$]"),
        ("position_x", "position_y", "x [mm]", "y [mm]"),
    ]
    w = np.asarray(df["weighting"]) if "weighting" in df else None
    for ax, (a, b, la, lb) in zip(axes.ravel(), pairs, strict=True):
        ax.hist2d(1e3 * np.asarray(df[a]), 1e3 * np.asarray(df[b]), bins=bins, weights=w, cmap="viridis")
        ax.set_xlabel(la)
        ax.set_ylabel(lb)
    fig.suptitle(f"{len(df)} particles", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
