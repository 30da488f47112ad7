"""The ``beamtrack`` command: ``beamtrack run SPEC.json --out DIR`` runs a job spec locally.

Other installed packages add subcommands through the entry-point group ``beamtrack.cli``
(e.g. the server's ``beamtrack serve``).
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer
from beamtrack.spec import SpecError, load_spec

app = typer.Typer(add_completion=False, no_args_is_help=True, help="beamtrack: ImpactX-compatible beam tracking.")


@app.callback()
def _root() -> None:
    """beamtrack: ImpactX-compatible beam tracking (run locally; plugins add e.g. serve)."""


def fail(msg: str, code: int = 2) -> None:
    typer.echo(f"beamtrack: error: {msg}", err=True)
    raise typer.Exit(code)


@app.command()
def run(
    spec_file: Annotated[Path, typer.Argument(help="JobSpec JSON file (shared/spec/README.md)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory (diags/ is written inside)")] = Path("out"),
    kind: Annotated[str | None, typer.Option(help="kernel kind: serial, openmp or cuda (default: auto)")] = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="progress bar (default: on a terminal)")
    ] = None,
) -> None:
    """Track the beam of SPEC_FILE through its lattice; write openPMD and reduced diagnostics to OUT/diags."""
    from beamtrack.engine import HookError, Simulation, TrackingCancelled

    try:
        text = spec_file.read_text()
    except OSError as exc:
        fail(f"cannot read {spec_file}: {exc.strerror or exc}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{spec_file} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    if isinstance(data, dict) and "spec" in data and "lattice" not in data:
        data = data["spec"]  # a reference-case file: {"spec": ..., "checks": ...}
    try:
        spec = load_spec(data)
    except SpecError as exc:
        fail(f"invalid spec {spec_file}:\n" + "\n".join(f"  {e['loc']}: {e['msg']}" for e in exc.errors))
    t0 = time.perf_counter()
    try:
        sim = Simulation.from_spec(spec, output_dir=out, kind=kind)
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))
    show = sys.stderr.isatty() if progress is None else progress
    bar: Any = None
    if show:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(
            TextColumn(f"[bold]{spec.name}"),
            BarColumn(),
            TextColumn("step {task.completed}/{task.total}"),
            TimeRemainingColumn(),
            transient=True,
        )
        task = bar.add_task("track", total=sim.total_steps)
        sim.progress_listeners.append(lambda step, total: bar.update(task, completed=step))
        bar.start()
    try:
        sim.track_particles()
    except HookError as exc:
        fail(str(exc), 1)
    except TrackingCancelled as exc:
        fail(f"cancelled: {exc}", 130)
    finally:
        if bar is not None:
            bar.stop()
        sim.finalize()
    dt = time.perf_counter() - t0
    alive = sim.beam.total_number_of_particles()
    typer.echo(
        f"{spec.name}: {spec.lattice.periods} period(s), {sim.tracking_step} steps, s = {sim.reference.s:.6g} m, "
        f"{alive}/{spec.beam.npart} particles alive, kernel {sim.kind}, {dt:.2f} s -> {out / 'diags'}"
    )


def _load_plugins() -> None:
    for ep in entry_points(group="beamtrack.cli"):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the engine's CLI down
            typer.echo(f"beamtrack: warning: cannot load command {ep.name!r}: {exc}", err=True)
            continue
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=ep.name)
        else:
            app.command(name=ep.name)(obj)


def main() -> None:
    _load_plugins()
    app()


if __name__ == "__main__":
    main()
