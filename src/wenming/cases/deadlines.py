"""Step clocks as rows: started when a step begins, finished when it ends, paused while a case is
parked, moved by an approved extension, and read by the overdue sweep.

The arithmetic is the working calendar's (``cases.calendar``); this module only keeps the rows
and the case's denormalised ``due_at`` in step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.calendar import LimitUnit
from wenming.cases.models import Case, CaseDeadline
from wenming.cases.rulebook import Rulebook
from wenming.cases.vocab import Urgency
from wenming.cases.workflow import Step

# An overdue clock is escalated again after this much wall time at the least, however short the
# step's limit was, so that a 10-minute emergency limit does not escalate every 10 minutes.
MIN_ESCALATION_INTERVAL = timedelta(minutes=30)


def epoch(moment: datetime) -> int:
    """Unix seconds of a moment, the form the sweep compares."""
    return int(moment.timestamp())


async def open_clock(session: AsyncSession, case: Case) -> CaseDeadline | None:
    """The case's running or paused clock, if any."""
    return await session.scalar(
        select(CaseDeadline)
        .where(CaseDeadline.case_id == case.id, CaseDeadline.finished_at.is_(None))
        .order_by(CaseDeadline.id.desc())
        .limit(1)
    )


def _interval(started: datetime, due: datetime) -> int:
    return int(max(due - started, MIN_ESCALATION_INTERVAL).total_seconds())


def plan_clock(book: Rulebook, case: Case, step: Step, now: datetime) -> CaseDeadline:
    """A new clock for a step from the configured limit, with the case's due time set; the
    caller adds it (a new case has no id before its first flush)."""
    amount, unit = book.limit_for(case.category_id, Urgency(case.urgency), step)
    due = book.calendar.add(now, amount, unit)
    case.due_at = due
    case.overdue = False
    case.escalation_level = 0
    return CaseDeadline(
        step=step.value,
        amount=amount,
        unit=unit.value,
        started_at=now,
        due_at=due,
        escalation_level=0,
        next_escalation_at=epoch(due),
        escalation_interval_seconds=_interval(now, due),
    )


async def start_clock(
    session: AsyncSession, book: Rulebook, case: Case, step: Step, now: datetime
) -> CaseDeadline:
    """Finish whatever clock runs and start the step's own, from the configured limit."""
    await finish_clock(session, case, now)
    clock = plan_clock(book, case, step, now)
    clock.case_id = case.id
    session.add(clock)
    return clock


async def finish_clock(session: AsyncSession, case: Case, now: datetime) -> None:
    """Stop the running clock (the step is done, or the case has left the loop)."""
    clock = await open_clock(session, case)
    if clock is not None:
        clock.finished_at = now
        clock.next_escalation_at = None
    case.due_at = None


async def pause_clock(session: AsyncSession, book: Rulebook, case: Case, now: datetime) -> None:
    """Stop the clock without finishing the step: what is left of the limit is kept."""
    clock = await open_clock(session, case)
    if clock is None or clock.paused_at is not None:
        return
    clock.remaining_seconds = book.calendar.remaining_seconds(
        now, clock.due_at, LimitUnit(clock.unit)
    )
    clock.paused_at = now
    clock.next_escalation_at = None


async def resume_clock(session: AsyncSession, book: Rulebook, case: Case, now: datetime) -> None:
    """Restart a paused clock with what was left of it; the due time moves by the pause."""
    clock = await open_clock(session, case)
    if clock is None or clock.paused_at is None:
        return
    due = book.calendar.resume(now, clock.remaining_seconds or 0, LimitUnit(clock.unit))
    clock.due_at = due
    clock.paused_at = None
    clock.remaining_seconds = None
    clock.next_escalation_at = epoch(due) if due > now else epoch(now)
    case.due_at = due


async def extend_clock(session: AsyncSession, case: Case, due: datetime) -> None:
    """Move the running clock's due time (an approved extension); the overdue mark clears."""
    clock = await open_clock(session, case)
    if clock is None:
        return
    clock.due_at = due
    clock.next_escalation_at = epoch(due)
    clock.escalation_interval_seconds = _interval(clock.started_at, due)
    case.due_at = due
    case.overdue = False
