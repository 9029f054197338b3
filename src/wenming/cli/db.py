"""``wenming db``: bring the database schema up to date and say where it stands."""

from __future__ import annotations

from typing import Annotated

import typer
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

from wenming.cases.reference import sync_reference_data
from wenming.cli.common import (
    current_revision,
    fail,
    head_revision,
    load_settings,
    new_app,
    run_in_session,
    shown_url,
)
from wenming.core.clock import SystemClock
from wenming.core.config import Settings
from wenming.core.migrate import upgrade as run_upgrade

app = new_app("Database schema: migrate and inspect.")


def migrate(settings: Settings, revision: str = "head") -> str:
    """Upgrade the configured database and print what changed; returns the revision reached."""
    before = current_revision(settings)
    try:
        run_upgrade(settings.resolved_database_url, revision)
    except (CommandError, DBAPIError) as exc:
        fail(f"could not migrate {shown_url(settings)} to {revision}: {exc}")
    after = current_revision(settings) or "none"
    head = head_revision(settings)
    label = f"{after} (head)" if after == head else after
    if before == after:
        typer.echo(f"Schema already at {label}; nothing to do.")
    else:
        typer.echo(f"Schema upgraded from {before or 'an empty database'} to {label}.")
    if after == head:
        now = SystemClock().now()
        added = run_in_session(settings, lambda session: sync_reference_data(session, now))
        if added.classes or added.categories or added.limits or added.calendar_days:
            typer.echo(
                f"Reference data added: {added.classes} category classes, {added.categories} "
                f"categories, {added.limits} time limits, {added.calendar_days} calendar days."
            )
    return after


@app.command("upgrade")
def upgrade(
    revision: Annotated[
        str, typer.Option(help="Migration to upgrade to; 'head' is the newest.")
    ] = "head",
) -> None:
    """Create or upgrade the database schema.

    The database is WENMING_DATABASE_URL, or the SQLite file in WENMING_DATA_DIR.
    """
    settings = load_settings()
    typer.echo(f"Database: {shown_url(settings)}")
    migrate(settings, revision)


@app.command("current")
def current() -> None:
    """Show the schema revision of the configured database and whether it is the newest."""
    settings = load_settings()
    typer.echo(f"Database: {shown_url(settings)}")
    revision = current_revision(settings)
    head = head_revision(settings)
    if revision is None:
        typer.echo("Revision: none (empty database); run `wenming db upgrade`.")
    elif revision == head:
        typer.echo(f"Revision: {revision} (head)")
    else:
        typer.echo(f"Revision: {revision}; the newest is {head}: run `wenming db upgrade`.")
