"""``beamtrack-client``: submit / status / list / cancel / watch / fetch / twiss / plot / scan against a service.

The URL and token come from --url/--token or $BEAMTRACK_URL/$BEAMTRACK_TOKEN; --grpc TARGET
uses the gRPC front door instead of REST. A job spec is a JobSpec file, JSON or YAML. Errors are
one line on stderr (``error: CODE: message``), never a traceback; the exit status is 1 for an
error answer of the service, 2 for a bad input or an unreachable service.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import httpx
from beamtrack.spec.contract import ServiceError

from .grpc_client import GrpcClient
from .grpc_errors import GrpcApiError
from .models import Job
from .rest import ApiError, Client, Event, load_spec_arg

DIAG_COLUMNS = ("sigma_x", "sigma_y", "sigma_t", "emittance_x", "emittance_y", "emittance_t")


def _fmt_job(job: Job) -> str:
    p = job.progress
    line = f"{job.id}  {job.name:<20} {job.state:<10} prio={job.priority:<4} step {p.step}/{p.total_steps}"
    if job.error:
        line += f"  error: {job.error}"
    return line


def format_event(ev: Event) -> str:
    """One terminal line per event."""
    d = ev.data
    if ev.kind == "diag":
        cols = "  ".join(f"{c}={d[c]:.4e}" for c in DIAG_COLUMNS if d.get(c) is not None)
        return f"step {int(d.get('step') or 0):>6}  s={float(d.get('s') or 0.0):9.4f} m  {cols}"
    if ev.kind == "state":
        extra = f" (attempt {d['attempt']})" if d.get("attempt") else ""
        why = d.get("reason") or d.get("error") or ""
        return f"[state] {d['state']}{extra}{': ' + why if why else ''}"
    if ev.kind == "result":
        line = f"[result] {d['state']}"
        if d.get("steps") is not None:
            line += f", {d.get('steps', 0)} steps in {float(d.get('wall_time_s') or 0):.2f} s"
        if d.get("error"):
            line += f", error: {d['error']}"
        if d.get("artifacts"):
            line += f", artifacts: {', '.join(d['artifacts'])}"
        return line
    if ev.kind == "custom":
        return f"[custom] {d.get('name')} = {d.get('value')} (step {d.get('step')})"
    return f"[log] {d.get('msg', '')}"


def _watch(args: argparse.Namespace, job_id: str) -> int:
    with GrpcClient(args.grpc, args.token) if args.grpc else Client(args.url, args.token) as client:
        events: Iterator[Event] = client.events(job_id, after=args.after)
        state = ""
        for ev in events:
            if not args.quiet or ev.kind != "diag":
                print(format_event(ev), flush=True)
            if ev.kind == "result":
                state = ev.data.get("state", "")
    return 0 if state == "succeeded" else 1


def run(args: argparse.Namespace) -> int:
    with Client(args.url, args.token) as rest:
        return _dispatch(args, rest)


def _dispatch(args: argparse.Namespace, rest: Client) -> int:
    if args.cmd == "submit":
        hook = Path(args.hook).read_text() if args.hook else None
        if args.grpc:
            with GrpcClient(args.grpc, args.token) as grpc_client:
                job_id = grpc_client.submit(args.spec, priority=args.priority, device=args.device, hook_module=hook).id
        else:
            job_id = rest.submit(args.spec, priority=args.priority, device=args.device, hook_module=hook).id
        print(job_id, flush=True)
        return _watch(args, job_id) if args.watch else 0
    if args.cmd == "status":
        job = rest.get(args.job_id)
        print(job.model_dump_json(indent=2) if args.json else _fmt_job(job))
        return 0
    if args.cmd == "list":
        if args.all:
            jobs = list(rest.iter_jobs(state=args.state))
            cursor = None
        else:
            jobs, cursor = rest.list_jobs(state=args.state, limit=args.limit, cursor=args.cursor)
        if args.json:
            items = [j.model_dump(mode="json") for j in jobs]
            print(json.dumps({"items": items, "next_cursor": cursor}, indent=2))
        else:
            for job in jobs:
                print(_fmt_job(job))
            if cursor:
                print(f"(more: --cursor {cursor})")
        return 0
    if args.cmd == "cancel":
        job = rest.cancel(args.job_id)
        print("cancelled" if job.state == "cancelled" else "cancel requested")
        return 0
    if args.cmd == "watch":
        return _watch(args, args.job_id)
    if args.cmd == "scan":
        scan = load_scan_file(Path(args.file))
        sub = rest.submit_scan(scan, priority=args.priority, device=args.device)
        print(sub["id"], flush=True)
        return _watch_scan(rest, sub["id"], args.out) if args.watch else 0
    if args.cmd == "scan-status":
        scan_rec = rest.get_scan(args.scan_id)
        print(json.dumps(scan_rec, indent=2) if args.json else _fmt_scan(scan_rec))
        return 0
    if args.cmd == "scan-cancel":
        print(_fmt_scan(rest.cancel_scan(args.scan_id)))
        return 0
    if args.cmd == "scan-results":
        data = rest.scan_results_file(args.scan_id, args.format)
        if args.out:
            Path(args.out).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
        return 0
    if args.cmd == "twiss":
        tw = rest.twiss(args.job_id, _init_arg(args.init), at=args.at)
        if args.json:
            print(tw.model_dump_json(indent=2))
        else:
            print("  ".join(f"{k}={v:.10g}" for k, v in tw.scalars.items() if isinstance(v, int | float)))
        return 0
    if args.cmd == "plot":
        try:
            import beamtrack.plot as plot
        except ImportError as exc:
            raise ValueError(f"plots need the plot extra: pip install 'beamtrack-client[plot]' ({exc})") from None
        figs = plot.job(rest, args.job_id, args.out, twiss_init=_init_arg(args.init), monitor=args.monitor)
        for name in figs:
            print(Path(args.out) / f"{name}.png")
        return 0
    if args.cmd == "fetch":
        out = Path(args.out)
        files = rest.download(args.job_id, out)
        (out / "diagnostics.csv").write_text(rest.diagnostics_csv(args.job_id))
        for f in files:
            print(f)
        print(out / "diagnostics.csv")
        return 0
    raise AssertionError(args.cmd)


def _init_arg(pairs: Sequence[str] | None) -> dict[str, float] | None:
    """``["betx=3", "alfx=0.5", ...]`` -> {"betx": 3.0, ...} (None when empty)."""
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--init {pair!r}: expected NAME=VALUE (betx, alfx, bety, alfy, dx, dpx, dy, dpy)")
        out[key.strip()] = float(value)
    return out


def load_scan_file(path: Path) -> dict[str, Any]:
    """A ScanSpec from a YAML or JSON file; a ``base`` given as a string is a JobSpec file
    (relative to the scan file)."""
    import yaml

    try:
        scan = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML: {exc}") from None
    if not isinstance(scan, dict):
        raise ValueError(f"{path}: a scan file holds a mapping (base, mode, parameters, ...)")
    if isinstance(scan.get("base"), str):
        scan["base"] = load_spec_arg(path.parent / scan["base"])
    return scan


def _fmt_scan(scan: dict[str, Any]) -> str:
    c = scan["counts"]
    return f"{scan['id']}  {scan['name']:<20} {scan['state']:<10} {scan['variants']} variants: " + ", ".join(
        f"{c[s]} {s}" for s in ("queued", "running", "succeeded", "failed", "cancelled")
    )


def _watch_scan(rest: Client, scan_id: str, out: str | None) -> int:
    """Follow the scan's event stream, printing its progress (at most twice a second) until its
    result event, then its table (CSV)."""
    last, shown = "", 0.0

    def show() -> dict[str, Any]:
        nonlocal last, shown
        scan = rest.get_scan(scan_id)
        line = _fmt_scan(scan)
        if line != last:
            print(line, flush=True)
            last = line
        shown = time.monotonic()
        return scan

    show()
    for ev in rest.scan_events(scan_id):
        if ev.kind == "result":
            break
        if time.monotonic() - shown >= 0.5:
            show()
    scan = show()
    table = rest.scan_results_file(scan_id, "csv")
    if out:
        Path(out).write_bytes(table)
        print(out)
    else:
        sys.stdout.write(table.decode())
    return 0 if scan["state"] == "succeeded" else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="beamtrack-client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", help="REST base URL (default $BEAMTRACK_URL or http://127.0.0.1:8000)")
    p.add_argument("--token", help="API token (default $BEAMTRACK_TOKEN)")
    p.add_argument("--grpc", metavar="HOST:PORT", help="use gRPC at HOST:PORT for submit/watch instead of REST")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("submit", help="queue a job spec (JSON file); prints the job id")
    s.add_argument("spec", help="JobSpec file, JSON or YAML (.yaml, .yml), or a reference case file")
    s.add_argument("--priority", type=int, default=0, help="higher runs first (-1000..1000)")
    s.add_argument("--device", default="auto", choices=["auto", "serial", "openmp", "cuda"])
    s.add_argument(
        "--hook",
        metavar="MODULE.py",
        help="a Python hook module (before_period, after_period, ...) run in the server's sandbox",
    )
    s.add_argument("--watch", action="store_true", help="then stream its events to the end")
    s.add_argument("--quiet", action="store_true", help="with --watch: no diagnostics rows")
    s.set_defaults(after=None)
    st = sub.add_parser("status", help="one job's state and progress")
    st.add_argument("job_id")
    st.add_argument("--json", action="store_true")
    ls = sub.add_parser("list", help="your jobs, newest first")
    ls.add_argument("--state", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--cursor")
    ls.add_argument("--all", action="store_true", help="follow every page")
    ls.add_argument("--json", action="store_true")
    c = sub.add_parser("cancel", help="cancel a queued or running job")
    c.add_argument("job_id")
    w = sub.add_parser("watch", help="stream a job's state, diagnostics and result")
    w.add_argument("job_id")
    w.add_argument("--after", help="resume after this event id")
    w.add_argument("--quiet", action="store_true", help="no diagnostics rows")
    sc = sub.add_parser("scan", help="queue a parameter scan (YAML/JSON scan file); prints its id")
    sc.add_argument("file", help="scan file: base (JobSpec or its file), mode, parameters, ...")
    sc.add_argument("--priority", type=int, default=0, help="of every variant (-1000..1000)")
    sc.add_argument("--device", default="auto", choices=["auto", "serial", "openmp", "cuda"])
    sc.add_argument("--watch", action="store_true", help="then show progress, and the table at the end")
    sc.add_argument("--out", help="with --watch: write the table (CSV) here instead of stdout")
    ss = sub.add_parser("scan-status", help="a scan's state and variant counts")
    ss.add_argument("scan_id")
    ss.add_argument("--json", action="store_true")
    scc = sub.add_parser("scan-cancel", help="cancel a scan's unfinished variants")
    scc.add_argument("scan_id")
    sr = sub.add_parser("scan-results", help="a scan's results table, one row per variant")
    sr.add_argument("scan_id")
    sr.add_argument("--format", default="csv", choices=["csv", "json", "parquet"])
    sr.add_argument("--out", help="write here instead of stdout")
    tw = sub.add_parser("twiss", help="the Twiss scalars (tunes, chromaticity, ...) of a job's lattice")
    tw.add_argument("job_id")
    tw.add_argument(
        "--init",
        nargs="+",
        metavar="NAME=VALUE",
        help="a transfer line's initial betx, alfx, bety, alfy (dx, dpx, ...)",
    )
    tw.add_argument("--at", default="element", choices=["element", "slice"])
    tw.add_argument("--json", action="store_true", help="the whole table")
    pl = sub.add_parser("plot", help="twiss.png, moments.png, phase_space.png of a job (beamtrack.plot)")
    pl.add_argument("job_id")
    pl.add_argument("--out", required=True, help="destination directory")
    pl.add_argument("--init", nargs="+", metavar="NAME=VALUE", help="a transfer line's initial Twiss parameters")
    pl.add_argument("--monitor", help="the BeamMonitor whose last write to plot (default: the first)")
    f = sub.add_parser("fetch", help="download a job's artifacts and diagnostics.csv")
    f.add_argument("job_id")
    f.add_argument("--out", required=True, help="destination directory")
    return p


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except ApiError as exc:
        fields = "; ".join(f"{d.get('loc')}: {d.get('msg')}" for d in exc.details if d.get("loc"))
        why = exc.message + (f" ({fields})" if fields and fields not in exc.message else "")
        print(f"error: {exc.code}: {_one_line(why)}", file=sys.stderr)
        return 1
    except GrpcApiError as exc:
        print(f"error: {exc.status.name}: {_one_line(exc.message)}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        print(f"error: {exc.code().name}: {_one_line(exc.details())}", file=sys.stderr)
        return 1
    except ServiceError as exc:
        print(f"error: {exc.code}: {_one_line(exc.message)}", file=sys.stderr)
        return 1
    except httpx.TransportError as exc:
        print(f"error: cannot reach the service: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI's promise: one line, never a traceback
        print(f"error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
