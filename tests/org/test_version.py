"""The organisation's version counter: created by the first change, one up for every change."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import actor_for, create_tree, create_user
from wenming.org.models import OrgVersion
from wenming.org.roles import Role
from wenming.org.scope import Grant
from wenming.org.service import rename_department_as, rename_unit_as
from wenming.org.version import bump_org_version, org_version


async def test_the_counter_starts_at_zero_and_counts_every_bump(session: AsyncSession) -> None:
    assert await org_version(session) == 0
    assert await bump_org_version(session, NOW) == 1
    later = NOW + timedelta(minutes=5)
    assert await bump_org_version(session, later) == 2
    row = await session.get(OrgVersion, 1)
    assert row is not None
    await session.refresh(row)
    assert (row.version, row.updated_at, await org_version(session)) == (2, later, 2)


async def test_adding_and_renaming_units_and_departments_move_the_version(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    built = await org_version(session)
    assert built > 0  # every unit and department the tree added counted
    admin = await create_user(session, "admin", Role.DISTRICT_ADMIN, unit=tree.district)
    actor = actor_for(admin, Grant(Role.DISTRICT_ADMIN, unit_id=tree.district.id))
    await rename_unit_as(session, actor, tree.street.code, "新街道", NOW)
    assert await org_version(session) == built + 1
    await rename_department_as(session, actor, tree.department.code, "新部门", NOW)
    assert await org_version(session) == built + 2
