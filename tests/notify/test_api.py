"""The notifications API: signed-in callers only, each reading and marking only their own inbox."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import bearer_headers, create_user
from wenming.core.clock import FrozenClock
from wenming.core.config import Settings
from wenming.notify import service
from wenming.notify.models import Notification
from wenming.org.models import User


async def inbox_of(session: AsyncSession, settings: Settings, user: User, *titles: str) -> None:
    """Notifications for a person, one minute apart, oldest first."""
    for index, title in enumerate(titles):
        await service.notify(
            session,
            user_ids=[user.id],
            kind="case.dispatched",
            title=title,
            body=f"{title} body",
            link=f"/cases/{index}",
            case_id=index,
            now=NOW + timedelta(minutes=index),
            settings=settings,
        )


async def ids_by_title(session: AsyncSession, user: User) -> dict[str, int]:
    """The ids of a person's notifications by title."""
    rows = await session.execute(
        select(Notification.title, Notification.id).where(Notification.user_id == user.id)
    )
    return {title: row_id for title, row_id in rows}


async def test_anonymous_callers_are_refused(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/unread-count"),
        ("POST", "/api/v1/notifications/1/read"),
        ("POST", "/api/v1/notifications/read-all"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"


async def test_list_pages_newest_first_and_filters_unread(
    session: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, "first", "second", "third")
    ids = await ids_by_title(session, user)
    headers = await bearer_headers(session, user)
    await session.commit()

    page = await client.get(
        "/api/v1/notifications", params={"page": 1, "page_size": 2}, headers=headers
    )
    assert page.status_code == 200
    assert page.json() == {
        "items": [
            {
                "id": ids["third"],
                "kind": "case.dispatched",
                "title": "third",
                "body": "third body",
                "link": "/cases/2",
                "case_id": 2,
                "created_at": "2026-11-27T08:02:00Z",
                "read_at": None,
            },
            {
                "id": ids["second"],
                "kind": "case.dispatched",
                "title": "second",
                "body": "second body",
                "link": "/cases/1",
                "case_id": 1,
                "created_at": "2026-11-27T08:01:00Z",
                "read_at": None,
            },
        ],
        "total": 3,
        "page": 1,
        "page_size": 2,
    }
    second = await client.get(
        "/api/v1/notifications", params={"page": 2, "page_size": 2}, headers=headers
    )
    assert [n["title"] for n in second.json()["items"]] == ["first"]

    read = await client.post(f"/api/v1/notifications/{ids['second']}/read", headers=headers)
    assert read.status_code == 200
    assert (read.json()["id"], read.json()["read_at"]) == (ids["second"], "2026-11-27T08:00:00Z")
    unread = await client.get(
        "/api/v1/notifications", params={"unread_only": "true"}, headers=headers
    )
    assert [n["title"] for n in unread.json()["items"]] == ["third", "first"]
    assert unread.json()["total"] == 2
    count = await client.get("/api/v1/notifications/unread-count", headers=headers)
    assert count.json() == {"unread": 2}


async def test_read_again_keeps_the_first_read_time_and_read_all_marks_the_rest(
    session: AsyncSession, client: httpx.AsyncClient, settings: Settings, clock: FrozenClock
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, "a", "b", "c")
    ids = await ids_by_title(session, user)
    headers = await bearer_headers(session, user)
    await session.commit()

    await client.post(f"/api/v1/notifications/{ids['a']}/read", headers=headers)
    clock.advance(minutes=5)
    again = await client.post(f"/api/v1/notifications/{ids['a']}/read", headers=headers)
    assert again.json()["read_at"] == "2026-11-27T08:00:00Z"
    everything = await client.post("/api/v1/notifications/read-all", headers=headers)
    assert everything.status_code == 200
    assert everything.json() == {"marked": 2, "unread": 0}
    listing = await client.get("/api/v1/notifications", headers=headers)
    assert [(n["title"], n["read_at"]) for n in listing.json()["items"]] == [
        ("c", "2026-11-27T08:05:00Z"),
        ("b", "2026-11-27T08:05:00Z"),
        ("a", "2026-11-27T08:00:00Z"),
    ]
    none_left = await client.post("/api/v1/notifications/read-all", headers=headers)
    assert none_left.json() == {"marked": 0, "unread": 0}


async def test_nobody_reads_or_marks_someone_elses_notifications(
    session: AsyncSession, client: httpx.AsyncClient, settings: Settings
) -> None:
    alice = await create_user(session, "alice")
    bob = await create_user(session, "bob")
    await inbox_of(session, settings, alice, "for alice")
    (alice_note,) = (await ids_by_title(session, alice)).values()
    bob_headers = await bearer_headers(session, bob)
    alice_headers = await bearer_headers(session, alice)
    await session.commit()

    listing = await client.get("/api/v1/notifications", headers=bob_headers)
    assert listing.json() == {"items": [], "total": 0, "page": 1, "page_size": 20}
    count = await client.get("/api/v1/notifications/unread-count", headers=bob_headers)
    assert count.json() == {"unread": 0}
    refused = await client.post(f"/api/v1/notifications/{alice_note}/read", headers=bob_headers)
    assert refused.status_code == 404
    assert refused.json()["detail"] == f"There is no notification {alice_note} in your inbox."
    missing = await client.post("/api/v1/notifications/999999/read", headers=bob_headers)
    assert missing.status_code == 404
    everything = await client.post("/api/v1/notifications/read-all", headers=bob_headers)
    assert everything.json() == {"marked": 0, "unread": 0}

    still = await client.get("/api/v1/notifications/unread-count", headers=alice_headers)
    assert still.json() == {"unread": 1}


async def test_bad_paging_is_a_422(session: AsyncSession, client: httpx.AsyncClient) -> None:
    user = await create_user(session, "worker")
    headers = await bearer_headers(session, user)
    await session.commit()
    for params in ({"page": 0}, {"page_size": 101}, {"page_size": 0}, {"page": "x"}):
        response = await client.get("/api/v1/notifications", params=params, headers=headers)
        assert response.status_code == 422, params
    bad_id = await client.post("/api/v1/notifications/0/read", headers=headers)
    assert bad_id.status_code == 422
