"""The overdue sweep: marks, escalates one level per interval, tells people once, and changes
nothing when run again at the same moment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import World, act, case_in, create_world
from tests.factories.org import create_user
from wenming.cases.models import Case, CaseDeadline, CaseEvent, SweepRun
from wenming.cases.sweep import SweepReport, sweep
from wenming.cases.workflow import Action, State
from wenming.core.clock import FrozenClock
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.main import periodic_tasks
from wenming.notify.models import Notification
from wenming.org.roles import Role


def opener(session: AsyncSession):  # type: ignore[no-untyped-def]
    """Sessions for the sweep that are the test's own (commits become savepoint releases)."""

    @asynccontextmanager
    async def open_session() -> AsyncIterator[AsyncSession]:
        async with session.begin_nested():
            yield session

    return open_session


async def run(session: AsyncSession, settings: Settings, **later: float) -> SweepReport:
    return await sweep(opener(session), NOW + timedelta(**later), settings)


async def escalate_events(session: AsyncSession, case: Case) -> list[str]:
    rows = await session.scalars(
        select(CaseEvent.data)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "escalate")
        .order_by(CaseEvent.id)
    )
    return list(rows.all())


async def dispatched(session: AsyncSession, settings: Settings) -> tuple[World, Case]:
    world = await create_world(session)
    case = await case_in(session, world, State.DISPATCHED, settings=settings)
    # 暴露垃圾: 1 working day from Friday 16:00 Beijing = Monday 2026-11-30 16:00 (08:00 UTC).
    assert case.due_at == NOW + timedelta(days=3)
    return world, case


async def test_nothing_is_overdue_before_its_due_time(
    session: AsyncSession, settings: Settings
) -> None:
    _world, case = await dispatched(session, settings)
    report = await run(session, settings, days=3, seconds=-1)
    assert (report.escalated, report.notified) == (0, 0)
    await session.refresh(case)
    assert (case.overdue, case.escalation_level) == (False, 0)


async def test_overdue_cases_are_escalated_once_per_moment(
    session: AsyncSession, settings: Settings
) -> None:
    world, case = await dispatched(session, settings)
    supervisor = await create_user(
        session, "district_boss", Role.DISTRICT_ADMIN, unit=world.tree.district
    )
    first = await run(session, settings, days=3)
    assert first.escalated == 1
    await session.refresh(case)
    assert (case.overdue, case.escalation_level, case.state) == (True, 1, "dispatched")
    assert await escalate_events(session, case) == ['{"level": 1, "step": "handle"}']
    # A department's first escalation goes to the unit it belongs to: the district.
    told = (
        await session.execute(
            select(Notification.user_id, Notification.title).where(
                Notification.kind == "case.escalated"
            )
        )
    ).all()
    assert sorted(tuple(t) for t in told) == sorted(
        [
            (world.people.district_admin.id, "1 件案件超时督办"),
            (supervisor.id, "1 件案件超时督办"),
            (world.people.handler.id, "1 件案件超时督办"),
        ]
    )
    assert first.notified == 3

    again = await run(session, settings, days=3)
    assert (again.escalated, again.notified) == (0, 0)
    assert len(await escalate_events(session, case)) == 1


async def test_a_sweep_run_is_dated_by_the_given_clock(
    session: AsyncSession, settings: Settings
) -> None:
    await dispatched(session, settings)
    moment = NOW + timedelta(days=3)
    clock = FrozenClock(moment + timedelta(seconds=7))
    report = await sweep(opener(session), moment, settings, clock=clock)
    run_row = await session.get(SweepRun, report.run_id)
    assert run_row is not None
    assert (run_row.now, run_row.started_at, run_row.finished_at, run_row.escalated) == (
        moment,
        moment,
        moment + timedelta(seconds=7),
        1,
    )


async def test_a_still_overdue_case_climbs_one_level_per_interval(
    session: AsyncSession, settings: Settings
) -> None:
    _world, case = await dispatched(session, settings)
    clock = await session.scalar(
        select(CaseDeadline).where(CaseDeadline.case_id == case.id, CaseDeadline.step == "handle")
    )
    assert clock is not None
    interval = clock.escalation_interval_seconds
    assert interval == 3 * 24 * 3600  # the limit's length in wall time, Friday 16:00 → Monday 16:00
    assert (await run(session, settings, days=3)).escalated == 1
    assert (await run(session, settings, days=3, seconds=interval - 1)).escalated == 0
    assert (await run(session, settings, days=3, seconds=interval)).escalated == 1
    await session.refresh(case)
    assert case.escalation_level == 2
    # A sweep that comes late escalates once, then waits a whole interval from its own moment.
    assert (await run(session, settings, days=30)).escalated == 1
    assert (await run(session, settings, days=30)).escalated == 0
    await session.refresh(case)
    assert case.escalation_level == 3
    assert await escalate_events(session, case) == [
        '{"level": 1, "step": "handle"}',
        '{"level": 2, "step": "handle"}',
        '{"level": 3, "step": "handle"}',
    ]


async def test_finished_and_paused_clocks_are_not_escalated(
    session: AsyncSession, settings: Settings, tmp_path: object
) -> None:
    world, case = await dispatched(session, settings)
    p = world.people
    case = await act(session, world, case, Action.ACCEPT, p.handler, settings=settings)
    case = await act(
        session, world, case, Action.SUSPEND, p.dispatcher, settings=settings, note="产权不明"
    )
    assert (await run(session, settings, days=10)).escalated == 0
    await session.refresh(case)
    assert (case.state, case.overdue) == ("suspended", False)
    closed = await case_in(session, world, State.REJECTED, settings=settings)
    assert (await run(session, settings, days=10)).escalated == 0
    events = await session.scalar(
        select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "escalate")
    )
    assert events == 0
    assert closed.due_at is None


async def test_many_overdue_cases_in_small_batches(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_world(session)
    cases = [await case_in(session, world, State.FILED, settings=settings) for _ in range(5)]
    report = await sweep(opener(session), NOW + timedelta(days=1), settings, batch=2)
    assert report.escalated == 5
    for case in cases:
        await session.refresh(case)
        assert (case.overdue, case.escalation_level) == (True, 1)
    # The dispatchers of the district get one digest for all five.
    digests = (
        await session.execute(
            select(Notification.user_id, Notification.title).where(
                Notification.kind == "case.escalated"
            )
        )
    ).all()
    assert (world.people.dispatcher.id, "5 件案件超时督办") not in [tuple(d) for d in digests]
    assert (world.people.district_admin.id, "5 件案件超时督办") in [tuple(d) for d in digests]


def test_serving_processes_run_the_sweep_at_the_configured_interval(settings: Settings) -> None:
    configured = settings.model_copy(update={"sweep_interval_seconds": 42.0})
    tasks = periodic_tasks(configured, Database(configured), FrozenClock(NOW))
    assert [(t.name, t.interval_seconds) for t in tasks] == [("overdue-sweep", 42.0)]
