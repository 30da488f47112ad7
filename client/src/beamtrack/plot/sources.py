"""What the figures read: reduced beam characteristics, BeamMonitor particles and Twiss tables,
from a run (DataFrames, a beam), from files (ImpactX's reduced-diagnostics text file, an openPMD
series) or from a job through the service (the SDK's row dicts and Twiss model).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from beamtrack.spec.diag_files import REDUCED_FILE, diag_file

#: a lock of this module's own, for processes without the engine's openPMD writers
_LOCAL_IO_LOCK = threading.RLock()


def _io_lock() -> AbstractContextManager[Any]:
    """openpmd-api is not thread-safe: when the engine's BeamMonitor writers are loaded in this
    process they may be writing from another thread, and their lock is the one to hold."""
    engine = sys.modules.get("beamtrack.engine.diagnostics.openpmd")
    lock = getattr(engine, "IO_LOCK", None)
    return lock if lock is not None else _LOCAL_IO_LOCK


def read_reduced(path: str | os.PathLike[str]) -> pd.DataFrame:
    """An ImpactX reduced_beam_characteristics file (or a directory ``diags/`` holding one: ``.0``, or an
    older beamtrack's ``.0.0``) as a DataFrame."""
    p = Path(path)
    if p.is_dir():
        p = diag_file(p, REDUCED_FILE)
    return pd.read_csv(p, sep=r"\s+")


def reduced_frame(reduced: Any) -> pd.DataFrame:
    """Reduced beam characteristics as a DataFrame of ImpactX's columns, from a DataFrame, a list of
    row dicts (``Client.diagnostics``, ``Simulation.diagnostics_listeners``) or a file / diags directory."""
    if isinstance(reduced, pd.DataFrame):
        return reduced
    if isinstance(reduced, (str, os.PathLike)):
        return read_reduced(reduced)
    rows = list(reduced)
    if not rows:
        raise ValueError("no reduced diagnostics rows to plot")
    return pd.DataFrame(rows)


def read_monitor(path: str | os.PathLike[str], iteration: int | None = None) -> pd.DataFrame:
    """Particles of one iteration (default: the last) of a BeamMonitor openPMD series, as a DataFrame
    with ImpactX's columns position_x/y/t [m], momentum_x/y/t [1], weighting, id."""
    import openpmd_api as io

    with _io_lock():
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


def particles_frame(source: Any, iteration: int | None = None) -> pd.DataFrame:
    """Particles with ImpactX's columns from a DataFrame, an openPMD series path (``iteration``:
    default the last), a beam (anything with ``to_df()``, e.g. a ParticleContainer) or a Simulation
    (its ``beam``)."""
    if isinstance(source, (str, os.PathLike)):
        return read_monitor(source, iteration)
    if isinstance(source, pd.DataFrame):
        return source
    beam = getattr(source, "beam", source)
    if callable(getattr(beam, "to_df", None)):
        return beam.to_df()
    raise TypeError(f"no particles in a {type(source).__name__}: give a beam, a DataFrame or an openPMD series")


def twiss_frame(tw: Any) -> pd.DataFrame:
    """A Twiss table as a DataFrame with its scalars (qx, dqx, ...) in ``attrs``: a TwissTable or
    DataFrame as it is, or a job's Twiss from the service (the SDK's model or its JSON dict with
    columns, rows, scalars)."""
    if isinstance(tw, pd.DataFrame):
        return tw
    if callable(getattr(tw, "to_pandas", None)):  # the SDK's Twiss model
        df: pd.DataFrame = tw.to_pandas()
        return df
    data = tw if isinstance(tw, Mapping) else tw.model_dump() if hasattr(tw, "model_dump") else None
    if data is None or not {"columns", "rows"} <= set(data):
        raise TypeError(f"not a Twiss table: {type(tw).__name__}")
    df = pd.DataFrame(data["rows"], columns=data["columns"])
    num = [c for c in df.columns if c not in ("name", "element_type")]
    df[num] = df[num].astype(float)  # null (non-finite) entries become NaN
    df.attrs.update({k: (np.nan if v is None else v) for k, v in (data.get("scalars") or {}).items()})
    return df
