"""Who sees and touches which case, over HTTP: department A's handler can neither read nor act on
department B's cases, admins see their territory only, grid workers their grids, citizens what
they reported; reporters' contacts are masked from those who do not need them; refusals are
problem+json."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.cases import (
    IN_C1A,
    IN_C1A_NEARBY,
    IN_S2,
    World,
    act,
    case_in,
    create_world,
    report,
)
from tests.factories.org import bearer_headers, create_user
from wenming.cases.models import Case
from wenming.cases.schemas import TargetIn
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings
from wenming.org.models import User
from wenming.org.roles import Role

API = "/api/v1/cases"
PROBLEM = "application/problem+json"


@dataclass
class Place:
    """The standard world with one case dispatched to each kind of unit, and a report in S2."""

    world: World
    handler_child: User  # handler of 城管执法大队 (CGJ-ZFD), a child of 城管局
    cgj: str  # dispatched to 城管局; reporter 王小明 13812345678
    zjj: str  # dispatched to 住建局
    child: str  # dispatched to 城管执法大队
    community: str  # dispatched to community C1a (a territorial unit under street S1)
    s2: str  # reported in street S2 by the other citizen, not yet filed


async def dispatched_to(
    session: AsyncSession, world: World, settings: Settings, **target: str
) -> str:
    """A case of the standard place, filed and dispatched to a target; its code."""
    case = await case_in(session, world, State.FILED, settings=settings)
    case = await act(
        session,
        world,
        case,
        Action.DISPATCH,
        world.people.dispatcher,
        settings=settings,
        target=TargetIn(**target),
    )
    return case.code


@pytest.fixture
async def place(session: AsyncSession, settings: Settings) -> Place:
    world = await create_world(session)
    p = world.people
    handler_child = await create_user(
        session, "handler_zfd", Role.HANDLER, department=world.tree.department_child
    )
    named = await report(
        session,
        world,
        settings=settings,
        at=IN_C1A,
        reporter_name="王小明",
        reporter_phone="13812345678",
    )
    named = await act(session, world, named, Action.FILE, p.intake, settings=settings)
    named = await act(
        session,
        world,
        named,
        Action.DISPATCH,
        p.dispatcher,
        settings=settings,
        target=TargetIn(department_code="211104-CGJ"),
    )
    s2: Case = await report(session, world, by=p.other_citizen, settings=settings, at=IN_S2)
    return Place(
        world=world,
        handler_child=handler_child,
        cgj=named.code,
        zjj=await dispatched_to(session, world, settings, department_code="211104-ZJJ"),
        child=await dispatched_to(session, world, settings, department_code="211104-CGJ-ZFD"),
        community=await dispatched_to(session, world, settings, unit_code="211104004001"),
        s2=s2.code,
    )


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    """The codes of every case the list shows to someone (one page holds them all)."""
    response = await client.get(API, headers=headers, params={"page_size": 200})
    assert response.status_code == 200, response.text
    body = response.json()
    codes = {item["code"] for item in body["items"]}
    assert body["total"] == len(codes)
    return codes


async def get_status(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> int:
    """The status of reading one case; a 404 must be problem+json that says nothing more."""
    response = await client.get(f"{API}/{code}", headers=headers)
    if response.status_code == 404:
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert (body["status"], body["type"]) == (404, "/problems/not-found")
        assert "allowed_actions" not in body
    return response.status_code


async def post_action(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    code: str,
    action: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST one workflow action."""
    return await client.post(f"{API}/{code}/actions/{action}", headers=headers, json=body or {})


async def test_a_department_neither_sees_nor_touches_another_departments_cases(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    p = place.world.people
    cgj = await bearer_headers(session, p.handler)
    zjj = await bearer_headers(session, p.handler_sibling)
    child = await bearer_headers(session, place.handler_child)

    # 城管局 reaches its own cases and those of its child department, nothing of 住建局.
    assert await listed(client, cgj) == {place.cgj, place.child}
    assert await get_status(client, cgj, place.cgj) == 200
    assert await get_status(client, cgj, place.zjj) == 404
    response = await post_action(client, cgj, place.zjj, "accept")
    assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM)
    # 住建局 the other way round.
    assert await listed(client, zjj) == {place.zjj}
    assert await get_status(client, zjj, place.cgj) == 404
    assert (await post_action(client, zjj, place.cgj, "accept")).status_code == 404
    assert (await post_action(client, zjj, place.cgj, "return", {"note": "x"})).status_code == 404
    # The child department does not reach its parent's cases.
    assert await listed(client, child) == {place.child}
    assert await get_status(client, child, place.cgj) == 404
    assert (await post_action(client, child, place.cgj, "accept")).status_code == 404

    # Nothing moved; each department then takes its own case.
    reader = await bearer_headers(session, p.intake)
    for code in (place.cgj, place.zjj):
        case = (await client.get(f"{API}/{code}", headers=reader)).json()
        assert (case["state"], case["events"][-1]["action"]) == ("dispatched", "dispatch")
    response = await post_action(client, cgj, place.cgj, "accept")
    assert (response.status_code, response.json()["state"]) == (200, "accepted")
    response = await post_action(client, zjj, place.zjj, "accept")
    assert (response.status_code, response.json()["state"]) == (200, "accepted")
    # A parent department acts on its child's case.
    response = await post_action(client, cgj, place.child, "accept")
    assert (response.status_code, response.json()["state"]) == (200, "accepted")


async def test_a_street_handler_reaches_cases_sent_to_its_communities(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    street = await bearer_headers(session, place.world.people.handler_street)
    assert await listed(client, street) == {place.community}
    response = await post_action(client, street, place.community, "accept")
    assert (response.status_code, response.json()["state"]) == (200, "accepted")
    assert (await post_action(client, street, place.cgj, "accept")).status_code == 404


async def test_admins_see_their_territory_only(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    p = place.world.people
    in_s1 = {place.cgj, place.zjj, place.child, place.community}
    street_admin = await bearer_headers(session, p.street_admin)
    assert await listed(client, street_admin) == in_s1
    assert await get_status(client, street_admin, place.cgj) == 200
    assert await get_status(client, street_admin, place.s2) == 404
    # Reading is not acting: the admin may take no step of the loop.
    response = await post_action(client, street_admin, place.cgj, "accept")
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == []
    for admin in (p.district_admin, p.sys_admin):
        headers = await bearer_headers(session, admin)
        assert await listed(client, headers) == in_s1 | {place.s2}
        assert await get_status(client, headers, place.s2) == 200


async def test_the_other_districts_intake_sees_nothing(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    headers = await bearer_headers(session, place.world.people.intake_elsewhere)
    assert await listed(client, headers) == set()
    for code in (place.cgj, place.s2):
        assert await get_status(client, headers, code) == 404
    assert (await post_action(client, headers, place.s2, "file")).status_code == 404
    own = await bearer_headers(session, place.world.people.intake)
    response = await client.get(f"{API}/{place.s2}", headers=own)
    assert (response.status_code, response.json()["state"]) == (200, "reported")


async def test_grid_workers_see_the_cases_of_their_grids(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    p = place.world.people
    here = await bearer_headers(session, p.grid_worker)
    there = await bearer_headers(session, p.grid_worker_elsewhere)
    assert await listed(client, here) == {place.cgj, place.zjj, place.child, place.community}
    assert await get_status(client, here, place.s2) == 404
    assert await listed(client, there) == {place.s2}
    assert await get_status(client, there, place.cgj) == 404


async def test_citizens_see_what_they_reported(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, place: Place
) -> None:
    p = place.world.people
    citizen = await bearer_headers(session, p.citizen)
    other = await bearer_headers(session, p.other_citizen)
    assert await listed(client, citizen) == {place.cgj, place.zjj, place.child, place.community}
    assert await listed(client, other) == {place.s2}
    assert await get_status(client, other, place.cgj) == 404
    assert await get_status(client, citizen, place.s2) == 404
    # A second report nearby is the other citizen's own; the first stays hidden from them.
    mine = await report(
        session, place.world, by=p.other_citizen, settings=settings, at=IN_C1A_NEARBY
    )
    assert await listed(client, other) == {place.s2, mine.code}


@pytest.mark.parametrize(
    ("who", "name", "phone"),
    [
        ("handler", "王**", "138****5678"),
        ("grid_worker", "王**", "138****5678"),
        ("intake", "王小明", "13812345678"),
        ("dispatcher", "王小明", "13812345678"),
        ("citizen", "王小明", "13812345678"),
    ],
)
async def test_reporters_contacts_are_masked_from_those_who_do_not_need_them(
    client: httpx.AsyncClient,
    session: AsyncSession,
    place: Place,
    who: str,
    name: str,
    phone: str,
) -> None:
    headers = await bearer_headers(session, getattr(place.world.people, who))
    response = await client.get(f"{API}/{place.cgj}", headers=headers)
    assert response.status_code == 200
    case = response.json()
    assert (case["reporter_name"], case["reporter_phone"]) == (name, phone)
    # The action answer is the same view of the case.
    if who == "handler":
        accepted = (await post_action(client, headers, place.cgj, "accept")).json()
        assert (accepted["reporter_name"], accepted["reporter_phone"]) == (name, phone)
    # Queue rows carry no contacts at all.
    rows = (await client.get(API, headers=headers)).json()["items"]
    assert all("reporter_phone" not in row and "reporter_name" not in row for row in rows)
    assert "13812345678" not in (await client.get(API, headers=headers)).text


@pytest.mark.parametrize("who", ["handler", "grid_worker"])
async def test_the_timeline_does_not_name_the_reporter_to_those_who_see_masked_contacts(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    place: Place,
    who: str,
) -> None:
    """A signed-in reporter's own name is as personal as the name typed into the report."""
    p = place.world.people
    reporter = await create_user(session, "wangxiaoming", Role.CITIZEN, phone="13912345678")
    case = await report(session, place.world, by=reporter, settings=settings, at=IN_C1A_NEARBY)
    case = await act(session, place.world, case, Action.FILE, p.intake, settings=settings)
    await act(
        session,
        place.world,
        case,
        Action.DISPATCH,
        p.dispatcher,
        settings=settings,
        target=TargetIn(department_code="211104-CGJ"),
    )
    headers = await bearer_headers(session, getattr(p, who))
    response = await client.get(f"{API}/{case.code}", headers=headers)
    assert response.status_code == 200
    assert [e["action"] for e in response.json()["events"]] == ["report", "file", "dispatch"]
    assert "wangxiaoming" not in response.text
    # The command centre sees who reported it.
    intake = await bearer_headers(session, p.intake)
    shown = (await client.get(f"{API}/{case.code}", headers=intake)).json()
    assert shown["events"][0]["actor"] == "wangxiaoming"


async def test_anonymous_callers_are_asked_to_sign_in(
    client: httpx.AsyncClient, place: Place
) -> None:
    for response in (
        await client.get(API),
        await client.get(f"{API}/{place.cgj}"),
        await client.get(f"{API}/overdue"),
        await client.post(f"{API}/{place.cgj}/actions/accept", json={}),
    ):
        assert (response.status_code, response.headers["content-type"]) == (401, PROBLEM)


async def test_a_refused_move_is_problem_json_with_what_may_be_done(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    p = place.world.people
    intake = await bearer_headers(session, p.intake)
    response = await post_action(client, intake, place.s2, "accept")
    assert (response.status_code, response.headers["content-type"]) == (409, PROBLEM)
    body = response.json()
    assert (body["status"], body["type"], body["state"]) == (409, "/problems/conflict", "reported")
    decisions = ["file", "merge", "reject", "send_to_verify", "void"]
    assert sorted(body["allowed_actions"]) == decisions
    # The reader sees the same list on the case itself.
    case = (await client.get(f"{API}/{place.s2}", headers=intake)).json()
    assert sorted(case["allowed_actions"]) == decisions
    # The reporter may read but do nothing now.
    reporter = await bearer_headers(session, p.other_citizen)
    response = await post_action(client, reporter, place.s2, "file")
    assert (response.status_code, response.json()["allowed_actions"]) == (409, [])
    # The dispatcher on a dispatched case may only park it.
    dispatcher = await bearer_headers(session, p.dispatcher)
    response = await post_action(client, dispatcher, place.cgj, "close")
    assert (response.status_code, response.json()["allowed_actions"]) == (409, ["suspend"])


async def test_bad_action_bodies_are_422_not_500(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    p = place.world.people
    intake = await bearer_headers(session, p.intake)
    response = await post_action(client, intake, place.s2, "reject", {"note": "  "})
    assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM)
    assert [e["field"] for e in response.json()["errors"]] == ["note"]
    response = await post_action(client, intake, place.s2, "file", {"colour": "red"})
    assert response.status_code == 422
    handler = await bearer_headers(session, p.handler)
    # A due time without a time zone is ambiguous: refused, not guessed at and not a crash.
    response = await post_action(
        client,
        handler,
        place.cgj,
        "request_extension",
        {"note": "需要更多时间", "until": "2026-12-02T16:00:00"},
    )
    assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM), response.text
    response = await post_action(
        client,
        handler,
        place.cgj,
        "request_extension",
        {"note": "需要更多时间", "until": "2026-12-02T16:00:00+08:00"},
    )
    assert (response.status_code, response.json()["pending"]) == (200, "extension")


async def test_a_stale_version_over_http(
    client: httpx.AsyncClient, session: AsyncSession, place: Place
) -> None:
    handler = await bearer_headers(session, place.world.people.handler)
    seen = (await client.get(f"{API}/{place.cgj}", headers=handler)).json()["version"]
    response = await post_action(client, handler, place.cgj, "accept", {"version": seen})
    assert response.status_code == 200
    now = response.json()["version"]
    assert now > seen
    response = await post_action(
        client, handler, place.cgj, "request_suspension", {"note": "待协调", "version": seen}
    )
    assert (response.status_code, response.headers["content-type"]) == (409, PROBLEM)
    assert response.json()["current_version"] == now
