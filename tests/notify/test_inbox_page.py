"""The inbox page: newest first with the unread ones marked, the unread count in the header,
marking read with the page's CSRF token, in both languages."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import create_user
from tests.web.support import HTML, by_testid, csrf_from, sign_in
from wenming.core.config import Settings
from wenming.notify import service
from wenming.notify.models import Notification
from wenming.org.models import User

NOTE = re.compile(r'<li class="card inbox-item( inbox-unread)?" data-testid="notification"')
TITLE = re.compile(r'<strong class="inbox-title">(.*?)</strong>')


async def inbox_of(session: AsyncSession, settings: Settings, user: User, *titles: str) -> None:
    """Notifications for a person, one minute apart, oldest first."""
    for index, title in enumerate(titles):
        await service.notify(
            session,
            user_ids=[user.id],
            kind="case.dispatched",
            title=title,
            body=f"{title}：请在 2 个工作日内处置",
            link=f"/cases/K{index}" if index else None,
            case_id=None,
            now=NOW + timedelta(minutes=index),
            settings=settings,
        )


def shown(html: str) -> list[tuple[str, bool]]:
    """The titles on the page in order, each with whether it is marked unread."""
    return list(
        zip(
            TITLE.findall(html),
            [bool(unread) for unread in NOTE.findall(html)],
            strict=True,
        )
    )


async def test_the_inbox_lists_newest_first_with_unread_marked(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, "暴露垃圾", "占道经营", "井盖破损")
    first = (await session.scalars(select(Notification).order_by(Notification.id))).first()
    assert first is not None
    await service.mark_read(session, user.id, [first.id], now=NOW)
    await sign_in(client, session, user)

    page = await client.get("/inbox", headers=HTML)
    assert page.status_code == 200
    assert shown(page.text) == [("井盖破损", True), ("占道经营", True), ("暴露垃圾", False)]
    assert by_testid(page.text, "unread-total") == "2 条未读"
    assert by_testid(page.text, "nav-unread") == "2"
    assert '<a class="btn btn-small" href="/cases/K2">查看</a>' in page.text
    assert "<h1>消息</h1>" in page.text
    assert page.text.count('<span class="badge badge-new">未读</span>') == 2
    assert "2026-11-27 16:02" in page.text  # shown in Asia/Shanghai

    unread = await client.get("/inbox?unread=1", headers=HTML)
    assert shown(unread.text) == [("井盖破损", True), ("占道经营", True)]


async def test_mark_all_read_needs_the_token_and_clears_the_count(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, "暴露垃圾", "占道经营")
    await sign_in(client, session, user)
    page = await client.get("/inbox", headers=HTML)

    forged = await client.post("/inbox/read-all", data={"csrf_token": "0" * 64}, headers=HTML)
    assert forged.status_code == 403
    assert await service.unread_count(session, user.id) == 2

    done = await client.post(
        "/inbox/read-all", data={"csrf_token": csrf_from(page.text)}, headers=HTML
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/inbox?done=all"
    after = await client.get(done.headers["location"], headers=HTML)
    assert by_testid(after.text, "inbox-notice") == "所有通知均已标为已读。"
    assert shown(after.text) == [("占道经营", False), ("暴露垃圾", False)]
    assert by_testid(after.text, "unread-total") == "0 条未读"
    assert 'data-testid="nav-unread"' not in after.text
    assert 'data-testid="read-all"' not in after.text
    assert await service.unread_count(session, user.id) == 0


async def test_mark_one_read_and_someone_elses_is_a_404(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    other = await create_user(session, "other")
    await inbox_of(session, settings, user, "暴露垃圾", "占道经营")
    await inbox_of(session, settings, other, "别人的通知")
    ids = {n.title: n.id for n in (await session.scalars(select(Notification))).all()}
    other_id = other.id
    await sign_in(client, session, user)
    page = await client.get("/inbox?unread=1", headers=HTML)
    token = csrf_from(page.text)

    done = await client.post(
        f"/inbox/{ids['占道经营']}/read",
        data={"csrf_token": token, "page": "1", "unread": "1"},
        headers=HTML,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/inbox?unread=1&done=one"
    after = await client.get(done.headers["location"], headers=HTML)
    assert by_testid(after.text, "inbox-notice") == "该通知已标为已读。"
    assert shown(after.text) == [("暴露垃圾", True)]
    assert by_testid(after.text, "nav-unread") == "1"

    refused = await client.post(
        f"/inbox/{ids['别人的通知']}/read", data={"csrf_token": token}, headers=HTML
    )
    assert refused.status_code == 404
    assert by_testid(refused.text, "error-title") == "未找到"
    # The refused request rolled back and expired what the session held: ids were kept above.
    assert await service.unread_count(session, other_id) == 1


async def test_an_empty_inbox_in_english(client: httpx.AsyncClient, session: AsyncSession) -> None:
    user = await create_user(session, "worker")
    await sign_in(client, session, user)
    client.cookies.set("wm_lang", "en")
    page = await client.get("/inbox", headers=HTML)
    assert page.status_code == 200
    assert "<h1>Inbox</h1>" in page.text
    assert by_testid(page.text, "inbox-empty") == "You have no notifications yet."
    assert by_testid(page.text, "unread-total") == "0 unread"
    assert '<a href="/inbox" aria-current="page" data-testid="nav-inbox">Inbox</a>' in page.text
    unread = await client.get("/inbox?unread=1", headers=HTML)
    assert by_testid(unread.text, "inbox-empty") == "You have no unread notifications."


async def test_every_page_header_shows_the_unread_count(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, "暴露垃圾")
    await sign_in(client, session, user)
    home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert by_testid(home.text, "nav-unread") == "1"
    assert '<span class="visually-hidden">1 条未读</span>' in home.text


async def test_the_inbox_needs_a_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/inbox", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/inbox"


async def test_paging_links(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, *[f"通知{i:02d}" for i in range(25)])
    await sign_in(client, session, user)
    first = await client.get("/inbox", headers=HTML)
    assert len(shown(first.text)) == 20
    assert by_testid(first.text, "inbox-range") == "第 1–20 条，共 25 条"
    assert 'href="/inbox?page=2" rel="next"' in first.text
    second = await client.get("/inbox?page=2", headers=HTML)
    assert [title for title, _ in shown(second.text)] == [f"通知{i:02d}" for i in range(4, -1, -1)]
    assert 'href="/inbox" rel="prev"' in second.text


async def test_an_odd_page_number_posted_back_means_the_first_page(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session, "worker")
    await inbox_of(session, settings, user, "暴露垃圾", "占道经营", "井盖破损")
    ids = [n.id for n in (await session.scalars(select(Notification))).all()]
    await sign_in(client, session, user)
    token = csrf_from((await client.get("/inbox", headers=HTML)).text)
    for note_id, page in zip(ids, ["²", "9" * 5000, "0"], strict=True):
        done = await client.post(
            f"/inbox/{note_id}/read", data={"csrf_token": token, "page": page}, headers=HTML
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/inbox?done=one"
