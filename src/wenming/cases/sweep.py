"""The overdue sweep (督办): every running clock past its escalation time is escalated one level up
the tree, its case marked overdue and its history told, and the people concerned get one digest.

Set-based and idempotent: one ``UPDATE ... WHERE next_escalation_at <= now`` per batch moves each
clock's next escalation past ``now``, so a second run at the same ``now`` finds nothing. On
PostgreSQL the UPDATE's row locks make a concurrent sweep wait and then re-check the condition,
so two sweeps at once never escalate a clock twice; SQLite has a single writer anyway. Batches
are committed one by one so that intake is never held up for long.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.deadlines import epoch
from wenming.cases.models import Case, CaseDeadline, CaseEvent, SweepRun
from wenming.core.clock import Clock, SystemClock
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.core.deps import SessionOpener
from wenming.notify.service import notify
from wenming.org.models import Department, RoleAssignment, UnitClosure
from wenming.org.roles import Role

DEFAULT_BATCH = 20_000
# The sweep's own SQLite connection gets a 256 MiB page cache (a negative size is in KiB): each
# batch touches pages all over the case and clock tables, and re-reading them dominates.
SWEEP_SQLITE_PRAGMAS: dict[str, int] = {"cache_size": -262_144}
SUPERVISOR_ROLES = (Role.STREET_ADMIN.value, Role.DISTRICT_ADMIN.value)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    run_id: int
    escalated: int
    notified: int


async def start_run(session: AsyncSession, now: datetime, started_at: datetime) -> int:
    """Record a sweep run and return its id."""
    run = SweepRun(now=now, started_at=started_at, escalated=0, notified=0)
    session.add(run)
    await session.flush()
    return run.id


async def escalate_batch(session: AsyncSession, run_id: int, now: datetime, limit: int) -> int:
    """Escalate up to ``limit`` overdue clocks with their cases and events, marking them with the
    batch's run id (a fresh one per batch); returns how many."""
    now_s = epoch(now)
    due = (
        select(CaseDeadline.id)
        .where(
            CaseDeadline.next_escalation_at <= now_s,
            CaseDeadline.finished_at.is_(None),
            CaseDeadline.paused_at.is_(None),
        )
        .limit(limit)
        .scalar_subquery()
    )
    following = CaseDeadline.next_escalation_at + CaseDeadline.escalation_interval_seconds
    result = await session.execute(
        update(CaseDeadline)
        .where(
            CaseDeadline.id.in_(due),
            CaseDeadline.next_escalation_at <= now_s,
            CaseDeadline.finished_at.is_(None),
            CaseDeadline.paused_at.is_(None),
        )
        .values(
            escalation_level=CaseDeadline.escalation_level + 1,
            overdue_at=func.coalesce(CaseDeadline.overdue_at, now),
            next_escalation_at=case(
                (following > now_s, following),
                else_=now_s + CaseDeadline.escalation_interval_seconds,
            ),
            escalated_run_id=run_id,
        )
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount or 0  # type: ignore[attr-defined]
    if count == 0:
        return 0
    # One pass over the batch's clocks (UPDATE ... FROM): a correlated subquery per case would
    # walk the whole batch for every case, quadratic in the batch size.
    await session.execute(
        update(Case)
        .where(Case.id == CaseDeadline.case_id, CaseDeadline.escalated_run_id == run_id)
        .values(overdue=True, escalation_level=CaseDeadline.escalation_level)
        .execution_options(synchronize_session=False)
    )
    data = (
        literal('{"level": ')
        + cast(CaseDeadline.escalation_level, String)
        + literal(', "step": "')
        + CaseDeadline.step
        + literal('"}')
    )
    await session.execute(
        insert(CaseEvent).from_select(
            [
                "case_id",
                "action",
                "from_state",
                "to_state",
                "actor_user_id",
                "actor_label",
                "at",
                "note",
                "data",
            ],
            select(
                CaseDeadline.case_id,
                literal("escalate"),
                Case.state,
                Case.state,
                cast(literal(None), Integer),
                literal("system"),
                literal(now, type_=CaseEvent.at.type),
                literal(""),
                data,
            )
            .join(Case, Case.id == CaseDeadline.case_id)
            .where(CaseDeadline.escalated_run_id == run_id),
        )
    )
    return int(count)


async def notify_runs(
    session: AsyncSession, run_ids: list[int], now: datetime, settings: Settings
) -> int:
    """One digest per person for a run: supervisors of each escalation's target unit, and the
    handlers of the responsible units whose cases went overdue."""
    # Where the escalation ladder starts: the responsible unit; a department's own unit (the
    # district it serves); or, before dispatch, the case's street (so the command centre's own
    # lateness goes to the district first).
    anchor = func.coalesce(
        Case.responsible_unit_id, Department.unit_id, Case.street_id, Case.unit_id
    )
    groups = (
        await session.execute(
            select(
                anchor,
                CaseDeadline.escalation_level,
                Case.responsible_department_id,
                Case.responsible_unit_id,
                func.count(),
            )
            .select_from(CaseDeadline)
            .join(Case, Case.id == CaseDeadline.case_id)
            .outerjoin(Department, Department.id == Case.responsible_department_id)
            .where(CaseDeadline.escalated_run_id.in_(run_ids))
            .group_by(
                anchor,
                CaseDeadline.escalation_level,
                Case.responsible_department_id,
                Case.responsible_unit_id,
            )
        )
    ).all()
    if not groups:
        return 0
    anchors = {row[0] for row in groups}
    ladders: dict[int, dict[int, int]] = defaultdict(dict)
    for descendant, ancestor, depth in await session.execute(
        select(UnitClosure.descendant_id, UnitClosure.ancestor_id, UnitClosure.depth).where(
            UnitClosure.descendant_id.in_(anchors)
        )
    ):
        ladders[descendant][depth] = ancestor
    targets: dict[int, int] = defaultdict(int)  # target unit -> cases
    handler_units: dict[tuple[str, int], int] = defaultdict(int)
    for anchor_id, level, department_id, unit_id, count in groups:
        ladder = ladders[anchor_id]
        # A department sits beside its unit: its first escalation goes to that unit itself.
        step = level - 1 if department_id is not None else level
        target = ladder.get(min(step, max(ladder)), anchor_id)
        targets[target] += count
        if department_id is not None:
            handler_units[("department", department_id)] += count
        elif unit_id is not None:
            handler_units[("unit", unit_id)] += count
    per_user: dict[int, int] = defaultdict(int)
    for user_id, unit_id in await session.execute(
        select(RoleAssignment.user_id, RoleAssignment.unit_id).where(
            RoleAssignment.role.in_(SUPERVISOR_ROLES),
            RoleAssignment.unit_id.in_(list(targets)),
        )
    ):
        if unit_id is not None:
            per_user[user_id] += targets[unit_id]
    departments = [key for kind, key in handler_units if kind == "department"]
    units = [key for kind, key in handler_units if kind == "unit"]
    for user_id, department_id, unit_id in await session.execute(
        select(RoleAssignment.user_id, RoleAssignment.department_id, RoleAssignment.unit_id).where(
            RoleAssignment.role == Role.HANDLER.value,
            RoleAssignment.department_id.in_(departments) | RoleAssignment.unit_id.in_(units),
        )
    ):
        if department_id is not None:
            per_user[user_id] += handler_units[("department", department_id)]
        elif unit_id is not None:
            per_user[user_id] += handler_units[("unit", unit_id)]
    by_count: dict[int, list[int]] = defaultdict(list)
    for user_id, count in per_user.items():
        by_count[count].append(user_id)
    notified = 0
    english = settings.default_language == "en"
    for count, users in sorted(by_count.items()):
        title = f"{count} overdue case(s) escalated" if english else f"{count} 件案件超时督办"
        notified += await notify(
            session,
            user_ids=sorted(users),
            kind="case.escalated",
            title=title,
            body="",
            link="/cases/overdue",
            case_id=None,
            now=now,
            settings=settings,
        )
    return notified


async def sweep(
    database: Database | SessionOpener,
    now: datetime,
    settings: Settings,
    *,
    started_at: datetime | None = None,
    batch: int = DEFAULT_BATCH,
    clock: Clock | None = None,
) -> SweepReport:
    """Run one sweep as of ``now``: batches of escalations, each committed with its own run row,
    then one digest per person. ``database`` may be a session opener (each opened session
    commits on success), which is how tests run it inside their transaction. ``clock`` dates
    each batch's end (the system clock by default)."""
    finish = clock or SystemClock()
    if isinstance(database, Database):
        async with database.bulk_writer(SWEEP_SQLITE_PRAGMAS, checkpoint=True) as opener:
            return await _sweep(opener, now, settings, started_at or now, batch, finish)
    return await _sweep(database, now, settings, started_at or now, batch, finish)


async def _sweep(
    opener: SessionOpener,
    now: datetime,
    settings: Settings,
    began: datetime,
    batch: int,
    clock: Clock,
) -> SweepReport:
    run_ids: list[int] = []
    escalated = 0
    while True:
        async with opener() as session:
            run_id = await start_run(session, now, began)
            done = await escalate_batch(session, run_id, now, batch)
            run = await session.get(SweepRun, run_id)
            if run is not None:
                run.escalated = done
                run.finished_at = clock.now()
        run_ids.append(run_id)
        escalated += done
        if done < batch:
            break
    notified = 0
    if escalated:
        async with opener() as session:
            notified = await notify_runs(session, run_ids, now, settings)
            run = await session.get(SweepRun, run_ids[-1])
            if run is not None:
                run.notified = notified
    return SweepReport(run_ids[0], escalated, notified)
