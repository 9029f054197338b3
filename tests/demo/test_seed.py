"""The demo district: real 大洼区 codes, synthetic rest, one sign-in per role, seeded once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import create_tree
from wenming.auth.service import authenticate, load_actor
from wenming.core.config import Settings
from wenming.core.errors import Conflict
from wenming.demo.seed import (
    SYNTHETIC_LABEL,
    DemoLogin,
    demo_logins,
    demo_units,
    is_seeded,
    seed_demo,
)
from wenming.org.models import AdminUnit, Department, RoleAssignment, UnitClosure, User
from wenming.org.roles import Role

DAWA_TOWNSHIPS = {
    "211104002000": ("二界沟街道", "street"),
    "211104004000": ("大洼街道", "street"),
    "211104005000": ("田家街道", "street"),
    "211104006000": ("榆树街道", "street"),
    "211104007000": ("王家街道", "street"),
    "211104009000": ("于楼街道", "street"),
    "211104101000": ("田庄台镇", "town"),
    "211104103000": ("东风镇", "town"),
    "211104104000": ("新开镇", "town"),
    "211104106000": ("清水镇", "town"),
    "211104107000": ("新兴镇", "town"),
    "211104108000": ("西安镇", "town"),
    "211104109000": ("新立镇", "town"),
    "211104112000": ("唐家镇", "town"),
    "211104113000": ("平安镇", "town"),
    "211104114000": ("赵圈河镇", "town"),
}

EXPECTED_LOGINS = [
    DemoLogin(Role.CITIZEN, "demo_citizen", "Demo-2026-citizen", "大洼区"),
    DemoLogin(Role.GRID_WORKER, "demo_grid_worker", "Demo-2026-grid", "建设社区（示例）"),
    DemoLogin(Role.INTAKE, "demo_intake", "Demo-2026-intake", "大洼区"),
    DemoLogin(Role.DISPATCHER, "demo_dispatcher", "Demo-2026-dispatch", "大洼区"),
    DemoLogin(Role.HANDLER, "demo_handler", "Demo-2026-handler", "城管局（综合执法局）"),
    DemoLogin(Role.STREET_ADMIN, "demo_street_admin", "Demo-2026-street", "大洼街道"),
    DemoLogin(Role.DISTRICT_ADMIN, "demo_district_admin", "Demo-2026-district", "大洼区"),
    DemoLogin(Role.EVALUATOR, "demo_evaluator", "Demo-2026-evaluator", "大洼区"),
    DemoLogin(Role.SYS_ADMIN, "demo_sys_admin", "Demo-2026-sysadmin", "辽宁省"),
]


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_seed_returns_one_login_per_role_in_role_order(session: AsyncSession) -> None:
    assert not await is_seeded(session)
    logins = await seed_demo(session, NOW)
    assert logins == EXPECTED_LOGINS
    assert [login.role for login in logins] == list(Role)
    assert await is_seeded(session)


async def test_seed_builds_the_real_district_and_synthetic_rest(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    units = {u.code: u for u in await session.scalars(select(AdminUnit).order_by(AdminUnit.code))}
    assert len(units) == 57
    top = [(c, units[c].name, units[c].kind, units[c].synthetic) for c in
           ("210000000000", "211100000000", "211104000000")]  # fmt: skip
    assert top == [
        ("210000000000", "辽宁省", "province", False),
        ("211100000000", "盘锦市", "city", False),
        ("211104000000", "大洼区", "district", False),
    ]
    townships = {c: (u.name, u.kind) for c, u in units.items() if u.level == 4}
    assert townships == DAWA_TOWNSHIPS
    assert all(not units[c].synthetic for c in DAWA_TOWNSHIPS)
    communities = [u for u in units.values() if u.kind == "community"]
    villages = [u for u in units.values() if u.kind == "village"]
    assert len(communities) == 18 and len(villages) == 20
    assert all(u.synthetic and u.name.endswith(SYNTHETIC_LABEL) for u in communities + villages)
    assert all(1 <= int(u.code[9:]) <= 199 for u in communities)
    assert all(200 <= int(u.code[9:]) <= 399 for u in villages)
    assert all(units[c].kind == "street" for c in {u.code[:9] + "000" for u in communities})
    assert all(units[c].kind == "town" for c in {u.code[:9] + "000" for u in villages})
    district_id = units["211104000000"].id
    under_district = await session.scalar(
        select(func.count()).where(UnitClosure.ancestor_id == district_id)
    )
    assert under_district == 1 + 16 + 38


async def test_seed_departments_and_people_are_synthetic(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    departments = (await session.scalars(select(Department).order_by(Department.code))).all()
    assert [d.code for d in departments] == [
        "211104-CGJ", "211104-CGJ-ZF1", "211104-HWZX", "211104-JJDD",
        "211104-SCJG", "211104-STHJ", "211104-WMB", "211104-ZJJ",
    ]  # fmt: skip
    assert all(d.synthetic for d in departments)
    by_code = {d.code: d for d in departments}
    assert by_code["211104-CGJ-ZF1"].parent_id == by_code["211104-CGJ"].id
    people = (await session.scalars(select(User).order_by(User.username))).all()
    assert len(people) == 17
    assert all(p.synthetic and p.phone and p.phone.startswith("1380000") for p in people)
    assert all(p.display_name.endswith(SYNTHETIC_LABEL) for p in people)
    with_password = sorted(p.username for p in people if p.password_hash)
    assert with_password == sorted(login.username for login in EXPECTED_LOGINS)
    assignments = await count(session, RoleAssignment)
    assert assignments == 17


async def test_every_login_signs_in_with_its_role_and_place(
    session: AsyncSession, settings: Settings
) -> None:
    await seed_demo(session, NOW)
    unit_ids = {
        code: id_ for code, id_ in await session.execute(select(AdminUnit.code, AdminUnit.id))
    }
    dept_ids = {
        code: id_ for code, id_ in await session.execute(select(Department.code, Department.id))
    }
    expected_place = {
        Role.CITIZEN: (unit_ids["211104000000"], None),
        Role.GRID_WORKER: (unit_ids["211104004001"], None),
        Role.INTAKE: (unit_ids["211104000000"], None),
        Role.DISPATCHER: (unit_ids["211104000000"], None),
        Role.HANDLER: (None, dept_ids["211104-CGJ"]),
        Role.STREET_ADMIN: (unit_ids["211104004000"], None),
        Role.DISTRICT_ADMIN: (unit_ids["211104000000"], None),
        Role.EVALUATOR: (unit_ids["211104000000"], None),
        Role.SYS_ADMIN: (unit_ids["210000000000"], None),
    }
    for login in EXPECTED_LOGINS:
        user = await authenticate(session, login.username, login.password, NOW, settings)
        actor = await load_actor(session, user.id)
        assert actor is not None
        assert [(g.role, g.unit_id, g.department_id) for g in actor.grants] == [
            (login.role, *expected_place[login.role])
        ]


async def test_second_seed_reuses_the_data(session: AsyncSession) -> None:
    first = await seed_demo(session, NOW)
    counts = [await count(session, m) for m in (AdminUnit, Department, User, RoleAssignment)]
    second = await seed_demo(session, NOW)
    assert second == first
    assert [await count(session, m) for m in (AdminUnit, Department, User, RoleAssignment)] == (
        counts
    )


async def test_seed_refuses_a_database_with_another_organisation(session: AsyncSession) -> None:
    await create_tree(session)
    before = await count(session, AdminUnit)
    with pytest.raises(Conflict) as refused:
        await seed_demo(session, NOW)
    assert refused.value.detail.startswith(
        f"this database already holds {before} administrative units that the demo did not create"
    )
    assert await count(session, AdminUnit) == before
    assert not await is_seeded(session)


def test_logins_and_units_need_no_database() -> None:
    assert demo_logins() == EXPECTED_LOGINS
    codes = [u.code for u in demo_units()]
    assert len(codes) == len(set(codes)) == 57
