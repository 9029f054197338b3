"""Version stamps of the spatial layers: bumped with every change, read by in-process indexes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.geo.models import SpatialVersion


class Layer(StrEnum):
    """The geography layers that can be imported and exported."""

    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    POINT = "point"
    COMPONENT = "component"
    ROAD = "road"  # gazetteer layers (geo.gazetteer): roads, door plates, named places
    ADDRESS = "address"
    PLACE = "place"


async def current_version(session: AsyncSession, layer: Layer) -> int:
    """The layer's version; 0 before its first change."""
    value = await session.scalar(
        select(SpatialVersion.version).where(SpatialVersion.layer == layer.value)
    )
    return int(value or 0)


async def bump_version(session: AsyncSession, layer: Layer, now: datetime) -> int:
    """Record a change of a layer in the current transaction and return the new version."""
    result = await session.execute(
        update(SpatialVersion)
        .where(SpatialVersion.layer == layer.value)
        .values(version=SpatialVersion.version + 1, updated_at=now)
        .returning(SpatialVersion.version)
    )
    version = result.scalar_one_or_none()
    if version is None:
        session.add(SpatialVersion(layer=layer.value, version=1, updated_at=now))
        await session.flush()
        return 1
    return int(version)
