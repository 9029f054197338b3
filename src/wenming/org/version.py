"""The organisation's version counter: bumped in the same transaction as any change to the unit
or department tree, read by the in-process copies of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.org.models import OrgVersion


async def bump_org_version(session: AsyncSession, now: datetime) -> int:
    """Record a change of the tree in the current transaction; returns the new version."""
    result = await session.execute(
        update(OrgVersion)
        .where(OrgVersion.id == 1)
        .values(version=OrgVersion.version + 1, updated_at=now)
        .returning(OrgVersion.version)
    )
    version = result.scalar_one_or_none()
    if version is None:
        session.add(OrgVersion(id=1, version=1, updated_at=now))
        await session.flush()
        return 1
    return int(version)


async def org_version(session: AsyncSession) -> int:
    """The tree's current version; 0 before its first change."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return int(await session.scalar(select(OrgVersion.version).where(OrgVersion.id == 1)) or 0)
