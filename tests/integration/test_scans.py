"""Parameter scans against a real redis-server, local Ray and uvicorn on 127.0.0.1: a scan end to
end with its table (JSON, CSV, Parquet, pandas), the result cache, cancel mid-way, and bad scans
refused with field paths and nothing queued."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from beamtrack.client import ApiError, to_pandas

from .conftest import fodo_spec, wait_for

pytestmark = pytest.mark.integration

K = "lattice.elements[name=quad1].k"
Q = "beam.bunch_charge_C"


def small_base(npart: int = 500, periods: int = 1) -> dict[str, Any]:
    spec = fodo_spec(npart=npart, periods=periods, name="scanbase")
    spec["diagnostics"]["slice_step_diagnostics"] = False
    return spec


def test_scan_end_to_end_table_and_cache(ray_local: None, server_factory: Any, rest: Any) -> None:
    server = server_factory(scheduler=True)
    c = rest(server)
    scan = c.scan(
        small_base(),
        {K: [0.8, 1.0, 1.2], Q: [1e-9, 2e-9]},
        mode="grid",
        priority=3,
        columns=["s", "sigma_x", "emittance_x"],
    )
    assert scan["variants"] == 6 and scan["parameters"] == [K, Q] and scan["priority"] == 3
    done = c.wait_scan(scan["id"], timeout=120)
    assert done["state"] == "succeeded" and done["counts"]["succeeded"] == 6
    table = c.scan_results(scan["id"])
    columns = ["variant", "job_id", "state", "attempts", "cached_from", K, Q, "s", "sigma_x", "emittance_x"]
    assert table["columns"] == columns
    rows = table["rows"]
    assert [r["variant"] for r in rows] == list(range(6))
    assert [(r[K], r[Q]) for r in rows] == [(k, q) for k in (0.8, 1.0, 1.2) for q in (1e-9, 2e-9)]
    assert all(r["state"] == "succeeded" and r["cached_from"] is None and r["attempts"] == 1 for r in rows)
    # the last row of each job's diagnostics, and the focusing changes the beam
    for r in rows:
        assert r["sigma_x"] == c.diagnostics(r["job_id"])[-1]["sigma_x"]
    assert len({round(r["sigma_x"], 12) for r in rows[::2]}) == 3
    job = c.get(rows[4]["job_id"])
    assert job["scan_id"] == scan["id"] and job["variant"] == 4 and job["values"] == {K: 1.2, Q: 1e-9}
    assert job["priority"] == 3 and job["name"] == "scanbase-4"
    parsed = list(csv.DictReader(io.StringIO(c.scan_results_file(scan["id"], "csv").decode())))
    assert [float(p["sigma_x"]) for p in parsed] == [r["sigma_x"] for r in rows]
    pqt = pq.read_table(io.BytesIO(c.scan_results_file(scan["id"], "parquet")))
    assert pqt.column_names == table["columns"] and pqt.column("sigma_x").to_pylist() == [r["sigma_x"] for r in rows]
    df = to_pandas(table)
    assert df.shape == (6, 10) and list(df[K]) == [0.8, 0.8, 1.0, 1.0, 1.2, 1.2]

    # the same scan again: every variant from the cache, nothing runs, the table is the same
    again = c.scan(small_base(), {K: [0.8, 1.0, 1.2], Q: [1e-9, 2e-9]}, columns=["s", "sigma_x", "emittance_x"])
    assert again["state"] == "succeeded" and again["counts"]["succeeded"] == 6
    rows2 = c.scan_results(again["id"])["rows"]
    assert [r["cached_from"] for r in rows2] == [r["job_id"] for r in rows]
    assert [r["sigma_x"] for r in rows2] == [r["sigma_x"] for r in rows]
    cached = c.get(rows2[0]["job_id"])
    assert cached["attempts"] == 0 and cached["result"]["cached_from"] == rows[0]["job_id"]
    assert c.diagnostics(cached["id"]) == c.diagnostics(rows[0]["job_id"])
    assert c.artifacts(cached["id"]) == c.artifacts(rows[0]["job_id"])
    # a single job identical to a variant (another name) is a cache hit too; use_cache=False reruns
    variant = small_base()
    variant["name"] = "lone"
    variant["lattice"]["elements"][3]["k"] = 1.0
    variant["lattice"]["elements"][7]["k"] = -1.0
    variant["beam"]["bunch_charge_C"] = 2e-9
    lone = c.submit(variant)
    assert lone["state"] == "succeeded" and lone["cached_from"] == rows[3]["job_id"]
    fresh = c.scan(small_base(), {K: [0.8]}, use_cache=False)
    assert fresh["counts"]["queued"] + fresh["counts"]["running"] + fresh["counts"]["succeeded"] == 1
    fresh_row = c.scan_results(c.wait_scan(fresh["id"], timeout=60)["id"])["rows"][0]
    assert fresh_row["cached_from"] is None and fresh_row["job_id"] != rows[0]["job_id"]
    assert [s["id"] for s in c.list_scans()[0]] == [fresh["id"], again["id"], scan["id"]]


def test_cancel_scan_midway_keeps_finished_results(ray_local: None, server_factory: Any, rest: Any) -> None:
    # one job per variant (pack_size=1): "nothing queued ever ran" is about the queue
    server = server_factory(scheduler=True, max_running=1, pack_size=1)
    c = rest(server)
    scan = c.scan(small_base(npart=5000, periods=3), {"beam.seed": list(range(1, 7))}, mode="grid")
    wait_for(lambda: c.get_scan(scan["id"])["counts"]["succeeded"] >= 1, timeout=90, what="a variant done")
    at_cancel = c.cancel_scan(scan["id"])
    assert at_cancel["cancel_requested"]
    done_before = at_cancel["counts"]["succeeded"]
    final = wait_for(
        lambda: (s := c.get_scan(scan["id"]))["state"] == "cancelled" and s, timeout=60, what="scan cancelled"
    )
    counts = final["counts"]
    assert counts["queued"] == counts["running"] == counts["failed"] == 0
    # at most the one variant running at the cancel could still finish; nothing queued ever ran
    assert done_before <= counts["succeeded"] <= done_before + 1
    assert counts["succeeded"] + counts["cancelled"] == 6 and counts["cancelled"] >= 6 - done_before - 1
    rows = c.scan_results(scan["id"])["rows"]
    for r in rows:
        job = c.get(r["job_id"])
        if r["state"] == "succeeded":
            assert r["sigma_x"] is not None and c.diagnostics(r["job_id"])
        else:
            assert r["sigma_x"] is None and job["state"] == "cancelled"
    never_ran = [r for r in rows if c.get(r["job_id"])["attempts"] == 0]
    assert len(never_ran) >= 6 - done_before - 1
    with pytest.raises(ApiError) as e:
        c.get_scan("0" * 32)
    assert e.value.status == 404


def test_bad_scans_refused_with_field_paths(server_factory: Any, rest: Any) -> None:
    server = server_factory(max_scan_variants=8, job_memory_mb=512)
    c = rest(server)

    def refused(*args: Any, **kw: Any) -> list[dict[str, str]]:
        with pytest.raises(ApiError) as e:
            c.scan(*args, **kw)
        assert e.value.status == 422 and e.value.code == "INVALID_ARGUMENT"
        return e.value.details

    assert refused(small_base(), {"beam.npart": [10, -1, 20]})[0] == {
        "loc": "scan.variants[1].beam.npart",
        "msg": "Input should be greater than or equal to 0",
    }
    assert refused(small_base(), {K: ["strong"]})[0]["loc"] == "scan.variants[0].lattice.elements[3].k"
    assert refused(small_base(), {"lattice.elements[name=q9].k": [1.0]})[0] == {
        "loc": "scan.parameters.lattice.elements[name=q9].k",
        "msg": "lattice.elements has no element named 'q9'",
    }
    assert refused(small_base(), {"beam.seed": list(range(9))})[0]["loc"] == "scan"
    assert refused(small_base(), {"beam.seed": {"low": 0, "high": 3}}, mode="lhs")[0]["loc"] == "scan.samples"
    bad_base = small_base()
    bad_base["reference"]["kin_energy_MeV"] = 0
    assert refused(bad_base, {"beam.seed": [1]})[0]["loc"] == "scan.base.reference.kin_energy_MeV"
    # a variant over the per-job memory limit names its variant and the field driving the cost
    over = refused(small_base(), {"beam.npart": [100, 50_000_000]})
    assert over[0]["loc"] == "scan.variants[1].beam.npart" and "BEAMTRACK_JOB_MEMORY_MB" in over[0]["msg"]
    # nothing was queued by any refused scan
    assert list(c.iter_jobs()) == [] and c.list_scans() == ([], None)
    assert server.store.counts()["queued"] == 0


def test_cli_scan_file_status_cancel(server_factory: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from beamtrack.client import cli

    from .conftest import ROOT, TOKENS

    server = server_factory()
    conn = ["--url", f"http://127.0.0.1:{server.http_port}", "--token", TOKENS["alice"]]
    assert cli.main([*conn, "scan", str(ROOT / "examples" / "scan_fodo.yaml"), "--priority", "2"]) == 0
    scan_id = capsys.readouterr().out.strip()
    assert cli.main([*conn, "scan-status", scan_id]) == 0
    assert "queued" in capsys.readouterr().out
    assert cli.main([*conn, "scan-cancel", scan_id]) == 0
    out = capsys.readouterr().out
    assert " cancelled " in out and "6 variants: 0 queued, 0 running, 0 succeeded, 0 failed, 6 cancelled" in out
    assert cli.main([*conn, "scan-results", scan_id, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "variant,job_id,state,attempts,cached_from,lattice.elements[name=quad1].k,beam.bunch_charge_C"
    )
    assert len(lines) == 7 and all(",cancelled," in line for line in lines[1:])


def test_scan_event_stream(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GET /v1/scans/{id}/events: the submit, each variant's state changes in order (running, then
    succeeded, one try each), then the result with the counts; resumable after any event id; a
    scan served from the cache streams its submit and result only."""
    server = server_factory(scheduler=True)
    c = rest(server)
    scan = c.scan(small_base(npart=200), {K: [0.9, 1.1]})
    events = list(c.scan_events(scan["id"]))
    assert events[0].kind == "state" and events[0].data == {"state": "queued", "variants": 2}
    assert events[-1].kind == "result"
    assert events[-1].data == {
        "state": "succeeded",
        "counts": {"queued": 0, "running": 0, "succeeded": 2, "failed": 0, "cancelled": 0},
    }
    changes = [e.data for e in events if e.kind == "variant"]
    for v in (0, 1):
        mine = [(d["state"], d["attempts"]) for d in changes if d["variant"] == v]
        assert mine == [("running", 1), ("succeeded", 1)], changes
    job_ids = {d["job_id"] for d in changes}
    assert job_ids == {r["job_id"] for r in c.scan_results(scan["id"])["rows"]}
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [e.id for e in c.scan_events(scan["id"], after=ids[1])] == ids[2:]  # resumed exactly
    again = c.scan(small_base(npart=200), {K: [0.9, 1.1]})
    assert [(e.kind, e.data["state"]) for e in c.scan_events(again["id"])] == [
        ("state", "queued"),
        ("result", "succeeded"),
    ]
    with pytest.raises(ApiError) as e:
        list(c.scan_events("0" * 32))
    assert e.value.status == 404
    # the CLI's --watch follows the same stream to the end, then prints the table
    from beamtrack.client import cli

    from .conftest import TOKENS

    scan_file = tmp_path / "scan.json"
    scan_file.write_text(json.dumps({"base": small_base(npart=200), "parameters": {K: [0.95]}}))
    conn = ["--url", f"http://127.0.0.1:{server.http_port}", "--token", TOKENS["alice"]]
    assert cli.main([*conn, "scan", str(scan_file), "--watch"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "1 variants: 0 queued, 0 running, 1 succeeded" in printed[-3] and printed[-2].startswith("variant,job_id")


def test_scans_over_grpc(ray_local: None, server_factory: Any, grpc_client: Any) -> None:
    """SubmitScan, StreamScanEvents, GetScan, GetScanResults, ListScans, CancelScan on the gRPC
    JobService: the same scan, events and table as REST gives; a bad value refused with
    INVALID_ARGUMENT naming the variant and field; another user's scan NOT_FOUND."""
    import grpc
    from beamtrack.spec.v1 import jobs_pb2 as pb

    server = server_factory(scheduler=True)
    g = grpc_client(server)
    scan = g.submit_scan({"base": small_base(npart=200), "parameters": {K: [0.9, 1.1]}}, priority=2)
    assert scan.variants == 2 and list(scan.parameters) == [K] and scan.priority == 2
    events = list(g.scan_events(scan.id))
    assert events[0].WhichOneof("payload") == "submitted" and events[0].submitted.variants == 2
    changes = [e.variant for e in events if e.HasField("variant")]
    assert sorted((c.variant, c.state, c.attempts) for c in changes) == [
        (0, pb.JOB_STATE_RUNNING, 1),
        (0, pb.JOB_STATE_SUCCEEDED, 1),
        (1, pb.JOB_STATE_RUNNING, 1),
        (1, pb.JOB_STATE_SUCCEEDED, 1),
    ]
    assert events[-1].result.state == pb.JOB_STATE_SUCCEEDED and events[-1].result.counts.succeeded == 2
    done = g.get_scan(scan.id)
    assert done.state == pb.JOB_STATE_SUCCEEDED and done.counts.succeeded == 2
    table = g.scan_results(scan.id)
    assert table["columns"][:6] == ["variant", "job_id", "state", "attempts", "cached_from", K]
    assert [(r["variant"], r[K], r["attempts"]) for r in table["rows"]] == [(0, 0.9, 1), (1, 1.1, 1)]
    assert {c.job_id for c in changes} == {r["job_id"] for r in table["rows"]}
    scans, nxt = g.list_scans()
    assert [s.id for s in scans] == [scan.id] and nxt is None
    cancelled = g.cancel_scan(scan.id)  # nothing left to stop: the finished results stay
    assert cancelled.cancel_requested and cancelled.counts.succeeded == 2
    with pytest.raises(grpc.RpcError) as e:
        g.submit_scan({"base": small_base(), "parameters": {"beam.npart": [10, -1]}})
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "scan.variants[1].beam.npart" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        grpc_client(server, "bob").get_scan(scan.id)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
