"""The single answer to "what may this actor see and act on?".

A grant (role bound to a unit or department) reaches that unit or department and everything
beneath it. Repositories filter with the subqueries built here; nothing else in Wenming writes a
territorial filter of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Select, false, literal, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import NotFound, OutOfScope
from wenming.org.models import Department, DepartmentClosure, RoleAssignment, UnitClosure
from wenming.org.roles import Permission, Role, permissions_of

# Which roles an admin of each kind may hand out (and so create users with).
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.SYS_ADMIN: frozenset(Role),
    Role.DISTRICT_ADMIN: frozenset(Role) - {Role.SYS_ADMIN},
    Role.STREET_ADMIN: frozenset({Role.GRID_WORKER, Role.HANDLER, Role.CITIZEN}),
}


@dataclass(frozen=True)
class Grant:
    """One role of an actor and where it applies."""

    role: Role
    unit_id: int | None = None
    department_id: int | None = None


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user with their grants, or the anonymous public."""

    user_id: int | None
    username: str
    display_name: str = ""
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @classmethod
    def anonymous(cls) -> Actor:
        """The public: no identity, no grants."""
        return cls(user_id=None, username="", display_name="")

    @property
    def is_authenticated(self) -> bool:
        """Whether a user stands behind this actor."""
        return self.user_id is not None

    @property
    def roles(self) -> frozenset[Role]:
        """Every role the actor holds anywhere."""
        return frozenset(grant.role for grant in self.grants)

    def has_role(self, *roles: Role) -> bool:
        """Whether the actor holds any of the roles."""
        return any(grant.role in roles for grant in self.grants)

    def grants_with(self, permission: Permission) -> list[Grant]:
        """The grants whose role carries a permission."""
        return [g for g in self.grants if permission in permissions_of(g.role)]


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if v is not None})


def units_with(actor: Actor, permission: Permission) -> Select[int]:
    """Ids of the units on which the actor holds a permission: each granted unit and its subtree."""
    roots = _ids(g.unit_id for g in actor.grants_with(permission))
    if not roots:
        return select(UnitClosure.descendant_id).where(false())
    return select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id.in_(roots)).distinct()


def departments_with(actor: Actor, permission: Permission) -> Select[int]:
    """Ids of the departments on which the actor holds a permission.

    A department grant reaches that department's subtree; a unit grant reaches the departments
    owned by any unit in its territory (a district admin sees the district's departments).
    """
    grants = actor.grants_with(permission)
    dept_roots = _ids(g.department_id for g in grants)
    unit_roots = _ids(g.unit_id for g in grants)
    parts: list[Select[int]] = []
    if dept_roots:
        parts.append(
            select(DepartmentClosure.descendant_id).where(
                DepartmentClosure.ancestor_id.in_(dept_roots)
            )
        )
    if unit_roots:
        parts.append(
            select(Department.id).where(
                Department.unit_id.in_(
                    select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id.in_(unit_roots))
                )
            )
        )
    if not parts:
        return select(Department.id).where(false())
    if len(parts) == 1:
        return parts[0].distinct()
    combined = union(*parts).subquery()
    return select(combined.c[0])


def visible_units(actor: Actor) -> Select[int]:
    """Ids of the units whose data the actor may read."""
    return units_with(actor, Permission.READ_ORG)


def visible_departments(actor: Actor) -> Select[int]:
    """Ids of the departments whose data the actor may read."""
    return departments_with(actor, Permission.READ_ORG)


def users_with(actor: Actor, permission: Permission) -> Select[int]:
    """Ids of the users with at least one assignment inside the actor's reach for a permission.

    The actor always reaches their own account.
    """
    units = units_with(actor, permission)
    departments = departments_with(actor, permission)
    reachable = select(RoleAssignment.user_id).where(
        or_(RoleAssignment.unit_id.in_(units), RoleAssignment.department_id.in_(departments))
    )
    if actor.user_id is None:
        return reachable
    own = select(literal(actor.user_id))
    combined = union(reachable, own).subquery()
    return select(combined.c[0])


async def _contains(session: AsyncSession, ids: Select[int], target: int) -> bool:
    subquery = ids.subquery()
    found = await session.scalar(select(subquery.c[0]).where(subquery.c[0] == target).limit(1))
    return found is not None


async def can_on_unit(
    session: AsyncSession, actor: Actor, permission: Permission, unit_id: int
) -> bool:
    """Whether the actor holds a permission on a unit."""
    return await _contains(session, units_with(actor, permission), unit_id)


async def can_on_department(
    session: AsyncSession, actor: Actor, permission: Permission, department_id: int
) -> bool:
    """Whether the actor holds a permission on a department."""
    return await _contains(session, departments_with(actor, permission), department_id)


async def can_on_user(
    session: AsyncSession, actor: Actor, permission: Permission, user_id: int
) -> bool:
    """Whether the actor holds a permission on a user (through any of that user's assignments)."""
    return await _contains(session, users_with(actor, permission), user_id)


async def require_on_unit(
    session: AsyncSession, actor: Actor, permission: Permission, unit_id: int, label: str
) -> None:
    """Raise OutOfScope unless the actor holds a permission on a unit."""
    if not await can_on_unit(session, actor, permission, unit_id):
        raise OutOfScope(_refusal(actor, permission, f"unit {label}"))


async def require_on_department(
    session: AsyncSession, actor: Actor, permission: Permission, department_id: int, label: str
) -> None:
    """Raise OutOfScope unless the actor holds a permission on a department."""
    if not await can_on_department(session, actor, permission, department_id):
        raise OutOfScope(_refusal(actor, permission, f"department {label}"))


async def require_on_user(
    session: AsyncSession, actor: Actor, permission: Permission, user_id: int
) -> None:
    """Raise NotFound unless the actor reaches a user: outsiders do not exist for them."""
    if not await can_on_user(session, actor, permission, user_id):
        raise NotFound(f"No user {user_id} within your scope.")


def may_grant(actor: Actor, role: Role) -> bool:
    """Whether any of the actor's roles may hand out a role (scope is checked separately)."""
    return any(role in GRANTABLE_ROLES.get(g.role, frozenset()) for g in actor.grants)


def _refusal(actor: Actor, permission: Permission, target: str) -> str:
    if not actor.is_authenticated:
        return f"Sign in to {permission.value.replace('_', ' ')} {target}."
    held = ", ".join(sorted(r.value for r in actor.roles)) or "no role"
    return (
        f"Your roles ({held}) do not allow '{permission.value}' on {target}: "
        "it lies outside the units and departments assigned to you."
    )
