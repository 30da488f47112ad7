"""``workers: K`` through the whole service (real Redis, local Ray, REST): one job's beam split across K
Ray actors gives the single-worker job's diagnostics rows, with and without 3D space charge, and one
openPMD series; a killed share actor makes the job retry without repeated rows."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import fodo_spec, wait_for
from .test_service_jobs import read_reduced

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "cases"


def sc_spec(npart: int, workers: int) -> dict[str, Any]:
    spec = json.loads((CASES / "expanding_beam_3D_fft.json").read_text())["spec"]
    spec["beam"]["npart"] = npart
    spec["workers"] = workers
    return spec


def scale(row: dict[str, Any], key: str) -> float:
    """Round-off is measured against the beam size for means and extrema, 1 for alpha, sigma_q / sigma_pt
    for dispersions, the value itself otherwise."""
    for prefix in ("mean_", "min_", "max_"):
        if key.startswith(prefix):
            return abs(row[f"sigma_{key[len(prefix) :]}"])
    if key.startswith("alpha_"):
        return 1.0
    if key.startswith("dispersion_"):
        return abs(row[f"sigma_{key[len('dispersion_') :]}"] / row["sigma_pt"])
    return 0.0


def worst(rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]]) -> float:
    assert len(rows_a) == len(rows_b) > 1
    out = 0.0
    for a, b in zip(rows_a, rows_b, strict=True):
        assert a["step"] == b["step"] and a.keys() == b.keys()
        for k, x in a.items():
            y = b[k]
            if x is None or y is None:
                assert x is None and y is None, k
            elif x != y:
                out = max(out, abs(x - y) / (abs(x) + scale(a, k)))
    return out


def run(c: Any, spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    job = c.submit(spec)
    final = c.wait(job["id"], timeout=180)
    assert final["state"] == "succeeded", final
    return final, c.diagnostics(job["id"])


def test_two_workers_equal_one_through_the_service(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Path
) -> None:
    import openpmd_api as io

    c = rest(server_factory(scheduler=True))
    _, one = run(c, fodo_spec(npart=3001, name="fodo1"))
    two_job, two = run(c, {**fodo_spec(npart=3001, name="fodo2"), "workers": 2})
    assert worst(one, two) < 1e-12
    events = list(c.events(two_job["id"]))
    logs = " ".join(e.data.get("msg", "") for e in events if e.kind == "log")
    assert "2 shares of 3001 particles" in logs and "share 1 on" in logs
    _, one_sc = run(c, sc_spec(4000, 1))
    two_sc_job, two_sc = run(c, sc_spec(4000, 2))
    assert len(one_sc) == 2 and worst(one_sc, two_sc) < 1e-10
    assert two_sc[-1]["sigma_x"] > 1.5 * two_sc[0]["sigma_x"]  # the space charge acted
    # the BeamMonitor output is one series holding the whole beam
    c.download(two_sc_job["id"], tmp_path / "two")
    series = io.Series(str(tmp_path / "two" / "diags" / "openPMD" / "monitor.h5"), io.Access.read_only)
    its = sorted(series.iterations)
    assert len(its) == 2
    ids = series.iterations[its[-1]].particles["beam"]["id"][io.Record_Component.SCALAR].load_chunk()
    series.flush()
    assert np.array_equal(np.asarray(ids), np.arange(1, 4001))
    del series


def test_killed_share_actor_retries_without_repeated_rows(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Path
) -> None:
    server = server_factory(scheduler=True, max_attempts=3)
    c = rest(server)
    job = c.submit({**fodo_spec(npart=20000, periods=6, name="fodo_k2"), "workers": 2})

    def share_pid() -> int | None:
        rec = server.store.get(job["id"])
        if rec.diag_count == 0:
            return None
        for e in c.events(job["id"]):
            m = re.search(r"share 1 on [^,\s]+:(\d+)", e.data.get("msg", "")) if e.kind == "log" else None
            if m:
                return int(m.group(1))
        return None

    os.kill(wait_for(share_pid, what="share actor running"), signal.SIGKILL)
    final = c.wait(job["id"], timeout=180)
    assert final["state"] == "succeeded" and final["attempts"] == 2, final
    events = list(c.events(job["id"]))
    assert any("worker lost" in e.data.get("reason", "") for e in events if e.kind == "state")
    steps = [e.data["step"] for e in events if e.kind == "diag"]
    c.download(job["id"], tmp_path / "out")
    on_disk = read_reduced(tmp_path / "out" / "diags" / "reduced_beam_characteristics.0")
    assert steps == [int(r["step"]) for r in on_disk] and len(set(steps)) == len(steps)


def test_cancel_stops_every_share_too_many_and_hooks_refused(ray_local: None, server_factory: Any, rest: Any) -> None:
    server = server_factory(scheduler=True)
    c = rest(server)
    with pytest.raises(Exception, match="workers > 1 cannot have a hook module"):
        c.submit({**fodo_spec(npart=100), "workers": 2}, hook_module="def after_period(sim):\n    pass\n")
    # more shares than the cluster has CPUs for (2 here): failed with the reason, not left waiting
    big = c.wait(c.submit({**fodo_spec(npart=100, name="big"), "workers": 3})["id"], timeout=30)
    assert big["state"] == "failed" and "workers: 3 needs 3 CPUs" in big["error"], big
    job = c.submit({**fodo_spec(npart=20000, periods=200, name="fodo_cancel"), "workers": 2})
    wait_for(lambda: server.store.get(job["id"]).diag_count > 3, what="job running")
    c.cancel(job["id"])
    final = c.wait(job["id"], timeout=60)
    assert final["state"] == "cancelled" and final["attempts"] == 1, final
    steps = [e.data["step"] for e in c.events(job["id"]) if e.kind == "diag"]
    assert steps == sorted(set(steps)) and steps[-1] < final["progress"]["total_steps"]
    # the job's actors are gone: the cluster's CPUs are free for the next job
    assert run(c, {**fodo_spec(npart=1000, name="after"), "workers": 2})[0]["state"] == "succeeded"
