"""The organisation API beyond the scope matrix: listings, paging, single departments, and the
answers for unknown or invalid input."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import PASSWORD, bearer_headers, create_tree, create_user
from wenming.org.models import RoleAssignment, User
from wenming.org.roles import Role


async def district_admin(session: AsyncSession) -> dict[str, str]:
    """A district admin of 大洼区 in the standard tree with a few people, committed."""
    tree = await create_tree(session)
    admin = await create_user(session, "admin", Role.DISTRICT_ADMIN, unit=tree.district)
    for index, unit in enumerate([tree.street, tree.community, tree.street_sibling]):
        await create_user(session, f"worker{index}", Role.GRID_WORKER, unit=unit)
    headers = await bearer_headers(session, admin)
    await session.commit()
    return headers


async def test_units_list_the_subtree_or_one_units_children(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    headers = await district_admin(session)
    everything = await client.get("/api/v1/org/units", headers=headers)
    assert [u["code"] for u in everything.json()] == [
        "211104000000",
        "211104004000",
        "211104004001",
        "211104004002",
        "211104005000",
        "211104005001",
    ]
    children = await client.get(
        "/api/v1/org/units", params={"parent": "211104004000"}, headers=headers
    )
    assert children.json() == [
        {
            "code": "211104004001",
            "name": "测试一社区",
            "kind": "community",
            "level": 5,
            "parent_code": "211104004000",
            "synthetic": False,
        },
        {
            "code": "211104004002",
            "name": "测试二社区",
            "kind": "community",
            "level": 5,
            "parent_code": "211104004000",
            "synthetic": False,
        },
    ]
    outside = await client.get(
        "/api/v1/org/units", params={"parent": "211102000000"}, headers=headers
    )
    assert outside.json() == []


async def test_people_are_paged_in_username_order(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    headers = await district_admin(session)
    first = await client.get("/api/v1/org/users", params={"limit": 2}, headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert (body["total"], body["offset"], body["limit"]) == (4, 0, 2)
    assert [u["username"] for u in body["items"]] == ["admin", "worker0"]
    rest = await client.get("/api/v1/org/users", params={"offset": 2, "limit": 2}, headers=headers)
    assert [u["username"] for u in rest.json()["items"]] == ["worker1", "worker2"]
    beyond = await client.get("/api/v1/org/users", params={"offset": 50}, headers=headers)
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 4)


async def test_one_department(session: AsyncSession, client: httpx.AsyncClient) -> None:
    headers = await district_admin(session)
    child = await client.get("/api/v1/org/departments/211104-CGJ-ZFD", headers=headers)
    assert child.json() == {
        "code": "211104-CGJ-ZFD",
        "name": "城管执法大队",
        "unit_code": "211104000000",
        "parent_code": "211104-CGJ",
        "synthetic": False,
    }
    other = await client.get("/api/v1/org/departments/211102-CGJ", headers=headers)
    assert (other.status_code, other.json()["type"]) == (403, "/problems/out-of-scope")
    unknown = await client.get("/api/v1/org/departments/211104-NOPE", headers=headers)
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "No department with code 211104-NOPE.",
    )


async def test_renames_refuse_unknown_codes_and_empty_names(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    headers = await district_admin(session)
    unknown = await client.patch(
        "/api/v1/org/units/211104009000", json={"name": "x"}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "no unit with code 211104009000",
    )
    blank = await client.patch(
        "/api/v1/org/units/211104004000", json={"name": "   "}, headers=headers
    )
    assert blank.status_code == 422
    assert blank.json()["errors"] == [{"field": "name", "message": "name must not be empty"}]
    renamed = await client.patch(
        "/api/v1/org/departments/211104-ZJJ", json={"name": " 住房和城乡建设局 "}, headers=headers
    )
    assert (renamed.status_code, renamed.json()["name"]) == (200, "住房和城乡建设局")


async def test_an_admin_may_create_an_unbound_citizen_and_sees_the_result(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    headers = await district_admin(session)
    response = await client.post(
        "/api/v1/org/users",
        json={
            "username": "resident",
            "display_name": "居民",
            "password": PASSWORD,
            "role": "citizen",
            "phone": "13700001111",
        },
        headers=headers,
    )
    assert response.status_code == 201
    created = response.json()
    assert (created["username"], created["roles"]) == (
        "resident",
        [{"role": "citizen", "unit_code": None, "department_code": None}],
    )
    assert created["phone"] == "137****1111"
    user_id = await session.scalar(select(User.id).where(User.username == "resident"))
    assert created["id"] == user_id
    roles = await session.scalars(
        select(RoleAssignment.role).where(RoleAssignment.user_id == user_id)
    )
    assert list(roles) == ["citizen"]
    hidden = await client.get(f"/api/v1/org/users/{user_id}", headers=headers)
    assert hidden.status_code == 404


async def test_a_binding_that_breaks_the_role_rules_is_a_422_naming_the_field(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    headers = await district_admin(session)
    response = await client.post(
        "/api/v1/org/users",
        json={
            "username": "streetboss",
            "display_name": "x",
            "password": PASSWORD,
            "role": "street_admin",
            "unit_code": "211104000000",
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "unit_code",
            "message": "a street_admin is bound to a street or town; 211104000000 is a district",
        }
    ]
    assert await session.scalar(select(User.id).where(User.username == "streetboss")) is None
