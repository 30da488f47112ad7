"""beamtrack.plot: plots for physicists, from a run, a job or an openPMD file.

- ``twiss(tw, lattice)``: beta functions and dispersion vs s with the lattice drawn beneath
- ``moments(reduced, lattice)``: beam sizes and normalised emittances vs s
- ``phase_space(source)``: x-px, y-py, t-pt and x-y densities of a beam or a BeamMonitor write
- ``run(sim, out)``: the three figures of a local Simulation
- ``job(client, job_id, out)``: the three figures of a job through the service (``beamtrack.client``):
  its Twiss table (``GET /v1/jobs/{id}/twiss``), reduced diagnostics and last BeamMonitor series

Installed with the client: ``pip install beamtrack-client[plot]`` (matplotlib, pandas, openpmd-api);
``beamtrack.engine.plot`` is this module. Nothing here imports the engine or the client: their
objects are read through what they provide (a beam's ``to_df()``, the SDK's methods).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from beamtrack.spec.diag_files import REDUCED_FILE, diag_file

from .figures import moments, phase_space, twiss
from .lattice import draw_lattice, lattice_boxes
from .sources import particles_frame, read_monitor, read_reduced, reduced_frame, twiss_frame

__all__ = [
    "JobSource",
    "draw_lattice",
    "job",
    "lattice_boxes",
    "moments",
    "particles_frame",
    "phase_space",
    "read_monitor",
    "read_reduced",
    "reduced_frame",
    "run",
    "twiss",
    "twiss_frame",
]

OPENPMD_PREFIX = "diags/openPMD/"


class JobSource(Protocol):
    """What ``job`` reads from a job through the service: the SDK's ``beamtrack.client.Client``."""

    def spec(self, job_id: str) -> Any: ...

    def twiss(self, job_id: str, init: dict[str, float] | None = None) -> Any: ...

    def diagnostics(self, job_id: str) -> Sequence[dict[str, Any]]: ...

    def artifacts(self, job_id: str) -> Sequence[Any]: ...

    def download_artifact(self, job_id: str, name: str, dest: str | Path) -> Path: ...


def _name(art: Any) -> str:
    return str(art["name"] if isinstance(art, dict) else art.name)


def job(
    client: JobSource,
    job_id: str,
    out: str | os.PathLike[str],
    *,
    twiss_init: dict[str, float] | None = None,
    monitor: str | None = None,
) -> dict[str, Any]:
    """Write ``twiss.png``, ``moments.png`` and ``phase_space.png`` of job ``job_id`` into ``out``
    and return the figures by name. The lattice strip is drawn from the job's spec; the Twiss table
    is the service's (periodic, or from ``twiss_init`` for a transfer line); the phase space is the
    last write of BeamMonitor ``monitor`` (default: the first series the job wrote), left out when
    the job wrote none."""
    outdir = Path(out)
    spec = client.spec(job_id)
    lattice = list(spec.lattice.elements)
    figs = {
        "twiss": twiss(client.twiss(job_id, init=twiss_init), lattice, outdir / "twiss.png"),
        "moments": moments(client.diagnostics(job_id), lattice, outdir / "moments.png"),
    }
    series = sorted(
        n
        for n in map(_name, client.artifacts(job_id))
        if n.startswith(OPENPMD_PREFIX) and (monitor is None or Path(n).stem == monitor)
    )
    if series:
        with tempfile.TemporaryDirectory() as tmp:
            local = client.download_artifact(job_id, series[0], tmp)
            figs["phase_space"] = phase_space(local, outdir / "phase_space.png")
    elif monitor is not None:
        raise ValueError(f"job {job_id} wrote no BeamMonitor series named {monitor!r}")
    return figs


def run(sim: Any, out: str | os.PathLike[str], *, twiss_init: dict[str, float] | None = None) -> dict[str, Any]:
    """Write ``twiss.png``, ``moments.png`` (when the run wrote reduced diagnostics: after
    ``sim.finalize()``) and ``phase_space.png`` of a local engine Simulation into ``out``; return the
    figures by name. The Twiss table is ``sim.lattice.twiss(twiss_init)`` (periodic without it)."""
    outdir = Path(out)
    lattice = list(sim.lattice)
    figs = {"twiss": twiss(sim.lattice.twiss(twiss_init), lattice, outdir / "twiss.png")}
    reduced = diag_file(Path(sim.output_dir) / "diags", REDUCED_FILE)
    if reduced.is_file():
        figs["moments"] = moments(reduced, lattice, outdir / "moments.png")
    figs["phase_space"] = phase_space(sim, outdir / "phase_space.png")
    return figs
