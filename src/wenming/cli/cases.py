"""``wenming cases``: the overdue sweep by hand (or from cron), and the working calendar."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases import admin
from wenming.cases.calendar import parse_calendar_csv
from wenming.cases.sweep import SweepReport, sweep
from wenming.cli.common import (
    fail,
    format_table,
    load_settings,
    new_app,
    require_current_schema,
    run_in_session,
    shown_url,
)
from wenming.cli.notify import NowOption, parse_now
from wenming.core.clock import SystemClock
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.core.errors import InvalidInput

app = new_app("Cases: the overdue sweep and the working calendar.")
calendar_app = new_app("The working calendar: holidays and make-up working days per year.")
app.add_typer(calendar_app, name="calendar")


async def _sweep(settings: Settings, now: datetime) -> SweepReport:
    database = Database(settings)
    try:
        return await sweep(database, now, settings, started_at=SystemClock().now())
    finally:
        await database.dispose()


@app.command("sweep")
def run_sweep(now: NowOption = None) -> None:
    """Mark overdue cases, escalate each one level up the tree (督办) and notify, once.

    A second run at the same --now changes nothing. `wenming serve` runs the sweep on its own
    every WENMING_SWEEP_INTERVAL_SECONDS.
    """
    settings = load_settings()
    moment = parse_now(now)
    require_current_schema(settings)
    try:
        report = asyncio.run(_sweep(settings, moment))
    except DBAPIError as exc:
        fail(f"the database at {shown_url(settings)} refused the work: {exc.orig}")
    typer.echo(f"escalated: {report.escalated}, people notified: {report.notified}")


@calendar_app.command("import")
def import_calendar(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="CSV with header date,kind,name"),
    ],
) -> None:
    """Replace one year's holidays (kind=holiday) and make-up working days (kind=workday).

    Weekends need no rows. All-or-nothing: a bad row names its line and nothing is changed.
    """
    settings = load_settings()
    require_current_schema(settings)
    try:
        days = parse_calendar_csv(file.read_text(encoding="utf-8-sig"))
    except InvalidInput as error:
        fail(f"{file}: {error.detail}")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
    now = SystemClock().now()
    year, count = run_in_session(
        settings, lambda session: admin.replace_calendar_year(session, None, days, now)
    )
    typer.echo(f"Calendar {year}: {count} days stored (holidays and make-up working days).")


@calendar_app.command("show")
def show_calendar(
    year: Annotated[int, typer.Argument(min=2000, max=2100, help="the year, e.g. 2027")],
) -> None:
    """Print one year's holidays and make-up working days."""
    settings = load_settings()
    require_current_schema(settings)

    async def read(session: AsyncSession) -> list[list[str]]:
        days = await admin.calendar_days(session, year)
        return [[d.day.isoformat(), d.kind, d.name] for d in days]

    rows = run_in_session(settings, read, write=False)
    if not rows:
        typer.echo(f"No holidays or make-up working days stored for {year}.")
        return
    typer.echo(format_table(["date", "kind", "name"], rows))
