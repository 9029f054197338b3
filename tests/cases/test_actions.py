"""The data rules of each move of the case loop, from the issue: reasons, dispatch targets and the
routing override, return, after-photos, rework, extensions and suspensions with their exact due
times, reopening inside and outside the window, merging duplicates, "me too", the version check
and two transitions racing on one case.

NOW is Friday 2026-11-27 16:00 in Beijing. Working hours 08:30-12:00 and 13:30-17:30 (7.5 h a
day); 暴露垃圾 is handled within 1 working day; filing and dispatching take 1 working hour,
verification 4 working hours (cases/reference.py).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import BACKENDS, NOW, TEST_SECRET, load_reference_data
from tests.core.scratch import scratch_database
from tests.factories.cases import (
    IN_C1A_NEARBY,
    World,
    act,
    case_in,
    create_world,
    photo,
    report,
)
from tests.factories.org import create_user
from wenming.cases import access, service
from wenming.cases.models import Case, CaseDeadline, CaseEvent, CaseFollower
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import ActionIn, SupportIn, TargetIn
from wenming.cases.vocab import Source
from wenming.cases.workflow import Action, Capacity, State
from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.errors import Conflict, InvalidInput, NotFound, WenmingError
from wenming.core.migrate import upgrade
from wenming.notify.models import Notification
from wenming.org.roles import Role
from wenming.org.scope import Actor

BEIJING = ZoneInfo("Asia/Shanghai")
CGJ = "211104-CGJ"


def bj(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A 2026 moment given in Beijing time, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


def test_now_is_friday_afternoon_in_beijing() -> None:
    assert bj(11, 27, 16) == NOW
    assert NOW.astimezone(BEIJING).strftime("%A %H:%M") == "Friday 16:00"


async def fresh(session: AsyncSession, case: Case) -> Case:
    """The case as the database has it now."""
    await session.refresh(case)
    return case


async def events_of(session: AsyncSession, case: Case) -> list[CaseEvent]:
    """The case's timeline, oldest first."""
    rows = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    )
    return list(rows.all())


async def running_clock(session: AsyncSession, case: Case) -> CaseDeadline:
    """The case's one unfinished clock."""
    rows = (
        await session.scalars(
            select(CaseDeadline).where(
                CaseDeadline.case_id == case.id, CaseDeadline.finished_at.is_(None)
            )
        )
    ).all()
    assert len(rows) == 1
    return rows[0]


async def refused(
    session: AsyncSession, attempt: Awaitable[object], kind: type[WenmingError], case: Case
) -> WenmingError:
    """Run an attempt on a case inside a savepoint, expect it to fail with ``kind``, undo whatever
    it did and reload the case as the database has it."""
    async with session.begin_nested() as savepoint:
        with pytest.raises(kind) as caught:
            await attempt
        await savepoint.rollback()
    await session.refresh(case)
    return caught.value


def field_of(error: WenmingError) -> str | None:
    """The field a 422 names."""
    assert isinstance(error, InvalidInput)
    assert error.status == 422
    assert error.extensions["errors"][0]["field"] == error.field
    return error.field


# --- reasons -------------------------------------------------------------------------------------

UNTIL = bj(12, 31, 10)


@dataclass(frozen=True)
class NeedsReason:
    """A move that needs a note, from a state the factory reaches plus a few extra steps."""

    state: State
    action: Action
    who: str
    extra: tuple[tuple[Action, str, dict[str, object]], ...] = ()
    fields: tuple[tuple[str, object], ...] = ()


REASONED = [
    NeedsReason(State.REPORTED, Action.REJECT, "intake"),
    NeedsReason(State.REPORTED, Action.VOID, "intake"),
    NeedsReason(State.FILED, Action.VOID, "intake"),
    NeedsReason(State.DISPATCHED, Action.RETURN, "handler"),
    NeedsReason(State.ACCEPTED, Action.RETURN, "handler"),
    NeedsReason(State.HANDLED, Action.VERIFY_FAIL, "grid_worker"),
    NeedsReason(State.HANDLED, Action.VERIFY_FAIL, "intake"),
    NeedsReason(State.CLOSED, Action.REOPEN, "citizen"),
    NeedsReason(State.CLOSED, Action.REOPEN, "intake"),
    NeedsReason(State.ACCEPTED, Action.REQUEST_EXTENSION, "handler", fields=(("until", UNTIL),)),
    NeedsReason(State.DISPATCHED, Action.REQUEST_SUSPENSION, "handler"),
    NeedsReason(
        State.ACCEPTED,
        Action.DENY_EXTENSION,
        "dispatcher",
        extra=((Action.REQUEST_EXTENSION, "handler", {"note": "材料未到", "until": UNTIL}),),
    ),
    NeedsReason(
        State.ACCEPTED,
        Action.DENY_SUSPENSION,
        "dispatcher",
        extra=((Action.REQUEST_SUSPENSION, "handler", {"note": "产权不明"}),),
    ),
    NeedsReason(State.REPORTED, Action.SUSPEND, "dispatcher"),
    NeedsReason(State.HANDLED, Action.SUSPEND, "dispatcher"),
]


@pytest.mark.parametrize(
    "rule", REASONED, ids=[f"{r.action.value}-from-{r.state.value}-by-{r.who}" for r in REASONED]
)
async def test_a_reason_is_required(
    session: AsyncSession, settings: Settings, rule: NeedsReason
) -> None:
    world = await create_world(session)
    case = await case_in(
        session, world, rule.state, settings=settings, after_photo=await photo(session, settings)
    )
    for action, who, fields in rule.extra:
        case = await act(
            session, world, case, action, getattr(world.people, who), settings=settings, **fields
        )
    before = (case.state, case.version, case.pending, len(await events_of(session, case)))
    who = getattr(world.people, rule.who)
    for blank in ("", "   \n "):
        error = await refused(
            session,
            act(
                session,
                world,
                case,
                rule.action,
                who,
                settings=settings,
                note=blank,
                **dict(rule.fields),
            ),
            InvalidInput,
            case,
        )
        assert field_of(error) == "note"
    case = await fresh(session, case)
    assert (case.state, case.version, case.pending, len(await events_of(session, case))) == before
    done = await act(
        session, world, case, rule.action, who, settings=settings, note="理由", **dict(rule.fields)
    )
    assert (await events_of(session, done))[-1].note == "理由"


# --- dispatch ------------------------------------------------------------------------------------


async def dispatch_refusal(
    session: AsyncSession, world: World, case: Case, settings: Settings, **target: str
) -> str | None:
    """The field named when dispatching to a target is refused."""
    error = await refused(
        session,
        act(
            session,
            world,
            case,
            Action.DISPATCH,
            world.people.dispatcher,
            settings=settings,
            target=TargetIn(**target),
        ),
        InvalidInput,
        case,
    )
    return field_of(error)


async def test_dispatch_targets_are_checked(session: AsyncSession, settings: Settings) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.FILED, settings=settings)
    # Unknown department, a department of the other district.
    for code in ("211104-NOPE", "211102-CGJ"):
        assert await dispatch_refusal(session, world, case, settings, department_code=code) == (
            "target.department_code"
        )
    # A street of the other district; the district itself and the city are no streets.
    for code in ("211102001000", "211104000000", "211100000000"):
        assert await dispatch_refusal(session, world, case, settings, unit_code=code) == (
            "target.unit_code"
        )
    # Both, or neither.
    assert (
        await dispatch_refusal(
            session, world, case, settings, department_code=CGJ, unit_code="211104004000"
        )
        == "target"
    )
    assert await dispatch_refusal(session, world, case, settings) == "target"
    case = await fresh(session, case)
    assert (case.state, case.responsible_department_id, case.responsible_unit_id) == (
        "filed",
        None,
        None,
    )
    # Valid: a child department, a community of the district, the street itself.
    for target, expected in (
        ({"department_code": "211104-CGJ-ZFD"}, (world.tree.department_child.id, None)),
        ({"unit_code": "211104004002"}, (None, world.tree.community_sibling.id)),
        ({"unit_code": "211104004000"}, (None, world.tree.street.id)),
    ):
        async with session.begin_nested() as savepoint:
            moved = await act(
                session,
                world,
                case,
                Action.DISPATCH,
                world.people.dispatcher,
                settings=settings,
                target=TargetIn(**target),
            )
            assert (moved.state, moved.responsible_department_id, moved.responsible_unit_id) == (
                "dispatched",
                *expected,
            )
            await savepoint.rollback()
        case = await fresh(session, case)


async def test_a_case_placed_on_a_street_cannot_go_to_another_district(
    session: AsyncSession, settings: Settings
) -> None:
    """A hotline case placed by street (no community) is still bound to its own district."""
    world = await create_world(session)
    case = await report(
        session,
        world,
        by=world.people.intake,
        settings=settings,
        source=Source.HOTLINE,
        lon=None,
        lat=None,
        unit_code="211104004000",
        address="大洼街道中心路12号",
    )
    assert (case.unit_id, case.street_id) == (world.tree.street.id, world.tree.street.id)
    case = await act(session, world, case, Action.FILE, world.people.intake, settings=settings)
    assert await dispatch_refusal(session, world, case, settings, unit_code="211102001000") == (
        "target.unit_code"
    )
    assert await dispatch_refusal(session, world, case, settings, department_code="211102-CGJ") == (
        "target.department_code"
    )


async def test_dispatch_without_a_target_follows_the_suggestion(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.FILED, settings=settings)
    street = world.tree.street.id
    assert (case.suggested_unit_id, case.suggested_department_id, case.suggestion_reason) == (
        street,
        None,
        "territory",
    )
    case = await act(
        session, world, case, Action.DISPATCH, world.people.dispatcher, settings=settings
    )
    assert (case.state, case.responsible_unit_id, case.responsible_department_id) == (
        "dispatched",
        street,
        None,
    )
    data = json.loads((await events_of(session, case))[-1].data)
    assert data["override"] is False
    assert data["target"] == {"department_id": None, "unit_id": street}
    assert data["suggested"] == {"department_id": None, "unit_id": street}
    assert data["suggestion_reason"] == "territory"
    # The street's handler now holds it.
    handler_street = await world.actor(session, world.people.handler_street)
    assert await access.capacities(session, handler_street, case) == {Capacity.HANDLER}


async def test_naming_the_suggested_unit_is_no_override(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.FILED, settings=settings)
    case = await act(
        session,
        world,
        case,
        Action.DISPATCH,
        world.people.dispatcher,
        settings=settings,
        target=TargetIn(unit_code="211104004000"),
    )
    assert json.loads((await events_of(session, case))[-1].data)["override"] is False


async def test_an_override_is_recorded_with_the_suggestion(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.FILED, settings=settings)
    case = await act(
        session,
        world,
        case,
        Action.DISPATCH,
        world.people.dispatcher,
        settings=settings,
        target=TargetIn(department_code=CGJ),
        note="占道问题由城管局处理",
    )
    event = (await events_of(session, case))[-1]
    assert json.loads(event.data) == {
        "due_at": bj(11, 30, 16).isoformat(),
        "override": True,
        "suggested": {"department_id": None, "unit_id": world.tree.street.id},
        "suggestion_reason": "territory",
        "target": {"department_id": world.tree.department.id, "unit_id": None},
    }
    assert event.note == "占道问题由城管局处理"


# --- return --------------------------------------------------------------------------------------


async def test_return_clears_the_unit_and_restarts_the_dispatch_clock(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    case = await case_in(session, world, State.ACCEPTED, settings=settings)
    returned_at = bj(11, 30, 9)
    case = await act(
        session,
        world,
        case,
        Action.RETURN,
        p.handler,
        settings=settings,
        now=returned_at,
        note="不属于我局职责",
    )
    assert (case.state, case.responsible_department_id, case.responsible_unit_id) == (
        "filed",
        None,
        None,
    )
    # Dispatching takes 1 working hour: Monday 09:00 → 10:00.
    assert case.due_at == bj(11, 30, 10)
    clock = await running_clock(session, case)
    assert (clock.step, clock.started_at, clock.due_at) == ("dispatch", returned_at, bj(11, 30, 10))
    event = (await events_of(session, case))[-1]
    assert (event.action, event.from_state, event.to_state) == ("return", "accepted", "filed")
    assert json.loads(event.data)["returned_by"] == {
        "department_id": world.tree.department.id,
        "unit_id": None,
    }
    told = await session.scalars(
        select(Notification.user_id).where(Notification.kind == "case.returned")
    )
    assert told.all() == [p.dispatcher.id]
    # The department that gave it back no longer sees it; the dispatcher sends it elsewhere.
    with pytest.raises(NotFound):
        await service.case_by_code(session, await world.actor(session, p.handler), case.code)
    case = await act(
        session,
        world,
        case,
        Action.DISPATCH,
        p.dispatcher,
        settings=settings,
        now=returned_at,
        target=TargetIn(department_code="211104-ZJJ"),
    )
    assert case.responsible_department_id == world.tree.department_sibling.id


async def test_a_dispatched_case_can_be_returned_before_accepting(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.DISPATCHED, settings=settings)
    case = await act(
        session, world, case, Action.RETURN, world.people.handler, settings=settings, note="错派"
    )
    assert (case.state, case.responsible_department_id, case.due_at) == (
        "filed",
        None,
        bj(11, 27, 17),
    )


# --- handle --------------------------------------------------------------------------------------


async def test_handling_needs_an_after_photo_where_the_category_says_so(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.ACCEPTED, settings=settings)
    error = await refused(
        session,
        act(
            session,
            world,
            case,
            Action.HANDLE,
            world.people.handler,
            settings=settings,
            note="已清理",
        ),
        InvalidInput,
        case,
    )
    assert field_of(error) == "attachments"
    case = await fresh(session, case)
    assert case.state == "accepted"
    after = await photo(session, settings)
    case = await act(
        session,
        world,
        case,
        Action.HANDLE,
        world.people.handler,
        settings=settings,
        attachments=[after],
    )
    assert case.state == "handled"


async def test_handling_without_a_photo_where_none_is_needed(
    session: AsyncSession, settings: Settings
) -> None:
    # 街头散发广告 (event 0205): 城管局's, no after-photo (one cannot photograph an absence).
    world = await create_world(session)
    p = world.people
    case = await report(session, world, settings=settings, category=("event", "0205"))
    assert (case.suggested_department_id, case.suggestion_reason) == (
        world.tree.department.id,
        "category",
    )
    case = await act(session, world, case, Action.FILE, p.intake, settings=settings)
    case = await act(session, world, case, Action.DISPATCH, p.dispatcher, settings=settings)
    assert case.responsible_department_id == world.tree.department.id
    case = await act(session, world, case, Action.ACCEPT, p.handler, settings=settings)
    case = await act(
        session, world, case, Action.HANDLE, p.handler, settings=settings, note="已劝离"
    )
    assert case.state == "handled"


# --- rework --------------------------------------------------------------------------------------


async def test_a_failed_check_sends_the_case_back_with_a_new_deadline(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    after = await photo(session, settings)
    case = await case_in(session, world, State.HANDLED, settings=settings, after_photo=after)
    assert case.due_at == bj(11, 30, 11)  # verification: 4 working hours from Friday 16:00
    failed_at = bj(11, 30, 10)
    case = await act(
        session,
        world,
        case,
        Action.VERIFY_FAIL,
        p.grid_worker,
        settings=settings,
        now=failed_at,
        note="垃圾仍未清运",
    )
    assert (case.state, case.rework_count, case.responsible_department_id) == (
        "dispatched",
        1,
        world.tree.department.id,
    )
    # A fresh working day to handle it: Monday 10:00 → Tuesday 10:00.
    assert case.due_at == bj(12, 1, 10)
    clock = await running_clock(session, case)
    assert (clock.step, clock.started_at, clock.due_at) == ("handle", failed_at, bj(12, 1, 10))
    told = await session.scalars(
        select(Notification.user_id).where(Notification.kind == "case.rework")
    )
    assert told.all() == [p.handler.id]
    # Round two: accepted, handled again, failed again by the command centre.
    second = bj(12, 1, 9)
    case = await act(session, world, case, Action.ACCEPT, p.handler, settings=settings, now=second)
    case = await act(
        session,
        world,
        case,
        Action.HANDLE,
        p.handler,
        settings=settings,
        now=second,
        attachments=[await photo(session, settings, 30)],
    )
    case = await act(
        session,
        world,
        case,
        Action.VERIFY_FAIL,
        p.intake,
        settings=settings,
        now=bj(12, 1, 14),
        note="仍有残留",
    )
    assert (case.state, case.rework_count, case.due_at) == ("dispatched", 2, bj(12, 2, 14))


# --- extensions ----------------------------------------------------------------------------------


async def test_extension_requests_are_checked_approved_and_denied(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    case = await case_in(session, world, State.ACCEPTED, settings=settings)
    due = bj(11, 30, 16)  # one working day from Friday 16:00
    assert case.due_at == due
    for until in (due, due - timedelta(hours=1)):
        error = await refused(
            session,
            act(
                session,
                world,
                case,
                Action.REQUEST_EXTENSION,
                p.handler,
                settings=settings,
                note="需要更多时间",
                until=until,
            ),
            InvalidInput,
            case,
        )
        assert field_of(error) == "until"
    error = await refused(
        session,
        act(session, world, case, Action.REQUEST_EXTENSION, p.handler, settings=settings, note="x"),
        InvalidInput,
        case,
    )
    assert field_of(error) == "until"

    asked = bj(12, 2, 16)
    case = await act(
        session,
        world,
        case,
        Action.REQUEST_EXTENSION,
        p.handler,
        settings=settings,
        note="需协调清运车辆",
        until=asked,
    )
    assert (case.state, case.pending, case.pending_due_at, case.due_at, case.extension_count) == (
        "accepted",
        "extension",
        asked,
        due,
        0,
    )
    case = await act(
        session,
        world,
        case,
        Action.APPROVE_EXTENSION,
        p.dispatcher,
        settings=settings,
        now=bj(11, 30, 9),
    )
    assert (case.pending, case.pending_due_at, case.due_at, case.extension_count) == (
        None,
        None,
        asked,
        1,
    )
    clock = await running_clock(session, case)
    assert (clock.step, clock.due_at) == ("handle", asked)

    case = await act(
        session,
        world,
        case,
        Action.REQUEST_EXTENSION,
        p.handler,
        settings=settings,
        now=bj(12, 1, 9),
        note="再延两天",
        until=bj(12, 4, 16),
    )
    case = await act(
        session,
        world,
        case,
        Action.DENY_EXTENSION,
        p.dispatcher,
        settings=settings,
        now=bj(12, 1, 10),
        note="不予延时",
    )
    assert (case.pending, case.pending_due_at, case.due_at, case.extension_count) == (
        None,
        None,
        asked,
        1,
    )
    assert [e.action for e in await events_of(session, case)][-4:] == [
        "request_extension",
        "approve_extension",
        "request_extension",
        "deny_extension",
    ]


# --- suspension ----------------------------------------------------------------------------------


async def test_an_approved_suspension_pauses_the_clock_and_resume_moves_the_due_time(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    case = await case_in(session, world, State.ACCEPTED, settings=settings)
    assert case.due_at == bj(11, 30, 16)
    case = await act(
        session,
        world,
        case,
        Action.REQUEST_SUSPENSION,
        p.handler,
        settings=settings,
        now=bj(11, 30, 9),
        note="需协调产权单位",
    )
    assert (case.state, case.pending) == ("accepted", "suspension")
    paused_at = bj(11, 30, 10)
    case = await act(
        session,
        world,
        case,
        Action.APPROVE_SUSPENSION,
        p.dispatcher,
        settings=settings,
        now=paused_at,
    )
    assert (case.state, case.pending, case.resume_state) == ("suspended", None, "accepted")
    clock = await running_clock(session, case)
    # Left at the pause: Monday 10:00-12:00 and 13:30-16:00, 4.5 working hours.
    assert (clock.step, clock.paused_at, clock.remaining_seconds, clock.next_escalation_at) == (
        "handle",
        paused_at,
        16_200,
        None,
    )
    resumed_at = bj(12, 2, 14)
    case = await act(
        session, world, case, Action.RESUME, p.dispatcher, settings=settings, now=resumed_at
    )
    # The 4.5 hours run from Wednesday 14:00: 3.5 that day, 1 on Thursday from 08:30.
    assert (case.state, case.resume_state, case.due_at) == ("accepted", None, bj(12, 3, 9, 30))
    clock = await running_clock(session, case)
    assert (clock.step, clock.paused_at, clock.due_at) == ("handle", None, bj(12, 3, 9, 30))
    # The pause itself lasted 17.5 working hours, and the due time moved by exactly that.
    book_calendar = (await rulebook(session, settings)).calendar
    assert book_calendar.working_seconds_between(paused_at, resumed_at) == 63_000
    assert book_calendar.working_seconds_between(bj(11, 30, 16), case.due_at) == 63_000


async def test_a_denied_suspension_leaves_the_clock_running(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    case = await case_in(session, world, State.DISPATCHED, settings=settings)
    case = await act(
        session, world, case, Action.REQUEST_SUSPENSION, p.handler, settings=settings, note="待定"
    )
    case = await act(
        session,
        world,
        case,
        Action.DENY_SUSPENSION,
        p.dispatcher,
        settings=settings,
        note="请先处置",
    )
    assert (case.state, case.pending, case.due_at) == ("dispatched", None, bj(11, 30, 16))
    clock = await running_clock(session, case)
    assert (clock.paused_at, clock.due_at) == (None, bj(11, 30, 16))


@pytest.mark.parametrize(
    ("state", "paused_at", "resumed_at", "due"),
    [
        # Filing: 1 working hour, due 17:00; paused at 16:30 with 30 minutes left.
        (State.REPORTED, bj(11, 27, 16, 30), bj(11, 30, 9), bj(11, 30, 9, 30)),
        # Verification: 4 working hours, due Monday 11:00; paused Friday 17:00 with 3 h left.
        (State.HANDLED, bj(11, 27, 17), bj(12, 1, 14), bj(12, 1, 17)),
    ],
)
async def test_the_command_centre_parks_a_case_directly(
    session: AsyncSession,
    settings: Settings,
    state: State,
    paused_at: datetime,
    resumed_at: datetime,
    due: datetime,
) -> None:
    world = await create_world(session)
    p = world.people
    case = await case_in(
        session, world, state, settings=settings, after_photo=await photo(session, settings)
    )
    case = await act(
        session,
        world,
        case,
        Action.SUSPEND,
        p.dispatcher,
        settings=settings,
        now=paused_at,
        note="汛期暂缓",
    )
    assert (case.state, case.resume_state) == ("suspended", state.value)
    case = await act(
        session, world, case, Action.RESUME, p.dispatcher, settings=settings, now=resumed_at
    )
    assert (case.state, case.due_at) == (state.value, due)


# --- reopen --------------------------------------------------------------------------------------


async def test_reopen_inside_the_window_goes_back_to_the_same_unit(
    session: AsyncSession, settings: Settings
) -> None:
    assert settings.reopen_window_days == 7
    world = await create_world(session)
    p = world.people
    after = await photo(session, settings)
    case = await case_in(session, world, State.CLOSED, settings=settings, after_photo=after)
    assert case.closed_at == NOW
    last_moment = NOW + timedelta(days=7)
    case = await act(
        session,
        world,
        case,
        Action.REOPEN,
        p.citizen,
        settings=settings,
        now=last_moment,
        note="垃圾又堆起来了",
    )
    assert (
        case.state,
        case.responsible_department_id,
        case.reopen_count,
        case.closed_at,
        case.due_at,
    ) == ("dispatched", world.tree.department.id, 1, None, bj(12, 7, 16))
    clock = await running_clock(session, case)
    assert (clock.step, clock.started_at) == ("handle", last_moment)
    told = await session.scalars(
        select(Notification.user_id).where(Notification.kind == "case.reopened")
    )
    assert told.all() == [p.handler.id]
    # Once more round the loop; the window counts from the new closing.
    case = await act(
        session, world, case, Action.ACCEPT, p.handler, settings=settings, now=last_moment
    )
    case = await act(
        session,
        world,
        case,
        Action.HANDLE,
        p.handler,
        settings=settings,
        now=last_moment,
        attachments=[await photo(session, settings, 40)],
    )
    case = await act(
        session, world, case, Action.VERIFY_PASS, p.intake, settings=settings, now=last_moment
    )
    case = await act(
        session, world, case, Action.CLOSE, p.intake, settings=settings, now=last_moment
    )
    assert case.closed_at == last_moment
    case = await act(
        session,
        world,
        case,
        Action.REOPEN,
        p.intake,
        settings=settings,
        now=last_moment + timedelta(days=6),
        note="复查发现反弹",
    )
    assert (case.state, case.reopen_count) == ("dispatched", 2)


async def test_reopen_after_the_window_is_refused(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    case = await case_in(
        session, world, State.CLOSED, settings=settings, after_photo=await photo(session, settings)
    )
    too_late = NOW + timedelta(days=7, seconds=1)
    for who in (p.citizen, p.intake):
        error = await refused(
            session,
            act(
                session,
                world,
                case,
                Action.REOPEN,
                who,
                settings=settings,
                now=too_late,
                note="又脏了",
            ),
            Conflict,
            case,
        )
        assert error.extensions["allowed_actions"] == []
        assert error.extensions["state"] == "closed"
    case = await fresh(session, case)
    assert (case.state, case.reopen_count) == ("closed", 0)


# --- merge ---------------------------------------------------------------------------------------


async def test_merging_a_duplicate_moves_its_people_to_the_survivor(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    neighbour = await create_user(session, "neighbour", Role.CITIZEN)
    survivor = await report(session, world, settings=settings)
    duplicate = await report(
        session,
        world,
        by=p.other_citizen,
        settings=settings,
        at=IN_C1A_NEARBY,
        reporter_name="李四",
        reporter_phone="13900001111",
    )
    await service.support(
        session, await world.actor(session, neighbour), duplicate.code, SupportIn(), now=NOW
    )
    merged = await act(
        session,
        world,
        duplicate,
        Action.MERGE,
        p.intake,
        settings=settings,
        merge_into=survivor.code,
    )
    survivor = await fresh(session, survivor)
    assert (merged.state, merged.merged_into_id, merged.due_at) == ("merged", survivor.id, None)
    assert (survivor.state, survivor.supporters) == ("reported", 2)
    followers = (
        await session.execute(
            select(
                CaseFollower.user_id,
                CaseFollower.name,
                CaseFollower.phone,
                CaseFollower.via,
                CaseFollower.from_case_id,
            )
            .where(CaseFollower.case_id == survivor.id)
            .order_by(CaseFollower.user_id)
        )
    ).all()
    assert sorted(tuple(f) for f in followers) == sorted(
        [
            (p.other_citizen.id, "李四", "13900001111", "merge", merged.id),
            (neighbour.id, None, None, "me_too", None),
        ]
    )
    assert json.loads((await events_of(session, merged))[-1].data)["merged_into"] == survivor.code
    merge_in = (await events_of(session, survivor))[-1]
    assert (merge_in.action, json.loads(merge_in.data)) == (
        "merge_in",
        {"merged_from": merged.code},
    )
    # The duplicate's reporter now follows the survivor: may read it, and is its reporter.
    other = await world.actor(session, p.other_citizen)
    assert (await service.case_by_code(session, other, survivor.code)).id == survivor.id
    assert await access.capacities(session, other, survivor) == {Capacity.REPORTER}


async def test_merge_needs_an_open_case_within_reach(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    p = world.people
    case = await report(session, world, settings=settings)
    closed = await case_in(
        session, world, State.CLOSED, settings=settings, after_photo=await photo(session, settings)
    )
    already_merged = await report(session, world, settings=settings, at=IN_C1A_NEARBY)
    other_open = await report(session, world, settings=settings, at=IN_C1A_NEARBY)
    await act(
        session,
        world,
        already_merged,
        Action.MERGE,
        p.intake,
        settings=settings,
        merge_into=other_open.code,
    )
    elsewhere = await report(
        session,
        world,
        by=p.intake_elsewhere,
        settings=settings,
        source=Source.HOTLINE,
        lon=None,
        lat=None,
        unit_code="211102001000",
        address="测试街道1号",
    )
    for target in (
        None,
        case.code,
        closed.code,
        already_merged.code,
        elsewhere.code,
        "ZZZZ2345ZZZZ",
    ):
        fields: dict[str, Any] = {} if target is None else {"merge_into": target}
        error = await refused(
            session,
            act(session, world, case, Action.MERGE, p.intake, settings=settings, **fields),
            InvalidInput,
            case,
        )
        assert field_of(error) == "merge_into", target
    case = await fresh(session, case)
    assert (case.state, case.merged_into_id) == ("reported", None)


# --- me too --------------------------------------------------------------------------------------


async def test_me_too_once_per_person(session: AsyncSession, settings: Settings) -> None:
    world = await create_world(session)
    p = world.people
    case = await report(session, world, settings=settings)
    other = await world.actor(session, p.other_citizen)
    supported = await service.support(session, other, case.code, SupportIn(), now=NOW)
    assert supported.supporters == 1
    assert [e.action for e in await events_of(session, case)] == ["report", "support"]
    count = select(func.count()).select_from(CaseFollower).where(CaseFollower.case_id == case.id)
    assert await session.scalar(count) == 1
    # Following makes the case readable to the supporter.
    assert (await service.case_by_code(session, other, case.code)).id == case.id
    await refused(
        session, service.support(session, other, case.code, SupportIn(), now=NOW), Conflict, case
    )
    reporter = await world.actor(session, p.citizen)
    await refused(
        session, service.support(session, reporter, case.code, SupportIn(), now=NOW), Conflict, case
    )
    case = await fresh(session, case)
    assert case.supporters == 1
    assert await session.scalar(count) == 1


async def test_me_too_is_refused_on_a_closed_case(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(
        session, world, State.CLOSED, settings=settings, after_photo=await photo(session, settings)
    )
    other = await world.actor(session, world.people.other_citizen)
    await refused(
        session, service.support(session, other, case.code, SupportIn(), now=NOW), Conflict, case
    )
    assert (await fresh(session, case)).supporters == 0


async def test_me_too_on_a_private_case_is_for_its_readers_only(
    session: AsyncSession, settings: Settings
) -> None:
    """A case reported as not public stays hidden: a stranger cannot find it, nor follow it."""
    world = await create_world(session)
    case = await report(session, world, settings=settings, public=False)
    other = await world.actor(session, world.people.other_citizen)
    await refused(
        session, service.support(session, other, case.code, SupportIn(), now=NOW), NotFound, case
    )
    assert (await fresh(session, case)).supporters == 0


# --- version -------------------------------------------------------------------------------------


async def test_a_stale_version_is_refused_with_the_current_one(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await case_in(session, world, State.FILED, settings=settings)
    loaded = case.version
    case = await act(
        session,
        world,
        case,
        Action.DISPATCH,
        world.people.dispatcher,
        settings=settings,
        target=TargetIn(department_code=CGJ),
        version=loaded,
    )
    current = case.version
    assert current > loaded
    error = await refused(
        session,
        act(
            session,
            world,
            case,
            Action.ACCEPT,
            world.people.handler,
            settings=settings,
            version=loaded,
        ),
        Conflict,
        case,
    )
    assert error.status == 409
    assert error.extensions["current_version"] == current
    case = await fresh(session, case)
    assert (case.state, case.version) == ("dispatched", current)
    case = await act(
        session,
        world,
        case,
        Action.ACCEPT,
        world.people.handler,
        settings=settings,
        version=current,
    )
    assert case.state == "accepted"


# --- two transitions at once ---------------------------------------------------------------------


@dataclass
class Race:
    """A committed handled case in a throw-away database, and the two people who may check it."""

    db: Database
    settings: Settings
    code: str
    grid_worker: Actor
    intake: Actor


@asynccontextmanager
async def prepared_race(backend: str, directory: Path) -> AsyncIterator[Race]:
    """A migrated scratch database holding one handled case, committed for real; dropped after."""
    with scratch_database(backend, "case_race", directory) as url:
        upgrade(url)
        await load_reference_data(url)
        settings = Settings(
            env=Environment.TEST,
            secret_key=TEST_SECRET,
            database_url=url,
            data_dir=directory / "data",
            db_pool_size=4,
        )
        db = Database(settings)
        try:
            async with db.session() as session:
                world = await create_world(session)
                case = await case_in(
                    session,
                    world,
                    State.HANDLED,
                    settings=settings,
                    after_photo=await photo(session, settings),
                )
                code = case.code
                grid_worker = await world.actor(session, world.people.grid_worker)
                intake = await world.actor(session, world.people.intake)
            yield Race(db, settings, code, grid_worker, intake)
        finally:
            await db.dispose()


async def check(race: Race, actor: Actor, action: Action) -> str:
    """One verification in its own unit of work, as the API edge runs it."""
    try:
        async with race.db.session() as session:
            await service.act(
                session,
                actor,
                race.code,
                action,
                ActionIn(note="现场核查"),
                now=NOW,
                settings=race.settings,
            )
    except Conflict:
        return "409"
    return action.value


async def outcome_of(race: Race) -> tuple[str, list[str]]:
    """The case's state and the verification events it holds."""
    async with race.db.session(write=False) as session:
        case = await session.scalar(select(Case).where(Case.code == race.code))
        assert case is not None
        actions = (
            await session.scalars(
                select(CaseEvent.action).where(
                    CaseEvent.case_id == case.id, CaseEvent.action.like("verify%")
                )
            )
        ).all()
        return case.state, list(actions)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_two_checks_at_once_cannot_both_win(backend: str, tmp_path: Path) -> None:
    async with prepared_race(backend, tmp_path) as race:
        outcomes = await asyncio.gather(
            check(race, race.grid_worker, Action.VERIFY_PASS),
            check(race, race.intake, Action.VERIFY_FAIL),
        )
        assert Counter(outcomes)["409"] == 1, outcomes
        (winner,) = [o for o in outcomes if o != "409"]
        state, events = await outcome_of(race)
    assert events == [winner]
    assert state == ("verified" if winner == "verify_pass" else "dispatched")


# Two readers before any writer needs PostgreSQL (SQLite admits one writer at a time and its
# write sessions lock before they read), so this is collected for PostgreSQL only.
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
async def test_two_checks_that_both_read_first_cannot_both_win(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both units of work load the handled case before either writes (held at a barrier right
    after the read); the row lock and the version check let exactly one through, and the other
    hears 409."""
    async with prepared_race(backend, tmp_path) as race:
        barrier = asyncio.Barrier(2)
        real = access.capacities

        async def read_then_wait(
            session: AsyncSession, actor: Actor, case: Case
        ) -> frozenset[Capacity]:
            held = await real(session, actor, case)
            await asyncio.wait_for(barrier.wait(), timeout=10)
            return held

        monkeypatch.setattr(service, "capacities", read_then_wait)
        outcomes = await asyncio.gather(
            check(race, race.grid_worker, Action.VERIFY_PASS),
            check(race, race.intake, Action.VERIFY_FAIL),
            return_exceptions=True,
        )
        assert sorted(map(str, outcomes)) in (["409", "verify_pass"], ["409", "verify_fail"]), (
            outcomes
        )
        (winner,) = [o for o in outcomes if o != "409"]
        state, events = await outcome_of(race)
    assert events == [winner]
    assert state == ("verified" if winner == "verify_pass" else "dispatched")
