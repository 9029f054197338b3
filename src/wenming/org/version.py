"""The organisation's version counter: bumped in the same transaction as any change to the unit
or department tree, read by the in-process copies of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.org.models import OrgVersion


async def bump_org_version(session: AsyncSession, now: datetime) -> int:
    """Record a change of the tree in the current transaction; returns the new version. One
    upsert, so two first changes at once cannot both try to create the counter."""
    upsert = (sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert)(
        OrgVersion
    ).values(id=1, version=1, updated_at=now)
    result = await session.execute(
        upsert.on_conflict_do_update(
            index_elements=[OrgVersion.id],
            set_={"version": OrgVersion.version + 1, "updated_at": now},
        ).returning(OrgVersion.version)
    )
    return int(result.scalar_one())


async def org_version(session: AsyncSession) -> int:
    """The tree's current version; 0 before its first change."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return int(await session.scalar(select(OrgVersion.version).where(OrgVersion.id == 1)) or 0)
