"""REST route of a job's optics: GET /v1/jobs/{id}/twiss.

The Twiss functions of the job's lattice (one period, from its stored spec) for its reference
particle, computed by the engine's optics (``beamtrack.engine.optics.twiss``, xtrack's names and
conventions): periodic (closed orbit, tunes, chromaticity, momentum compaction) unless the initial
conditions of a transfer line are given as query parameters (betx, alfx, bety, alfy and optionally
dx, dpx, dy, dpy [m; 1]). The job need not have run: only its spec is read.
"""

# No "from __future__ import annotations": FastAPI resolves the route annotations, some of
# which (Caller) are local to the router factory.

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from beamtrack.spec import load_spec
from beamtrack.spec.contract import TwissPublic
from beamtrack.workers.errors import InvalidArgument
from fastapi import APIRouter, Depends, Query

from .service import JobService, Principal

#: Query parameters of a transfer line's initial conditions; the first four are required together.
INIT_FIELDS = ("betx", "alfx", "bety", "alfy", "dx", "dpx", "dy", "dpy")


def _json_value(v: Any) -> Any:
    if isinstance(v, bool | str) or v is None:
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return None
    return int(f) if isinstance(v, int) else f


def job_twiss(
    spec_json: str, init: dict[str, float] | None, at: str
) -> tuple[list[str], list[list[Any]], dict[str, Any]]:
    """Columns, rows and scalars of the Twiss table of a stored spec (runs the engine's optics)."""
    from beamtrack.engine import Simulation
    from beamtrack.engine.optics import UnstableMotionError, twiss

    sim = Simulation.from_spec(load_spec(spec_json), kind="serial")
    try:
        tw = twiss(sim.lattice, sim.reference, init, at=at)
    except UnstableMotionError as exc:
        raise InvalidArgument(
            f"no periodic solution: {exc}; give betx, alfx, bety, alfy for a transfer line",
            details=[{"loc": "query", "msg": str(exc)}],
        ) from None
    except ValueError as exc:
        raise InvalidArgument(f"twiss: {exc}", details=[{"loc": "query", "msg": str(exc)}]) from None
    columns = [str(c) for c in tw.columns]
    rows = [[_json_value(v) for v in row] for row in tw.itertuples(index=False, name=None)]
    scalars = {str(k): _json_value(v) for k, v in tw.attrs.items()}
    return columns, rows, scalars


def twiss_router(service: JobService, principal: Callable[..., Principal]) -> APIRouter:
    """The /v1/jobs/{id}/twiss route over ``service``."""
    Caller = Annotated[Principal, Depends(principal)]
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

    @router.get("/{job_id}/twiss", response_model=TwissPublic)
    def get_twiss(
        job_id: str,
        who: Caller,
        at: Annotated[Literal["element", "slice"], Query()] = "element",
        betx: Annotated[float | None, Query(gt=0, description="initial beta_x [m]")] = None,
        alfx: Annotated[float | None, Query(description="initial alpha_x [1]")] = None,
        bety: Annotated[float | None, Query(gt=0, description="initial beta_y [m]")] = None,
        alfy: Annotated[float | None, Query(description="initial alpha_y [1]")] = None,
        dx: Annotated[float | None, Query(description="initial D_x [m]")] = None,
        dpx: Annotated[float | None, Query(description="initial D'_x [1]")] = None,
        dy: Annotated[float | None, Query(description="initial D_y [m]")] = None,
        dpy: Annotated[float | None, Query(description="initial D'_y [1]")] = None,
    ) -> dict[str, Any]:
        rec = service.get(who, job_id)
        given = {
            k: v for k, v in zip(INIT_FIELDS, (betx, alfx, bety, alfy, dx, dpx, dy, dpy), strict=True) if v is not None
        }
        missing = [k for k in INIT_FIELDS[:4] if k not in given]
        if given and missing:
            raise InvalidArgument(
                f"initial conditions need {', '.join(missing)} too",
                details=[{"loc": k, "msg": "required with the other initial conditions"} for k in missing],
            )
        columns, rows, scalars = job_twiss(rec.spec, given or None, at)
        return {"job_id": job_id, "periodic": not given, "columns": columns, "rows": rows, "scalars": scalars}

    return router
