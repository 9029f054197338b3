"""Case queries for queues and boards; every one is filtered by ``access.readable``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.access import readable
from wenming.cases.models import Case, Category
from wenming.cases.vocab import Area, Kind, Source, Urgency
from wenming.cases.workflow import State
from wenming.org.models import AdminUnit, Department, UnitClosure
from wenming.org.roles import Permission
from wenming.org.scope import Actor, departments_with, units_with


@dataclass(frozen=True)
class CaseFilter:
    """What a queue is narrowed to; every field is optional."""

    states: Sequence[State] = ()
    category_kind: Kind | None = None  # codes repeat across kinds: give both for one category
    category_code: str | None = None
    area: Area | None = None
    street_code: str | None = None
    source: Source | None = None
    urgency: Urgency | None = None
    overdue: bool | None = None
    mine: bool = False  # only what my unit or department is responsible for
    text: str | None = None


def _conditions(actor: Actor, wanted: CaseFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [readable(actor)]
    if wanted.states:
        conditions.append(Case.state.in_([s.value for s in wanted.states]))
    if wanted.category_code or wanted.area or wanted.category_kind:
        categories = select(Category.id)
        if wanted.category_kind:
            categories = categories.where(Category.kind == wanted.category_kind.value)
        if wanted.category_code:
            categories = categories.where(Category.code == wanted.category_code)
        if wanted.area:
            categories = categories.where(Category.area == wanted.area.value)
        conditions.append(Case.category_id.in_(categories))
    if wanted.street_code:
        conditions.append(
            Case.unit_id.in_(
                select(UnitClosure.descendant_id)
                .join(AdminUnit, AdminUnit.id == UnitClosure.ancestor_id)
                .where(AdminUnit.code == wanted.street_code)
            )
        )
    if wanted.source:
        conditions.append(Case.source == wanted.source.value)
    if wanted.urgency:
        conditions.append(Case.urgency == wanted.urgency.value)
    if wanted.overdue is not None:
        conditions.append(Case.overdue.is_(wanted.overdue))
    if wanted.mine:
        conditions.append(
            or_(
                Case.responsible_department_id.in_(
                    departments_with(actor, Permission.HANDLE_CASES)
                ),
                Case.responsible_unit_id.in_(units_with(actor, Permission.HANDLE_CASES)),
            )
        )
    if wanted.text:
        conditions.append(
            or_(
                Case.code == wanted.text.upper(),
                Case.address.contains(wanted.text, autoescape=True),
                Case.description.contains(wanted.text, autoescape=True),
            )
        )
    return conditions


async def list_cases(
    session: AsyncSession,
    actor: Actor,
    wanted: CaseFilter,
    *,
    page: int,
    page_size: int,
    overdue_first: bool = False,
) -> tuple[list[Case], int]:
    """One page of the cases the actor may read, newest first (or most overdue first)."""
    conditions = _conditions(actor, wanted)
    total = int(
        await session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    )
    order = (
        (Case.escalation_level.desc(), Case.due_at.asc(), Case.id.asc())
        if overdue_first
        else (Case.created_at.desc(), Case.id.desc())
    )
    rows = await session.scalars(
        select(Case)
        .where(*conditions)
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows.all()), total


async def place_names(
    session: AsyncSession, unit_ids: Collection[int], department_ids: Collection[int]
) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[str, str]]]:
    """(code, name) of units and of departments by id, for naming the units a case's history
    mentions (dispatch targets, returns); ids that name nothing are left out."""
    units: dict[int, tuple[str, str]] = {}
    departments: dict[int, tuple[str, str]] = {}
    if unit_ids:
        rows = await session.execute(
            select(AdminUnit.id, AdminUnit.code, AdminUnit.name).where(
                AdminUnit.id.in_(list(unit_ids))
            )
        )
        units = {row_id: (code, name) for row_id, code, name in rows}
    if department_ids:
        rows = await session.execute(
            select(Department.id, Department.code, Department.name).where(
                Department.id.in_(list(department_ids))
            )
        )
        departments = {row_id: (code, name) for row_id, code, name in rows}
    return units, departments
