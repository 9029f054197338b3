"""Organisation use cases: units and departments with their closure rows, users, role bindings,
and the scoped variants admins call through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import actor_for, create_tree, create_user
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound, OutOfScope
from wenming.core.security import verify_password
from wenming.org import service
from wenming.org.codes import UnitKind
from wenming.org.models import (
    AdminUnit,
    Department,
    DepartmentClosure,
    RoleAssignment,
    UnitClosure,
    User,
)
from wenming.org.roles import Role
from wenming.org.scope import Grant

CHAIN = [
    ("210000000000", "辽宁省", UnitKind.PROVINCE),
    ("211100000000", "盘锦市", UnitKind.CITY),
    ("211104000000", "大洼区", UnitKind.DISTRICT),
    ("211104101000", "东风镇", UnitKind.TOWN),
    ("211104101201", "测试村", UnitKind.VILLAGE),
]


async def closure_of(
    session: AsyncSession, model: type[AdminUnit] | type[Department]
) -> set[tuple[str, str, int]]:
    """Every closure row as (ancestor code, descendant code, depth)."""
    closure = UnitClosure if model is AdminUnit else DepartmentClosure
    ancestor = select(model.code).where(model.id == closure.ancestor_id).scalar_subquery()
    descendant = select(model.code).where(model.id == closure.descendant_id).scalar_subquery()
    rows = await session.execute(select(ancestor, descendant, closure.depth))
    return {(a, d, depth) for a, d, depth in rows}


async def test_five_level_chain_has_exactly_its_closure_rows(session: AsyncSession) -> None:
    parent = None
    for code, name, kind in CHAIN:
        parent = await service.create_unit(
            session, code=code, name=name, kind=kind, parent=parent, now=NOW
        )
    codes = [code for code, _name, _kind in CHAIN]
    expected = {
        (codes[a], codes[d], d - a) for a in range(len(codes)) for d in range(a, len(codes))
    }
    assert len(expected) == 15
    assert await closure_of(session, AdminUnit) == expected
    village = await service.unit_by_code(session, "211104101201")
    assert village is not None
    assert (village.kind, village.level, village.name) == ("village", 5, "测试村")
    assert (village.created_at, village.updated_at) == (NOW, NOW)


async def test_siblings_share_ancestors_but_not_each_other(session: AsyncSession) -> None:
    tree = await create_tree(session)
    rows = await closure_of(session, AdminUnit)
    assert {(a, depth) for a, d, depth in rows if d == tree.community_sibling.code} == {
        ("211104004002", 0),
        ("211104004000", 1),
        ("211104000000", 2),
        ("211100000000", 3),
        ("210000000000", 4),
    }
    assert not {r for r in rows if r[0] == tree.community.code and r[1] != tree.community.code}
    # each unit has one row per ancestor and itself: its level (1..5) rows
    assert len(rows) == 1 + 2 + 3 + (4 + 5 + 5) + (4 + 5) + (3 + 4)


async def test_department_closure(session: AsyncSession) -> None:
    await create_tree(session)
    assert await closure_of(session, Department) == {
        ("211104-CGJ", "211104-CGJ", 0),
        ("211104-CGJ-ZFD", "211104-CGJ-ZFD", 0),
        ("211104-CGJ", "211104-CGJ-ZFD", 1),
        ("211104-ZJJ", "211104-ZJJ", 0),
        ("211102-CGJ", "211102-CGJ", 0),
    }


async def test_duplicate_unit_code_is_a_conflict_and_adds_nothing(session: AsyncSession) -> None:
    tree = await create_tree(session)
    before = await session.scalar(select(func.count()).select_from(UnitClosure))
    with pytest.raises(Conflict) as conflict:
        await service.create_unit(
            session,
            code="211104004000",
            name="重复",
            kind=UnitKind.STREET,
            parent=tree.district,
            now=NOW,
        )
    assert conflict.value.detail == "a unit with code 211104004000 already exists"
    assert conflict.value.status == 409
    assert conflict.value.extensions == {"field": "code"}
    assert await session.scalar(select(func.count()).select_from(UnitClosure)) == before


async def test_duplicate_department_code_is_a_conflict(session: AsyncSession) -> None:
    tree = await create_tree(session)
    with pytest.raises(Conflict) as conflict:
        await service.create_department(
            session, code="211104-ZJJ", name="again", unit=tree.district, parent=None, now=NOW
        )
    assert conflict.value.detail == "a department with code 211104-ZJJ already exists"


async def test_department_must_share_its_parents_unit(session: AsyncSession) -> None:
    tree = await create_tree(session)
    with pytest.raises(InvalidInput) as invalid:
        await service.create_department(
            session,
            code="211102-SUB",
            name="x",
            unit=tree.other_district,
            parent=tree.department,
            now=NOW,
        )
    assert invalid.value.field == "parent_code"
    assert invalid.value.detail == (
        "department 211102-SUB must belong to the same unit as its parent 211104-CGJ"
    )


@pytest.mark.parametrize(
    ("code", "name", "field", "detail"),
    [
        (
            "2111040050",
            "x",
            "code",
            "code '2111040050' must be exactly 12 digits (it has 10 characters), e.g. 211104004000",
        ),
        ("211104009000", "   ", "name", "name must not be empty"),
        ("211104009000", "x" * 101, "name", "name has 101 characters; at most 100 are allowed"),
        (
            "211104009000",
            "街道\x00",
            "name",
            "name must be one line of text without control characters",
        ),
        (
            "211104009000",
            "两行\n名字",
            "name",
            "name must be one line of text without control characters",
        ),
        (
            "211102009000",
            "x",
            "code",
            "code 211102009000 does not lie under parent 211104000000: its first 6 digits "
            "must be 211104",
        ),
    ],
)
async def test_create_unit_refuses_bad_input_by_field(
    code: str, name: str, field: str, detail: str, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    with pytest.raises(InvalidInput) as invalid:
        await service.create_unit(
            session, code=code, name=name, kind=UnitKind.STREET, parent=tree.district, now=NOW
        )
    assert (invalid.value.field, invalid.value.detail) == (field, detail)
    assert await service.unit_by_code(session, code) is None


async def test_only_the_first_unit_may_lack_a_parent(session: AsyncSession) -> None:
    await create_tree(session)
    with pytest.raises(InvalidInput) as invalid:
        await service.create_unit(
            session, code="211104009000", name="x", kind=UnitKind.STREET, parent=None, now=NOW
        )
    assert invalid.value.field == "parent_code"
    assert invalid.value.detail == (
        "a street needs a parent unit; only the top of the tree may have none"
    )


async def test_names_are_trimmed(session: AsyncSession) -> None:
    unit = await service.create_unit(
        session,
        code=" 210000000000 ",
        name="  辽宁省 ",
        kind=UnitKind.PROVINCE,
        parent=None,
        now=NOW,
    )
    assert (unit.code, unit.name) == ("210000000000", "辽宁省")


async def test_create_user_hashes_and_normalizes(session: AsyncSession) -> None:
    user = await service.create_user(
        session,
        username="  Wang.Lei ",
        display_name=" ",
        password="a-long-password",
        now=NOW,
        phone=" 138 1234 5678 ",
    )
    assert (user.username, user.display_name, user.phone) == (
        "wang.lei",
        "wang.lei",
        "138 1234 5678",
    )
    assert user.password_hash is not None
    assert "a-long-password" not in user.password_hash
    assert verify_password(user.password_hash, "a-long-password")
    assert not verify_password(user.password_hash, "another-password")


async def test_duplicate_username_is_a_conflict_whatever_the_case(session: AsyncSession) -> None:
    await service.create_user(
        session, username="wanglei", display_name="王磊", password=None, now=NOW
    )
    with pytest.raises(Conflict) as conflict:
        await service.create_user(
            session, username="WangLei", display_name="王磊", password=None, now=NOW
        )
    assert conflict.value.detail == "username 'wanglei' is taken; choose another"
    assert conflict.value.extensions == {"field": "username"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "a"}, "username"),
        ({"username": "-abc"}, "username"),
        ({"username": "王磊"}, "username"),
        ({"username": "a" * 65}, "username"),
        ({"username": "ab\x00"}, "username"),
        ({"password": "short"}, "password"),
        ({"phone": "138-abc"}, "phone"),
        ({"phone": "1" * 40}, "phone"),
        ({"display_name": "x" * 101}, "display_name"),
        ({"display_name": "王\x00磊"}, "display_name"),
    ],
)
async def test_create_user_refuses_bad_fields(
    kwargs: dict[str, str], field: str, session: AsyncSession
) -> None:
    arguments = {"username": "valid", "display_name": "ok", "password": "long-enough", **kwargs}
    with pytest.raises(InvalidInput) as invalid:
        await service.create_user(session, now=NOW, **arguments)  # type: ignore[arg-type]
    assert invalid.value.field == field
    assert await session.scalar(select(func.count()).select_from(User)) == 0


# Where each role may be bound: (role, place in the standard tree) -> the refusal, or None.
BINDINGS: list[tuple[Role, str | None, str | None]] = [
    (Role.CITIZEN, None, None),
    (Role.CITIZEN, "district", None),
    (
        Role.CITIZEN,
        "department",
        "role citizen is bound to an administrative unit, not a department",
    ),
    (Role.GRID_WORKER, "community", None),
    (Role.GRID_WORKER, "street", None),
    (Role.GRID_WORKER, None, "role grid_worker needs a unit (give its 12-digit code)"),
    (
        Role.GRID_WORKER,
        "department",
        "role grid_worker is bound to an administrative unit, not a department",
    ),
    (Role.INTAKE, "district", None),
    (Role.INTAKE, "street", None),
    (Role.DISPATCHER, "district", None),
    (Role.EVALUATOR, "district", None),
    (Role.HANDLER, "department", None),
    (Role.HANDLER, "department_child", None),
    (Role.HANDLER, "street", None),
    (Role.HANDLER, "community", None),
    (
        Role.HANDLER,
        "district",
        "a handler is bound to a street or town or a community or village; "
        "211104000000 is a district",
    ),
    (Role.HANDLER, None, "a handler must be bound to a department or to a street/community unit"),
    (Role.STREET_ADMIN, "street", None),
    (
        Role.STREET_ADMIN,
        "district",
        "a street_admin is bound to a street or town; 211104000000 is a district",
    ),
    (
        Role.STREET_ADMIN,
        "community",
        "a street_admin is bound to a street or town; 211104004001 is a community",
    ),
    (
        Role.STREET_ADMIN,
        "department",
        "role street_admin is bound to an administrative unit, not a department",
    ),
    (Role.DISTRICT_ADMIN, "district", None),
    (
        Role.DISTRICT_ADMIN,
        "street",
        "a district_admin is bound to a district; 211104004000 is a street",
    ),
    (
        Role.DISTRICT_ADMIN,
        "city",
        "a district_admin is bound to a district; 211100000000 is a city",
    ),
    (Role.SYS_ADMIN, "province", None),
    (Role.SYS_ADMIN, "district", None),
    (Role.SYS_ADMIN, None, "role sys_admin needs a unit (give its 12-digit code)"),
]


@pytest.mark.parametrize(("role", "place", "refusal"), BINDINGS)
async def test_binding_rules(
    role: Role, place: str | None, refusal: str | None, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "bound")
    node = getattr(tree, place) if place else None
    unit = node if isinstance(node, AdminUnit) else None
    department = node if isinstance(node, Department) else None
    if refusal is None:
        assignment = await service.assign_role(
            session, user, role, now=NOW, unit=unit, department=department
        )
        assert (assignment.role, assignment.unit_id, assignment.department_id) == (
            role.value,
            unit.id if unit else None,
            department.id if department else None,
        )
    else:
        with pytest.raises(InvalidInput) as invalid:
            await service.assign_role(
                session, user, role, now=NOW, unit=unit, department=department
            )
        assert invalid.value.detail == refusal
        count = select(func.count()).select_from(RoleAssignment)
        assert await session.scalar(count.where(RoleAssignment.user_id == user.id)) == 0


async def test_a_binding_names_a_unit_or_a_department_not_both(session: AsyncSession) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "both")
    with pytest.raises(InvalidInput) as invalid:
        await service.assign_role(
            session, user, Role.HANDLER, now=NOW, unit=tree.street, department=tree.department
        )
    assert invalid.value.detail == "bind a role to a unit or to a department, not both"


async def test_the_same_assignment_twice_is_a_conflict(session: AsyncSession) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "twice", Role.GRID_WORKER, unit=tree.street)
    with pytest.raises(Conflict) as conflict:
        await service.assign_role(session, user, Role.GRID_WORKER, now=NOW, unit=tree.street)
    assert conflict.value.detail == "twice already holds grid_worker there"
    citizen = await create_user(session, "citizen", Role.CITIZEN)
    with pytest.raises(Conflict):
        await service.assign_role(session, citizen, Role.CITIZEN, now=NOW)
    await service.assign_role(session, user, Role.GRID_WORKER, now=NOW, unit=tree.community)


@pytest.mark.parametrize(
    ("value", "kind"), [("street", UnitKind.STREET), (" Town ", UnitKind.TOWN)]
)
def test_parse_kind(value: str, kind: UnitKind) -> None:
    assert service.parse_kind(value) is kind


def test_parse_kind_lists_the_valid_kinds() -> None:
    with pytest.raises(InvalidInput) as invalid:
        service.parse_kind("county")
    assert invalid.value.field == "kind"
    assert invalid.value.detail == (
        "unknown unit kind 'county'; use one of: province, city, district, street, town, "
        "community, village"
    )


def test_parse_role_lists_the_valid_roles() -> None:
    assert service.parse_role(" Street_Admin ") is Role.STREET_ADMIN
    with pytest.raises(InvalidInput) as invalid:
        service.parse_role("mayor")
    assert invalid.value.field == "role"
    assert invalid.value.detail == (
        "unknown role 'mayor'; use one of: citizen, grid_worker, intake, dispatcher, handler, "
        "street_admin, district_admin, evaluator, sys_admin"
    )


async def test_create_user_as_checks_the_role_before_anything_else(session: AsyncSession) -> None:
    """A clerk learns nothing about codes or bindings: the answer is the same 403."""
    tree = await create_tree(session)
    clerk = await create_user(session, "clerk", Role.INTAKE, unit=tree.street)
    actor = actor_for(clerk, Grant(Role.INTAKE, unit_id=tree.street.id))
    for unit_code in ("999999999999", "bad", tree.street.code):
        with pytest.raises(Forbidden) as refused:
            await service.create_user_as(
                session,
                actor,
                username="x1",
                display_name="x",
                password="long-enough",
                role=Role.GRID_WORKER,
                now=NOW,
                unit_code=unit_code,
            )
        assert refused.value.detail == "your roles may not create users with role grid_worker"


@pytest.mark.parametrize(
    ("unit_code", "department_code", "field", "detail"),
    [
        ("999999999999", None, "unit_code", "no unit with code 999999999999"),
        (
            "2111\x0004000",
            None,
            "unit_code",
            "code '2111\\x0004000' must be exactly 12 digits (it has 10 characters), "
            "e.g. 211104004000",
        ),
        (None, "NOPE", "department_code", "no department with code NOPE"),
        (None, None, "unit_code", "role grid_worker needs a unit (give its 12-digit code)"),
    ],
)
async def test_create_user_as_names_the_bad_binding(
    unit_code: str | None,
    department_code: str | None,
    field: str,
    detail: str,
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    admin = await create_user(session, "admin", Role.DISTRICT_ADMIN, unit=tree.district)
    actor = actor_for(admin, Grant(Role.DISTRICT_ADMIN, unit_id=tree.district.id))
    with pytest.raises(InvalidInput) as invalid:
        await service.create_user_as(
            session,
            actor,
            username="x1",
            display_name="x",
            password="long-enough",
            role=Role.GRID_WORKER,
            now=NOW,
            unit_code=unit_code,
            department_code=department_code,
        )
    assert (invalid.value.field, invalid.value.detail) == (field, detail)


async def test_create_user_as_binds_the_new_user(session: AsyncSession) -> None:
    tree = await create_tree(session)
    admin = await create_user(session, "admin", Role.DISTRICT_ADMIN, unit=tree.district)
    actor = actor_for(admin, Grant(Role.DISTRICT_ADMIN, unit_id=tree.district.id))
    user = await service.create_user_as(
        session,
        actor,
        username="handler1",
        display_name="处置员",
        password="long-enough",
        role=Role.HANDLER,
        now=NOW,
        department_code="211104-CGJ-ZFD",
    )
    rows = await session.execute(
        select(RoleAssignment.role, RoleAssignment.unit_id, RoleAssignment.department_id).where(
            RoleAssignment.user_id == user.id
        )
    )
    assert list(rows) == [("handler", None, tree.department_child.id)]
    with pytest.raises(OutOfScope):
        await service.create_user_as(
            session,
            actor,
            username="handler2",
            display_name="x",
            password="long-enough",
            role=Role.HANDLER,
            now=NOW,
            department_code="211102-CGJ",
        )


async def test_rename_unit_as(session: AsyncSession) -> None:
    tree = await create_tree(session)
    admin = await create_user(session, "admin", Role.STREET_ADMIN, unit=tree.street)
    actor = actor_for(admin, Grant(Role.STREET_ADMIN, unit_id=tree.street.id))
    later = NOW + timedelta(hours=1)
    unit = await service.rename_unit_as(session, actor, "211104004001", "  新名字 ", later)
    assert (unit.name, unit.updated_at, unit.created_at) == ("新名字", later, NOW)
    with pytest.raises(OutOfScope):
        await service.rename_unit_as(session, actor, "211104005000", "x", later)
    with pytest.raises(NotFound) as missing:
        await service.rename_unit_as(session, actor, "211104009000", "x", later)
    assert missing.value.detail == "no unit with code 211104009000"
    with pytest.raises(InvalidInput) as invalid:
        await service.rename_unit_as(session, actor, "211104004001", " ", later)
    assert invalid.value.field == "name"


async def test_rename_department_as(session: AsyncSession) -> None:
    tree = await create_tree(session)
    admin = await create_user(session, "admin", Role.DISTRICT_ADMIN, unit=tree.district)
    actor = actor_for(admin, Grant(Role.DISTRICT_ADMIN, unit_id=tree.district.id))
    department = await service.rename_department_as(
        session, actor, "211104-ZJJ", "住房和城乡建设局", NOW
    )
    assert department.name == "住房和城乡建设局"
    with pytest.raises(OutOfScope):
        await service.rename_department_as(session, actor, "211102-CGJ", "x", NOW)
    with pytest.raises(NotFound):
        await service.rename_department_as(session, actor, "NOPE", "x", NOW)
    handler = await create_user(session, "handler", Role.HANDLER, department=tree.department)
    as_handler = actor_for(handler, Grant(Role.HANDLER, department_id=tree.department.id))
    with pytest.raises(OutOfScope):
        await service.rename_department_as(session, as_handler, "211104-CGJ", "x", NOW)
