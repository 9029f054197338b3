"""Use cases of the organisation: units, departments, users and role assignments.

Functions without an actor are the trusted system path (CLI, demo, import); functions that take an
actor check role and scope first. Both flush only; the caller's edge commits.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from wenming.core.security import MIN_PASSWORD_LENGTH, hash_password
from wenming.org.codes import (
    UNIT_LEVEL,
    UnitKind,
    department_code_problem,
    hierarchy_problem,
    unit_code_problem,
)
from wenming.org.models import (
    AdminUnit,
    Department,
    DepartmentClosure,
    RoleAssignment,
    UnitClosure,
    User,
)
from wenming.org.roles import (
    DEPARTMENT_ROLES,
    ROLE_UNIT_LEVELS,
    UNBOUND_ROLES,
    UNIT_OR_DEPARTMENT_ROLES,
    Permission,
    Role,
)
from wenming.org.scope import GRANTABLE_ROLES, Actor, require_on_department, require_on_unit
from wenming.org.version import bump_org_version

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")
_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,30}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
NAME_MAX_LENGTH = 100


def clean_name(value: str, *, field: str = "name") -> str:
    """A one-line name, trimmed; empty, over-long or control characters are refused by field.

    PostgreSQL cannot store a NUL character and neither database should hold line breaks in a
    name, so such input is an error naming the field rather than a failure at the database.
    """
    name = value.strip()
    if not name:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(
            f"{field} has {len(name)} characters; at most {NAME_MAX_LENGTH} are allowed",
            field=field,
        )
    if _CONTROL_CHARACTERS.search(name):
        raise InvalidInput(
            f"{field} must be one line of text without control characters", field=field
        )
    return name


def parse_kind(value: str) -> UnitKind:
    """A unit kind from its name, or an error listing the valid ones."""
    try:
        return UnitKind(value.strip().lower())
    except ValueError:
        valid = ", ".join(k.value for k in UnitKind)
        raise InvalidInput(
            f"unknown unit kind {value!r}; use one of: {valid}", field="kind"
        ) from None


def parse_role(value: str) -> Role:
    """A role from its name, or an error listing the valid ones."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; use one of: {valid}", field="role") from None


async def unit_by_code(session: AsyncSession, code: str) -> AdminUnit | None:
    """The unit with a statistical code, if any."""
    return await session.scalar(select(AdminUnit).where(AdminUnit.code == code))


async def department_by_code(session: AsyncSession, code: str) -> Department | None:
    """The department with a code, if any."""
    return await session.scalar(select(Department).where(Department.code == code))


async def create_unit(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: UnitKind,
    parent: AdminUnit | None,
    now: datetime,
    synthetic: bool = False,
) -> AdminUnit:
    """Add a unit under its parent and record its ancestry."""
    code = code.strip()
    if problem := unit_code_problem(code):
        raise InvalidInput(problem, field="code")
    name = clean_name(name)
    if parent is None and UNIT_LEVEL[kind] != 1 and await session.scalar(select(AdminUnit.id)):
        raise InvalidInput(
            f"a {kind.value} needs a parent unit; only the top of the tree may have none",
            field="parent_code",
        )
    problem = hierarchy_problem(
        code, kind, parent.code if parent else None, UnitKind(parent.kind) if parent else None
    )
    if problem:
        raise InvalidInput(problem, field="code")
    if await unit_by_code(session, code) is not None:
        raise Conflict(f"a unit with code {code} already exists", field="code")
    unit = AdminUnit(
        code=code,
        name=name,
        kind=kind.value,
        level=UNIT_LEVEL[kind],
        parent_id=parent.id if parent else None,
        synthetic=synthetic,
        created_at=now,
        updated_at=now,
    )
    session.add(unit)
    await session.flush()
    await _link_closure(session, UnitClosure, unit.id, parent.id if parent else None)
    await bump_org_version(session, now)
    return unit


async def create_department(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    unit: AdminUnit,
    parent: Department | None,
    now: datetime,
    synthetic: bool = False,
) -> Department:
    """Add a department owned by a unit, optionally under a parent department."""
    code = code.strip()
    if problem := department_code_problem(code):
        raise InvalidInput(problem, field="code")
    name = clean_name(name)
    if parent is not None and parent.unit_id != unit.id:
        raise InvalidInput(
            f"department {code} must belong to the same unit as its parent {parent.code}",
            field="parent_code",
        )
    if await department_by_code(session, code) is not None:
        raise Conflict(f"a department with code {code} already exists", field="code")
    department = Department(
        code=code,
        name=name,
        unit_id=unit.id,
        parent_id=parent.id if parent else None,
        synthetic=synthetic,
        created_at=now,
        updated_at=now,
    )
    session.add(department)
    await session.flush()
    await _link_closure(session, DepartmentClosure, department.id, parent.id if parent else None)
    await bump_org_version(session, now)
    return department


async def _link_closure(
    session: AsyncSession,
    closure: type[UnitClosure] | type[DepartmentClosure],
    node_id: int,
    parent_id: int | None,
) -> None:
    """Insert the closure rows of a new leaf: itself at depth 0 and each ancestor of its parent."""
    await session.execute(
        insert(closure).values(ancestor_id=node_id, descendant_id=node_id, depth=0)
    )
    if parent_id is not None:
        await session.execute(
            insert(closure).from_select(
                ["ancestor_id", "descendant_id", "depth"],
                select(closure.ancestor_id, literal(node_id), closure.depth + 1).where(
                    closure.descendant_id == parent_id
                ),
            )
        )


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            "username must be 2-64 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    return name


def check_password(password: str) -> None:
    """Refuse passwords that are too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password: str | None,
    now: datetime,
    phone: str | None = None,
    synthetic: bool = False,
) -> User:
    """Add a user; the password is stored as an argon2 hash."""
    name = _check_username(username)
    if password is not None:
        check_password(password)
    if phone is not None and phone.strip() and not _PHONE.fullmatch(phone.strip()):
        raise InvalidInput(
            "phone must contain digits only (spaces, '-' and a leading '+' allowed)", field="phone"
        )
    if await session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"username {name!r} is taken; choose another", field="username")
    user = User(
        username=name,
        display_name=clean_name(display_name, field="display_name")
        if display_name.strip()
        else name,
        phone=phone.strip() if phone and phone.strip() else None,
        password_hash=hash_password(password) if password is not None else None,
        is_active=True,
        synthetic=synthetic,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    return user


_LEVEL_NAMES = {3: "a district", 4: "a street or town", 5: "a community or village"}


def binding_problem(
    role: Role, unit: AdminUnit | None, department: Department | None
) -> str | None:
    """Why a role cannot be bound this way, or None when it can.

    A role binds to one administrative unit, except: a citizen needs no binding, and a handler
    works for a department (or for a street or community office). Roles named after a level
    (street admin, district admin) bind only at that level.
    """
    if unit is not None and department is not None:
        return "bind a role to a unit or to a department, not both"
    if role in UNBOUND_ROLES and department is None:
        return None
    if department is not None and role not in DEPARTMENT_ROLES | UNIT_OR_DEPARTMENT_ROLES:
        return f"role {role.value} is bound to an administrative unit, not a department"
    if unit is None and department is None:
        if role in UNIT_OR_DEPARTMENT_ROLES:
            return f"a {role.value} must be bound to a department or to a street/community unit"
        return f"role {role.value} needs a unit (give its 12-digit code)"
    levels = ROLE_UNIT_LEVELS.get(role)
    if unit is not None and levels is not None and unit.level not in levels:
        where = " or ".join(_LEVEL_NAMES[level] for level in sorted(levels))
        return f"a {role.value} is bound to {where}; {unit.code} is a {unit.kind}"
    return None


async def assign_role(
    session: AsyncSession,
    user: User,
    role: Role,
    *,
    now: datetime,
    unit: AdminUnit | None = None,
    department: Department | None = None,
) -> RoleAssignment:
    """Bind a role of a user to a unit or a department."""
    if problem := binding_problem(role, unit, department):
        raise InvalidInput(problem, field="unit_code")
    same_place = [
        RoleAssignment.user_id == user.id,
        RoleAssignment.role == role.value,
        RoleAssignment.unit_id == unit.id if unit else RoleAssignment.unit_id.is_(None),
        RoleAssignment.department_id == department.id
        if department
        else RoleAssignment.department_id.is_(None),
    ]
    existing = await session.scalar(select(RoleAssignment.id).where(*same_place))
    if existing is not None:
        raise Conflict(f"{user.username} already holds {role.value} there")
    assignment = RoleAssignment(
        user_id=user.id,
        role=role.value,
        unit_id=unit.id if unit else None,
        department_id=department.id if department else None,
        created_at=now,
    )
    session.add(assignment)
    await session.flush()
    return assignment


async def resolve_binding(
    session: AsyncSession, unit_code: str | None, department_code: str | None
) -> tuple[AdminUnit | None, Department | None]:
    """The unit and/or department named by codes; unknown codes are errors naming the field."""
    unit = department = None
    if unit_code:
        if problem := unit_code_problem(unit_code.strip()):
            raise InvalidInput(problem, field="unit_code")
        unit = await unit_by_code(session, unit_code.strip())
        if unit is None:
            raise InvalidInput(f"no unit with code {unit_code}", field="unit_code")
    if department_code:
        if problem := department_code_problem(department_code.strip()):
            raise InvalidInput(problem, field="department_code")
        department = await department_by_code(session, department_code.strip())
        if department is None:
            raise InvalidInput(
                f"no department with code {department_code}", field="department_code"
            )
    return unit, department


async def create_user_as(
    session: AsyncSession,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    now: datetime,
    unit_code: str | None = None,
    department_code: str | None = None,
    phone: str | None = None,
) -> User:
    """An admin creates a user with one role inside the admin's scope.

    Checked in this order: may the actor hand out this role at all (403), is the binding valid
    (422), does it lie inside the part of the actor's scope that carries the granting role (403).
    Only the grants that may hand out the role count, so no other role widens the reach.
    """
    granting = [g for g in actor.grants if role in GRANTABLE_ROLES.get(g.role, frozenset())]
    if not granting:
        raise Forbidden(f"your roles may not create users with role {role.value}")
    unit, department = await resolve_binding(session, unit_code, department_code)
    if problem := binding_problem(role, unit, department):
        raise InvalidInput(problem, field="unit_code")
    limited = Actor(actor.user_id, actor.username, actor.display_name, tuple(granting))
    if unit is not None:
        await require_on_unit(session, limited, Permission.MANAGE_PEOPLE, unit.id, unit.code)
    elif department is not None:
        await require_on_department(
            session, limited, Permission.MANAGE_PEOPLE, department.id, department.code
        )
    user = await create_user(
        session,
        username=username,
        display_name=display_name,
        password=password,
        now=now,
        phone=phone,
    )
    await assign_role(session, user, role, now=now, unit=unit, department=department)
    return user


async def rename_unit_as(
    session: AsyncSession, actor: Actor, code: str, name: str, now: datetime
) -> AdminUnit:
    """An admin renames a unit inside their scope."""
    unit = await unit_by_code(session, code)
    if unit is None:
        raise NotFound(f"no unit with code {code}")
    await require_on_unit(session, actor, Permission.MANAGE_ORG, unit.id, unit.code)
    unit.name = clean_name(name)
    unit.updated_at = now
    await session.flush()
    await bump_org_version(session, now)
    return unit


async def rename_department_as(
    session: AsyncSession, actor: Actor, code: str, name: str, now: datetime
) -> Department:
    """An admin renames a department inside their scope."""
    department = await department_by_code(session, code)
    if department is None:
        raise NotFound(f"no department with code {code}")
    await require_on_department(
        session, actor, Permission.MANAGE_ORG, department.id, department.code
    )
    department.name = clean_name(name)
    department.updated_at = now
    await session.flush()
    await bump_org_version(session, now)
    return department
