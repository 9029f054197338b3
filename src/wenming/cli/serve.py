"""``wenming serve``: run the web application with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from wenming.cli.common import load_settings, require_current_schema

APP_FACTORY = "wenming.main:create_app"

HostOption = Annotated[
    str, typer.Option(help="Address to listen on; 0.0.0.0 listens on every interface.")
]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")]


def run_server(host: str, port: int, workers: int = 1) -> None:
    """Serve the application factory until interrupted."""
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers)


def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes; more than one spreads requests over CPU cores."
        ),
    ] = 1,
) -> None:
    """Serve Wenming over HTTP with the configured database.

    Refuses an invalid configuration (e.g. production with the default secret key) and a
    database whose schema is missing or outdated.
    """
    settings = load_settings()
    require_current_schema(settings)
    typer.echo(f"Serving Wenming at http://{host}:{port} (environment: {settings.env.value})")
    run_server(host, port, workers)
