"""Plots for physicists: twiss and beam moments vs s with the lattice drawn beneath, phase space.

matplotlib is imported on first use (a headless process should select the Agg backend, e.g.
``MPLBACKEND=Agg``). Every function returns the matplotlib Figure and, with ``path``, saves it.

The lattice strip draws one box per element by type, as MAD-X / xtrack survey plots do: quadrupoles
above the axis when focusing (k > 0) and below when defocusing, bends centred, multipoles and other
thin elements as lines, RF in its own colour; drifts are the axis line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: box colour and height by family of element type
_FAMILIES: dict[str, tuple[str, float]] = {
    "quad": ("tab:red", 0.8),
    "bend": ("tab:blue", 0.5),
    "multipole": ("tab:green", 0.9),
    "rf": ("tab:orange", 0.6),
    "solenoid": ("tab:purple", 0.6),
    "other": ("0.5", 0.3),
}
_TYPE_FAMILY = {
    "Quad": "quad",
    "ChrQuad": "quad",
    "SoftQuadrupole": "quad",
    "ConstF": "quad",
    "Sbend": "bend",
    "ExactSbend": "bend",
    "CFbend": "bend",
    "ThinDipole": "bend",
    "DipEdge": "bend",
    "Multipole": "multipole",
    "NonlinearLens": "multipole",
    "Kicker": "multipole",
    "RFCavity": "rf",
    "ShortRF": "rf",
    "Buncher": "rf",
    "Sol": "solenoid",
    "SoftSolenoid": "solenoid",
    "Drift": "",
    "ChrDrift": "",
    "ExactDrift": "",
    "Marker": "",
    "PRot": "",
    "PlaneXYRot": "",
}


def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str] | None) -> Any:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def lattice_boxes(lattice: Sequence[Any]) -> list[tuple[float, float, str, float]]:
    """(s_start, length, family, sign) per drawn element of ``lattice`` (engine elements or spec models)."""
    out = []
    s = 0.0
    for el in lattice:
        model = getattr(el, "model", el)
        ds = float(getattr(model, "ds", 0.0) or 0.0)
        fam = _TYPE_FAMILY.get(model.type, "other")
        if fam:
            k = float(
                getattr(model, "k", 0.0) or getattr(model, "K_normal", 0.0) or getattr(model, "gscale", 0.0) or 0.0
            )
            out.append((s, ds, fam, -1.0 if (fam == "quad" and k < 0) else 1.0))
        s += ds
    return out


def draw_lattice(ax: Any, lattice: Sequence[Any], s0: float = 0.0) -> None:
    """Draw ``lattice`` as boxes on ``ax`` (s from s0 [m]); the y axis is hidden."""
    from matplotlib.patches import Rectangle

    boxes = lattice_boxes(lattice)
    length = sum(float(getattr(getattr(el, "model", el), "ds", 0.0) or 0.0) for el in lattice)
    ax.axhline(0.0, color="k", lw=0.8)
    for s, ds, fam, sign in boxes:
        color, h = _FAMILIES[fam]
        if ds > 0:
            y = 0.0 if fam == "quad" else -h / 2
            height = sign * h if fam == "quad" else h
            ax.add_patch(Rectangle((s0 + s, y), ds, height, facecolor=color, edgecolor="k", lw=0.4))
        else:
            ax.plot([s0 + s, s0 + s], [-h / 2, h / 2], color=color, lw=1.5)
    ax.set_ylim(-1.0, 1.0)
    ax.set_xlim(s0, s0 + max(length, 1e-12))
    ax.set_yticks([])
    ax.set_xlabel("s [m]")


def _with_lattice(lattice: Sequence[Any] | None, nrows: int = 1) -> tuple[Any, list[Any], Any]:
    plt = _pyplot()
    ratios = [3] * nrows + ([0.6] if lattice is not None else [])
    fig, axes = plt.subplots(
        len(ratios),
        1,
        sharex=True,
        figsize=(8, 2.6 * nrows + 1.2),
        gridspec_kw={"height_ratios": ratios},
        squeeze=False,
    )
    axes = list(axes[:, 0])
    strip = axes.pop() if lattice is not None else None
    return fig, axes, strip


def twiss(tw: pd.DataFrame, lattice: Sequence[Any] | None = None, path: str | os.PathLike[str] | None = None) -> Any:
    """beta_x, beta_y [m] and, on a second axis, the dispersion D_x [m] vs s, from a TwissTable
    (``lattice.twiss()``); the lattice drawn beneath when given."""
    fig, (ax,), strip = _with_lattice(lattice)
    s = np.asarray(tw["s"])
    ax.plot(s, tw["betx"], label=r"$\beta_x$", color="tab:blue")
    ax.plot(s, tw["bety"], label=r"$\beta_y$", color="tab:red")
    ax.set_ylabel(r"$\beta$ [m]")
    ax2 = ax.twinx()
    ax2.plot(s, tw["dx"], label=r"$D_x$", color="tab:green", ls="--")
    ax2.set_ylabel(r"$D_x$ [m]")
    title = []
    for k, fmt in (("qx", "{:.5f}"), ("qy", "{:.5f}"), ("dqx", "{:.3f}"), ("dqy", "{:.3f}")):
        v = tw.attrs.get(k)
        if v is not None and np.isfinite(v):
            title.append(f"{k} = {fmt.format(v)}")
    if title:
        ax.set_title(", ".join(title), fontsize=9)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [str(line.get_label()) for line in lines], loc="upper right", fontsize=8)
    if strip is not None and lattice is not None:
        draw_lattice(strip, lattice, float(s[0]))
    else:
        ax.set_xlabel("s [m]")
    fig.tight_layout()
    return _save(fig, path)


def read_reduced(path: str | os.PathLike[str]) -> pd.DataFrame:
    """An ImpactX reduced_beam_characteristics file (or a directory ``diags/`` holding one) as a DataFrame."""
    p = Path(path)
    if p.is_dir():
        p = p / "reduced_beam_characteristics.0.0"
    return pd.read_csv(p, sep=r"\s+")


def moments(
    reduced: pd.DataFrame | str | os.PathLike[str],
    lattice: Sequence[Any] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Any:
    """Beam sizes sigma_x, sigma_y [mm] and normalised emittances [mm mrad] vs s, from reduced beam
    characteristics (a DataFrame of ImpactX's columns, or its file / diags directory); the lattice
    beneath when given (drawn from the first row's s, one period)."""
    df = reduced if isinstance(reduced, pd.DataFrame) else read_reduced(reduced)
    fig, (ax_s, ax_e), strip = _with_lattice(lattice, nrows=2)
    s = np.asarray(df["s"])
    ax_s.plot(s, 1e3 * df["sigma_x"], label=r"$\sigma_x$")
    ax_s.plot(s, 1e3 * df["sigma_y"], label=r"$\sigma_y$")
    ax_s.set_ylabel(r"$\sigma$ [mm]")
    ax_s.legend(fontsize=8)
    ax_e.plot(s, 1e6 * df["emittance_xn"], label=r"$\epsilon_{x,n}$")
    ax_e.plot(s, 1e6 * df["emittance_yn"], label=r"$\epsilon_{y,n}$")
    ax_e.set_ylabel(r"$\epsilon_n$ [mm mrad]")
    ax_e.legend(fontsize=8)
    if strip is not None and lattice is not None:
        draw_lattice(strip, lattice, float(s[0]))
    else:
        ax_e.set_xlabel("s [m]")
    fig.tight_layout()
    return _save(fig, path)


def read_monitor(path: str | os.PathLike[str], iteration: int | None = None) -> pd.DataFrame:
    """Particles of one iteration (default: the last) of a BeamMonitor openPMD series, as a DataFrame
    with ImpactX's columns position_x/y/t [m], momentum_x/y/t [1], weighting, id."""
    import openpmd_api as io

    from .diagnostics.openpmd import IO_LOCK

    with IO_LOCK:  # openpmd-api is not thread-safe; monitor writers may run in other threads
        return _read_monitor(io, path, iteration)


def _read_monitor(io: Any, path: str | os.PathLike[str], iteration: int | None) -> pd.DataFrame:
    series = io.Series(str(path), io.Access.read_only)
    try:
        its = list(series.iterations)
        if not its:
            raise ValueError(f"{path} has no iterations")
        it = series.iterations[its[-1] if iteration is None else iteration]
        beam = it.particles["beam"]
        scalar = io.Record_Component.SCALAR
        chunks = {f"position_{c}": beam["position"][c].load_chunk() for c in "xyt"}
        chunks.update({f"momentum_{c}": beam["momentum"][c].load_chunk() for c in "xyt"})
        chunks["weighting"] = beam["weighting"][scalar].load_chunk()
        chunks["id"] = beam["id"][scalar].load_chunk()
        series.flush()
        return pd.DataFrame({k: np.asarray(v) for k, v in chunks.items()})
    finally:
        series.close()


def phase_space(
    source: Any, path: str | os.PathLike[str] | None = None, bins: int = 80, iteration: int | None = None
) -> Any:
    """Phase-space densities x-px, y-py, t-pt and x-y (weighted 2D histograms) of a beam: a
    ParticleContainer, a DataFrame with ImpactX's columns (``beam.to_df()``), or a BeamMonitor
    openPMD series path (``iteration``: default the last)."""
    if isinstance(source, (str, os.PathLike)):
        df = read_monitor(source, iteration)
    elif isinstance(source, pd.DataFrame):
        df = source
    else:
        df = source.to_df()
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(8, 7))
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


__all__ = ["draw_lattice", "lattice_boxes", "moments", "phase_space", "read_monitor", "read_reduced", "twiss"]
