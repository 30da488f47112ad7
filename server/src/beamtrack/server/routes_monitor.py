"""Phase-space histograms of a job's BeamMonitor output, for browsers that cannot read HDF5.

``GET /v1/jobs/{id}/monitors`` lists the openPMD series a job wrote (one per BeamMonitor name,
an iteration per monitor pass, its ``time`` the reference s [m]); ``.../phase-space`` returns
weighted 2D histograms of one iteration's particles, computed here with openpmd-api + NumPy.
Series are read once the job has finished: a running worker still holds its HDF5 files open.
"""

# No "from __future__ import annotations": FastAPI resolves the route annotations, some of
# which (Caller) are local to the router factory.

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from beamtrack.workers.errors import Conflict, InvalidArgument, NotFound
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from .service import JobService, Principal

OPENPMD_DIR = "diags/openPMD"
SERIES_SUFFIXES = (".h5", ".json")
SERIES_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
SPECIES = "beam"
#: plane -> ((record, component), (record, component)) of its horizontal and vertical axes
PLANES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "x-px": (("position", "x"), ("momentum", "x")),
    "y-py": (("position", "y"), ("momentum", "y")),
    "t-pt": (("position", "t"), ("momentum", "t")),
    "x-y": (("position", "x"), ("position", "y")),
}
#: ImpactX's units: positions x, y [m], t [m] (c times the time delay), momenta [1] (normalized)
UNITS = {"position": "m", "momentum": "1"}
AXIS_NAMES = {
    ("position", "x"): "x",
    ("position", "y"): "y",
    ("position", "t"): "t",
    ("momentum", "x"): "px",
    ("momentum", "y"): "py",
    ("momentum", "t"): "pt",
}


class MonitorIteration(BaseModel):
    iteration: int = Field(description="the global tracking step of the write")
    s: float = Field(description="reference particle s [m]")


class MonitorSeries(BaseModel):
    name: str = Field(description="the BeamMonitor name (the series file without its suffix)")
    file: str = Field(description="artifact path of the series")
    iterations: list[MonitorIteration]


class Axis(BaseModel):
    name: str
    unit: str
    edges: list[float] = Field(description="bins + 1 bin edges")


class Histogram(BaseModel):
    x: Axis
    y: Axis
    counts: list[list[float]] = Field(description="weighted counts, counts[i][j]: x bin i, y bin j")


class PhaseSpace(BaseModel):
    job_id: str
    monitor: str
    iteration: int
    s: float = Field(description="reference particle s [m]")
    particles: int
    planes: dict[str, Histogram]


def _finished(service: JobService, who: Principal, job_id: str) -> Path:
    rec = service.get(who, job_id)
    if not rec.state.is_terminal():
        raise Conflict(f"job {job_id} is {rec.state.value}; its BeamMonitor output can be read once it has finished")
    return service.job_dir(job_id)


def _openpmd_lock() -> Any:
    """openpmd-api (HDF5) is not thread-safe and the routes run in a thread pool: one call at a
    time, under the engine's lock, which its writers hold too (a pack's files are written out in
    this process on first read, ``JobService.job_dir``)."""
    from beamtrack.engine.diagnostics.openpmd import IO_LOCK

    return IO_LOCK


def _series_files(root: Path) -> list[Path]:
    folder = root / OPENPMD_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SERIES_SUFFIXES)


def _open(path: Path) -> Any:
    import openpmd_api as io

    try:
        return io.Series(str(path), io.Access.read_only)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken artifact
        raise Conflict(f"{path.name}: not a readable openPMD series ({type(exc).__name__}: {exc})") from None


def _iterations(series: Any) -> list[dict[str, Any]]:
    return [{"iteration": int(i), "s": float(series.iterations[i].time)} for i in series.iterations]


def monitor_router(service: JobService, principal: Callable[..., Principal]) -> APIRouter:
    """The /v1/jobs/{id}/monitors routes; ``principal`` is the REST server's auth dependency."""
    router = APIRouter(prefix="/v1/jobs", tags=["monitors"])
    Caller = Annotated[Principal, Depends(principal)]

    @router.get("/{job_id}/monitors", response_model=list[MonitorSeries])
    def list_monitors(job_id: str, who: Caller) -> list[dict[str, Any]]:
        """The job's BeamMonitor series and their iterations (once the job has finished)."""
        root = _finished(service, who, job_id)
        out = []
        for path in _series_files(root):
            with _openpmd_lock():
                series = _open(path)
                try:
                    out.append(
                        {"name": path.stem, "file": str(path.relative_to(root)), "iterations": _iterations(series)}
                    )
                finally:
                    series.close()
        return out

    @router.get("/{job_id}/monitors/{monitor}/{iteration}/phase-space", response_model=PhaseSpace)
    def phase_space(
        job_id: str,
        monitor: str,
        iteration: int,
        who: Caller,
        bins: Annotated[int, Query(ge=4, le=512, description="bins per axis")] = 64,
        plane: Annotated[
            list[str] | None, Query(description="planes to compute (all by default): " + ", ".join(PLANES))
        ] = None,
    ) -> dict[str, Any]:
        """Weighted 2D histograms (x-px, y-py, t-pt, x-y) of one BeamMonitor write's particles."""
        planes = plane or list(PLANES)
        bad = [p for p in planes if p not in PLANES]
        if bad:
            msg = f"must be one of {', '.join(PLANES)}"
            raise InvalidArgument(f"plane: {msg}", details=[{"loc": "plane", "msg": msg}])
        root = _finished(service, who, job_id)
        if not SERIES_NAME.match(monitor):
            raise NotFound(f"monitor {monitor!r} of job {job_id} not found")
        paths = [p for p in _series_files(root) if p.stem == monitor]
        if not paths:
            raise NotFound(f"monitor {monitor!r} of job {job_id} not found")
        with _openpmd_lock():
            return _phase_space(_open(paths[0]), job_id, monitor, iteration, planes, bins)

    return router


def _phase_space(
    series: Any, job_id: str, monitor: str, iteration: int, planes: list[str], bins: int
) -> dict[str, Any]:
    """The phase-space route's answer from an open series (closed here)."""
    try:
        if iteration not in series.iterations:
            raise NotFound(f"iteration {iteration} of monitor {monitor!r} of job {job_id} not found")
        it = series.iterations[iteration]
        if SPECIES not in it.particles:
            raise NotFound(f"iteration {iteration} of monitor {monitor!r} holds no particles")
        beam = it.particles[SPECIES]
        wanted = {axis for p in planes for axis in PLANES[p]}
        chunks = {axis: beam[axis[0]][axis[1]].load_chunk() for axis in wanted}
        weights = beam["weighting"][_scalar()].load_chunk()
        series.flush()
        s = float(it.time)
    finally:
        series.close()
    arrays = {axis: np.asarray(chunk, dtype=np.float64) for axis, chunk in chunks.items()}
    w = np.asarray(weights, dtype=np.float64)
    return {
        "job_id": job_id,
        "monitor": monitor,
        "iteration": iteration,
        "s": s,
        "particles": int(w.size),
        "planes": {p: _histogram(arrays[PLANES[p][0]], arrays[PLANES[p][1]], w, PLANES[p], bins) for p in planes},
    }


def _scalar() -> str:
    """openpmd-api's name of a scalar record's only component."""
    import openpmd_api as io

    return str(io.Record_Component.SCALAR)


def _histogram(
    a: np.ndarray, b: np.ndarray, w: np.ndarray, axes: tuple[tuple[str, str], tuple[str, str]], bins: int
) -> dict[str, Any]:
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(w)
    a, b, w = a[ok], b[ok], w[ok]
    ranges = [_span(a), _span(b)]
    counts, xe, ye = np.histogram2d(a, b, bins=bins, range=ranges, weights=w)
    return {
        "x": {"name": AXIS_NAMES[axes[0]], "unit": UNITS[axes[0][0]], "edges": xe.tolist()},
        "y": {"name": AXIS_NAMES[axes[1]], "unit": UNITS[axes[1][0]], "edges": ye.tolist()},
        "counts": counts.tolist(),
    }


def _span(v: np.ndarray) -> tuple[float, float]:
    """The histogram range of ``v``: its extent, widened where all values coincide."""
    if v.size == 0:
        return (-1.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        pad = abs(lo) * 1e-6 or 1e-12
        return (lo - pad, hi + pad)
    return (lo, hi)
