"""API keys for machine clients: shown once, stored as a digest, usable two ways, revocable."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import bearer_headers, create_tree, create_user
from wenming.auth.models import ApiKey
from wenming.core.clock import FrozenClock
from wenming.core.security import token_digest
from wenming.org.roles import Role


async def new_key(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "巡查终端"
) -> dict[str, object]:
    """Create a key through the API and return the answer."""
    response = await client.post("/api/v1/auth/api-keys", json={"name": name}, headers=headers)
    assert response.status_code == 201
    body: dict[str, object] = response.json()
    return body


async def test_a_key_is_shown_once_and_stored_only_as_its_digest(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    user = await create_user(session, "machine")
    headers = await bearer_headers(session, user)
    await session.commit()
    created = await new_key(client, headers)
    key = str(created["key"])
    assert key.startswith("wmk_")
    assert len(key) >= 4 + 43
    assert created == {
        "id": created["id"],
        "name": "巡查终端",
        "key": key,
        "prefix": key[:10],
        "created_at": "2026-11-27T08:00:00Z",
    }
    row = await session.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert row is not None
    assert row.key_digest == token_digest(key)
    stored = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    assert not [value for value in stored if key in value or key[4:] in value]

    listing = await client.get("/api/v1/auth/api-keys", headers=headers)
    assert listing.json() == [
        {
            "id": created["id"],
            "name": "巡查终端",
            "prefix": key[:10],
            "created_at": "2026-11-27T08:00:00Z",
            "last_used_at": None,
            "revoked": False,
        }
    ]
    assert key not in listing.text


async def test_a_key_works_as_header_and_as_bearer_until_revoked(
    session: AsyncSession, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "machine", Role.STREET_ADMIN, unit=tree.street)
    headers = await bearer_headers(session, user)
    await session.commit()
    created = await new_key(client, headers)
    key = str(created["key"])
    for key_headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        me = await client.get("/api/v1/auth/me", headers=key_headers)
        assert (me.status_code, me.json()["username"]) == (200, "machine")
        units = await client.get("/api/v1/org/units", headers=key_headers)
        assert [u["code"] for u in units.json()] == [
            "211104004000",
            "211104004001",
            "211104004002",
        ]

    clock.advance(minutes=5)
    write = await client.patch(
        "/api/v1/org/units/211104004001", json={"name": "新名"}, headers={"X-API-Key": key}
    )
    assert write.status_code == 200
    listed = (await client.get("/api/v1/auth/api-keys", headers=headers)).json()
    assert listed[0]["last_used_at"] == "2026-11-27T08:05:00Z"

    revoke = await client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=headers)
    assert revoke.status_code == 204
    for key_headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        refused = await client.get("/api/v1/auth/me", headers=key_headers)
        assert refused.status_code == 401
        assert refused.json()["detail"] == (
            "The API key is unknown or revoked; ask an admin for a new one."
        )
    listed = (await client.get("/api/v1/auth/api-keys", headers=headers)).json()
    assert listed[0]["revoked"] is True
    row = await session.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert row is not None
    assert row.revoked_at == NOW.replace(minute=5)
    clock.advance(minutes=5)
    assert (
        await client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=headers)
    ).status_code == 204
    await session.refresh(row)
    assert row.revoked_at == NOW.replace(minute=5)


async def test_keys_are_private_to_their_owner(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    owner = await create_user(session, "owner")
    other = await create_user(session, "other")
    owner_headers = await bearer_headers(session, owner)
    other_headers = await bearer_headers(session, other)
    await session.commit()
    created = await new_key(client, owner_headers)
    assert (await client.get("/api/v1/auth/api-keys", headers=other_headers)).json() == []
    stolen = await client.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=other_headers)
    assert stolen.status_code == 404
    assert stolen.json()["detail"] == f"No API key {created['id']} of yours."
    works = await client.get("/api/v1/auth/me", headers={"X-API-Key": str(created["key"])})
    assert works.status_code == 200


async def test_a_disabled_users_key_is_refused(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    user = await create_user(session, "machine")
    headers = await bearer_headers(session, user)
    await session.commit()
    key = str((await new_key(client, headers))["key"])
    user.is_active = False
    await session.commit()
    response = await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert response.status_code == 401
    assert response.json()["detail"] == "This account is disabled or no longer exists."


async def test_a_key_needs_a_usable_name(session: AsyncSession, client: httpx.AsyncClient) -> None:
    user = await create_user(session, "machine")
    headers = await bearer_headers(session, user)
    await session.commit()
    for name, message in (
        ("   ", "Give the key a name that says which client uses it."),
        ("终端\x00", "name must be one line of text without control characters"),
    ):
        response = await client.post("/api/v1/auth/api-keys", json={"name": name}, headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "name", "message": message}]
    too_long = await client.post("/api/v1/auth/api-keys", json={"name": "x" * 101}, headers=headers)
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["name"]
    assert await session.scalar(select(ApiKey.id)) is None
