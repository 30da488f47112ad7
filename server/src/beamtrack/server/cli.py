"""``beamtrack serve``: the embedded default (private Redis, local Ray, REST + gRPC on
127.0.0.1), or a server over existing Redis/Ray. Registered as a subcommand of the engine's
``beamtrack`` CLI through the entry-point group ``beamtrack.cli``."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError


def serve(
    redis_url: Annotated[
        str | None, typer.Option(help="Use this Redis (redis://host:port/db) instead of starting a private one")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Join this Ray cluster instead of starting a local one")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface for REST and gRPC")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(help="REST port (0 = any free)")] = 8000,
    grpc_port: Annotated[int, typer.Option(help="gRPC port (0 = any free)")] = 50051,
    data_dir: Annotated[Path, typer.Option(help="Redis AOF, artifacts and the local token live here")] = Path(
        "beamtrack-data"
    ),
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of the local Ray")] = None,
    embedded: Annotated[
        bool,
        typer.Option(
            help="Embedded mode: loopback only, local admin token; --no-embedded takes tokens "
            "from BEAMTRACK_API_TOKENS and needs --redis-url"
        ),
    ] = True,
) -> None:
    """Run the simulation service until Ctrl-C, then stop everything it started."""
    from .logs import install as install_logging
    from .process import Embedded, ServerProcess, local_token
    from .settings import Settings

    overrides: dict[str, Any] = {
        "host": host,
        "http_port": http_port,
        "grpc_port": grpc_port,
        "data_dir": data_dir,
        "embedded": embedded,
    }
    if redis_url:
        overrides["redis_url"] = redis_url
    if ray_address:
        overrides["ray_address"] = ray_address
    token = None
    try:
        settings = Settings(**overrides)
        if settings.embedded:
            token, entry = local_token(settings.data_dir)
            settings = settings.model_copy(update={"api_tokens": [*settings.api_tokens, entry]})
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            typer.echo(f"error: {loc + ': ' if loc else ''}{e['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    install_logging(settings.log_format_used, logging.INFO)

    embedded_rt = Embedded(
        settings.data_dir, redis_url=settings.redis_url, ray_address=settings.ray_address, num_cpus=num_cpus
    )
    stop = threading.Event()
    server = None
    try:
        url = embedded_rt.start()
        server = ServerProcess(settings, url).start()
        h = settings.host
        typer.echo(
            f"beamtrack service ready\n  REST  http://{h}:{server.http_port}  "
            f"(docs: /docs)\n  gRPC  {h}:{server.grpc_port}\n  Redis {url}"
        )
        if token:
            typer.echo(
                f"  local token: {token}  (also in {settings.data_dir / 'token'})\n"
                f"  export BEAMTRACK_URL=http://{h}:{server.http_port} "
                f"BEAMTRACK_TOKEN={token}"
            )
        typer.echo("Ctrl-C stops everything.")
        sys.stdout.flush()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    finally:
        typer.echo("stopping ...")
        if server is not None:
            server.stop(kill_actors=settings.ray_address is None)
        embedded_rt.stop()
        typer.echo("stopped")


def main() -> None:
    """``beamtrack-serve``: the same command without the engine's CLI."""
    typer.run(serve)
