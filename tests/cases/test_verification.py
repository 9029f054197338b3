"""Verify before filing (核实): the rule that decides which reports are checked on site first,
its admin API, the step's own clock (and the overdue sweep on it), the photo a "not found" needs,
and that only a grid worker of the case's own grid confirms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import (
    GARBAGE,
    IN_C1A,
    VENDING,
    World,
    act,
    case_in,
    create_world,
    photo,
    report,
)
from tests.factories.org import bearer_headers, create_user
from wenming.cases import service
from wenming.cases.models import Case, CaseAttachment, CaseDeadline, CaseEvent
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import ActionIn, SupportIn
from wenming.cases.sweep import sweep
from wenming.cases.verification import (
    DEFAULT_RULES,
    VerifyRuleInfo,
    initial_state,
    matching_rule,
    needs_verification,
)
from wenming.cases.verification_models import VerifyRule
from wenming.cases.vocab import Purpose, Source
from wenming.cases.workflow import Action, State, Step
from wenming.core.config import Settings
from wenming.core.errors import Conflict, InvalidInput, NotFound
from wenming.geo.models import Grid, GridWorker
from wenming.org.roles import Role

URL = "/api/v1/cases"
# Friday 2026-11-27 16:00 Beijing plus 2 working hours (08:30-12:00, 13:30-17:30): 1.5 hours on
# Friday and 0.5 on Monday, so Monday 2026-11-30 09:00 Beijing.
VERIFY_DUE = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


# --- the rule (pure) ----------------------------------------------------------------------------


def rule(rule_id: int, source: Source | None, category: int | None, verify: bool) -> VerifyRuleInfo:
    return VerifyRuleInfo(id=rule_id, source=source, category_id=category, verify=verify)


def test_the_most_specific_rule_wins() -> None:
    rules = [
        rule(1, None, None, True),
        rule(2, Source.CITIZEN, None, False),
        rule(3, None, 7, True),
        rule(4, Source.CITIZEN, 7, False),
        rule(5, Source.HOTLINE, None, False),
    ]
    # Source and category beat category alone, which beats source alone, which beats neither.
    assert matching_rule(rules, Source.CITIZEN, 7) == rules[3]
    assert matching_rule(rules, Source.HOTLINE, 7) == rules[2]
    assert matching_rule(rules, Source.CITIZEN, 8) == rules[1]
    assert matching_rule(rules, Source.VIDEO, 8) == rules[0]
    assert matching_rule(rules[1:], Source.VIDEO, 8) is None
    # Equally specific rules: the older one.
    assert matching_rule([rule(9, None, 7, False), rule(6, None, 7, True)], Source.CITIZEN, 7) == (
        rule(6, None, 7, True)
    )


def test_a_report_without_a_grid_or_a_rule_is_not_verified() -> None:
    rules = [rule(1, Source.CITIZEN, None, True), rule(2, Source.CITIZEN, 7, False)]
    assert initial_state(rules, Source.CITIZEN, 8, grid_id=3) is State.VERIFYING
    assert initial_state(rules, Source.CITIZEN, 8, grid_id=None) is State.REPORTED
    assert initial_state(rules, Source.CITIZEN, 7, grid_id=3) is State.REPORTED
    assert initial_state(rules, Source.GRID_WORKER, 8, grid_id=3) is State.REPORTED
    assert needs_verification([], Source.CITIZEN, 8, grid_id=3) is False


async def test_the_packaged_default_verifies_citizens_reports(
    session: AsyncSession, settings: Settings
) -> None:
    assert DEFAULT_RULES == ((Source.CITIZEN, True),)
    rows = (await session.execute(select(VerifyRule.source, VerifyRule.category_id))).all()
    assert [tuple(row) for row in rows] == [("citizen", None)]
    book = await rulebook(session, settings)
    garbage = book.by_code[GARBAGE]  # type: ignore[index]
    assert initial_state(book.verify_rules, Source.CITIZEN, garbage, grid_id=1) is State.VERIFYING
    assert initial_state(book.verify_rules, Source.HOTLINE, garbage, grid_id=1) is State.REPORTED
    # The step has its own default limit: 2 working hours, faster when urgent.
    assert {
        (urgency, amount, unit)
        for (category, urgency, step), (amount, unit) in book.limits.items()
        if category is None and step == Step.CONFIRM.value
    } == {(None, 2, "work_hours"), ("urgent", 60, "minutes"), ("emergency", 30, "minutes")}


# --- admin API ----------------------------------------------------------------------------------


async def test_admins_set_list_and_remove_verification_rules(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    admin = await bearer_headers(session, world.people.sys_admin)
    hotline_vending: dict[str, Any] = {
        "source": "hotline_12345",
        "category_kind": "event",
        "category_code": VENDING[1],
        "verify": True,
        "note": "占道经营来电先核实",
    }
    created = await client.put(f"{URL}/verify-rules", json=hotline_vending, headers=admin)
    assert created.status_code == 200, created.text
    rule_id = created.json()["id"]
    assert created.json() == {**hotline_vending, "id": rule_id}
    # The same (source, category) again replaces the rule instead of adding a second one.
    replaced = await client.put(
        f"{URL}/verify-rules", json={**hotline_vending, "verify": False}, headers=admin
    )
    assert (replaced.status_code, replaced.json()["id"], replaced.json()["verify"]) == (
        200,
        rule_id,
        False,
    )
    listed = (await client.get(f"{URL}/verify-rules", headers=admin)).json()
    # The packaged citizens' rule, switched off by the test world (create_world).
    assert [(r["source"], r["category_code"], r["verify"]) for r in listed] == [
        ("citizen", None, False),
        ("hotline_12345", VENDING[1], False),
    ]
    # The rulebook follows at once.
    await client.put(f"{URL}/verify-rules", json={**hotline_vending}, headers=admin)
    book = await rulebook(session, settings)
    vending = book.by_code[VENDING]  # type: ignore[index]
    assert initial_state(book.verify_rules, Source.HOTLINE, vending, 1) is State.VERIFYING

    removed = await client.delete(f"{URL}/verify-rules/{rule_id}", headers=admin)
    assert removed.status_code == 204
    again = await client.delete(f"{URL}/verify-rules/{rule_id}", headers=admin)
    assert again.status_code == 404
    book = await rulebook(session, settings)
    assert initial_state(book.verify_rules, Source.HOTLINE, vending, 1) is State.REPORTED


async def test_verification_rules_are_for_system_admins_and_checked(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    intake = await bearer_headers(session, world.people.intake)
    refused = await client.put(
        f"{URL}/verify-rules", json={"source": "hotline_12345", "verify": True}, headers=intake
    )
    assert refused.status_code == 403
    admin = await bearer_headers(session, world.people.sys_admin)
    unknown = await client.put(
        f"{URL}/verify-rules",
        json={"category_kind": "event", "category_code": "9999", "verify": True},
        headers=admin,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "category_code"
    half = await client.put(
        f"{URL}/verify-rules", json={"category_code": "0102", "verify": True}, headers=admin
    )
    assert (half.status_code, half.json()["errors"][0]["field"]) == (422, "category_code")
    bad_source = await client.put(
        f"{URL}/verify-rules", json={"source": "rumour", "verify": True}, headers=admin
    )
    assert bad_source.status_code == 422
    rules = await session.scalar(select(func.count()).select_from(VerifyRule))
    assert rules == 1


# --- the step -----------------------------------------------------------------------------------


async def verifying(session: AsyncSession, world: World, settings: Settings) -> Case:
    """The standard citizen's report, sent to its grid's worker by the intake clerk."""
    case = await case_in(session, world, State.REPORTED, settings=settings)
    return await act(
        session, world, case, Action.SEND_TO_VERIFY, world.people.intake, settings=settings
    )


async def clocks(session: AsyncSession, case: Case) -> list[tuple[str, datetime, bool]]:
    rows = await session.execute(
        select(CaseDeadline.step, CaseDeadline.due_at, CaseDeadline.finished_at.is_not(None))
        .where(CaseDeadline.case_id == case.id)
        .order_by(CaseDeadline.id)
    )
    return [(step, due, finished) for step, due, finished in rows]


async def test_the_verification_step_runs_its_own_clock(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await verifying(session, world, settings)
    assert (case.state, case.due_at) == ("verifying", VERIFY_DUE)
    assert await clocks(session, case) == [
        ("file", NOW + timedelta(hours=1), True),
        ("confirm", VERIFY_DUE, False),
    ]
    later = NOW + timedelta(minutes=10)
    case = await act(
        session, world, case, Action.CONFIRM, world.people.grid_worker, now=later, settings=settings
    )
    # Confirmed: the filing clock starts again, 1 working hour from 16:10 Beijing.
    assert (case.state, case.due_at) == ("confirmed", later + timedelta(hours=1))
    assert [c[0] for c in await clocks(session, case)] == ["file", "confirm", "file"]
    assert [c[2] for c in await clocks(session, case)] == [True, True, False]
    case = await act(
        session, world, case, Action.FILE, world.people.intake, now=later, settings=settings
    )
    assert case.state == "filed"
    events = (
        await session.execute(
            select(CaseEvent.action, CaseEvent.from_state, CaseEvent.to_state)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.id)
        )
    ).all()
    assert [tuple(e) for e in events] == [
        ("report", None, "reported"),
        ("send_to_verify", "reported", "verifying"),
        ("confirm", "verifying", "confirmed"),
        ("file", "confirmed", "filed"),
    ]


async def test_an_overdue_verification_is_escalated_by_the_sweep(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await verifying(session, world, settings)

    @asynccontextmanager
    async def own_session() -> AsyncIterator[AsyncSession]:
        async with session.begin_nested():
            yield session

    early = await sweep(own_session, VERIFY_DUE - timedelta(seconds=1), settings)
    assert early.escalated == 0
    late = await sweep(own_session, VERIFY_DUE + timedelta(seconds=1), settings)
    assert late.escalated == 1
    await session.refresh(case)
    assert (case.state, case.overdue, case.escalation_level) == ("verifying", True, 1)


async def test_the_intake_clerk_may_file_without_waiting(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await verifying(session, world, settings)
    case = await act(session, world, case, Action.FILE, world.people.intake, settings=settings)
    assert case.state == "filed"
    assert [c[0] for c in await clocks(session, case)] == ["file", "confirm", "dispatch"]


async def test_not_found_needs_a_photo_and_a_note_and_rejects_the_report(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await verifying(session, world, settings)
    worker = await world.actor(session, world.people.grid_worker)
    events = await session.scalar(select(func.count()).select_from(CaseEvent))
    with pytest.raises(InvalidInput) as no_photo:
        await service.act(
            session,
            worker,
            case.code,
            Action.NOT_FOUND,
            ActionIn(note="现场未发现"),
            now=NOW,
            settings=settings,
        )
    assert no_photo.value.field == "attachments"
    key = await photo(session, settings, 30)
    with pytest.raises(InvalidInput) as no_note:
        await service.act(
            session,
            worker,
            case.code,
            Action.NOT_FOUND,
            ActionIn(attachments=[key]),
            now=NOW,
            settings=settings,
        )
    assert no_note.value.field == "note"
    await session.refresh(case)
    assert case.state == "verifying"
    assert await session.scalar(select(func.count()).select_from(CaseEvent)) == events

    case = await service.act(
        session,
        worker,
        case.code,
        Action.NOT_FOUND,
        ActionIn(note="现场未发现垃圾", attachments=[key]),
        now=NOW,
        settings=settings,
    )
    assert (case.state, case.due_at) == ("rejected", None)
    last = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    )
    assert last is not None
    assert (last.action, last.note, last.actor_user_id) == (
        "not_found",
        "现场未发现垃圾",
        world.people.grid_worker.id,
    )
    linked = (
        await session.execute(
            select(CaseAttachment.purpose, CaseAttachment.event_id).where(
                CaseAttachment.case_id == case.id
            )
        )
    ).all()
    assert [tuple(row) for row in linked] == [(Purpose.CHECK.value, last.id)]
    assert [c[2] for c in await clocks(session, case)] == [True, True]


async def test_a_confirmation_photo_is_an_on_site_photo(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await verifying(session, world, settings)
    key = await photo(session, settings, 44)
    await act(
        session,
        world,
        case,
        Action.CONFIRM,
        world.people.grid_worker,
        settings=settings,
        attachments=[key],
    )
    purposes = await session.scalars(
        select(CaseAttachment.purpose).where(CaseAttachment.case_id == case.id)
    )
    assert list(purposes) == [Purpose.CHECK.value]


async def test_only_a_grid_worker_of_that_grid_confirms(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await verifying(session, world, settings)
    # A worker of the neighbouring grid of the same community does not even see the case...
    neighbour = await create_user(
        session, "worker_002", Role.GRID_WORKER, unit=world.tree.community
    )
    grid_002 = await session.scalar(select(Grid.id).where(Grid.code == "211104004001002"))
    assert grid_002 is not None
    session.add(GridWorker(grid_id=grid_002, user_id=neighbour.id))
    await session.flush()
    outsider = await world.actor(session, neighbour)
    with pytest.raises(NotFound):
        await service.act(
            session, outsider, case.code, Action.CONFIRM, ActionIn(), now=NOW, settings=settings
        )
    # ...and following it ("me too") lets them read it, not confirm it.
    await service.support(session, outsider, case.code, SupportIn(), now=NOW)
    with pytest.raises(Conflict) as refused:
        await service.act(
            session, outsider, case.code, Action.CONFIRM, ActionIn(), now=NOW, settings=settings
        )
    assert refused.value.extensions["allowed_actions"] == []
    # Neither do the command centre or the reporter confirm; the grid's own worker does.
    for who in (world.people.intake, world.people.dispatcher, world.people.citizen):
        with pytest.raises(Conflict):
            await act(session, world, case, Action.CONFIRM, who, settings=settings)
    case = await act(
        session, world, case, Action.CONFIRM, world.people.grid_worker, settings=settings
    )
    assert case.state == "confirmed"


async def test_a_report_placed_by_unit_cannot_be_sent_on_site(
    session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await report(
        session,
        world,
        by=world.people.intake,
        settings=settings,
        source=Source.HOTLINE,
        lon=None,
        lat=None,
        unit_code=world.tree.community.code,
        address="测试一社区 3 号楼",
    )
    assert (case.state, case.grid_id) == ("reported", None)
    with pytest.raises(Conflict) as refused:
        await act(
            session, world, case, Action.SEND_TO_VERIFY, world.people.intake, settings=settings
        )
    assert refused.value.extensions["allowed_actions"] == ["file", "reject", "void", "merge"]


async def test_verification_over_http(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    case = await case_in(session, world, State.REPORTED, settings=settings)
    intake = await bearer_headers(session, world.people.intake)
    worker = await bearer_headers(session, world.people.grid_worker)
    sent = await client.post(f"{URL}/{case.code}/actions/send_to_verify", json={}, headers=intake)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["state"], sent.json()["allowed_actions"]) == (
        "verifying",
        ["file", "reject", "void", "merge"],
    )
    seen = (await client.get(f"{URL}/{case.code}", headers=worker)).json()
    assert seen["allowed_actions"] == ["confirm", "not_found"]
    told = (await client.get("/api/v1/notifications", headers=worker)).json()["items"]
    assert [(n["kind"], n["title"]) for n in told] == [
        ("case.verify", f"案件 {case.code} 请到现场核实")
    ]
    refused = await client.post(
        f"{URL}/{case.code}/actions/not_found", json={"note": "未发现"}, headers=worker
    )
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "attachments")
    confirmed = await client.post(
        f"{URL}/{case.code}/actions/confirm", json={"note": "属实"}, headers=worker
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed"
    assert confirmed.json()["events"][-1]["action"] == "confirm"


async def test_with_the_packaged_rule_a_citizens_report_starts_with_its_verification(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The packaged rule as shipped: a citizen's report through the API goes to the grid's
    worker at once, with the verification step's clock; staff reports are filed as usual."""
    world = await create_world(session, verify_citizens=True)
    body = {
        "category_kind": "event",
        "category_code": "0102",
        "description": "路边有一堆垃圾",
        "lon": IN_C1A[0],
        "lat": IN_C1A[1],
    }
    citizen = await client.post("/api/v1/cases", json=body)
    assert citizen.status_code == 201, citizen.text
    created = citizen.json()["case"]
    assert created["state"] == "verifying"
    assert datetime.fromisoformat(created["due_at"]) == VERIFY_DUE
    assert [(e["action"], e["from_state"], e["to_state"]) for e in created["events"]] == [
        ("report", None, "verifying")
    ]
    case = await session.scalar(select(Case).where(Case.code == created["code"]))
    assert case is not None
    assert await clocks(session, case) == [("confirm", VERIFY_DUE, False)]
    worker = await bearer_headers(session, world.people.grid_worker)
    staff = await client.post(
        "/api/v1/cases", json={**body, "source": "grid_worker"}, headers=worker
    )
    assert staff.status_code == 201, staff.text
    assert staff.json()["case"]["state"] == "reported"
