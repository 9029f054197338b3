"""Who may see a case and what they are to it. Built on ``org.scope`` (territory, departments);
the only case-specific facts added here are the grid a worker patrols and who reported it."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.models import Case, CaseFollower
from wenming.cases.workflow import Capacity
from wenming.geo.models import GridWorker
from wenming.org.models import DepartmentClosure, UnitClosure
from wenming.org.roles import Permission, Role
from wenming.org.scope import Actor, departments_with, units_with


def readable(actor: Actor) -> ColumnElement[bool]:
    """The cases an actor may read: their territory's (command centre, admins), those their unit
    or department is responsible for (handlers), those in their grids (grid workers), and the
    ones they reported or follow."""
    if not actor.is_authenticated:
        return false()
    parts: list[ColumnElement[bool]] = [
        Case.unit_id.in_(units_with(actor, Permission.READ_CASES)),
        Case.responsible_department_id.in_(departments_with(actor, Permission.HANDLE_CASES)),
        Case.responsible_unit_id.in_(units_with(actor, Permission.HANDLE_CASES)),
        Case.reporter_user_id == actor.user_id,
        Case.id.in_(select(CaseFollower.case_id).where(CaseFollower.user_id == actor.user_id)),
    ]
    if actor.has_role(Role.GRID_WORKER):
        parts.append(
            Case.grid_id.in_(select(GridWorker.grid_id).where(GridWorker.user_id == actor.user_id))
        )
    return or_(*parts)


async def _ancestors(session: AsyncSession, unit_id: int | None) -> set[int]:
    if unit_id is None:
        return set()
    rows = await session.scalars(
        select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == unit_id)
    )
    return set(rows.all())


async def _department_ancestors(session: AsyncSession, department_id: int | None) -> set[int]:
    if department_id is None:
        return set()
    rows = await session.scalars(
        select(DepartmentClosure.ancestor_id).where(
            DepartmentClosure.descendant_id == department_id
        )
    )
    return set(rows.all())


async def capacities(session: AsyncSession, actor: Actor, case: Case) -> frozenset[Capacity]:
    """What the actor is to this case, from their grants, the case's place and its unit."""
    if not actor.is_authenticated:
        return frozenset()
    held: set[Capacity] = set()
    territory = await _ancestors(session, case.unit_id)
    for grant in actor.grants:
        if grant.unit_id in territory and grant.role is Role.INTAKE:
            held.add(Capacity.INTAKE)
        if grant.unit_id in territory and grant.role is Role.DISPATCHER:
            held.add(Capacity.DISPATCHER)
    if actor.has_role(Role.HANDLER):
        departments = await _department_ancestors(session, case.responsible_department_id)
        units = await _ancestors(session, case.responsible_unit_id)
        for grant in actor.grants:
            if grant.role is Role.HANDLER and (
                (grant.department_id is not None and grant.department_id in departments)
                or (grant.unit_id is not None and grant.unit_id in units)
            ):
                held.add(Capacity.HANDLER)
    if actor.has_role(Role.GRID_WORKER) and case.grid_id is not None:
        assigned = await session.scalar(
            select(GridWorker.user_id).where(
                GridWorker.grid_id == case.grid_id, GridWorker.user_id == actor.user_id
            )
        )
        if assigned is not None:
            held.add(Capacity.GRID_WORKER)
    if case.reporter_user_id == actor.user_id:
        held.add(Capacity.REPORTER)
    else:
        follows = await session.scalar(
            select(CaseFollower.id)
            .where(CaseFollower.case_id == case.id, CaseFollower.user_id == actor.user_id)
            .limit(1)
        )
        if follows is not None:
            held.add(Capacity.REPORTER)
    return frozenset(held)


def sees_reporter(actor: Actor, held: frozenset[Capacity]) -> bool:
    """Whether reporters' names and phones are shown unmasked: to the command centre of the
    case's territory, and to the reporter."""
    return bool(held & {Capacity.INTAKE, Capacity.DISPATCHER, Capacity.REPORTER}) and (
        actor.is_authenticated
    )
