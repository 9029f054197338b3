from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import bearer_headers, create_tree, create_user
from wenming.org.roles import Role


async def test_street_admin_lists_own_street_subtree(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    tree = await create_tree(session)
    admin = await create_user(session, "s1admin", Role.STREET_ADMIN, unit=tree.street)
    headers = await bearer_headers(session, admin)
    response = await client.get("/api/v1/org/units", headers=headers)
    assert response.status_code == 200
    assert [u["code"] for u in response.json()] == [
        "211104004000",
        "211104004001",
        "211104004002",
    ]


async def test_anonymous_gets_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/org/units")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-authenticated"
