"""The case API over HTTP: reporting (anonymous or signed in), idempotent submits, clear refusals
in problem+json, and one case read back with its timeline and allowed actions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.cases import (
    IN_C1A,
    IN_C1A_NEARBY,
    World,
    create_world,
)
from tests.factories.org import bearer_headers
from wenming.cases.models import Case, CaseEvent

URL = "/api/v1/cases"


def body(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "category_kind": "event",
        "category_code": "0102",
        "description": "路边有一堆垃圾",
        "lon": IN_C1A[0],
        "lat": IN_C1A[1],
    }
    values.update(fields)
    return values


async def count_cases(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def test_an_anonymous_citizen_reports_and_gets_a_tracking_code(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    response = await client.post(URL, json=body(reporter_phone="13900001111", anonymous=True))
    assert response.status_code == 201, response.text
    created = response.json()
    case = created["case"]
    assert response.headers["location"] == f"{URL}/{case['code']}"
    assert (case["state"], case["source"], case["urgency"]) == ("reported", "citizen", "normal")
    assert case["category"]["name_zh"] == "暴露垃圾"
    assert case["street"] == {"code": "211104004000", "name": "大洼街道"}
    assert case["community"] == {"code": "211104004001", "name": "测试一社区"}
    assert case["grid_code"] == "211104004001001"
    assert case["allowed_actions"] == []
    # The public reporter is nobody the API knows: their phone is masked even in this answer.
    assert case["reporter_phone"] == "139****1111"
    assert [e["action"] for e in case["events"]] == ["report"]
    assert created["likely_duplicates"] == []
    assert await count_cases(session) == 1


async def test_a_retried_submit_with_the_same_key_returns_the_same_case(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    headers = {"Idempotency-Key": "4b7f1c52-2d1e-4b8e-9d7e-7f0a1c2b3d4e"}
    first = await client.post(URL, json=body(), headers=headers)
    again = await client.post(URL, json=body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["case"]["code"] == first.json()["case"]["code"]
    assert await count_cases(session) == 1
    other = await client.post(URL, json=body(description="另一处垃圾"), headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert "different report" in other.json()["detail"]
    assert await count_cases(session) == 1


async def test_a_second_report_nearby_lists_the_first_as_a_likely_duplicate(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    headers = await bearer_headers(session, world.people.intake)
    first = await client.post(URL, json=body(), headers=headers)
    second = await client.post(
        URL, json=body(lon=IN_C1A_NEARBY[0], lat=IN_C1A_NEARBY[1]), headers=headers
    )
    assert second.status_code == 201
    duplicates = second.json()["likely_duplicates"]
    assert [d["code"] for d in duplicates] == [first.json()["case"]["code"]]
    code = second.json()["case"]["code"]
    listed = await client.get(f"{URL}/{code}/duplicates", headers=headers)
    assert [d["code"] for d in listed.json()] == [first.json()["case"]["code"]]
    # A different category at the same place is not a duplicate.
    third = await client.post(URL, json=body(category_code="0109"), headers=headers)
    assert third.json()["likely_duplicates"] == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category_code": "9999"}, "category_code"),
        ({"lon": 120.0, "lat": 30.0}, "lon"),
        ({"lon": None}, "lon"),
        ({"lon": None, "lat": None}, "lon"),
        ({"attachments": ["no-such-photo-key-0123"]}, "attachments"),
        ({"component_code": "2111040113000001"}, "component_code"),
    ],
)
async def test_bad_reports_say_which_field_to_fix_and_store_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
    fields: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(URL, json=body(**fields))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await count_cases(session) == 0


@pytest.mark.parametrize(
    "payload",
    [
        body(description=""),
        body(urgency="whenever"),
        body(source="gossip"),
        '{"category_kind": "event", "category_code": "0102", "description": "x", '
        '"lon": NaN, "lat": 41.0}',
        '{"category_kind": "event", "category_code": "0102", "description": "x", "lon": 1e999}',
        body(lat=91),
        body(reporter_phone="call me"),
        body(unexpected="field"),
        {"category_kind": "event"},
    ],
)
async def test_malformed_reports_are_422(
    client: httpx.AsyncClient, session: AsyncSession, world: World, payload: dict[str, Any] | str
) -> None:
    if isinstance(payload, str):
        response = await client.post(
            URL, content=payload, headers={"content-type": "application/json"}
        )
    else:
        response = await client.post(URL, json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await count_cases(session) == 0


async def test_the_public_cannot_report_internal_categories_or_sources(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    fire = await client.post(URL, json=body(category_code="0406"))
    assert fire.status_code == 422
    assert "cannot be reported by the public" in fire.json()["detail"]
    hotline = await client.post(URL, json=body(source="hotline_12345"))
    assert hotline.status_code == 403
    assert hotline.json()["detail"] == (
        "Reports from source 'hotline_12345' are made by: dispatcher, intake."
    )
    assert await count_cases(session) == 0


async def test_the_hotline_desk_reports_by_unit_and_address(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    headers = await bearer_headers(session, world.people.intake)
    response = await client.post(
        URL,
        json=body(
            lon=None,
            lat=None,
            source="hotline_12345",
            unit_code="211104004002",
            address="测试二社区 人民路 12 号对面",
            reporter_name="王小明",
            reporter_phone="13800001234",
        ),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    case = response.json()["case"]
    assert (case["source"], case["address"], case["grid_code"]) == (
        "hotline_12345",
        "测试二社区 人民路 12 号对面",
        None,
    )
    assert case["community"]["code"] == "211104004002"
    # The intake clerk is command centre: the caller's contact is shown in full.
    assert (case["reporter_name"], case["reporter_phone"]) == ("王小明", "13800001234")
    assert case["allowed_actions"] == ["file", "reject", "void", "merge"]


async def test_an_action_that_is_not_allowed_answers_409_with_the_allowed_ones(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    created = await client.post(URL, json=body())
    code = created.json()["case"]["code"]
    headers = await bearer_headers(session, world.people.dispatcher)
    refused = await client.post(f"{URL}/{code}/actions/dispatch", json={}, headers=headers)
    assert refused.status_code == 409
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert (problem["state"], problem["allowed_actions"]) == (
        "reported",
        ["send_to_verify", "suspend"],
    )
    assert problem["detail"] == (
        "You cannot 'dispatch' a case that is reported. You may: send_to_verify, suspend."
    )
    events = await session.scalar(select(func.count()).select_from(CaseEvent))
    assert events == 1


async def test_actions_over_http_move_the_case_and_report_the_new_state(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    code = (await client.post(URL, json=body())).json()["case"]["code"]
    intake = await bearer_headers(session, world.people.intake)
    dispatcher = await bearer_headers(session, world.people.dispatcher)
    filed = await client.post(f"{URL}/{code}/actions/file", json={"note": "属实"}, headers=intake)
    assert filed.status_code == 200, filed.text
    assert (filed.json()["state"], filed.json()["version"]) == ("filed", 2)
    panel = (await client.get(f"{URL}/{code}", headers=dispatcher)).json()
    assert panel["suggestion"] == {
        "department": None,
        "unit": {"code": "211104004000", "name": "大洼街道"},
        "reason": "territory",
        "rule_id": None,
    }
    assert panel["allowed_actions"] == ["dispatch", "suspend"]
    stale = await client.post(
        f"{URL}/{code}/actions/dispatch", json={"version": 1}, headers=dispatcher
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    sent = await client.post(
        f"{URL}/{code}/actions/dispatch", json={"version": 2}, headers=dispatcher
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["responsible_unit"] == {"code": "211104004000", "name": "大洼街道"}
    assert sent.json()["events"][-1]["data"]["override"] is False


async def test_queue_filters(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    intake = await bearer_headers(session, world.people.intake)
    garbage = (await client.post(URL, json=body(), headers=intake)).json()["case"]["code"]
    clutter = (
        await client.post(URL, json=body(category_code="0109", urgency="urgent"), headers=intake)
    ).json()["case"]["code"]
    await client.post(f"{URL}/{garbage}/actions/file", json={}, headers=intake)

    async def codes(**params: Any) -> list[str]:
        answer = await client.get(URL, params=params, headers=intake)
        assert answer.status_code == 200, answer.text
        return [item["code"] for item in answer.json()["items"]]

    assert await codes() == [clutter, garbage]
    assert await codes(state="filed") == [garbage]
    assert await codes(state=["filed", "reported"]) == [clutter, garbage]
    assert await codes(category="0109") == [clutter]
    assert await codes(area="sanitation") == [garbage]
    assert await codes(urgency="urgent") == [clutter]
    assert await codes(street="211104005000") == []
    assert await codes(street="211104004000") == [clutter, garbage]
    assert await codes(q=garbage) == [garbage]
    assert await codes(overdue=True) == []
    assert await codes(page_size=1, page=2) == [garbage]
    unknown = await client.get(URL, params={"state": "lost"}, headers=intake)
    assert unknown.status_code == 422
    anonymous = await client.get(URL)
    assert anonymous.status_code == 401


async def test_me_too_counts_once_per_person(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    code = (await client.post(URL, json=body())).json()["case"]["code"]
    headers = await bearer_headers(session, world.people.other_citizen)
    first = await client.post(f"{URL}/{code}/support", json={}, headers=headers)
    assert first.status_code == 200
    again = await client.post(f"{URL}/{code}/support", json={}, headers=headers)
    assert again.status_code == 409
    assert again.json()["detail"] == "You already follow this case."
    anonymous = await client.post(f"{URL}/{code}/support", json={"phone": "13700001111"})
    assert anonymous.status_code == 200
    case = await session.scalar(select(Case).where(Case.code == code))
    assert case is not None and case.supporters == 2
    # The supporter may now follow the case they support.
    seen = await client.get(f"{URL}/{code}", headers=headers)
    assert seen.status_code == 200
    unknown = await client.post(f"{URL}/ZZZZZZZZZZZZ/support", json={})
    assert unknown.status_code == 404


async def test_every_case_route_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/api/v1/cases",
        "/api/v1/cases/overdue",
        "/api/v1/cases/{code}",
        "/api/v1/cases/{code}/actions/{action}",
        "/api/v1/cases/{code}/duplicates",
        "/api/v1/cases/{code}/support",
        "/api/v1/cases/categories",
        "/api/v1/cases/categories/{kind}/{code}",
        "/api/v1/cases/time-limits",
        "/api/v1/cases/routing-rules",
        "/api/v1/cases/routing-rules/{rule_id}",
        "/api/v1/cases/verify-rules",
        "/api/v1/cases/verify-rules/{rule_id}",
        "/api/v1/cases/calendar/{year}",
    } <= set(paths)
