"""Notifications: written for many people at once inside the caller's transaction, read and
marked read by their owner only.

``notify`` only adds rows and flushes. The edge that opened the unit of work commits it; the
delivery worker (``notify.delivery``) sends outbox rows once they are committed, so a change
that rolls back never announces itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.config import Settings
from wenming.core.errors import InvalidInput, NotFound
from wenming.notify.models import (
    KIND_MAX,
    LINK_MAX,
    TITLE_MAX,
    WEBHOOK_CHANNEL,
    Notification,
    NotificationOutbox,
    OutboxStatus,
)

ALL: Final = "all"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def iso_utc(value: datetime) -> str:
    """A time as ISO 8601 in UTC with a ``Z`` suffix, as the webhook payload carries it."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook_payload(notification_id: int, user_id: int, values: dict[str, Any]) -> str:
    """The JSON text the webhook receives for one notification (compact, keys sorted).

    ``notification_id`` doubles as the idempotency key: a gateway that sees it twice (a retry
    after a lost answer) sends the message once.
    """
    document = {
        "notification_id": notification_id,
        "user_id": user_id,
        "kind": values["kind"],
        "title": values["title"],
        "body": values["body"],
        "link": values["link"],
        "case_id": values["case_id"],
        "created_at": iso_utc(values["created_at"]),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _check(kind: str, title: str, link: str | None) -> None:
    """Refuse values the inbox cannot show or a link that would leave the site."""
    if len(kind) > KIND_MAX or not KIND_PATTERN.fullmatch(kind):
        raise InvalidInput(
            "A notification kind is lower-case words joined by dots, e.g. 'case.dispatched'.",
            field="kind",
        )
    if not title.strip() or len(title) > TITLE_MAX:
        raise InvalidInput(
            f"A notification needs a title of 1 to {TITLE_MAX} characters.", field="title"
        )
    if link is not None and (
        not link.startswith("/")
        or link.startswith("//")
        or "\\" in link
        or len(link) > LINK_MAX
        or CONTROL_CHARACTERS.search(link)
    ):
        raise InvalidInput(
            "A notification link is a path on this site, such as '/cases/ABC123'.", field="link"
        )


async def notify(
    session: AsyncSession,
    *,
    user_ids: Collection[int],
    kind: str,
    title: str,
    body: str,
    link: str | None,
    case_id: int | None,
    now: datetime,
    settings: Settings,
) -> int:
    """Put one notification in each person's inbox and, with a webhook configured, queue one
    outbox row per notification; returns how many people were notified.

    Rows are added with one multi-row insert per table, whatever the number of people, and only
    flushed: the caller's transaction decides whether any of it happens.
    """
    recipients = list(dict.fromkeys(user_ids))
    if not recipients:
        return 0
    _check(kind, title, link)
    values: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "body": body,
        "link": link,
        "case_id": case_id,
        "created_at": now,
    }
    rows = [{"user_id": user_id, **values} for user_id in recipients]
    # Recipients are distinct, so each returned id is matched to its person by user_id: the order
    # of RETURNING rows does not matter (SQLite does not promise one for a multi-row insert).
    statement = insert(Notification).returning(Notification.user_id, Notification.id)
    ids: dict[int, int] = {
        user_id: row_id for user_id, row_id in await session.execute(statement, rows)
    }
    if settings.notify_webhook_url:
        outbox = [
            {
                "notification_id": ids[user_id],
                "channel": WEBHOOK_CHANNEL,
                "payload": webhook_payload(ids[user_id], user_id, values),
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for user_id in recipients
        ]
        await session.execute(insert(NotificationOutbox), outbox)
    await session.flush()
    return len(recipients)


def _owned(user_id: int, unread_only: bool = False) -> list[Any]:
    """The filter of one person's notifications (only the unread ones when asked)."""
    criteria: list[Any] = [Notification.user_id == user_id]
    if unread_only:
        criteria.append(Notification.read_at.is_(None))
    return criteria


async def list_for_user(
    session: AsyncSession,
    user_id: int,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    unread_only: bool = False,
) -> tuple[list[Notification], int]:
    """One page of a person's notifications, newest first, with the total count."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"Pages count from 1 and hold 1 to {MAX_PAGE_SIZE} notifications.", field="page_size"
        )
    criteria = _owned(user_id, unread_only)
    total = int(
        await session.scalar(select(func.count()).select_from(Notification).where(*criteria)) or 0
    )
    items = await session.scalars(
        select(Notification)
        .where(*criteria)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(items), total


async def unread_count(session: AsyncSession, user_id: int) -> int:
    """How many of a person's notifications are unread (one indexed COUNT)."""
    query = select(func.count()).select_from(Notification).where(*_owned(user_id, True))
    return int(await session.scalar(query) or 0)


async def get_for_user(session: AsyncSession, user_id: int, notification_id: int) -> Notification:
    """One of a person's own notifications; anyone else's does not exist for them (404)."""
    found = await session.scalar(
        select(Notification).where(Notification.id == notification_id, *_owned(user_id))
    )
    if found is None:
        raise NotFound(f"There is no notification {notification_id} in your inbox.")
    return found


async def mark_read(
    session: AsyncSession,
    user_id: int,
    ids: Collection[int] | Literal["all"],
    *,
    now: datetime,
) -> int:
    """Mark some of a person's notifications read (or all of them); returns how many changed.

    Notifications read before keep their first ``read_at``. An id that is not one of the
    person's own notifications is refused with 404 and nothing is marked.
    """
    criteria = _owned(user_id, unread_only=True)
    if isinstance(ids, str):
        if ids != ALL:
            raise ValueError(f"mark_read takes ids or {ALL!r}, not {ids!r}")
    else:
        wanted = set(ids)
        if not wanted:
            return 0
        owned = set(
            await session.scalars(
                select(Notification.id).where(Notification.id.in_(wanted), *_owned(user_id))
            )
        )
        if missing := wanted - owned:
            raise NotFound(f"There is no notification {min(missing)} in your inbox.")
        criteria.append(Notification.id.in_(wanted))
    # "evaluate" also updates the notifications this session has loaded already.
    result = await session.execute(
        update(Notification)
        .where(*criteria)
        .values(read_at=now)
        .execution_options(synchronize_session="evaluate")
    )
    return int(getattr(result, "rowcount", 0))
