"""N variants of examples/fodo.json as one scan vs N separate submits, on one local service.

Starts a private redis-server, a local Ray (``--cpus``) and one ServerProcess with its scheduler
on 127.0.0.1, then measures wall time until every variant has ended for: N separate POST
/v1/jobs; one POST /v1/scans of N variants (other seeds: no cache hits); the same scan again
(every variant from the result cache); the same N variants tracked in this process (no
service); and the time to accept a 10,000-variant scan submit (then cancelled).

    .venv/bin/python bench/bench_scan.py --variants 20 --npart 1000

``--packed`` measures packed execution instead (issue 11's goals): a grid scan of ``--variants``
variants (quad1.k x quad2.k) run packed on the service, the rate of one job per variant on the
same service (``--separate`` separate POST /v1/jobs of the same variants, timed the same way),
and the same particles tracked as one beam of ``variants x npart`` particles in this process;
then, in this process without the service, the same variants tracked by ``PackedRun`` in packs
sized as the scheduler sizes them (``pack_size``; each variant's files as on the service:
recorded, to be written out on first read) against the one beam, with the lattice as given and with its BeamMonitors taken out (what
the openPMD output costs), and the time to write out one variant's files from its recording (as
the server does on a packed variant's first listing or download):

    .venv/bin/python bench/bench_scan.py --packed --variants 1000 --npart 1000 --separate 40

``--submit-only`` times accepting a 10,000-variant scan (``--repeat`` times; each then cancelled);
``--engine-only`` runs only the in-process part of ``--packed`` (no service started).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789"


def base_spec(npart: int) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((ROOT / "examples" / "fodo.json").read_text())
    spec = spec.get("spec", spec)
    spec["beam"]["npart"] = npart
    spec["lattice"]["periods"] = 1
    return spec


def grid(n: int) -> dict[str, list[float]]:
    """quad1.k x quad2.k, about sqrt(n) values each, n variants in all."""
    a = max(1, int(round(n**0.5)))
    while n % a:
        a -= 1
    b = n // a
    return {
        "lattice.elements[name=quad1].k": [0.9 + 0.2 * i / max(1, a - 1) for i in range(a)],
        "lattice.elements[name=quad2].k": [-0.9 - 0.2 * j / max(1, b - 1) for j in range(b)],
    }


def pack_timeline(store: Any, job_ids: list[str], wall0: float) -> list[dict[str, Any]]:
    """Each pack's variants, its worker (host:pid: a worker runs several packs one after the
    other), first start and last end [s after the scan's submit] (job records: a worker's next
    pack starts after its last pack's variants ended)."""
    by_worker: dict[str, list[Any]] = {}
    for rec in store.jobs(job_ids):
        by_worker.setdefault(rec.worker, []).append(rec)
    packs: list[tuple[str, list[Any]]] = []
    for worker, recs in by_worker.items():
        group: list[Any] = []
        for rec in sorted(recs, key=lambda r: r.started_at or 0.0):
            if group and (rec.started_at or 0.0) > max(r.finished_at or 0.0 for r in group):
                packs.append((worker, group))
                group = []
            group.append(rec)
        packs.append((worker, group))
    out = []
    for worker, recs in sorted(packs, key=lambda wr: min(r.started_at or 0.0 for r in wr[1])):
        start = min(r.started_at or 0.0 for r in recs) - wall0
        end = max(r.finished_at or 0.0 for r in recs) - wall0
        out.append({"variants": len(recs), "worker": worker, "start_s": round(start, 2), "end_s": round(end, 2)})
    return out


def packed_bench(a: argparse.Namespace, c: Any, spec: dict[str, Any], data: Path, store: Any) -> dict[str, Any]:
    """Packed scan vs one job per variant on the same service vs one beam of all particles."""
    from beamtrack.engine import Simulation
    from beamtrack.spec import expand, load_spec, parse_scan

    n = a.variants
    params = grid(n)
    out: dict[str, Any] = {"variants": n, "npart": a.npart, "cpus": a.cpus, "separate": a.separate}
    t0, wall0 = time.perf_counter(), time.time()
    scan = c.scan(spec, params, mode="grid", use_cache=False)
    out["packed_submit_s"] = time.perf_counter() - t0
    done = c.wait_scan(scan["id"], timeout=7200, poll_s=0.2)  # as c.wait polls the separate jobs
    out["packed_s"] = time.perf_counter() - t0
    assert done["state"] == "succeeded", done
    out["packs"] = pack_timeline(store, [r["job_id"] for r in c.scan_results(scan["id"])["rows"]], wall0)

    variants = [s for _v, s in expand(parse_scan({"base": spec, "parameters": params, "mode": "grid"}))]
    t0 = time.perf_counter()
    # other seeds than the scan's: same cost, no result-cache hits
    sep = [json.loads(v.model_dump_json()) for v in variants[: a.separate]]
    ids = [c.submit({**d, "name": f"sep{i}", "beam": {**d["beam"], "seed": 5000 + i}})["id"] for i, d in enumerate(sep)]
    states = [c.wait(i, timeout=3600)["state"] for i in ids]
    out["separate_s"] = time.perf_counter() - t0
    assert states == ["succeeded"] * len(ids), states

    one = load_spec({**spec, "name": "onebeam", "beam": {**spec["beam"], "npart": n * a.npart}})
    t0 = time.perf_counter()
    sim = Simulation.from_spec(one, data / "onebeam")
    sim.track_particles()
    sim.finalize()
    out["one_beam_s"] = time.perf_counter() - t0
    out["packed_per_s"] = n / out["packed_s"]
    out["separate_per_s"] = a.separate / out["separate_s"]
    out["speedup"] = out["packed_per_s"] / out["separate_per_s"]
    out["packed_over_one_beam"] = out["packed_s"] / out["one_beam_s"]
    return out


def engine_bench(a: argparse.Namespace, spec: dict[str, Any], data: Path) -> dict[str, Any]:
    """PackedRun in this process vs one beam, with and without the BeamMonitors (see above)."""
    from beamtrack.spec import expand, parse_scan

    out: dict[str, Any] = {}
    params = grid(a.variants)
    for label, base in (("engine", spec), ("engine_no_monitors", without_monitors(spec))):
        docs = [json.loads(v.model_dump_json()) for _v, v in expand(parse_scan({"base": base, "parameters": params}))]
        # untimed warm-up of both paths (the kernels loaded, the first call's costs paid): else
        # whichever runs first pays them
        engine_packed(docs[:16], data / f"{label}-warm", 16)
        one_beam(base, 16 * a.npart, data / f"{label}-warm-one")
        # each timed part starts with the files of the one before on disk: their write-back (0.4 GB
        # with the monitors) would otherwise land on the next part on this VM's slow disk
        os.sync()
        out[f"{label}_packed_s"] = engine_packed(docs, data / label, pack_size(a))
        out[f"{label}_write_out_ms"] = write_out_ms(data / label, min(20, a.variants))
        os.sync()
        out[f"{label}_one_beam_s"] = one_beam(base, a.variants * a.npart, data / f"{label}-one")
        out[f"{label}_ratio"] = out[f"{label}_packed_s"] / out[f"{label}_one_beam_s"]
    return out


def pack_size(a: argparse.Namespace) -> int:
    """The in-process packs' size: as the scheduler sizes a scan's packs on ``--cpus`` free slots
    (``Scheduler._pack_size`` with the default settings: at most ``--pack-size`` variants and
    2,000,000 particles, an even share of the variants over the slots)."""
    return max(1, min(a.pack_size, 2_000_000 // a.npart, -(-a.variants // a.cpus)))


def without_monitors(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` without its BeamMonitor elements (no openPMD output)."""
    elements = [e for e in spec["lattice"]["elements"] if e["type"] != "BeamMonitor"]
    return {**spec, "lattice": {**spec["lattice"], "elements": elements}}


def engine_packed(docs: list[dict[str, Any]], out: Path, pack_size: int) -> float:
    """Wall time [s] of tracking the variant specs ``docs`` with ``PackedRun`` in this process,
    ``pack_size`` at a time (building, tracking and finalizing each variant's Simulation)."""
    from beamtrack.engine import Simulation
    from beamtrack.engine.packed import PackedRun

    t0 = time.perf_counter()
    for lo in range(0, len(docs), pack_size):
        draws: dict[Any, Any] = {}  # as a pack worker: variants of one beam draw it once
        sims = [
            Simulation.from_spec(d, out / str(lo + i), draws=draws) for i, d in enumerate(docs[lo : lo + pack_size])
        ]
        run = PackedRun(sims)
        run.track_particles()
        assert run.finalize() == {}  # as a pack worker: the variants' files a few threads at a time
    return time.perf_counter() - t0


def write_out_ms(out: Path, n: int) -> float:
    """Mean time [ms] to write out a variant's files from its recorded output (what the server
    does on the first listing or download of a packed variant's files), over the first ``n``."""
    from beamtrack.engine.packed_output import materialize

    t0 = time.perf_counter()
    for i in range(n):
        assert materialize(out / str(i))
    return 1e3 * (time.perf_counter() - t0) / n


def one_beam(spec: dict[str, Any], npart: int, out: Path) -> float:
    """Wall time [s] of tracking ``spec`` as one beam of ``npart`` particles in this process."""
    from beamtrack.engine import Simulation
    from beamtrack.spec import load_spec

    t0 = time.perf_counter()
    sim = Simulation.from_spec(load_spec({**spec, "name": "onebeam", "beam": {**spec["beam"], "npart": npart}}), out)
    sim.track_particles()
    sim.finalize()
    return time.perf_counter() - t0


def submit_bench(a: argparse.Namespace, c: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Seconds to accept a 10,000-variant scan (beam.seed x beam.npart), ``--repeat`` times."""
    big = {"beam.seed": list(range(100)), "beam.npart": [a.npart + j for j in range(100)]}
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        huge = c.scan(spec, big, priority=-1000)
        times.append(time.perf_counter() - t0)
        assert huge["variants"] == 10_000
        c.cancel_scan(huge["id"])
    return {"submit_10000_s": times}


def packed_report(a: argparse.Namespace, out: dict[str, Any]) -> None:
    """``--packed``: the service's numbers, then the in-process part measured once the service
    is stopped (its idle Ray, Redis and server processes no longer share the two cores)."""
    data = Path(tempfile.mkdtemp(prefix="beamtrack-bench-engine-"))
    try:
        out.update(engine_bench(a, base_spec(a.npart), data))
    finally:
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)
    print("packs (variants, start and end [s] after the submit):", out["packs"])
    for key in ("packed_submit_s", "packed_s", "separate_s", "one_beam_s", *(k for k in out if k.startswith("engine"))):
        print(f"{key:>28}: {out[key]:8.2f}")
    print(
        f"packed {out['packed_per_s']:.1f} variants/s, one job per variant {out['separate_per_s']:.2f} "
        f"variants/s: {out['speedup']:.1f}x; packed / one beam: {out['packed_over_one_beam']:.2f}"
    )
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", type=int, default=20)
    ap.add_argument("--npart", type=int, default=1000)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--packed", action="store_true", help="measure packed execution (see above)")
    ap.add_argument("--separate", type=int, default=40, help="with --packed: separate jobs timed")
    ap.add_argument("--pack-size", type=int, default=256, help="the most variants of an in-process pack")
    ap.add_argument("--submit-only", action="store_true", help="time 10,000-variant submits only")
    ap.add_argument("--repeat", type=int, default=3, help="with --submit-only: submits timed")
    ap.add_argument("--engine-only", action="store_true", help="the in-process part of --packed only")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the runs' files (removed by default)")
    a = ap.parse_args()
    if a.engine_only:
        data = Path(tempfile.mkdtemp(prefix="beamtrack-bench-engine-"))
        try:
            res = engine_bench(a, base_spec(a.npart), data)
        finally:
            if not a.keep:
                shutil.rmtree(data, ignore_errors=True)
        for key, value in res.items():
            print(f"{key:>28}: {value:8.2f}")
        if a.json:
            a.json.write_text(json.dumps(res, indent=2))
        return
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    from beamtrack.client import Client
    from beamtrack.engine import Simulation
    from beamtrack.server.process import ServerProcess
    from beamtrack.server.settings import ApiToken, Settings, hash_token
    from beamtrack.spec import load_spec
    from beamtrack.workers.redis_server import RedisServer

    data = Path(tempfile.mkdtemp(prefix="beamtrack-bench-scan-"))
    redis_server = RedisServer(data / "redis").start()
    ray.init(
        address="local",
        num_cpus=a.cpus,
        include_dashboard=False,
        namespace="beamtrack",
        logging_level=logging.WARNING,
        _node_ip_address="127.0.0.1",
    )
    settings = Settings(
        redis_url=redis_server.url,
        http_port=0,
        grpc_port=0,
        data_dir=data,
        api_tokens=[ApiToken(user="bench", sha256=hash_token(TOKEN))],
        scheduler=True,
        stream_block_ms=200,
        # each timed 10,000-variant submit is charged its disk estimate (~10 GiB) until swept
        user_disk_mb=1e9,
    )
    server = ServerProcess(settings, redis_server.url).start()
    c = Client(f"http://127.0.0.1:{server.http_port}", TOKEN, timeout=120)
    n, spec = a.variants, base_spec(a.npart)
    out: dict[str, Any] = {"variants": n, "npart": a.npart, "cpus": a.cpus}
    try:
        if a.submit_only:
            out = submit_bench(a, c, spec)
            print("10,000-variant submits [s]:", ", ".join(f"{t:.2f}" for t in out["submit_10000_s"]))
            if a.json:
                a.json.write_text(json.dumps(out, indent=2))
            return
        c.wait(c.submit({**spec, "name": "warmup"})["id"], timeout=300)  # Ray workers warm
        if a.packed:
            from beamtrack.workers.store import JobStore

            store = JobStore.from_url(redis_server.url, prefix=settings.key_prefix)
            out = packed_bench(a, c, spec, data, store)
            return

        t0 = time.perf_counter()
        ids = [
            c.submit({**spec, "name": f"sep{i}", "beam": {**spec["beam"], "seed": 1000 + i}})["id"] for i in range(n)
        ]
        states = [c.wait(i, timeout=900)["state"] for i in ids]
        out["separate_s"] = time.perf_counter() - t0
        assert states == ["succeeded"] * n, states

        seeds = {"beam.seed": list(range(2000, 2000 + n))}
        t0 = time.perf_counter()
        scan = c.scan(spec, seeds)
        assert c.wait_scan(scan["id"], timeout=900)["state"] == "succeeded"
        out["scan_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        again = c.scan(spec, seeds)
        assert c.wait_scan(again["id"], timeout=60)["state"] == "succeeded"
        rows = c.scan_results(again["id"])["rows"]
        out["scan_cached_s"] = time.perf_counter() - t0
        assert all(r["cached_from"] for r in rows)

        t0 = time.perf_counter()
        for i in range(n):
            local = load_spec({**spec, "name": f"loc{i}", "beam": {**spec["beam"], "seed": 3000 + i}})
            sim = Simulation.from_spec(local, data / "local" / str(i))
            sim.track_particles()
            sim.finalize()
        out["local_s"] = time.perf_counter() - t0

        big = {"beam.seed": list(range(100)), "beam.npart": [a.npart + j for j in range(100)]}
        t0 = time.perf_counter()
        huge = c.scan(spec, big, priority=-1000)
        out["submit_10000_s"] = time.perf_counter() - t0
        c.cancel_scan(huge["id"])
    finally:
        c.close()
        server.stop(kill_actors=True)
        ray.shutdown()
        redis_server.stop()
        if a.packed and "packed_s" in out:
            packed_report(a, out)  # before the service's files are removed: their removal (GBs on
            # this VM's disk, mounted with discard) goes on in the kernel for a minute after
        if not a.keep:  # a 1,000-variant run leaves ~2-3 GB of files
            shutil.rmtree(data, ignore_errors=True)
    for key in ("separate_s", "scan_s", "scan_cached_s", "local_s", "submit_10000_s"):
        print(f"{key:>16}: {out[key]:8.2f} s")
    print(
        f"{'per variant':>16}: separate {out['separate_s'] / n:.3f} s, scan {out['scan_s'] / n:.3f} s, "
        f"cached {out['scan_cached_s'] / n:.4f} s, local {out['local_s'] / n:.3f} s"
    )
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
