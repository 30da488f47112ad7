"""Packed execution over the service (real redis-server, local Ray, uvicorn on 127.0.0.1): a scan's
variants that share their lattice structure run in one worker and publish, each as its own job,
the rows an unpacked run of that variant gives; variants of another structure run in their own
pack; a killed pack worker is retried without a duplicate row."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest
import redis
from beamtrack.engine import Simulation
from beamtrack.spec import load_spec
from beamtrack.workers.runner import _clean_row

from .conftest import fodo_spec, wait_for

pytestmark = pytest.mark.integration

K = "lattice.elements[name=quad1].k"
NSLICE = "lattice.elements[name=drift2].nslice"


def alone_rows(text: str, tmp: Any) -> list[dict[str, Any]]:
    """The diagnostics rows of the variant tracked alone in this process, as the service sends them."""
    sim = Simulation.from_spec(load_spec(text), tmp, kind="serial")
    rows: list[dict[str, Any]] = []
    sim.diagnostics_listeners.append(lambda r: rows.append(_clean_row(r)))
    sim.track_particles()
    sim.finalize()
    return rows


def files_under(root: Any) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def series_records(path: Any) -> dict[str, Any]:
    """Every iteration's species attributes and record values of an openPMD series (as lists)."""
    import openpmd_api as io

    series = io.Series(str(path), io.Access.read_only)
    out: dict[str, Any] = {}
    for i in series.iterations:
        beam = series.iterations[i].particles["beam"]
        attrs = {k: beam.get_attribute(k) for k in beam.attributes}
        chunks = {(rn, cn): rc.load_chunk() for rn, rec in beam.items() for cn, rc in rec.items()}
        series.flush()
        out[str(i)] = (attrs, {f"{rn}/{cn}": data.tolist() for (rn, cn), data in chunks.items()})
    series.close()
    return out


def spec_json(c: Any, job_id: str) -> str:
    """The variant's JobSpec as the service stored it (GET /v1/jobs/{id}/spec)."""
    return json.dumps(c._json("GET", f"/v1/jobs/{job_id}/spec")["spec"])


def started_logs(c: Any, job_id: str) -> list[str]:
    """The job's 'attempt N started on host:pid ...' log lines."""
    return [e.data["msg"] for e in c.events(job_id) if e.kind == "log" and " started on " in e.data["msg"]]


def worker_of(msg: str) -> str:
    return msg.split(" started on ", 1)[1].split(" ", 1)[0]


def packs_of(c: Any, job_ids: list[str]) -> dict[str, list[str]]:
    """Job ids by the worker (host:pid) their last attempt ran in."""
    out: dict[str, list[str]] = {}
    for job_id in job_ids:
        out.setdefault(worker_of(started_logs(c, job_id)[-1]), []).append(job_id)
    return out


def test_packed_scan_rows_equal_unpacked(
    ray_local: None, server_factory: Any, rest: Any, grpc_client: Any, redis_server: Any, tmp_path: Any
) -> None:
    server = server_factory(scheduler=True, pack_size=8, result_cache=False)
    c, g = rest(server), grpc_client(server)
    r_raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    base = fodo_spec(npart=300, periods=1, name="packbase")  # BeamMonitors and slice diagnostics on
    scan = c.scan(base, {K: [0.9, 1.0, 1.1], NSLICE: [25, 20]}, mode="grid", device="serial")
    done = c.wait_scan(scan["id"], timeout=180)
    assert done["state"] == "succeeded" and done["counts"]["succeeded"] == 6
    rows = c.scan_results(scan["id"])["rows"]
    ids = [r["job_id"] for r in rows]
    # two structures (drift2's nslice), so two packs of three, each in one worker
    groups = sorted(sorted(c.get(j)["variant"] for j in g) for g in packs_of(c, ids).values())
    assert groups == [[0, 2, 4], [1, 3, 5]]
    for r in rows:
        job = c.get(r["job_id"])
        log = started_logs(c, r["job_id"])
        assert len(log) == 1 and log[0].endswith("in a pack of 3 variants"), log
        got = c.diagnostics(r["job_id"])
        want = alone_rows(spec_json(c, r["job_id"]), tmp_path / r["job_id"])
        assert got == want  # every row of every variant, exactly
        # published as compact rows (diag_rows: values only), read back as those rows by every
        # reader: the job's SSE stream (the servers' async store), gRPC's, the scan table's last row
        entries = r_raw.xrange(f"{server.settings.key_prefix}:stream:{r['job_id']}")
        diag = [f for _i, f in entries if f["k"] == "diag"]
        # a variant's rows a few entries of many rows each (pack_runner._RowPublisher: up to 16
        # steps or 0.5 s an entry; 132 rows: 9 entries, 33 only if a step took 1/8 s)
        assert all("b" in f for f in diag) and len(diag) < len(want) / 4
        assert [e.data for e in c.events(r["job_id"]) if e.kind == "diag"] == want
        assert [e.data for e in g.events(r["job_id"]) if e.kind == "diag"] == want
        assert {k: r[k] for k in want[-1]} == want[-1]
        assert job["progress"]["step"] == job["progress"]["total_steps"] == want[-1]["step"]
        # the files as the variant alone writes them: the record's list, the listing, the bytes
        names = sorted(a["name"] for a in c.artifacts(r["job_id"]))
        alone = tmp_path / r["job_id"]
        assert names == job["result"]["artifacts"] == files_under(alone)
        assert {"diags/reduced_beam_characteristics.0", "diags/openPMD/monitor.h5"} <= set(names)
        got_dir = tmp_path / "download" / r["job_id"]
        c.download(r["job_id"], got_dir)
        for name in names:
            if name.endswith(".h5"):
                assert series_records(alone / name) == series_records(got_dir / name), name
            else:
                assert (alone / name).read_bytes() == (got_dir / name).read_bytes(), name
    assert len({round(c.diagnostics(j)[-1]["sigma_x"], 12) for j in ids}) == 3  # k changes the beam, nslice not


def test_packed_variants_files_by_upload(ray_local: None, server_factory: Any, rest: Any, tmp_path: Any) -> None:
    """Workers that upload their files (as on another node): a pack's variants upload their
    recorded output, the server writes it out on the first listing; each variant's files are
    those it writes alone."""
    server = server_factory(scheduler=True, pack_size=8, result_cache=False, artifact_transfer="always")
    c = rest(server)
    scan = c.scan(fodo_spec(npart=200, periods=1, name="packup"), {K: [0.9, 1.1]}, device="serial")
    assert c.wait_scan(scan["id"], timeout=180)["state"] == "succeeded"
    for r in c.scan_results(scan["id"])["rows"]:
        job_id = r["job_id"]
        stored = server.settings.artifacts / job_id
        wait_for(stored.is_dir, 30, "the upload pulled (the scheduler does it when it reaps the job)")
        assert files_under(stored) == [".beamtrack-packed"]  # written out on the first request
        alone = tmp_path / job_id
        alone_rows(spec_json(c, job_id), alone)
        names = sorted(a["name"] for a in c.artifacts(job_id))
        assert names == c.get(job_id)["result"]["artifacts"] == files_under(alone) == files_under(stored)
        c.download(job_id, tmp_path / "download" / job_id)
        for name in names:
            got = tmp_path / "download" / job_id / name
            if name.endswith(".h5"):
                assert series_records(alone / name) == series_records(got), name
            else:
                assert (alone / name).read_bytes() == got.read_bytes(), name


@pytest.mark.slow
def test_killed_pack_worker_is_retried_without_duplicate_rows(
    ray_local: None, server_factory: Any, rest: Any, tmp_path: Any
) -> None:
    # one job slot: the scheduler puts all three variants in one pack (it spreads them over free slots)
    server = server_factory(scheduler=True, pack_size=8, result_cache=False, max_running=1)
    c = rest(server)
    base = fodo_spec(npart=2000, periods=30, name="packkill")
    scan = c.scan(base, {K: [0.95, 1.0, 1.05]}, device="serial")
    ids = c.scan_results(scan["id"])["rows"]
    ids = [r["job_id"] for r in ids]

    from beamtrack.workers.store import JobStore

    store = JobStore.from_url(server.settings.redis_url, prefix=server.settings.key_prefix)

    def mid_run() -> bool:
        return all(j["state"] == "running" and j["progress"]["step"] > 20 for j in map(c.get, ids))

    wait_for(mid_run, 180, "every variant running, rows published")
    recs = store.jobs(ids)
    assert len({r.worker for r in recs}) == 1 and recs[0].pack  # one pack, one worker
    worker = recs[0].worker
    os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
    done = c.wait_scan(scan["id"], timeout=300)
    assert done["state"] == "succeeded"
    for job_id in ids:
        job = c.get(job_id)
        log = started_logs(c, job_id)
        assert job["attempts"] == 2 and len(log) == 2 and worker_of(log[1]) != worker
        got = c.diagnostics(job_id)
        steps = [r["step"] for r in got]
        assert steps == sorted(set(steps))  # no row twice
        assert got == alone_rows(spec_json(c, job_id), tmp_path / job_id)


def test_cancel_stops_one_variant_of_a_running_pack(ray_local: None, server_factory: Any, rest: Any) -> None:
    server = server_factory(scheduler=True, pack_size=8, result_cache=False, max_running=1)  # one pack of 3
    c = rest(server)
    scan = c.scan(fodo_spec(npart=1000, periods=20, name="packcancel"), {K: [0.95, 1.0, 1.05]}, device="serial")
    ids = [r["job_id"] for r in c.scan_results(scan["id"])["rows"]]
    wait_for(
        lambda: all(j["state"] == "running" and j["progress"]["step"] > 20 for j in map(c.get, ids)),
        180,
        "every variant of the pack running",
    )
    c.cancel(ids[1])
    done = c.wait_scan(scan["id"], timeout=300)
    assert done["counts"] == {**done["counts"], "succeeded": 2, "cancelled": 1}
    cancelled = c.get(ids[1])
    assert cancelled["state"] == "cancelled" and cancelled["progress"]["step"] < cancelled["progress"]["total_steps"]
    for job_id in (ids[0], ids[2]):
        job = c.get(job_id)
        assert job["state"] == "succeeded" and job["attempts"] == 1
        assert [r["step"] for r in c.diagnostics(job_id)] == list(range(job["progress"]["total_steps"] + 1))


@pytest.mark.parametrize(
    ("settings", "npart", "sizes"),
    [
        # two free slots: 8 variants as two packs of 4 at once, not a full pack of 8 on one slot
        ({"pack_size": 8}, 300, [4, 4]),
        # at most 600 particles a pack: variants of 300 particles two to a pack
        ({"pack_size": 8, "pack_particles": 600}, 300, [2, 2, 2, 2]),
        # the variants' own size reaches the budget: one to a pack
        ({"pack_size": 8, "pack_particles": 250}, 300, [1] * 8),
    ],
)
def test_pack_sizes_spread_over_slots_within_the_particle_budget(
    ray_local: None, server_factory: Any, rest: Any, settings: dict[str, int], npart: int, sizes: list[int]
) -> None:
    """How the scheduler sizes packs (``Scheduler._pack_size``): an even share of the scan's queued
    variants over the free job slots (the test's local Ray has 2), at most ``pack_size``, at most
    ``pack_particles`` particles in all (each variant's log names its pack's size: a worker process
    may run several packs one after the other); every variant's rows as before (counted). The first
    packs, claimed with every variant queued, have the sizes given; the last share depends on which
    packs have ended by then, so only its bounds are checked."""
    server = server_factory(scheduler=True, result_cache=False, **settings)
    c = rest(server)
    scan = c.scan(fodo_spec(npart=npart, periods=1, name="packsizes"), {K: [0.9 + 0.02 * i for i in range(8)]})
    done = c.wait_scan(scan["id"], timeout=300)
    assert done["state"] == "succeeded"
    ids = [r["job_id"] for r in c.scan_results(scan["id"])["rows"]]
    of_size = [int(started_logs(c, job_id)[-1].rsplit(" in a pack of ", 1)[1].split()[0]) for job_id in ids]
    # the first packs (claimed with every variant queued) are full: the sizes given; the last ones
    # may be smaller when both slots are free again with fewer variants left than two full packs
    assert max(of_size) == max(sizes) and all(of_size.count(n) % n == 0 for n in of_size), of_size
    assert of_size.count(max(sizes)) >= max(sizes) * min(len(sizes), 2), of_size
    for job_id in ids:
        job = c.get(job_id)
        assert job["progress"]["step"] == job["progress"]["total_steps"] == len(c.diagnostics(job_id)) - 1


def test_a_pack_worker_runs_the_next_pack(ray_local: None, server_factory: Any, rest: Any, monkeypatch: Any) -> None:
    """A pack worker whose pack ended cleanly runs the scheduler's next pack (``Scheduler._spare_packs``)
    instead of a new worker process starting for it, up to ``PACK_WORKER_PACKS`` packs: with one job
    slot, packs of 2 of a 6-variant scan run one after the other; with the bound set to 2 the first
    two packs run in one worker process (the same pid in their logs, the same pack worker in their
    records) and the third in a new one. Every variant's rows as the variant alone gives them."""
    from beamtrack.server import scheduler
    from beamtrack.workers.store import JobStore

    monkeypatch.setattr(scheduler, "PACK_WORKER_PACKS", 2)
    server = server_factory(scheduler=True, pack_size=2, result_cache=False, max_running=1)
    c = rest(server)
    scan = c.scan(fodo_spec(npart=300, periods=1, name="packreuse"), {K: [0.9 + 0.02 * i for i in range(6)]})
    done = c.wait_scan(scan["id"], timeout=300)
    assert done["state"] == "succeeded"
    ids = [r["job_id"] for r in c.scan_results(scan["id"])["rows"]]
    by_worker = packs_of(c, ids)
    assert sorted(len(g) for g in by_worker.values()) == [2, 4]
    store = JobStore.from_url(server.settings.redis_url, prefix=server.settings.key_prefix)
    shared = next(g for g in by_worker.values() if len(g) == 4)
    assert len({r.pack for r in store.jobs(shared)}) == 1  # one worker's name: a restart re-attaches by it
    for job_id in ids:
        assert started_logs(c, job_id)[-1].endswith("in a pack of 2 variants")
        job = c.get(job_id)
        assert job["attempts"] == 1
        assert job["progress"]["step"] == job["progress"]["total_steps"] == len(c.diagnostics(job_id)) - 1
