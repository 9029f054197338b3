"""Configuring the loop (system admins): categories, time limits, routing rules, verification
rules and the working calendar. Every change bumps the rulebook version so that every process
picks it up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.calendar import CalendarDay as Day
from wenming.cases.calendar import LimitUnit
from wenming.cases.models import CalendarDay, Case, Category, CategoryClass, RoutingRule, TimeLimit
from wenming.cases.rulebook import bump_reference_version
from wenming.cases.schemas import (
    CategoryCode,
    CategoryCreate,
    CategoryUpdate,
    PlaceOut,
    RoutingRuleIn,
    RoutingRuleOut,
    Strict,
    Text200,
    TimeLimitIn,
    TimeLimitOut,
)
from wenming.cases.verification_models import VerifyRule
from wenming.cases.vocab import Kind, Source, Urgency
from wenming.cases.workflow import Step
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from wenming.org.models import AdminUnit, Department
from wenming.org.roles import Role
from wenming.org.scope import Actor


def require_admin(actor: Actor) -> None:
    """Only system admins change how the loop is configured."""
    if not actor.has_role(Role.SYS_ADMIN):
        raise Forbidden("Only a system admin may change categories, limits, routing or calendar.")


async def category_by_code(session: AsyncSession, kind: Kind, code: str) -> Category:
    """A category by (kind, code), or NotFound."""
    category = await session.scalar(
        select(Category).where(Category.kind == kind.value, Category.code == code)
    )
    if category is None:
        raise NotFound(f"There is no {kind.value} category {code}.")
    return category


async def create_category(
    session: AsyncSession, actor: Actor, body: CategoryCreate, now: datetime
) -> Category:
    """Add a category with its handling time limit."""
    require_admin(actor)
    known_class = await session.scalar(
        select(CategoryClass.id).where(
            CategoryClass.kind == body.kind.value, CategoryClass.code == body.code[:2]
        )
    )
    if known_class is None:
        raise InvalidInput(
            f"There is no {body.kind.value} class {body.code[:2]}; the first two digits of the "
            "code name the class.",
            field="code",
        )
    exists = await session.scalar(
        select(Category.id).where(Category.kind == body.kind.value, Category.code == body.code)
    )
    if exists is not None:
        raise Conflict(f"The {body.kind.value} category {body.code} exists already.")
    category = Category(
        kind=body.kind.value,
        code=body.code,
        class_code=body.code[:2],
        name_zh=body.name_zh,
        name_en=body.name_en,
        area=body.area.value,
        department_key=body.department_key,
        public=body.public,
        after_photo=body.after_photo,
        duplicate_radius_m=body.duplicate_radius_m,
        icon=body.icon,
        active=True,
        updated_at=now,
    )
    session.add(category)
    await session.flush()
    session.add(
        TimeLimit(
            category_id=category.id,
            urgency=None,
            step=Step.HANDLE.value,
            amount=body.handle_amount,
            unit=body.handle_unit.value,
        )
    )
    await bump_reference_version(session, now)
    return category


async def update_category(
    session: AsyncSession,
    actor: Actor,
    kind: Kind,
    code: str,
    body: CategoryUpdate,
    now: datetime,
) -> Category:
    """Change a category's fields; ``active=false`` retires it, ``true`` brings it back."""
    require_admin(actor)
    category = await category_by_code(session, kind, code)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if field == "area" and value is not None:
            value = value.value if hasattr(value, "value") else value
        if field == "department_key" and value == "":
            value = None
        elif value is None:
            raise InvalidInput(f"{field} cannot be emptied.", field=field)
        setattr(category, field, value)
    category.updated_at = now
    await bump_reference_version(session, now)
    return category


async def remove_category(
    session: AsyncSession, actor: Actor, kind: Kind, code: str, now: datetime
) -> Category | None:
    """Delete an unused category; a category that cases use is retired instead (returned)."""
    require_admin(actor)
    category = await category_by_code(session, kind, code)
    used = await session.scalar(
        select(func.count()).select_from(Case).where(Case.category_id == category.id)
    )
    await bump_reference_version(session, now)
    if used:
        category.active = False
        category.updated_at = now
        return category
    await session.delete(category)
    await session.flush()
    return None


async def _category_id(
    session: AsyncSession, kind: Kind | None, code: str | None, field: str
) -> int | None:
    if kind is None and code is None:
        return None
    if kind is None or code is None:
        raise InvalidInput("Give both category_kind and category_code, or neither.", field=field)
    category = await session.scalar(
        select(Category.id).where(Category.kind == kind.value, Category.code == code)
    )
    if category is None:
        raise InvalidInput(f"There is no {kind.value} category {code}.", field=field)
    return category


async def list_time_limits(session: AsyncSession) -> list[TimeLimitOut]:
    """Every configured limit: global ones first, then by category."""
    rows = await session.execute(
        select(TimeLimit, Category.kind, Category.code)
        .outerjoin(Category, Category.id == TimeLimit.category_id)
        .order_by(
            Category.kind.nulls_first(),
            Category.code.nulls_first(),
            TimeLimit.step,
            TimeLimit.urgency,
        )
    )
    return [
        TimeLimitOut(
            category_kind=Kind(kind) if kind else None,
            category_code=code,
            urgency=Urgency(limit.urgency) if limit.urgency else None,
            step=Step(limit.step),
            amount=limit.amount,
            unit=LimitUnit(limit.unit),
        )
        for limit, kind, code in rows
    ]


async def set_time_limit(
    session: AsyncSession, actor: Actor, body: TimeLimitIn, now: datetime
) -> TimeLimitOut:
    """Create or replace the limit for (category, urgency, step)."""
    require_admin(actor)
    category_id = await _category_id(
        session, body.category_kind, body.category_code, "category_code"
    )
    urgency = body.urgency.value if body.urgency else None
    limit = await session.scalar(
        select(TimeLimit).where(
            TimeLimit.category_id.is_(None)
            if category_id is None
            else TimeLimit.category_id == category_id,
            TimeLimit.urgency.is_(None) if urgency is None else TimeLimit.urgency == urgency,
            TimeLimit.step == body.step.value,
        )
    )
    if limit is None:
        limit = TimeLimit(
            category_id=category_id, urgency=urgency, step=body.step.value, amount=0, unit=""
        )
        session.add(limit)
    limit.amount = body.amount
    limit.unit = body.unit.value
    await session.flush()
    await bump_reference_version(session, now)
    return TimeLimitOut(
        category_kind=body.category_kind,
        category_code=body.category_code,
        urgency=body.urgency,
        step=body.step,
        amount=body.amount,
        unit=body.unit,
    )


async def _unit_id(session: AsyncSession, code: str | None, field: str) -> int | None:
    if code is None:
        return None
    unit_id = await session.scalar(select(AdminUnit.id).where(AdminUnit.code == code))
    if unit_id is None:
        raise InvalidInput(f"There is no unit {code}.", field=field)
    return unit_id


async def _department_id(session: AsyncSession, code: str | None, field: str) -> int | None:
    if code is None:
        return None
    department_id = await session.scalar(select(Department.id).where(Department.code == code))
    if department_id is None:
        raise InvalidInput(f"There is no department {code}.", field=field)
    return department_id


async def list_rules(session: AsyncSession) -> list[RoutingRuleOut]:
    """Every routing rule with the codes and names it refers to."""
    rules = (await session.scalars(select(RoutingRule).order_by(RoutingRule.id))).all()
    category_ids = {r.category_id for r in rules if r.category_id is not None}
    unit_ids = {i for r in rules for i in (r.area_unit_id, r.target_unit_id) if i is not None}
    department_ids = {
        i for r in rules for i in (r.component_owner_id, r.target_department_id) if i is not None
    }
    categories = {
        row.id: row
        for row in (
            await session.scalars(select(Category).where(Category.id.in_(category_ids)))
        ).all()
    }
    units = {
        row.id: row
        for row in (
            await session.scalars(select(AdminUnit).where(AdminUnit.id.in_(unit_ids)))
        ).all()
    }
    departments = {
        row.id: row
        for row in (
            await session.scalars(select(Department).where(Department.id.in_(department_ids)))
        ).all()
    }

    def place(row: AdminUnit | Department | None) -> PlaceOut | None:
        return PlaceOut(code=row.code, name=row.name) if row is not None else None

    return [
        RoutingRuleOut(
            id=rule.id,
            category_kind=Kind(categories[rule.category_id].kind) if rule.category_id else None,
            category_code=categories[rule.category_id].code if rule.category_id else None,
            area_unit_code=units[rule.area_unit_id].code if rule.area_unit_id else None,
            component_owner_code=(
                departments[rule.component_owner_id].code if rule.component_owner_id else None
            ),
            target_department=place(departments.get(rule.target_department_id or 0)),
            target_unit=place(units.get(rule.target_unit_id or 0)),
            note=rule.note,
        )
        for rule in rules
    ]


async def add_rule(
    session: AsyncSession, actor: Actor, body: RoutingRuleIn, now: datetime
) -> RoutingRule:
    """Add a routing rule; it must name at least one condition and exactly one target."""
    require_admin(actor)
    if (body.target.department_code is None) == (body.target.unit_code is None):
        raise InvalidInput(
            "A rule sends cases to exactly one department_code or unit_code.", field="target"
        )
    category_id = await _category_id(
        session, body.category_kind, body.category_code, "category_code"
    )
    area_unit_id = await _unit_id(session, body.area_unit_code, "area_unit_code")
    owner_id = await _department_id(session, body.component_owner_code, "component_owner_code")
    if category_id is None and area_unit_id is None and owner_id is None:
        raise InvalidInput(
            "A rule needs at least one condition: a category, an area or a component owner.",
            field="category_code",
        )
    rule = RoutingRule(
        category_id=category_id,
        area_unit_id=area_unit_id,
        component_owner_id=owner_id,
        target_department_id=await _department_id(
            session, body.target.department_code, "target.department_code"
        ),
        target_unit_id=await _unit_id(session, body.target.unit_code, "target.unit_code"),
        note=body.note,
        created_at=now,
    )
    session.add(rule)
    await session.flush()
    await bump_reference_version(session, now)
    return rule


async def delete_rule(session: AsyncSession, actor: Actor, rule_id: int, now: datetime) -> None:
    """Remove a routing rule (cases keep the suggestion they were given)."""
    require_admin(actor)
    rule = await session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no routing rule {rule_id}.")
    await session.delete(rule)
    await session.flush()
    await bump_reference_version(session, now)


async def calendar_days(session: AsyncSession, year: int) -> list[CalendarDay]:
    """The holidays and make-up working days of a year."""
    rows = await session.scalars(
        select(CalendarDay)
        .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    )
    return list(rows.all())


async def replace_calendar_year(
    session: AsyncSession, actor: Actor | None, days: Sequence[Day], now: datetime
) -> tuple[int, int]:
    """Replace the calendar exceptions of the year(s) the rows cover; returns (year, rows).

    ``actor`` None means the operator at the command line.
    """
    if actor is not None:
        require_admin(actor)
    years = {day.day.year for day in days}
    if len(years) != 1:
        raise InvalidInput(
            "A calendar file holds exactly one year; found "
            + (", ".join(str(y) for y in sorted(years)) or "no rows")
            + ".",
            field="calendar",
        )
    (year,) = years
    await session.execute(
        delete(CalendarDay).where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
        )
    )
    session.add_all(CalendarDay(day=d.day, kind=d.kind.value, name=d.name) for d in days)
    await session.flush()
    await bump_reference_version(session, now)
    return year, len(days)


class VerifyRuleIn(Strict):
    """A verification rule (admins): reports of this source (or any) and category (or any) are
    verified on site before filing (``verify: true``) or filed directly (``false``)."""

    source: Source | None = None
    category_kind: Kind | None = None
    category_code: CategoryCode | None = None
    verify: bool
    note: Text200 = ""


class VerifyRuleOut(BaseModel):
    """A verification rule as stored."""

    id: int
    source: Source | None
    category_kind: Kind | None
    category_code: str | None
    verify: bool
    note: str


async def list_verify_rules(session: AsyncSession) -> list[VerifyRuleOut]:
    """Every verification rule, oldest first."""
    rows = await session.execute(
        select(VerifyRule, Category.kind, Category.code)
        .outerjoin(Category, Category.id == VerifyRule.category_id)
        .order_by(VerifyRule.id)
    )
    return [
        VerifyRuleOut(
            id=rule.id,
            source=Source(rule.source) if rule.source else None,
            category_kind=Kind(kind) if kind else None,
            category_code=code,
            verify=rule.verify,
            note=rule.note,
        )
        for rule, kind, code in rows
    ]


async def set_verify_rule(
    session: AsyncSession, actor: Actor, body: VerifyRuleIn, now: datetime
) -> VerifyRuleOut:
    """Create or replace the rule for (source, category); one rule per pair."""
    require_admin(actor)
    category_id = await _category_id(
        session, body.category_kind, body.category_code, "category_code"
    )
    source = body.source.value if body.source else None
    rule = await session.scalar(
        select(VerifyRule).where(
            VerifyRule.source.is_(None) if source is None else VerifyRule.source == source,
            VerifyRule.category_id.is_(None)
            if category_id is None
            else VerifyRule.category_id == category_id,
        )
    )
    if rule is None:
        rule = VerifyRule(source=source, category_id=category_id, created_at=now)
        session.add(rule)
    rule.verify = body.verify
    rule.note = body.note
    await session.flush()
    await bump_reference_version(session, now)
    return VerifyRuleOut(
        id=rule.id,
        source=body.source,
        category_kind=body.category_kind,
        category_code=body.category_code,
        verify=rule.verify,
        note=rule.note,
    )


async def delete_verify_rule(
    session: AsyncSession, actor: Actor, rule_id: int, now: datetime
) -> None:
    """Remove a verification rule (cases already being verified stay so)."""
    require_admin(actor)
    rule = await session.get(VerifyRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no verification rule {rule_id}.")
    await session.delete(rule)
    await session.flush()
    await bump_reference_version(session, now)
