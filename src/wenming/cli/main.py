"""The ``wenming`` command: one sub-command group per domain."""

from __future__ import annotations

from typing import Annotated

import typer

from wenming import __version__
from wenming.cli import cases, db, demo, evaluation, geo, notify, org, serve, user
from wenming.cli.common import new_app

app = new_app(
    "Wenming 文明: civilized-city campaign and grid-based urban governance.\n\n"
    "Configuration comes from WENMING_* environment variables or a .env file; the database is "
    "WENMING_DATABASE_URL, or SQLite in WENMING_DATA_DIR (default ./wenming-data)."
)
app.add_typer(db.app, name="db")
app.add_typer(user.app, name="user")
app.add_typer(org.app, name="org")
app.add_typer(geo.app, name="geo")
app.add_typer(notify.app, name="notify")
app.add_typer(cases.app, name="cases")
app.add_typer(evaluation.app, name="eval")
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)


def show_version(value: bool) -> None:
    """Print the version and stop."""
    if value:
        typer.echo(f"wenming {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Wenming 文明: civilized-city campaign and grid-based urban governance."""
