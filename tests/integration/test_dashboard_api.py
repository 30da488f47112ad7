"""The routes the dashboard adds (spec validation, a job's submission, BeamMonitor phase space) and
the OpenAPI document and offline docs, against real Redis, Ray and uvicorn on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from .conftest import TOKENS, fodo_spec

pytestmark = pytest.mark.integration


@pytest.fixture
def http() -> Iterator[Callable[..., httpx.Client]]:
    """``http(server, user)`` -> an httpx.Client on the server, as ``user`` (None: no token); closed at the end."""
    made: list[httpx.Client] = []

    def make(server: Any, user: str | None = "alice") -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKENS[user]}"} if user else {}
        made.append(httpx.Client(base_url=f"http://127.0.0.1:{server.http_port}", headers=headers, timeout=30))
        return made[-1]

    yield make
    for h in made:
        h.close()


def _error(r: httpx.Response, status: int, code: str) -> list[dict[str, str]]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return list(body["error"]["details"])


def test_validate_checks_without_queueing(server_factory: Any, http: Callable[..., httpx.Client]) -> None:
    server = server_factory()
    h = http(server)
    ok = h.post("/v1/specs/validate", json={"spec": fodo_spec(npart=100)})
    assert ok.status_code == 200, ok.text
    assert ok.json()["valid"] is True and ok.json()["spec"]["beam"]["npart"] == 100
    assert ok.json()["spec"]["lattice"]["periods"] == 1  # defaults filled in
    bad = fodo_spec()
    bad["beam"]["npart"] = -5
    bad["lattice"]["elements"][1]["ds"] = "long"
    details = _error(h.post("/v1/specs/validate", json={"spec": bad}), 422, "INVALID_ARGUMENT")
    assert {d["loc"] for d in details} == {"spec.beam.npart", "spec.lattice.elements[1].ds"}
    details = _error(
        h.post("/v1/specs/validate", json={"spec": fodo_spec(), "priority": 5000}), 422, "INVALID_ARGUMENT"
    )
    assert [d["loc"] for d in details] == ["priority"]
    details = _error(
        h.post("/v1/specs/validate", json={"spec": fodo_spec(), "hook_module": "x = 1\n"}), 422, "INVALID_ARGUMENT"
    )
    assert [d["loc"] for d in details] == ["hook_module"]
    r = http(server, None).post("/v1/specs/validate", json={"spec": fodo_spec()})
    _error(r, 401, "UNAUTHENTICATED")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert h.get("/v1/jobs").json()["items"] == []


def test_job_spec_is_the_submission_and_private(server_factory: Any, http: Callable[..., httpx.Client]) -> None:
    server = server_factory()
    alice = http(server)
    job = alice.post("/v1/jobs", json={"spec": fodo_spec(npart=123), "priority": 7, "device": "serial"}).json()
    got = alice.get(f"/v1/jobs/{job['id']}/spec").json()
    assert got["priority"] == 7 and got["device"] == "serial" and got["hook_module"] is None
    assert got["spec"]["beam"]["npart"] == 123
    _error(http(server, "bob").get(f"/v1/jobs/{job['id']}/spec"), 404, "NOT_FOUND")
    assert http(server, "admin").get(f"/v1/jobs/{job['id']}/spec").status_code == 200
    again = alice.post("/v1/jobs", json=got)
    assert again.status_code == 201, again.text
    # the monitors of a job that has not finished cannot be read yet
    _error(alice.get(f"/v1/jobs/{job['id']}/monitors"), 409, "FAILED_PRECONDITION")


def test_phase_space_of_each_monitor_pass(
    ray_local: None, server_factory: Any, rest: Any, http: Callable[..., httpx.Client]
) -> None:
    import openpmd_api as io

    server = server_factory(scheduler=True)
    h = http(server)
    job = h.post("/v1/jobs", json={"spec": fodo_spec(npart=500)}).json()
    assert rest(server).wait(job["id"], timeout=180)["state"] == "succeeded"
    monitors = h.get(f"/v1/jobs/{job['id']}/monitors").json()
    assert [m["name"] for m in monitors] == ["monitor"]
    its = monitors[0]["iterations"]
    assert len(its) == 6 and [i["s"] for i in its] == sorted(i["s"] for i in its)
    it = its[2]
    r = h.get(f"/v1/jobs/{job['id']}/monitors/monitor/{it['iteration']}/phase-space", params={"bins": 16})
    assert r.status_code == 200, r.text
    ps = r.json()
    assert ps["particles"] == 500 and ps["s"] == it["s"]
    assert sorted(ps["planes"]) == ["t-pt", "x-px", "x-y", "y-py"]
    # against the series read here: same particles, same weights
    series = io.Series(str(server.settings.artifacts / job["id"] / monitors[0]["file"]), io.Access.read_only)
    beam = series.iterations[it["iteration"]].particles["beam"]
    x, px = beam["position"]["x"].load_chunk(), beam["momentum"]["x"].load_chunk()
    w = beam["weighting"][io.Record_Component.SCALAR].load_chunk()
    series.flush()
    series.close()
    hx = ps["planes"]["x-px"]
    want, _, _ = np.histogram2d(x, px, bins=[hx["x"]["edges"], hx["y"]["edges"]], weights=w)
    assert np.allclose(np.array(hx["counts"]), want)
    assert hx["x"]["edges"][0] == pytest.approx(float(np.min(x)))
    assert (hx["x"]["name"], hx["x"]["unit"], hx["y"]["name"], hx["y"]["unit"]) == ("x", "m", "px", "1")
    only = h.get(f"/v1/jobs/{job['id']}/monitors/monitor/{it['iteration']}/phase-space", params={"plane": "x-y"})
    assert list(only.json()["planes"]) == ["x-y"]
    url = f"/v1/jobs/{job['id']}/monitors"
    assert (
        _error(h.get(f"{url}/monitor/{it['iteration']}/phase-space", params={"plane": "x-z"}), 422, "INVALID_ARGUMENT")[
            0
        ]["loc"]
        == "plane"
    )
    _error(h.get(f"{url}/monitor/999999/phase-space"), 404, "NOT_FOUND")
    _error(h.get(f"{url}/other/{it['iteration']}/phase-space"), 404, "NOT_FOUND")
    _error(h.get(f"{url}/..%2F..%2Fetc/1/phase-space"), 404, "NOT_FOUND")
    _error(http(server, "bob").get(url), 404, "NOT_FOUND")


def test_openapi_declares_bearer_and_the_error_body(server_factory: Any, http: Callable[..., httpx.Client]) -> None:
    server = server_factory()
    anon = http(server, None)
    doc = anon.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorBody"]["properties"]) == {"error"}
    assert schemas["SubmitJob"]["properties"]["spec"]["$ref"] == "#/components/schemas/JobSpec"
    assert "lattice" in schemas["JobSpec"]["properties"]
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    v1 = [(p, m, op) for p, m, op in ops if p.startswith("/v1/")]
    assert len(v1) >= 10
    for path, method, op in v1:
        assert op["security"] == [{"bearerAuth": []}], (path, method)
        assert not any(p["name"].lower() == "authorization" for p in op.get("parameters", [])), (path, method)
        for code in ("401", "422"):
            ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorBody", (path, method, code)
    assert "409" in doc["paths"]["/v1/jobs/{job_id}"]["delete"]["responses"]
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_dashboard_and_docs_are_served_without_a_cdn(server_factory: Any, http: Callable[..., httpx.Client]) -> None:
    server = server_factory()
    anon = http(server, None)
    page = anon.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for a in assets:
        assert anon.get(a).status_code == 200, a
    docs = anon.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", docs.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for u in urls:
        assert anon.get(u).status_code == 200, u
    _error(anon.get("/assets/missing.js"), 404, "NOT_FOUND")
