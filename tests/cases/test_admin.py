"""Configuring the loop: categories (retired when in use, never deleted), time limits, routing
rules and their effect on the suggestion, and the working calendar."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import IN_C1A, World, create_world, report
from tests.factories.org import bearer_headers
from wenming.cases.models import Category

URL = "/api/v1/cases"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


@pytest.fixture
async def admin(session: AsyncSession, world: World) -> dict[str, str]:
    return await bearer_headers(session, world.people.sys_admin)


NEW_CATEGORY: dict[str, Any] = {
    "kind": "event",
    "code": "2199",
    "name_zh": "共享单车堆积",
    "name_en": "Piled-up shared bikes",
    "area": "traffic",
    "department_key": "JJDD",
    "duplicate_radius_m": 30,
    "icon": "vehicle",
    "handle_amount": 4,
    "handle_unit": "work_hours",
}


async def test_the_packaged_table_covers_every_standard_class_and_area(
    client: httpx.AsyncClient,
) -> None:
    categories = (await client.get(f"{URL}/categories")).json()
    classes = {(c["kind"], c["class_code"]) for c in categories}
    assert {("component", f"0{i}") for i in range(1, 7)} <= classes
    assert {("event", f"0{i}") for i in range(1, 6)} <= classes
    assert {c["area"] for c in categories} == {
        "infrastructure",
        "sanitation",
        "cityscape",
        "traffic",
        "publicity",
        "civility",
    }
    names = {c["name_zh"] for c in categories}
    for name in ("暴露垃圾", "积存垃圾渣土", "道路不洁", "乱堆杂物", "非法小广告", "占道经营"):
        assert name in names
    for name in ("店外经营", "机动车乱停放", "路灯", "绿地脏乱", "私搭乱建", "工地扬尘"):
        assert name in names
    public = (await client.get(f"{URL}/categories", params={"public": "false"})).json()
    assert sorted(c["name_zh"] for c in public) == sorted(
        ["火灾", "燃气泄漏", "交通事故", "部件状态变更（移位、占用）"]
    )


async def test_admins_add_edit_and_retire_categories(
    client: httpx.AsyncClient, session: AsyncSession, world: World, admin: dict[str, str]
) -> None:
    created = await client.post(f"{URL}/categories", json=NEW_CATEGORY, headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["class_code"], created.json()["active"]) == ("21", True)
    again = await client.post(f"{URL}/categories", json=NEW_CATEGORY, headers=admin)
    assert again.status_code == 409
    unknown_class = await client.post(
        f"{URL}/categories", json={**NEW_CATEGORY, "code": "7701"}, headers=admin
    )
    assert unknown_class.status_code == 422
    assert unknown_class.json()["errors"][0]["field"] == "code"
    edited = await client.patch(
        f"{URL}/categories/event/2199", json={"name_zh": "共享单车乱停放"}, headers=admin
    )
    assert edited.json()["name_zh"] == "共享单车乱停放"
    limits = (await client.get(f"{URL}/time-limits", headers=admin)).json()
    assert {
        "category_kind": "event",
        "category_code": "2199",
        "urgency": None,
        "step": "handle",
        "amount": 4,
        "unit": "work_hours",
    } in limits
    # Unused: deleted outright.
    deleted = await client.delete(f"{URL}/categories/event/2199", headers=admin)
    assert deleted.status_code == 204
    assert await session.scalar(select(Category).where(Category.code == "2199")) is None


async def test_a_category_in_use_is_retired_not_deleted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    admin: dict[str, str],
    settings: Any,
) -> None:
    await report(session, world, settings=settings)
    retired = await client.delete(f"{URL}/categories/event/0102", headers=admin)
    assert retired.status_code == 200
    assert retired.json()["active"] is False
    listed = (await client.get(f"{URL}/categories", params={"kind": "event"})).json()
    assert "0102" not in [c["code"] for c in listed]
    refused = await client.post(
        URL,
        json={
            "category_kind": "event",
            "category_code": "0102",
            "description": "x",
            "lon": IN_C1A[0],
            "lat": IN_C1A[1],
        },
    )
    assert refused.status_code == 422
    assert "retired" in refused.json()["detail"]
    back = await client.patch(f"{URL}/categories/event/0102", json={"active": True}, headers=admin)
    assert back.json()["active"] is True


async def test_only_system_admins_configure(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    district = await bearer_headers(session, world.people.district_admin)
    refused = await client.post(f"{URL}/categories", json=NEW_CATEGORY, headers=district)
    assert refused.status_code == 403
    limit = await client.put(
        f"{URL}/time-limits",
        json={"step": "file", "amount": 2, "unit": "work_hours"},
        headers=district,
    )
    assert limit.status_code == 403


async def test_routing_rules_change_the_suggestion(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    admin: dict[str, str],
    settings: Any,
) -> None:
    before = await report(session, world, settings=settings)
    assert before.suggestion_reason == "territory"
    rule = await client.post(
        f"{URL}/routing-rules",
        json={
            "category_kind": "event",
            "category_code": "0102",
            "area_unit_code": "211104004000",
            "target": {"department_code": "211104-CGJ"},
            "note": "大洼街道的暴露垃圾由城管局清运",
        },
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["target_department"] == {"code": "211104-CGJ", "name": "城管局"}
    after = await report(session, world, settings=settings)
    assert (after.suggestion_reason, after.suggested_department_id, after.suggestion_rule_id) == (
        "rule",
        world.tree.department.id,
        rule.json()["id"],
    )
    # A more specific rule (smaller area) wins over a wider one.
    narrow = await client.post(
        f"{URL}/routing-rules",
        json={
            "category_kind": "event",
            "category_code": "0102",
            "area_unit_code": "211104004001",
            "target": {"unit_code": "211104004001"},
        },
        headers=admin,
    )
    third = await report(session, world, settings=settings)
    assert (third.suggestion_rule_id, third.suggested_unit_id) == (
        narrow.json()["id"],
        world.tree.community.id,
    )
    empty = await client.post(
        f"{URL}/routing-rules", json={"target": {"unit_code": "211104004001"}}, headers=admin
    )
    assert empty.status_code == 422
    both = await client.post(
        f"{URL}/routing-rules",
        json={
            "category_kind": "event",
            "category_code": "0102",
            "target": {"unit_code": "211104004001", "department_code": "211104-CGJ"},
        },
        headers=admin,
    )
    assert both.status_code == 422
    gone = await client.delete(f"{URL}/routing-rules/{narrow.json()['id']}", headers=admin)
    assert gone.status_code == 204
    fourth = await report(session, world, settings=settings)
    assert fourth.suggestion_rule_id == rule.json()["id"]


async def test_the_category_department_and_the_component_maintainer_are_suggested(
    session: AsyncSession, world: World, settings: Any
) -> None:
    vending = await report(session, world, settings=settings, category=("event", "0501"))
    assert (vending.suggestion_reason, vending.suggested_department_id) == (
        "category",
        world.tree.department.id,
    )
    # 路灯 belongs to ZJJ (住建局), which the test district has.
    lamp = await report(session, world, settings=settings, category=("component", "0113"))
    assert (lamp.suggestion_reason, lamp.suggested_department_id) == (
        "category",
        world.tree.department_sibling.id,
    )
    # 道路不洁 belongs to HWZX, which the test district lacks: the territory takes it.
    road = await report(session, world, settings=settings, category=("event", "0104"))
    assert (road.suggestion_reason, road.suggested_unit_id) == ("territory", world.tree.street.id)


async def test_time_limits_per_urgency_win_over_the_category_default(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    admin: dict[str, str],
    settings: Any,
) -> None:
    urgent = await report(session, world, settings=settings, urgency="urgent")
    # Filing an urgent report: 30 minutes (calendar time).
    assert urgent.due_at is not None and (urgent.due_at - NOW).total_seconds() == 1800
    changed = await client.put(
        f"{URL}/time-limits",
        json={"urgency": "urgent", "step": "file", "amount": 10, "unit": "minutes"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    faster = await report(session, world, settings=settings, urgency="urgent")
    assert faster.due_at is not None and (faster.due_at - NOW).total_seconds() == 600


async def test_the_calendar_of_a_year(
    client: httpx.AsyncClient, session: AsyncSession, world: World, admin: dict[str, str]
) -> None:
    days = (await client.get(f"{URL}/calendar/2026", headers=admin)).json()
    assert {"day": "2026-10-01", "kind": "holiday", "name": "国庆节"} in days
    assert [d["day"] for d in days if d["kind"] == "workday"] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    assert (await client.get(f"{URL}/calendar/2031", headers=admin)).json() == []
