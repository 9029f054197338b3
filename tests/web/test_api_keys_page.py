"""The API keys page: a key is shown once, works against the API, and stops when revoked."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import create_tree, create_user
from tests.web.support import HTML, csrf_from, field_error, sign_in
from wenming.auth.models import ApiKey
from wenming.org.roles import Role


async def test_create_show_once_use_and_revoke(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "gw", Role.GRID_WORKER, unit=tree.community)
    await sign_in(client, session, user)
    page = await client.get("/account/api-keys", headers=HTML)
    assert page.status_code == 200
    assert "您还没有 API 密钥。" in page.text

    created = await client.post(
        "/account/api-keys",
        data={"name": "巡查同步程序", "csrf_token": csrf_from(page.text)},
        headers=HTML,
    )
    assert created.status_code == 201
    found = re.search(r'value="(wmk_[A-Za-z0-9_-]+)" readonly data-testid="new-key"', created.text)
    assert found is not None
    key = found.group(1)
    assert "新密钥“巡查同步程序”" in created.text

    listing = await client.get("/account/api-keys", headers=HTML)
    assert key not in listing.text
    assert f"<code>{key[:10]}…</code>" in listing.text
    assert '<span class="badge badge-ok">有效</span>' in listing.text

    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["username"] == "gw"

    row = await session.scalar(select(ApiKey))
    assert row is not None
    revoked = await client.post(
        f"/account/api-keys/{row.id}/revoke",
        data={"csrf_token": csrf_from(listing.text)},
        headers=HTML,
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/account/api-keys?revoked={row.id}"
    after = await client.get(revoked.headers["location"], headers=HTML)
    assert "密钥已吊销。" in after.text
    assert '<span class="badge badge-muted">已吊销</span>' in after.text
    refused = await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert refused.status_code == 401


async def test_a_key_needs_a_name(client: httpx.AsyncClient, session: AsyncSession) -> None:
    user = await create_user(session, "citizen", Role.CITIZEN)
    await sign_in(client, session, user)
    page = await client.get("/account/api-keys", headers=HTML)
    for name, message in (
        ("   ", "请为密钥命名，说明由哪个程序使用。"),
        ("x" * 101, "最多 100 个字符。"),
        ("first\x07bell", "请填写一行文字，且不含控制字符。"),
    ):
        response = await client.post(
            "/account/api-keys",
            data={"name": name, "csrf_token": csrf_from(page.text)},
            headers=HTML,
        )
        assert response.status_code == 422
        assert field_error(response.text, "name") == message
    assert await session.scalar(select(func.count()).select_from(ApiKey)) == 0


async def test_creating_a_key_without_the_token_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, "citizen", Role.CITIZEN)
    await sign_in(client, session, user)
    await client.get("/account/api-keys", headers=HTML)
    response = await client.post("/account/api-keys", data={"name": "x"}, headers=HTML)
    assert response.status_code == 403
    assert await session.scalar(select(func.count()).select_from(ApiKey)) == 0
