"""Restart: a beam read back from an openPMD series written by a BeamMonitor (ImpactX 26.10's ``Source``).

What ImpactX 26.10's ``elements.Source("openPMD", openpmd_path, active_once, load_ref_particle, load_step,
load_step_index)`` does, measured on the real ImpactX (PyPI impactx-noacc 26.10): it reads species ``beam``
of one iteration (``load_step``: the iteration number, i.e. the step at which the monitor wrote;
``load_step_index``: position in the file, negative from the end as in Python; neither: the last), appends
its particles to the beam with new ids (the file's ids are not kept), their ``position/{x,y,t}``,
``momentum/{x,y,t}``, ``weighting`` and ``spin/{x,y,z}``, and ``qm`` of the (possibly just restored)
reference particle; ``load_ref_particle`` (default True) first sets the reference particle from the
species attributes ``s_ref, x_ref, y_ref, z_ref, t_ref, px_ref, py_ref, pz_ref, pt_ref`` [m, 1],
``mass_ref`` [kg], ``charge_ref`` [C] (and ``gyromagnetic_anomaly_ref``, when present). ``active_once``:
inject only in lattice period 0.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import constants

if TYPE_CHECKING:
    from .simulation import Simulation


class RestartError(ValueError):
    """The openPMD series cannot be read as a beam (missing step, record or file)."""


@dataclass
class BeamSnapshot:
    """One iteration of a BeamMonitor series: ``coords`` rows x, y, t [m], px, py, pt [1] (relative to the
    reference), ``weighting`` [1], ``spin`` (3 x n) or None, the file's ``ids``, the reference attributes."""

    step: int
    coords: np.ndarray
    weighting: np.ndarray
    spin: np.ndarray | None
    ids: np.ndarray
    ref: dict[str, float]


REF_ATTRS = (
    "s_ref",
    "x_ref",
    "y_ref",
    "z_ref",
    "t_ref",
    "px_ref",
    "py_ref",
    "pz_ref",
    "pt_ref",
    "mass_ref",
    "charge_ref",
)


def _check_not_being_written(path: Path) -> None:
    from .diagnostics.openpmd import BeamMonitorWriter

    for key, w in list(BeamMonitorWriter._shared.items()):
        if not w.closed and Path(key).resolve() == path.resolve():
            raise RestartError(
                f"{path} is still open for writing by a BeamMonitor of this process: call "
                "sim.finalize() before reading it back"
            )


def read_beam_series(
    openpmd_path: str | Path, load_step: int | None = None, load_step_index: int | None = None
) -> BeamSnapshot:
    """Read species ``beam`` of one iteration of the series at ``openpmd_path`` (see the module doc)."""
    from .diagnostics.openpmd import IO_LOCK

    with IO_LOCK:  # openpmd-api is not thread-safe; monitor writers may run in other threads
        return _read_beam_series(openpmd_path, load_step, load_step_index)


def _read_beam_series(openpmd_path: str | Path, load_step: int | None, load_step_index: int | None) -> BeamSnapshot:
    import openpmd_api as io

    from .diagnostics.openpmd import unpack_ids

    if load_step is not None and load_step_index is not None:
        raise RestartError("set at most one of load_step and load_step_index")
    path = Path(openpmd_path)
    _check_not_being_written(path)
    if "%" not in path.name and not path.exists():
        raise RestartError(f"openPMD series {str(path)!r} does not exist")
    try:
        series = io.Series(str(path), io.Access.read_only)
    except Exception as e:  # openpmd-api raises its own error types
        raise RestartError(f"cannot open openPMD series {str(path)!r}: {e}") from e
    try:
        steps = sorted(int(k) for k in series.iterations)
        if not steps:
            raise RestartError(f"{path}: the series has no iterations")
        if load_step is not None:
            if load_step not in steps:
                raise RestartError(f"{path}: no step {load_step} in the series (steps {steps})")
            step = load_step
        else:
            index = -1 if load_step_index is None else int(load_step_index)
            if not -len(steps) <= index < len(steps):
                raise RestartError(f"{path}: load_step_index {index} out of range for {len(steps)} steps")
            step = steps[index]
        it = series.iterations[step]
        if "beam" not in it.particles:
            raise RestartError(f"{path}: step {step} has no species 'beam'")
        beam = it.particles["beam"]
        scalar = io.Record_Component.SCALAR
        n = int(beam["id"][scalar].shape[0])
        chunks = [beam["position"][c].load_chunk() for c in "xyt"]
        chunks += [beam["momentum"][c].load_chunk() for c in "xyt"]
        w_chunk = beam["weighting"][scalar].load_chunk()
        id_chunk = beam["id"][scalar].load_chunk()
        spin_chunks = [beam["spin"][c].load_chunk() for c in "xyz"] if "spin" in beam else None
        attrs = set(beam.attributes)
        missing = [a for a in REF_ATTRS if a not in attrs]
        if missing:
            raise RestartError(f"{path}: step {step} lacks the reference attributes {missing}")
        ref = {a: float(beam.get_attribute(a)) for a in REF_ATTRS}
        if "gyromagnetic_anomaly_ref" in attrs:
            ref["gyromagnetic_anomaly_ref"] = float(beam.get_attribute("gyromagnetic_anomaly_ref"))
        series.flush()
        # copies: nothing returned may hold openpmd-api buffers or handles (see the finally clause)
        coords = np.array([np.array(c, dtype=np.float64).reshape(n) for c in chunks])
        spin = (
            None if spin_chunks is None else np.array([np.array(c, dtype=np.float64).reshape(n) for c in spin_chunks])
        )
        snap = BeamSnapshot(
            step=step,
            coords=coords,
            weighting=np.array(w_chunk, dtype=np.float64).reshape(n),
            spin=spin,
            ids=unpack_ids(np.array(id_chunk).reshape(n)),
            ref=ref,
        )
        del chunks, spin_chunks, w_chunk, id_chunk, beam, it
        return snap
    finally:
        series.close()
        del series
        # HDF5 is not thread-safe and BeamMonitor series are stored from background threads: release the
        # reader's openpmd-api objects now, not in a later garbage collection during someone's write
        gc.collect()


def load_beam(
    sim: Simulation,
    openpmd_path: str | Path,
    *,
    load_ref_particle: bool = True,
    load_step: int | None = None,
    load_step_index: int | None = None,
) -> BeamSnapshot:
    """Append the beam of one step of a BeamMonitor series to ``sim.beam`` (ImpactX 26.10's Source):
    the reference particle first when ``load_ref_particle``, then the particles with their weights
    (and spins, when the series has them), new ids and the reference's q/m."""
    snap = read_beam_series(openpmd_path, load_step, load_step_index)
    ref = sim.reference
    if load_ref_particle:
        r = snap.ref
        ref.s, ref.x, ref.y, ref.z, ref.t = r["s_ref"], r["x_ref"], r["y_ref"], r["z_ref"], r["t_ref"]
        ref.px, ref.py, ref.pz, ref.pt = r["px_ref"], r["py_ref"], r["pz_ref"], r["pt_ref"]
        # m c^2 / (e 1e6) in this order: the MeV value ImpactX 26.10 gets from its own kg (to the last bit)
        ref.set_mass_MeV(r["mass_ref"] * constants.c**2 / (constants.qe * 1e6))
        ref.set_charge_qe(r["charge_ref"] / constants.qe)
        if "gyromagnetic_anomaly_ref" in r:
            ref.set_gyromagnetic_anomaly(r["gyromagnetic_anomaly_ref"])
    n = snap.coords.shape[1]
    if n == 0:
        return snap
    pc = sim.beam
    n0 = pc.size
    spin = () if snap.spin is None else tuple(snap.spin)
    x, y, t, px, py, pt = snap.coords
    pc.add_n_particles(
        x,
        y,
        t,
        px,
        py,
        pt,
        qm=ref.qm_ratio_SI,
        bunch_charge=float(snap.weighting.sum()) * constants.qe,
        **dict(zip(("sx", "sy", "sz"), spin, strict=False)),
    )
    pc.real[6, n0 : n0 + n] = pc.xp.asarray(snap.weighting)
    return snap
