"""One case through the whole loop at the service level: report, file, dispatch, accept, handle,
verify, close; with the events, clocks and notifications each step leaves behind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import GRID_C1A, act, create_world, photo, report
from wenming.cases.models import CaseDeadline, CaseEvent
from wenming.cases.schemas import TargetIn
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings
from wenming.geo.models import Grid
from wenming.notify.models import Notification
from wenming.org.models import AdminUnit


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 moment given in Beijing time, as UTC."""
    return datetime(2026, 11, day, hour - 8, minute, tzinfo=UTC)


async def test_a_report_is_placed_routed_and_clocked(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    case = await report(session, world, settings=settings)
    grid = await session.scalar(select(Grid).where(Grid.id == case.grid_id))
    assert grid is not None and grid.code == GRID_C1A
    assert case.unit_id == world.tree.community.id
    assert case.street_id == world.tree.street.id
    assert case.address == "大洼街道测试一社区"
    assert (case.state, case.source, case.urgency) == ("reported", "citizen", "normal")
    assert len(case.code) == 12
    # 暴露垃圾 is territorial: the suggestion is the street that owns the place.
    assert (case.suggested_unit_id, case.suggested_department_id, case.suggestion_reason) == (
        world.tree.street.id,
        None,
        "territory",
    )
    # NOW is Friday 16:00 in Beijing; filing has 1 working hour: due at 17:00.
    assert case.due_at == shanghai(27, 17)
    events = (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))).all()
    assert [(e.action, e.from_state, e.to_state, e.actor_label) for e in events] == [
        ("report", None, "reported", "citizen")
    ]


async def test_the_whole_loop(session: AsyncSession, settings: Settings) -> None:
    world = await create_world(session)
    p = world.people
    case = await report(session, world, settings=settings)
    after = await photo(session, settings)
    case = await act(session, world, case, Action.FILE, p.intake, settings=settings)
    assert case.state == State.FILED
    case = await act(
        session,
        world,
        case,
        Action.DISPATCH,
        p.dispatcher,
        settings=settings,
        target=TargetIn(department_code="211104-CGJ"),
    )
    assert (case.state, case.responsible_department_id) == ("dispatched", world.tree.department.id)
    # 暴露垃圾 has 1 working day to be handled: Monday 16:00.
    assert case.due_at == shanghai(30, 16)
    case = await act(session, world, case, Action.ACCEPT, p.handler, settings=settings)
    case = await act(
        session, world, case, Action.HANDLE, p.handler, settings=settings, attachments=[after]
    )
    assert case.state == State.HANDLED
    case = await act(session, world, case, Action.VERIFY_PASS, p.grid_worker, settings=settings)
    case = await act(session, world, case, Action.CLOSE, p.intake, settings=settings)
    assert (case.state, case.closed_at, case.due_at) == ("closed", NOW, None)

    events = (
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    ).all()
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("report", None, "reported"),
        ("file", "reported", "filed"),
        ("dispatch", "filed", "dispatched"),
        ("accept", "dispatched", "accepted"),
        ("handle", "accepted", "handled"),
        ("verify_pass", "handled", "verified"),
        ("close", "verified", "closed"),
    ]
    dispatch_data = events[2].data
    assert '"override": true' in dispatch_data  # the street was suggested; CGJ was chosen
    clocks = (
        await session.scalars(
            select(CaseDeadline).where(CaseDeadline.case_id == case.id).order_by(CaseDeadline.id)
        )
    ).all()
    assert [(c.step, c.finished_at is not None) for c in clocks] == [
        ("file", True),
        ("dispatch", True),
        ("handle", True),
        ("verify", True),
        ("close", True),
    ]
    kinds = (
        await session.execute(
            select(Notification.user_id, Notification.kind).order_by(Notification.id)
        )
    ).all()
    assert [tuple(k) for k in kinds] == [
        (p.dispatcher.id, "case.filed"),
        (p.handler.id, "case.dispatched"),
        (p.grid_worker.id, "case.handled"),
        (p.citizen.id, "case.closed"),
    ]


async def test_unit_names_resolve(session: AsyncSession) -> None:
    world = await create_world(session)
    names = (
        await session.scalars(select(AdminUnit.name).where(AdminUnit.id == world.tree.street.id))
    ).all()
    assert names == ["大洼街道"]
