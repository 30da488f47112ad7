"""GET /v1/jobs/{id}/twiss: the Twiss table of a job's lattice from its stored spec, periodic or from
initial conditions given as query parameters, equal to the engine's own ``sim.lattice.twiss()``."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from beamtrack.engine import Simulation
from beamtrack.spec import load_spec

from .conftest import TOKENS, fodo_spec

pytestmark = pytest.mark.integration


def _close(a: Any, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_twiss_of_a_job_periodic_and_from_initial_conditions(server_factory: Any, rest: Any) -> None:
    server = server_factory()
    url = f"http://127.0.0.1:{server.http_port}/v1/jobs"
    h = {"Authorization": f"Bearer {TOKENS['alice']}"}
    spec = fodo_spec(npart=100)
    job = httpx.post(url, json={"spec": spec}, headers=h).json()  # no scheduler: it stays queued

    r = httpx.get(f"{url}/{job['id']}/twiss", headers=h, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = Simulation.from_spec(load_spec(spec), kind="serial").lattice.twiss()
    assert body["periodic"] is True and body["job_id"] == job["id"]
    assert body["columns"] == list(expected.columns)
    assert len(body["rows"]) == len(expected)
    assert _close(body["scalars"]["qx"], expected.qx) and _close(body["scalars"]["dqy"], expected.dqy)
    col = body["columns"].index("betx")
    for row, want in zip(body["rows"], expected["betx"], strict=True):
        assert _close(row[col], float(want))

    init = {"betx": 3.0, "alfx": 0.5, "bety": 2.0, "alfy": -0.25, "dx": 0.1}
    r = httpx.get(f"{url}/{job['id']}/twiss", params=init, headers=h, timeout=60)
    assert r.status_code == 200, r.text
    line = r.json()
    assert line["periodic"] is False
    first = dict(zip(line["columns"], line["rows"][0], strict=True))
    assert _close(first["betx"], 3.0) and _close(first["alfy"], -0.25) and _close(first["dx"], 0.1)
    last_betx = Simulation.from_spec(load_spec(spec), kind="serial").lattice.twiss(init)["betx"].iloc[-1]
    assert _close(line["rows"][-1][line["columns"].index("betx")], float(last_betx))

    r = httpx.get(f"{url}/{job['id']}/twiss", params={"betx": 3.0}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_ARGUMENT", r.text
    assert {d["loc"] for d in r.json()["error"]["details"]} == {"alfx", "bety", "alfy"}
    r = httpx.get(f"{url}/{job['id']}/twiss", params={"betx": -1, "alfx": 0, "bety": 1, "alfy": 0}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == "betx"

    other = httpx.get(f"{url}/{job['id']}/twiss", headers={"Authorization": f"Bearer {TOKENS['bob']}"})
    assert other.status_code == 404 and other.json()["error"]["code"] == "NOT_FOUND", other.text


def test_sdk_twiss_spec_and_plots_of_a_finished_job(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Any, capsys: Any
) -> None:
    """Through the SDK: the job's JobSpec and Twiss model (equal to the engine's table), and
    beamtrack.plot.job / ``beamtrack-client plot`` writing the three figures of a job that ran."""
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    from beamtrack import plot
    from beamtrack.client.cli import main

    server = server_factory(scheduler=True)
    c = rest(server)
    spec = fodo_spec(npart=500)
    job = c.submit(spec)
    done = c.wait(job.id, timeout=120)
    assert done.state == "succeeded", done.error
    assert c.spec(job.id) == load_spec(spec)
    tw = c.twiss(job.id).to_pandas()
    expected = Simulation.from_spec(load_spec(spec), kind="serial").lattice.twiss()
    assert list(tw.columns) == list(expected.columns) and _close(tw.attrs["qx"], expected.qx)
    assert any(a.name.startswith("diags/openPMD/") for a in c.artifacts(job.id))

    figs = plot.job(c, job.id, tmp_path / "figs")
    assert sorted(figs) == ["moments", "phase_space", "twiss"]
    for name in figs:
        png = tmp_path / "figs" / f"{name}.png"
        assert png.is_file() and png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG", name

    argv = ["--url", c.url, "--token", TOKENS["alice"], "plot", job.id, "--out", str(tmp_path / "cli")]
    assert main(argv) == 0
    assert (tmp_path / "cli" / "phase_space.png").is_file()
    assert main(["--url", c.url, "--token", TOKENS["alice"], "plot", "0" * 32, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: NOT_FOUND: ") and "\n" not in err
