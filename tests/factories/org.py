"""Organisation factories: a small province-to-community tree, departments and users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.auth.service import SESSION_KIND_BEARER, issue_session
from wenming.core.security import hash_password
from wenming.org import service
from wenming.org.codes import UnitKind
from wenming.org.models import AdminUnit, Department, User
from wenming.org.roles import Role
from wenming.org.scope import Actor, Grant

PASSWORD = "correct-horse-battery"


@lru_cache(maxsize=1)
def password_hash() -> str:
    """One argon2 hash reused by every factory user (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@dataclass
class Tree:
    """The standard test tree.

    辽宁 > 盘锦 > 大洼区 (D) > S1 大洼街道 > C1a, C1b; S2 田家街道 > C2a;
    盘锦 > 双台子区 (D2) > S3; departments of D: CGJ > CGJ-1 (child), ZJJ (sibling);
    a department of D2: D2-CGJ.
    """

    province: AdminUnit
    city: AdminUnit
    district: AdminUnit
    street: AdminUnit
    community: AdminUnit
    community_sibling: AdminUnit
    street_sibling: AdminUnit
    community_of_sibling: AdminUnit
    other_district: AdminUnit
    other_street: AdminUnit
    department: Department
    department_child: Department
    department_sibling: Department
    other_department: Department


async def create_tree(session: AsyncSession) -> Tree:
    """Build the standard tree through the real service (closure rows included)."""

    async def unit(code: str, name: str, kind: UnitKind, parent: AdminUnit | None) -> AdminUnit:
        return await service.create_unit(
            session, code=code, name=name, kind=kind, parent=parent, now=NOW
        )

    province = await unit("210000000000", "辽宁省", UnitKind.PROVINCE, None)
    city = await unit("211100000000", "盘锦市", UnitKind.CITY, province)
    district = await unit("211104000000", "大洼区", UnitKind.DISTRICT, city)
    street = await unit("211104004000", "大洼街道", UnitKind.STREET, district)
    community = await unit("211104004001", "测试一社区", UnitKind.COMMUNITY, street)
    community_sibling = await unit("211104004002", "测试二社区", UnitKind.COMMUNITY, street)
    street_sibling = await unit("211104005000", "田家街道", UnitKind.STREET, district)
    community_of_sibling = await unit(
        "211104005001", "测试三社区", UnitKind.COMMUNITY, street_sibling
    )
    other_district = await unit("211102000000", "双台子区", UnitKind.DISTRICT, city)
    other_street = await unit("211102001000", "测试街道", UnitKind.STREET, other_district)

    async def dept(code: str, name: str, owner: AdminUnit, parent: Department | None) -> Department:
        return await service.create_department(
            session, code=code, name=name, unit=owner, parent=parent, now=NOW
        )

    department = await dept("211104-CGJ", "城管局", district, None)
    department_child = await dept("211104-CGJ-ZFD", "城管执法大队", district, department)
    department_sibling = await dept("211104-ZJJ", "住建局", district, None)
    other_department = await dept("211102-CGJ", "双台子城管局", other_district, None)
    return Tree(
        province,
        city,
        district,
        street,
        community,
        community_sibling,
        street_sibling,
        community_of_sibling,
        other_district,
        other_street,
        department,
        department_child,
        department_sibling,
        other_department,
    )


async def create_user(
    session: AsyncSession,
    username: str,
    role: Role | None = None,
    *,
    unit: AdminUnit | None = None,
    department: Department | None = None,
    phone: str | None = "13812345678",
) -> User:
    """A user with a known password and, optionally, one role."""
    user = await service.create_user(
        session, username=username, display_name=username, password=None, now=NOW, phone=phone
    )
    user.password_hash = password_hash()
    if role is not None:
        await service.assign_role(session, user, role, now=NOW, unit=unit, department=department)
    await session.flush()
    return user


def actor_for(user: User, *grants: Grant) -> Actor:
    """An actor value for a user with the given grants (for service-level tests)."""
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        grants=tuple(grants),
    )


async def bearer_headers(session: AsyncSession, user: User) -> dict[str, str]:
    """An Authorization header for a user, issued directly (no password round-trip)."""
    issued = await issue_session(session, user.id, SESSION_KIND_BEARER, NOW, timedelta(hours=1))
    return {"Authorization": f"Bearer {issued.token}"}
