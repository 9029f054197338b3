"""Bearer tokens through the OAuth2 password flow: issue, use, expire, revoke, disabled users."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import PASSWORD, bearer_headers, create_tree, create_user
from wenming.auth.models import AuthSession
from wenming.auth.service import SESSION_KIND_WEB, issue_session
from wenming.core.clock import FrozenClock
from wenming.core.security import token_digest
from wenming.org.roles import Role

PROBLEM_JSON = "application/problem+json"


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """POST the OAuth2 password-flow form."""
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


async def test_password_flow_issues_a_token_that_works(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    tree = await create_tree(session)
    await create_user(session, "wanglei", Role.GRID_WORKER, unit=tree.community)
    await session.commit()
    response = await sign_in(client, "  WangLei ", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 8 * 3600)

    stored = await session.scalar(
        select(AuthSession).where(AuthSession.token_digest == token_digest(body["access_token"]))
    )
    assert stored is not None
    assert stored.kind == "bearer"
    assert body["access_token"] not in (stored.token_digest, str(stored.id))

    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json() == {
        "id": stored.user_id,
        "username": "wanglei",
        "display_name": "wanglei",
        "roles": [{"role": "grid_worker", "unit_code": "211104004001", "department_code": None}],
    }


async def test_wrong_password_is_a_401_problem(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await create_user(session, "wanglei")
    await session.commit()
    response = await sign_in(client, "wanglei", "not-the-password")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "type": "/problems/login-refused",
        "title": "Sign-in refused",
        "status": 401,
        "detail": "Wrong username or password.",
        "instance": "/api/v1/auth/token",
    }
    assert await session.scalar(select(AuthSession.id)) is None


async def test_unknown_user_gets_the_same_answer(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "nobody", "whatever-password")
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


async def test_form_fields_are_validated_by_name(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/v1/auth/token", data={"username": "x"})
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["password"]
    grant = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "username": "x", "password": "y"},
    )
    assert grant.status_code == 422
    assert [e["field"] for e in grant.json()["errors"]] == ["grant_type"]
    blank = await sign_in(client, "   ", "y")
    assert blank.status_code == 422
    assert blank.json()["errors"] == [
        {"field": "username", "message": "Enter both a username and a password."}
    ]
    long = await sign_in(client, "x" * 65, "y")
    assert long.status_code == 422
    assert [e["field"] for e in long.json()["errors"]] == ["username"]
    control = await sign_in(client, "wang\x00lei", "y")
    assert control.status_code == 422
    assert [e["field"] for e in control.json()["errors"]] == ["username"]


async def test_logout_revokes_the_bearer_token(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    user = await create_user(session, "wanglei")
    headers = await bearer_headers(session, user)
    other = await bearer_headers(session, user)
    await session.commit()
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    logout = await client.post("/api/v1/auth/logout", headers=headers)
    assert logout.status_code == 204
    again = await client.get("/api/v1/auth/me", headers=headers)
    assert again.status_code == 401
    assert again.json()["type"] == "/problems/not-authenticated"
    assert again.json()["detail"] == (
        "The bearer token is invalid or expired; get a new one at POST /api/v1/auth/token."
    )
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=other)).status_code == 200


async def test_an_expired_token_is_refused(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    user = await create_user(session, "wanglei")
    headers = await bearer_headers(session, user)  # valid for one hour from NOW
    await session.commit()
    clock.advance(minutes=59, seconds=59)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    clock.advance(seconds=1)
    expired = await client.get("/api/v1/auth/me", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == "Bearer"


async def test_a_disabled_users_token_is_refused(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    user = await create_user(session, "wanglei")
    headers = await bearer_headers(session, user)
    user.is_active = False
    await session.commit()
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "This account is disabled or no longer exists."
    refused = await sign_in(client, "wanglei", PASSWORD)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Wrong username or password."


async def test_a_web_session_token_is_not_a_bearer_token(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    user = await create_user(session, "wanglei")
    issued = await issue_session(session, user.id, SESSION_KIND_WEB, NOW, timedelta(hours=1))
    await session.commit()
    response = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {issued.token}"}
    )
    assert response.status_code == 401


async def test_garbage_credentials_are_401_not_anonymous(client: httpx.AsyncClient) -> None:
    for headers in (
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer " + "x" * 10000},
        {"X-API-Key": "wmk_unknown"},
    ):
        response = await client.get("/api/v1/org/units", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON
    anonymous = await client.get("/api/v1/auth/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"].startswith("Sign in first")
