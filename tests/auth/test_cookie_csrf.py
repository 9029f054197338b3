"""Browser sessions: the cookie authenticates, and every cookie-authenticated JSON write needs the
CSRF token of the ``wm_csrf`` cookie in the ``X-CSRF-Token`` header."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW, TEST_SECRET
from tests.factories.org import create_user
from wenming.auth.csrf import CSRF_COOKIE
from wenming.auth.models import ApiKey
from wenming.auth.service import SESSION_KIND_BEARER, SESSION_KIND_WEB, issue_session
from wenming.core.clock import FrozenClock
from wenming.core.deps import SESSION_COOKIE
from wenming.core.security import sign

NONCE = "browser-nonce-0123456789"


async def browser(
    session: AsyncSession, client: httpx.AsyncClient, kind: str = SESSION_KIND_WEB
) -> None:
    """Sign a user in the way the web login does and give the client its cookies."""
    user = await create_user(session, "browser")
    issued = await issue_session(session, user.id, kind, NOW, timedelta(hours=12))
    await session.commit()
    client.cookies.set(SESSION_COOKIE, issued.token)
    client.cookies.set(CSRF_COOKIE, NONCE)


async def test_the_session_cookie_reads_without_a_token(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await browser(session, client)
    response = await client.get("/api/v1/auth/me")
    assert (response.status_code, response.json()["username"]) == (200, "browser")


async def test_a_cookie_write_without_the_token_is_refused(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await browser(session, client)
    response = await client.post("/api/v1/auth/api-keys", json={"name": "k"})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "/problems/csrf-failed",
        "title": "Form expired",
        "status": 403,
        "detail": "The security token of this request is missing or expired. Reload the page "
        "and try again.",
        "instance": "/api/v1/auth/api-keys",
    }
    assert await session.scalar(select(ApiKey.id)) is None


async def test_a_wrong_or_foreign_token_is_refused(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await browser(session, client)
    for token in ("forged", sign(TEST_SECRET, "another-nonce"), sign("other-secret", NONCE)):
        response = await client.post(
            "/api/v1/auth/api-keys", json={"name": "k"}, headers={"X-CSRF-Token": token}
        )
        assert (response.status_code, response.json()["type"]) == (403, "/problems/csrf-failed")
    client.cookies.delete(CSRF_COOKIE)
    no_cookie = await client.post(
        "/api/v1/auth/api-keys",
        json={"name": "k"},
        headers={"X-CSRF-Token": sign(TEST_SECRET, NONCE)},
    )
    assert no_cookie.status_code == 403
    assert await session.scalar(select(ApiKey.id)) is None


async def test_the_right_token_lets_the_write_through(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await browser(session, client)
    response = await client.post(
        "/api/v1/auth/api-keys",
        json={"name": "k"},
        headers={"X-CSRF-Token": sign(TEST_SECRET, NONCE)},
    )
    assert response.status_code == 201
    assert await session.scalar(select(ApiKey.name)) == "k"


async def test_a_bearer_token_in_the_cookie_is_not_a_session(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await browser(session, client, kind=SESSION_KIND_BEARER)
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_an_expired_session_is_anonymous(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await browser(session, client)
    clock.advance(hours=12)
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"
