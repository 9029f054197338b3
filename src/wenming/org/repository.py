"""Scoped queries of the organisation: every read goes through ``org.scope``."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from wenming.core.errors import NotFound
from wenming.core.security import mask_phone
from wenming.org.codes import UnitKind
from wenming.org.models import AdminUnit, Department, RoleAssignment, User
from wenming.org.roles import Permission, Role
from wenming.org.schemas import AssignmentOut, DepartmentOut, RoleOut, UnitOut, UserOut
from wenming.org.scope import (
    Actor,
    require_on_department,
    require_on_unit,
    require_on_user,
    users_with,
    visible_departments,
    visible_units,
)


async def list_units(
    session: AsyncSession, actor: Actor, *, under: str | None = None
) -> list[UnitOut]:
    """The units the actor may read, in code order; optionally only one unit's direct children."""
    parent = aliased(AdminUnit)
    query = (
        select(AdminUnit, parent.code)
        .outerjoin(parent, AdminUnit.parent_id == parent.id)
        .where(AdminUnit.id.in_(visible_units(actor)))
        .order_by(AdminUnit.code)
    )
    if under is not None:
        query = query.where(parent.code == under)
    rows = await session.execute(query)
    return [_unit_out(unit, parent_code) for unit, parent_code in rows]


async def count_units(session: AsyncSession, actor: Actor) -> int:
    """How many units the actor may read."""
    query = (
        select(func.count()).select_from(AdminUnit).where(AdminUnit.id.in_(visible_units(actor)))
    )
    return await session.scalar(query) or 0


async def count_departments(session: AsyncSession, actor: Actor) -> int:
    """How many departments the actor may read."""
    query = (
        select(func.count())
        .select_from(Department)
        .where(Department.id.in_(visible_departments(actor)))
    )
    return await session.scalar(query) or 0


async def get_unit(session: AsyncSession, actor: Actor, code: str) -> UnitOut:
    """One unit the actor may read; unit codes are public, so a unit outside scope is a 403."""
    parent = aliased(AdminUnit)
    row = (
        await session.execute(
            select(AdminUnit, parent.code)
            .outerjoin(parent, AdminUnit.parent_id == parent.id)
            .where(AdminUnit.code == code)
        )
    ).first()
    if row is None:
        raise NotFound(f"No unit with code {code}.")
    unit, parent_code = row
    await require_on_unit(session, actor, Permission.READ_ORG, unit.id, unit.code)
    return _unit_out(unit, parent_code)


def _departments_query() -> Select[Department, str, str]:
    """Departments with the codes of their owning unit and parent department."""
    parent = aliased(Department)
    return (
        select(Department, AdminUnit.code, parent.code)
        .join(AdminUnit, Department.unit_id == AdminUnit.id)
        .outerjoin(parent, Department.parent_id == parent.id)
    )


async def list_departments(session: AsyncSession, actor: Actor) -> list[DepartmentOut]:
    """The departments the actor may read, in code order."""
    rows = await session.execute(
        _departments_query()
        .where(Department.id.in_(visible_departments(actor)))
        .order_by(Department.code)
    )
    return [_department_out(dept, unit_code, parent_code) for dept, unit_code, parent_code in rows]


async def get_department(session: AsyncSession, actor: Actor, code: str) -> DepartmentOut:
    """One department the actor may read; like units, department codes are public (403)."""
    row = (await session.execute(_departments_query().where(Department.code == code))).first()
    if row is None:
        raise NotFound(f"No department with code {code}.")
    dept, unit_code, parent_code = row
    await require_on_department(session, actor, Permission.READ_ORG, dept.id, dept.code)
    return _department_out(dept, unit_code, parent_code)


async def list_users(
    session: AsyncSession,
    actor: Actor,
    *,
    unit_code: str | None = None,
    department_code: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[UserOut], int]:
    """The people the actor may read, with the total.

    Optionally only those assigned in one unit or one department (that place itself, not its
    subtree); a place outside the actor's scope simply lists nobody the actor may not read.
    """
    query = select(User).where(User.id.in_(users_with(actor, Permission.READ_PEOPLE)))
    if unit_code is not None:
        query = query.where(
            User.id.in_(
                select(RoleAssignment.user_id)
                .join(AdminUnit, RoleAssignment.unit_id == AdminUnit.id)
                .where(AdminUnit.code == unit_code)
            )
        )
    if department_code is not None:
        query = query.where(
            User.id.in_(
                select(RoleAssignment.user_id)
                .join(Department, RoleAssignment.department_id == Department.id)
                .where(Department.code == department_code)
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = list(
        (await session.scalars(query.order_by(User.username).offset(offset).limit(limit))).all()
    )
    return await _users_out(session, actor, users), total


async def get_user(session: AsyncSession, actor: Actor, user_id: int) -> UserOut:
    """One user the actor may read; someone outside scope is reported as not existing."""
    await require_on_user(session, actor, Permission.READ_PEOPLE, user_id)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id} within your scope.")
    return (await _users_out(session, actor, [user]))[0]


async def created_user(session: AsyncSession, actor: Actor, user: User) -> UserOut:
    """The user an actor has just created, shown to its creator.

    No scope check: the creator was checked when creating, and an unbound account (a citizen)
    lies in nobody's territory. Phone masking follows the usual rules.
    """
    return (await _users_out(session, actor, [user]))[0]


async def _users_out(session: AsyncSession, actor: Actor, users: list[User]) -> list[UserOut]:
    """Users with their roles, phones masked except for viewers who may see contacts."""
    if not users:
        return []
    ids = [u.id for u in users]
    rows = await session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role, AdminUnit.code, Department.code)
        .outerjoin(AdminUnit, RoleAssignment.unit_id == AdminUnit.id)
        .outerjoin(Department, RoleAssignment.department_id == Department.id)
        .where(RoleAssignment.user_id.in_(ids))
        .order_by(RoleAssignment.id)
    )
    roles: dict[int, list[RoleOut]] = defaultdict(list)
    for user_id, role, unit_code, department_code in rows:
        roles[user_id].append(
            RoleOut(role=Role(role), unit_code=unit_code, department_code=department_code)
        )
    contact_ids = set(
        (
            await session.scalars(
                select(User.id).where(
                    User.id.in_(ids), User.id.in_(users_with(actor, Permission.SEE_CONTACTS))
                )
            )
        ).all()
    )
    return [
        UserOut(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            phone=u.phone
            if (u.id in contact_ids or u.id == actor.user_id)
            else mask_phone(u.phone),
            is_active=u.is_active,
            roles=roles[u.id],
        )
        for u in users
    ]


def _department_out(dept: Department, unit_code: str, parent_code: str | None) -> DepartmentOut:
    return DepartmentOut(
        code=dept.code,
        name=dept.name,
        unit_code=unit_code,
        parent_code=parent_code,
        synthetic=dept.synthetic,
    )


def _unit_out(unit: AdminUnit, parent_code: str | None) -> UnitOut:
    return UnitOut(
        code=unit.code,
        name=unit.name,
        kind=UnitKind(unit.kind),
        level=unit.level,
        parent_code=parent_code,
        synthetic=unit.synthetic,
    )


async def own_assignments(session: AsyncSession, actor: Actor) -> list[AssignmentOut]:
    """The actor's own role assignments with the names of their units or departments."""
    rows = await session.execute(
        select(
            RoleAssignment.role,
            AdminUnit.name,
            AdminUnit.code,
            AdminUnit.kind,
            Department.name,
            Department.code,
        )
        .outerjoin(AdminUnit, RoleAssignment.unit_id == AdminUnit.id)
        .outerjoin(Department, RoleAssignment.department_id == Department.id)
        .where(RoleAssignment.user_id == actor.user_id)
        .order_by(RoleAssignment.id)
    )
    return [
        AssignmentOut(
            role=Role(role),
            place_name=unit_name or department_name,
            place_code=unit_code or department_code,
            unit_kind=UnitKind(unit_kind) if unit_kind else None,
            is_department=department_name is not None,
        )
        for role, unit_name, unit_code, unit_kind, department_name, department_code in rows
    ]
