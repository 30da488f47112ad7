"""beamtrack.plot: figures are written (PNG, non-empty), the lattice strip has the right boxes.

The box layout is checked against the lattice itself (positions are cumulative ds; a quad's box
points up for k > 0 and down for k < 0); images are checked for existence, size and PNG signature.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from beamtrack import plot
from beamtrack.engine import Simulation, distribution
from beamtrack.engine import elements as E
from beamtrack.engine import plot as engine_plot
from beamtrack.engine.diagnostics import BeamMonitorWriter

os.environ.setdefault("MPLBACKEND", "Agg")  # before plot's first (lazy) import of pyplot

PNG = b"\x89PNG\r\n\x1a\n"


def _ring() -> Simulation:
    sim = Simulation(kind="serial", diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250.0)
    for _ in range(2):
        sim.lattice.extend(
            [
                E.ChrQuad(ds=0.4, k=0.6),
                E.ChrDrift(ds=1.1),
                E.ExactSbend(ds=1.5, phi=12.0),
                E.Multipole(multipole=3, K_normal=0.5),
                E.ChrQuad(ds=0.4, k=-0.54),
                E.ChrDrift(ds=1.1),
            ]
        )
    return sim


def _is_png(p: Path) -> bool:
    return p.is_file() and p.stat().st_size > 2000 and p.read_bytes()[:8] == PNG


def test_lattice_boxes_follow_the_lattice() -> None:
    boxes = plot.lattice_boxes(_ring().lattice)
    assert [b[2] for b in boxes[:4]] == ["quad", "bend", "multipole", "quad"]
    assert boxes[0] == (0.0, 0.4, "quad", 1.0)
    assert boxes[1][:2] == pytest.approx((1.5, 1.5))
    assert boxes[3][0] == pytest.approx(3.0) and boxes[3][3] == -1.0  # defocusing quad below the axis
    assert boxes[4][0] == pytest.approx(4.5)


def test_lattice_boxes_of_a_job_spec_match_the_engine_lattice() -> None:
    """A job's stored spec (JSON dicts, or its spec models) draws as the local lattice does."""
    sim = _ring()
    sim.add_particles(1e-12, distribution.Gaussian(1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4), 10, seed=1)
    spec = sim.to_spec()
    assert plot.lattice_boxes(spec.lattice.elements) == plot.lattice_boxes(sim.lattice)
    as_json = spec.model_dump(mode="json")["lattice"]["elements"]
    assert plot.lattice_boxes(as_json) == plot.lattice_boxes(sim.lattice)
    assert engine_plot.twiss is plot.twiss  # the engine's name for the same module


def test_twiss_plot(tmp_path: Path) -> None:
    sim = _ring()
    tw = sim.lattice.twiss()
    fig = tw.plot(lattice=sim.lattice, path=tmp_path / "twiss.png")
    assert _is_png(tmp_path / "twiss.png")
    assert "qx = " in fig.axes[0].get_title()
    assert len(fig.axes) == 3  # beta axis, dispersion twin axis, lattice strip


def test_moments_and_phase_space_plots(tmp_path: Path) -> None:
    """Moments from the per-slice diagnostics rows; phase space from the beam and from an openPMD series."""
    sim = _ring()
    sim.slice_step_diagnostics = True
    sim.add_particles(
        1e-12,
        distribution.Gaussian(lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-4, lambdaPy=1e-4, lambdaPt=1e-4),
        2000,
        seed=1,
    )
    rows: list[dict[str, float]] = []
    sim.diagnostics_listeners.append(rows.append)
    sim.track_particles(periods=1)
    import pandas as pd

    df = pd.DataFrame(rows)
    plot.moments(df, lattice=sim.lattice, path=tmp_path / "moments.png")
    assert _is_png(tmp_path / "moments.png")
    plot.phase_space(sim.beam, path=tmp_path / "ps.png")
    assert _is_png(tmp_path / "ps.png")
    w = BeamMonitorWriter(tmp_path / "openPMD", "monitor", "h5")
    w.write(7, sim.beam, sim.reference)
    w.close()
    series = next((tmp_path / "openPMD").glob("monitor*"))
    back = plot.read_monitor(series)
    np.testing.assert_array_equal(back["position_x"], sim.beam.to_df()["position_x"])
    plot.phase_space(series, path=tmp_path / "ps_file.png")
    assert _is_png(tmp_path / "ps_file.png")


def test_plots_of_a_run(tmp_path: Path) -> None:
    """plot.run: twiss, moments (from the run's reduced-diagnostics file) and phase space of a Simulation."""
    sim = _ring()
    sim.output_dir, sim.diagnostics = tmp_path / "run", True
    sim.add_particles(
        1e-12,
        distribution.Gaussian(lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-4, lambdaPy=1e-4, lambdaPt=1e-4),
        500,
        seed=2,
    )
    sim.track_particles(periods=2)
    sim.finalize()
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    figs = plot.run(sim, tmp_path / "figs")
    assert sorted(figs) == ["moments", "phase_space", "twiss"]
    for name in figs:
        assert _is_png(tmp_path / "figs" / f"{name}.png"), name
    # made without pyplot: none left open in its registry (over 20 open figures warn, an error here)
    assert plt.get_fignums() == open_before


def test_phase_space_of_an_empty_beam_is_an_error() -> None:
    sim = _ring()
    with pytest.raises(ValueError, match="no particles to plot"):
        plot.phase_space(sim.beam)
