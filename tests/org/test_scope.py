"""``org.scope`` called directly: the subqueries repositories filter with, and ``may_grant``."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import Tree, actor_for, create_tree, create_user
from wenming.core.errors import NotFound, OutOfScope
from wenming.org.models import AdminUnit, Department, User
from wenming.org.roles import Permission, Role
from wenming.org.scope import (
    GRANTABLE_ROLES,
    Actor,
    Grant,
    can_on_department,
    can_on_unit,
    may_grant,
    require_on_department,
    require_on_unit,
    require_on_user,
    units_with,
    users_with,
    visible_departments,
    visible_units,
)


async def unit_codes(
    session: AsyncSession, actor: Actor, permission: Permission | None
) -> list[str]:
    """Codes of the units a scope subquery yields, in code order."""
    ids = visible_units(actor) if permission is None else units_with(actor, permission)
    rows = await session.scalars(
        select(AdminUnit.code).where(AdminUnit.id.in_(ids)).order_by(AdminUnit.code)
    )
    return list(rows)


async def department_codes(session: AsyncSession, actor: Actor) -> list[str]:
    """Codes of the departments ``visible_departments`` yields, in code order."""
    rows = await session.scalars(
        select(Department.code)
        .where(Department.id.in_(visible_departments(actor)))
        .order_by(Department.code)
    )
    return list(rows)


async def usernames(session: AsyncSession, actor: Actor, permission: Permission) -> list[str]:
    """Usernames ``users_with`` yields, sorted."""
    rows = await session.scalars(
        select(User.username)
        .where(User.id.in_(users_with(actor, permission)))
        .order_by(User.username)
    )
    return list(rows)


S1_SUBTREE = ["211104004000", "211104004001", "211104004002"]
DISTRICT_SUBTREE = [
    "211104000000",
    "211104004000",
    "211104004001",
    "211104004002",
    "211104005000",
    "211104005001",
]


@pytest.mark.parametrize(
    ("role", "place", "expected"),
    [
        (Role.CITIZEN, "street", []),
        (Role.GRID_WORKER, "street", S1_SUBTREE),
        (Role.GRID_WORKER, "community", ["211104004001"]),
        (Role.INTAKE, "street", S1_SUBTREE),
        (Role.DISPATCHER, "street", S1_SUBTREE),
        (Role.HANDLER, "street", S1_SUBTREE),
        (Role.HANDLER, "department", []),
        (Role.STREET_ADMIN, "street", S1_SUBTREE),
        (Role.EVALUATOR, "street", S1_SUBTREE),
        (Role.DISTRICT_ADMIN, "district", DISTRICT_SUBTREE),
        (Role.SYS_ADMIN, "district", DISTRICT_SUBTREE),
        (Role.SYS_ADMIN, "other_district", ["211102000000", "211102001000"]),
    ],
)
async def test_visible_units_are_the_granted_subtree(
    role: Role, place: str, expected: list[str], session: AsyncSession
) -> None:
    tree = await create_tree(session)
    node = getattr(tree, place)
    grant = (
        Grant(role, department_id=node.id)
        if isinstance(node, Department)
        else Grant(role, unit_id=node.id)
    )
    user = await create_user(session, "someone")
    assert await unit_codes(session, actor_for(user, grant), None) == expected


async def test_sys_admin_at_the_province_sees_every_unit(session: AsyncSession) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "root")
    actor = actor_for(user, Grant(Role.SYS_ADMIN, unit_id=tree.province.id))
    everything = list(await session.scalars(select(AdminUnit.code).order_by(AdminUnit.code)))
    assert len(everything) == 10
    assert await unit_codes(session, actor, None) == everything


async def test_several_grants_add_up_and_overlaps_count_once(session: AsyncSession) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "twoplaces")
    actor = actor_for(
        user,
        Grant(Role.GRID_WORKER, unit_id=tree.community.id),
        Grant(Role.GRID_WORKER, unit_id=tree.street.id),
        Grant(Role.EVALUATOR, unit_id=tree.other_street.id),
    )
    assert await unit_codes(session, actor, None) == [
        "211102001000",
        *S1_SUBTREE,
    ]


async def test_permissions_follow_the_role_not_just_the_place(session: AsyncSession) -> None:
    """An intake clerk reads people of the street but manages nothing; the street admin of the
    sibling street manages only that street."""
    tree = await create_tree(session)
    user = await create_user(session, "mixed")
    actor = actor_for(
        user,
        Grant(Role.INTAKE, unit_id=tree.street.id),
        Grant(Role.STREET_ADMIN, unit_id=tree.street_sibling.id),
    )
    sibling = ["211104005000", "211104005001"]
    assert await unit_codes(session, actor, Permission.READ_PEOPLE) == S1_SUBTREE + sibling
    assert await unit_codes(session, actor, Permission.MANAGE_PEOPLE) == sibling
    assert await unit_codes(session, actor, Permission.MANAGE_ORG) == sibling
    assert await unit_codes(session, actor, Permission.SEE_CONTACTS) == sibling


async def test_anonymous_reaches_nothing(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_user(session, "someone", Role.GRID_WORKER, unit=tree.street)
    anonymous = Actor.anonymous()
    assert anonymous.is_authenticated is False
    assert await unit_codes(session, anonymous, None) == []
    assert await department_codes(session, anonymous) == []
    assert await usernames(session, anonymous, Permission.READ_PEOPLE) == []


@pytest.mark.parametrize(
    ("grant_at", "expected"),
    [
        ("department", ["211104-CGJ", "211104-CGJ-ZFD"]),
        ("department_child", ["211104-CGJ-ZFD"]),
        ("department_sibling", ["211104-ZJJ"]),
        ("other_department", ["211102-CGJ"]),
        ("district", ["211104-CGJ", "211104-CGJ-ZFD", "211104-ZJJ"]),
        ("city", ["211102-CGJ", "211104-CGJ", "211104-CGJ-ZFD", "211104-ZJJ"]),
        ("street", []),
    ],
)
async def test_visible_departments(
    grant_at: str, expected: list[str], session: AsyncSession
) -> None:
    """A department grant reaches its department subtree; a unit grant the departments owned by
    units of its territory."""
    tree = await create_tree(session)
    node = getattr(tree, grant_at)
    role = Role.HANDLER if isinstance(node, Department) else Role.SYS_ADMIN
    grant = (
        Grant(role, department_id=node.id)
        if isinstance(node, Department)
        else Grant(role, unit_id=node.id)
    )
    user = await create_user(session, "viewer")
    assert await department_codes(session, actor_for(user, grant)) == expected


async def test_department_and_unit_grants_combine(session: AsyncSession) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "both")
    actor = actor_for(
        user,
        Grant(Role.HANDLER, department_id=tree.department_sibling.id),
        Grant(Role.EVALUATOR, unit_id=tree.other_district.id),
    )
    assert await department_codes(session, actor) == ["211102-CGJ", "211104-ZJJ"]


async def people(session: AsyncSession, tree: Tree) -> None:
    """One person at each of several places of the standard tree."""
    await create_user(session, "p_street", Role.GRID_WORKER, unit=tree.street)
    await create_user(session, "p_community", Role.GRID_WORKER, unit=tree.community)
    await create_user(session, "p_sibling", Role.GRID_WORKER, unit=tree.street_sibling)
    await create_user(session, "p_district", Role.INTAKE, unit=tree.district)
    await create_user(session, "p_other", Role.GRID_WORKER, unit=tree.other_street)
    await create_user(session, "p_cgj", Role.HANDLER, department=tree.department)
    await create_user(session, "p_zfd", Role.HANDLER, department=tree.department_child)
    await create_user(session, "p_zjj", Role.HANDLER, department=tree.department_sibling)
    await create_user(session, "p_nowhere", Role.CITIZEN)


async def test_users_with_follows_assignments_and_includes_oneself(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await people(session, tree)
    admin = await create_user(session, "admin", Role.STREET_ADMIN, unit=tree.street)
    actor = actor_for(admin, Grant(Role.STREET_ADMIN, unit_id=tree.street.id))
    assert await usernames(session, actor, Permission.READ_PEOPLE) == [
        "admin",
        "p_community",
        "p_street",
    ]

    clerk = await create_user(session, "clerk")
    district = actor_for(clerk, Grant(Role.DISTRICT_ADMIN, unit_id=tree.district.id))
    assert await usernames(session, district, Permission.SEE_CONTACTS) == [
        "admin",
        "clerk",
        "p_cgj",
        "p_community",
        "p_district",
        "p_sibling",
        "p_street",
        "p_zfd",
        "p_zjj",
    ]


async def test_users_with_a_permission_the_role_lacks_is_only_oneself(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await people(session, tree)
    worker = await create_user(session, "worker")
    actor = actor_for(worker, Grant(Role.GRID_WORKER, unit_id=tree.street.id))
    assert await usernames(session, actor, Permission.READ_PEOPLE) == ["worker"]
    handler = await create_user(session, "handler")
    by_department = actor_for(handler, Grant(Role.HANDLER, department_id=tree.department.id))
    assert await usernames(session, by_department, Permission.READ_ORG) == [
        "handler",
        "p_cgj",
        "p_zfd",
    ]


async def test_can_and_require_refuse_with_the_right_error(session: AsyncSession) -> None:
    tree = await create_tree(session)
    outsider = await create_user(session, "outsider", Role.GRID_WORKER, unit=tree.other_street)
    user = await create_user(session, "admin")
    actor = actor_for(user, Grant(Role.STREET_ADMIN, unit_id=tree.street.id))

    assert await can_on_unit(session, actor, Permission.MANAGE_ORG, tree.community.id)
    assert not await can_on_unit(session, actor, Permission.MANAGE_ORG, tree.district.id)
    assert not await can_on_department(session, actor, Permission.READ_ORG, tree.department.id)

    await require_on_unit(session, actor, Permission.MANAGE_ORG, tree.street.id, "S1")
    with pytest.raises(OutOfScope) as refused:
        await require_on_unit(session, actor, Permission.MANAGE_ORG, tree.district.id, "D")
    assert refused.value.detail == (
        "Your roles (street_admin) do not allow 'manage_org' on unit D: it lies outside the "
        "units and departments assigned to you."
    )
    assert refused.value.status == 403
    with pytest.raises(OutOfScope):
        await require_on_department(session, actor, Permission.READ_ORG, tree.department.id, "CGJ")
    with pytest.raises(NotFound) as hidden:
        await require_on_user(session, actor, Permission.READ_PEOPLE, outsider.id)
    assert hidden.value.detail == f"No user {outsider.id} within your scope."
    assert hidden.value.status == 404


# Which roles each role may hand out (scope is checked separately).
MAY_GRANT: dict[Role, set[Role]] = {
    Role.CITIZEN: set(),
    Role.GRID_WORKER: set(),
    Role.INTAKE: set(),
    Role.DISPATCHER: set(),
    Role.HANDLER: set(),
    Role.EVALUATOR: set(),
    Role.STREET_ADMIN: {Role.GRID_WORKER, Role.HANDLER, Role.CITIZEN},
    Role.DISTRICT_ADMIN: set(Role) - {Role.SYS_ADMIN},
    Role.SYS_ADMIN: set(Role),
}


@pytest.mark.parametrize("granter", list(Role))
def test_may_grant(granter: Role) -> None:
    actor = Actor(1, "someone", grants=(Grant(granter, unit_id=1),))
    assert {role for role in Role if may_grant(actor, role)} == MAY_GRANT[granter]


def test_no_admin_may_grant_a_role_above_its_own() -> None:
    assert Role.DISTRICT_ADMIN not in GRANTABLE_ROLES[Role.STREET_ADMIN]
    assert Role.SYS_ADMIN not in GRANTABLE_ROLES[Role.DISTRICT_ADMIN]
    assert not may_grant(Actor.anonymous(), Role.CITIZEN)


def test_may_grant_takes_the_union_of_roles() -> None:
    actor = Actor(
        1, "two", grants=(Grant(Role.GRID_WORKER, unit_id=1), Grant(Role.STREET_ADMIN, unit_id=2))
    )
    assert may_grant(actor, Role.HANDLER)
    assert not may_grant(actor, Role.INTAKE)
