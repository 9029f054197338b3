"""notify() writes exactly one inbox row per person (and one outbox row each with a webhook), in
two statements whatever the number of people; people read and mark only their own."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tests.conftest import NOW
from tests.factories.org import create_user
from wenming.core.config import Settings
from wenming.core.errors import InvalidInput, NotFound
from wenming.notify import service
from wenming.notify.models import Notification, NotificationOutbox
from wenming.org.models import User

HOOK = "http://127.0.0.1:9/hook"


async def people(session: AsyncSession, count: int) -> list[User]:
    """Some users without roles."""
    return [await create_user(session, f"person{i}", phone=None) for i in range(count)]


async def send(
    session: AsyncSession, settings: Settings, users: list[User], **changes: object
) -> int:
    """notify() with the test's usual message, changed where asked."""
    values: dict[str, object] = {
        "kind": "case.dispatched",
        "title": "新案件：暴露垃圾",
        "body": "大洼街道 建设路 12 号",
        "link": "/cases/K7Q2M9",
        "case_id": 41,
    }
    values.update(changes)
    return await service.notify(
        session,
        user_ids=[user.id for user in users],
        now=NOW,
        settings=settings,
        **values,  # type: ignore[arg-type]
    )


async def test_notify_writes_one_inbox_row_per_person_and_no_outbox_without_webhook(
    session: AsyncSession, settings: Settings
) -> None:
    a, b = await people(session, 2)
    assert await send(session, settings, [a, b, a]) == 2
    rows = (await session.scalars(select(Notification).order_by(Notification.user_id))).all()
    assert [
        (r.user_id, r.kind, r.title, r.body, r.link, r.case_id, r.created_at, r.read_at)
        for r in rows
    ] == [
        (
            user.id,
            "case.dispatched",
            "新案件：暴露垃圾",
            "大洼街道 建设路 12 号",
            "/cases/K7Q2M9",
            41,
            NOW,
            None,
        )
        for user in (a, b)
    ]
    assert (await session.scalars(select(NotificationOutbox))).all() == []


async def test_notify_queues_one_signed_payload_per_notification_with_a_webhook(
    session: AsyncSession, settings: Settings
) -> None:
    hooked = settings.model_copy(update={"notify_webhook_url": HOOK})
    a, b = await people(session, 2)
    assert await send(session, hooked, [b, a], link=None, case_id=None) == 2
    inbox = {n.user_id: n.id for n in (await session.scalars(select(Notification))).all()}
    outbox = await session.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id))
    rows = outbox.all()
    assert sorted(
        (
            r.notification_id,
            r.channel,
            r.status,
            r.attempts,
            r.next_attempt_at,
            r.last_error,
            r.created_at,
            r.sent_at,
        )
        for r in rows
    ) == sorted((inbox[user.id], "webhook", "pending", 0, NOW, None, NOW, None) for user in (a, b))
    for row in rows:
        user_id = next(uid for uid, nid in inbox.items() if nid == row.notification_id)
        assert json.loads(row.payload) == {
            "notification_id": row.notification_id,
            "user_id": user_id,
            "kind": "case.dispatched",
            "title": "新案件：暴露垃圾",
            "body": "大洼街道 建设路 12 号",
            "link": None,
            "case_id": None,
            "created_at": "2026-11-27T08:00:00Z",
        }
        assert "\\u" not in row.payload  # Chinese travels as UTF-8, not escaped


async def test_notify_many_people_takes_one_insert_per_table(
    session: AsyncSession, connection: AsyncConnection, settings: Settings
) -> None:
    hooked = settings.model_copy(update={"notify_webhook_url": HOOK})
    users = await people(session, 40)
    statements: list[str] = []

    def remember(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split("(", 1)[0].strip())

    event.listen(connection.sync_connection, "before_cursor_execute", remember)
    try:
        assert await send(session, hooked, users) == 40
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", remember)
    assert statements == ["INSERT INTO notification", "INSERT INTO notification_outbox"]
    assert len((await session.scalars(select(NotificationOutbox))).all()) == 40


async def test_nobody_to_notify_writes_nothing(session: AsyncSession, settings: Settings) -> None:
    assert await send(session, settings, []) == 0
    assert (await session.scalars(select(Notification))).all() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": ""}, "kind"),
        ({"kind": "Case Dispatched"}, "kind"),
        ({"kind": "case." + "x" * 60}, "kind"),
        ({"title": "  "}, "title"),
        ({"title": "长" * 201}, "title"),
        ({"link": "https://elsewhere.example/"}, "link"),
        ({"link": "//elsewhere.example/"}, "link"),
        ({"link": "cases/1"}, "link"),
        ({"link": "/cases/1\r\nX: y"}, "link"),
    ],
)
async def test_notify_refuses_what_the_inbox_cannot_show(
    session: AsyncSession, settings: Settings, changes: dict[str, object], field: str
) -> None:
    (a,) = await people(session, 1)
    with pytest.raises(InvalidInput) as refused:
        await send(session, settings, [a], **changes)
    assert refused.value.field == field
    assert (await session.scalars(select(Notification))).all() == []


async def test_list_unread_count_and_mark_read_see_only_ones_own(
    session: AsyncSession, settings: Settings
) -> None:
    a, b = await people(session, 2)
    for index in range(3):
        await service.notify(
            session,
            user_ids=[a.id],
            kind="case.overdue",
            title=f"A{index}",
            body="",
            link=None,
            case_id=None,
            now=NOW + timedelta(minutes=index),
            settings=settings,
        )
    await send(session, settings, [b], title="B0")
    items, total = await service.list_for_user(session, a.id, page=1, page_size=2)
    assert ([n.title for n in items], total) == (["A2", "A1"], 3)
    items, total = await service.list_for_user(session, a.id, page=2, page_size=2)
    assert ([n.title for n in items], total) == (["A0"], 3)
    assert await service.unread_count(session, a.id) == 3

    a_ids = {n.title: n.id for n in (await service.list_for_user(session, a.id))[0]}
    (b_note,), _ = await service.list_for_user(session, b.id)
    with pytest.raises(NotFound):
        await service.mark_read(session, a.id, [a_ids["A1"], b_note.id], now=NOW)
    assert await service.unread_count(session, a.id) == 3
    with pytest.raises(NotFound):
        await service.get_for_user(session, a.id, b_note.id)

    later = NOW + timedelta(hours=1)
    assert await service.mark_read(session, a.id, [a_ids["A1"]], now=later) == 1
    assert await service.mark_read(session, a.id, [a_ids["A1"]], now=later + timedelta(1)) == 0
    unread, count = await service.list_for_user(session, a.id, unread_only=True)
    assert ([n.title for n in unread], count) == (["A2", "A0"], 2)
    assert (await service.get_for_user(session, a.id, a_ids["A1"])).read_at == later

    assert await service.mark_read(session, a.id, service.ALL, now=later + timedelta(2)) == 2
    assert await service.unread_count(session, a.id) == 0
    assert (await service.get_for_user(session, a.id, a_ids["A1"])).read_at == later
    assert await service.unread_count(session, b.id) == 1
    assert (await service.get_for_user(session, b.id, b_note.id)).read_at is None


async def test_list_refuses_impossible_pages(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput):
        await service.list_for_user(session, 1, page=0)
    with pytest.raises(InvalidInput):
        await service.list_for_user(session, 1, page_size=service.MAX_PAGE_SIZE + 1)
