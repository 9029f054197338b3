"""Delivering queued notifications to the webhook, at least once, without holding the database
while the network answers.

One pass works in three steps per batch:

1. **claim**: one short write transaction takes the due ``pending`` rows (PostgreSQL: ``FOR
   UPDATE SKIP LOCKED``, so two workers never take the same row; SQLite: the single writer lock),
   counts the attempt and moves ``next_attempt_at`` to the end of a lease, so a worker that dies
   mid-send leaves its rows due again once the lease has passed;
2. **send**: POST each payload, no transaction open;
3. **record**: a second short transaction marks each row ``sent``, schedules a retry after the
   backoff, or marks it ``dead`` after ``notify_webhook_max_attempts`` attempts. A row whose lease
   was taken over meanwhile is left to the worker that holds it now.

Retries wait 30 s × 2^(attempts − 1), at most one hour: 30 s, 1 min, 2 min, 4 min, 8 min, 16 min,
32 min, then 1 h each. A gateway may still see a message twice (its answer lost on the way
back); the ``notification_id`` in the body lets it drop the repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import httpx
from sqlalchemy import ColumnElement, Table, bindparam, select, update

from wenming.core.clock import Clock
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.core.periodic import PeriodicTask
from wenming.notify.models import ERROR_MAX, WEBHOOK_CHANNEL, NotificationOutbox, OutboxStatus

log = logging.getLogger("wenming.notify")

SIGNATURE_HEADER = "X-Wenming-Signature"
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
DEFAULT_BATCH_SIZE = 100
SEND_CONCURRENCY = 10
LEASE_MARGIN_SECONDS = 60
RESPONSE_EXCERPT = 200
TASK_NAME = "notify.deliver"

Outbox = NotificationOutbox


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed send: 30 s doubling, at most 1 h."""
    exponent = max(attempts - 1, 0)
    if exponent >= 12:  # 30 s × 2^12 is far beyond the cap already
        return timedelta(seconds=BACKOFF_CAP_SECONDS)
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2**exponent, BACKOFF_CAP_SECONDS))


def lease_for(settings: Settings, batch_size: int) -> timedelta:
    """How long claimed rows stay reserved: twice the slowest possible send of a whole batch,
    plus a margin, so a live worker always records its results before the lease ends."""
    waves = math.ceil(batch_size / SEND_CONCURRENCY)
    return timedelta(
        seconds=LEASE_MARGIN_SECONDS + 2 * waves * settings.notify_webhook_timeout_seconds
    )


def signature(secret: str, body: bytes) -> str:
    """The ``X-Wenming-Signature`` value of a body: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery pass did: delivered, failed and to be retried, given up."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0

    @property
    def attempted(self) -> int:
        """Rows sent (or tried) in this pass."""
        return self.sent + self.retrying + self.dead

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent, self.retrying + other.retrying, self.dead + other.dead
        )


@dataclass(frozen=True)
class Claimed:
    """An outbox row reserved by this worker until ``lease_until``."""

    id: int
    payload: str
    attempts: int
    lease_until: datetime


def _due(now: datetime) -> list[ColumnElement[bool]]:
    """The filter of webhook rows waiting to be sent at ``now``."""
    return [
        Outbox.status == OutboxStatus.PENDING.value,
        Outbox.channel == WEBHOOK_CHANNEL,
        Outbox.next_attempt_at <= now,
    ]


async def has_due(database: Database, now: datetime) -> bool:
    """Whether any row waits to be sent (a read: no write lock for an idle pass)."""
    async with database.session(write=False) as session:
        found = await session.scalar(select(Outbox.id).where(*_due(now)).limit(1))
    return found is not None


async def claim_due(
    database: Database, now: datetime, *, limit: int, lease: timedelta
) -> list[Claimed]:
    """Reserve up to ``limit`` due rows, oldest first, in one short transaction."""
    async with database.session(write=True) as session:
        rows = (
            await session.execute(
                select(Outbox.id, Outbox.payload, Outbox.attempts)
                .where(*_due(now))
                .order_by(Outbox.next_attempt_at, Outbox.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return []
        lease_until = now + lease
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_([row.id for row in rows]))
            .values(attempts=Outbox.attempts + 1, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
    return [Claimed(row.id, row.payload, row.attempts + 1, lease_until) for row in rows]


async def send(
    client: httpx.AsyncClient, settings: Settings, url: str, item: Claimed
) -> str | None:
    """POST one payload; None when the receiver answered 2xx, else what went wrong."""
    body = item.payload.encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if settings.notify_webhook_secret:
        headers[SIGNATURE_HEADER] = signature(settings.notify_webhook_secret, body)
    timeout = settings.notify_webhook_timeout_seconds
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    except Exception as exc:
        log.exception("sending notification outbox row %s failed unexpectedly", item.id)
        return f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    if response.is_success:
        return None
    excerpt = " ".join(response.text[:RESPONSE_EXCERPT].split())
    return f"HTTP {response.status_code}: {excerpt}".rstrip(": ")[:ERROR_MAX]


async def record(
    database: Database,
    results: Sequence[tuple[Claimed, str | None]],
    now: datetime,
    settings: Settings,
) -> DeliveryReport:
    """Write the outcome of each send in one short transaction and count them."""
    table = cast(Table, Outbox.__table__)
    sent: list[dict[str, object]] = []
    failed: list[dict[str, object]] = []
    dead = 0
    for item, error in results:
        params: dict[str, object] = {"row_id": item.id, "lease": item.lease_until}
        if error is None:
            sent.append(params)
            continue
        give_up = item.attempts >= settings.notify_webhook_max_attempts
        dead += give_up
        failed.append(
            params
            | {
                "new_status": (OutboxStatus.DEAD if give_up else OutboxStatus.PENDING).value,
                "retry_at": item.lease_until if give_up else now + backoff(item.attempts),
                "error": error,
            }
        )
    owned = (
        table.c.id == bindparam("row_id"),
        table.c.status == OutboxStatus.PENDING.value,
        table.c.next_attempt_at == bindparam("lease"),
    )
    async with database.session(write=True) as session:
        if sent:
            await session.execute(
                update(table)
                .where(*owned)
                .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=None),
                sent,
            )
        if failed:
            await session.execute(
                update(table)
                .where(*owned)
                .values(
                    status=bindparam("new_status"),
                    next_attempt_at=bindparam("retry_at"),
                    last_error=bindparam("error"),
                ),
                failed,
            )
    return DeliveryReport(sent=len(sent), retrying=len(failed) - dead, dead=dead)


async def deliver_due(
    database: Database,
    now: datetime,
    settings: Settings,
    client: httpx.AsyncClient,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DeliveryReport:
    """Send every webhook row due at ``now``, batch by batch, and record each outcome.

    Without a configured webhook URL nothing is sent and queued rows stay pending.
    """
    url = settings.notify_webhook_url
    if not url:
        return DeliveryReport()
    lease = lease_for(settings, batch_size)
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send_one(item: Claimed) -> tuple[Claimed, str | None]:
        async with limit:
            return item, await send(client, settings, url, item)

    report = DeliveryReport()
    while True:
        claimed = await claim_due(database, now, limit=batch_size, lease=lease)
        if not claimed:
            break
        results = await asyncio.gather(*(send_one(item) for item in claimed))
        report += await record(database, results, now, settings)
        if len(claimed) < batch_size:
            break
    if report.attempted:
        log.info(
            "notifications: %d sent, %d to retry, %d given up",
            report.sent,
            report.retrying,
            report.dead,
        )
    return report


def delivery_task(settings: Settings, database: Database, clock: Clock) -> PeriodicTask:
    """The periodic job of ``wenming serve`` that delivers due notifications.

    An idle pass is one read; the HTTP client exists only while there is something to send.
    """

    async def run() -> DeliveryReport:
        now = clock.now()
        if not await has_due(database, now):
            return DeliveryReport()
        async with httpx.AsyncClient() as client:
            return await deliver_due(database, now, settings, client)

    return PeriodicTask(TASK_NAME, settings.notify_delivery_interval_seconds, run)
