"""``wenming notify``: deliver queued notifications to the webhook by hand (or from cron)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import httpx
import typer
from sqlalchemy.exc import DBAPIError

from wenming.cli.common import fail, load_settings, new_app, require_current_schema, shown_url
from wenming.core.clock import SystemClock
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.notify.delivery import DeliveryReport, deliver_due

app = new_app("Notifications: deliver what waits in the outbox.")

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="Act as if it were this time (ISO 8601 with an offset, e.g. "
        "2026-11-27T16:00:00+08:00 or 2026-11-27T08:00:00Z); default: the current time.",
    ),
]


def parse_now(value: str | None) -> datetime:
    """The ``--now`` option as an aware time; the current time when it is not given."""
    if value is None:
        return SystemClock().now()
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"--now: {value!r} is not an ISO 8601 time such as 2026-11-27T08:00:00Z")
    if parsed.tzinfo is None:
        fail(f"--now: {value!r} has no offset; add Z (UTC) or one such as +08:00")
    return parsed


async def _deliver(settings: Settings, now: datetime) -> DeliveryReport:
    """One delivery pass with its own database pool and HTTP client."""
    database = Database(settings)
    try:
        async with httpx.AsyncClient() as client:
            return await deliver_due(database, now, settings, client)
    finally:
        await database.dispose()


@app.command("deliver")
def deliver(now: NowOption = None) -> None:
    """Send every notification due for the webhook once, and print what happened.

    Failed sends are retried by a later pass after their backoff; `wenming serve` runs passes
    on its own every WENMING_NOTIFY_DELIVERY_INTERVAL_SECONDS.
    """
    settings = load_settings()
    moment = parse_now(now)
    if not settings.notify_webhook_url:
        fail(
            "WENMING_NOTIFY_WEBHOOK_URL is not set: notifications stay in the in-app inbox and "
            "there is nothing to deliver"
        )
    require_current_schema(settings)
    try:
        report = asyncio.run(_deliver(settings, moment))
    except DBAPIError as exc:
        fail(f"the database at {shown_url(settings)} refused the work: {exc.orig}")
    typer.echo(f"sent: {report.sent}, to retry: {report.retrying}, given up: {report.dead}")
