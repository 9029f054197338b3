"""Point lookup: a coordinate in any accepted system → grid → community → street → district.

The point is converted to WGS-84 first (``geo.crs``), then located with the process's grid index
(``geo.index``). Every answer is checked against the database: one indexed query reads the grid
layer's version stamp together with the codes and names of the grid's units, so renamed units
show at once and a grid change committed anywhere is never missed. Only when the stamp has moved
is the index rebuilt.

**Answers from memory (the public endpoint).** ``RecentGrids`` keeps a snapshot of the index and
of every grid's units, refreshed once for all concurrent requests when it is older than the
configured bound; between refreshes the endpoint answers without the database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import NotFound
from wenming.core.recent import Recent
from wenming.geo.crs import Crs, to_wgs84, to_wgs84_array
from wenming.geo.index import (
    EMPTY_STAMP,
    GridIndex,
    GridIndexCache,
    IndexStamp,
    cache_for,
    read_stamp,
)
from wenming.geo.models import Grid, SpatialVersion
from wenming.geo.version import Layer
from wenming.org.models import AdminUnit
from wenming.org.version import org_version

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Place:
    """An administrative unit as the public sees it."""

    code: str
    name: str


@dataclass(frozen=True)
class GridUnits:
    """A grid's code and the units above it, as read with the stamp."""

    grid_code: str
    community: Place | None
    street: Place | None
    district: Place | None


@dataclass(frozen=True)
class Location:
    """Where a point lies: its grid and the units above it."""

    crs: Crs
    lon: float
    lat: float
    wgs84_lon: float
    wgs84_lat: float
    grid_id: int
    grid_code: str
    community: Place | None
    street: Place | None
    district: Place | None


class OutsideGrids(NotFound):
    """No grid covers the point; the problem names the nearest grid and its distance."""

    slug = "outside-grids"
    title = "Outside every grid"

    def __init__(
        self,
        wgs84_lon: float,
        wgs84_lat: float,
        nearest_code: str | None,
        distance_m: float | None,
    ) -> None:
        """Describe the point and, when there are grids at all, the nearest one."""
        where = f"lon {wgs84_lon:.7f}, lat {wgs84_lat:.7f} (WGS-84)"
        nearest: dict[str, Any] | None = None
        if nearest_code is None or distance_m is None:
            detail = f"No grid covers the point {where}: no grids have been defined yet."
        else:
            shown = round(distance_m, 1)
            nearest = {"code": nearest_code, "distance_m": shown}
            detail = (
                f"No grid covers the point {where}. The nearest grid is {nearest_code}, "
                f"{shown:.1f} m away."
            )
        super().__init__(detail, wgs84={"lon": wgs84_lon, "lat": wgs84_lat}, nearest_grid=nearest)
        self.nearest_code = nearest_code
        self.distance_m = distance_m


# --- the per-request read -----------------------------------------------------------------------

_versions = SpatialVersion.__table__
_grids = Grid.__table__
_community = AdminUnit.__table__.alias("community")
_street = AdminUnit.__table__.alias("street")
_district = AdminUnit.__table__.alias("district")

# One Core statement, built once: the grid layer's stamp and, for some grid ids, their codes and
# unit chains (one row per grid found, or one row of the stamp alone). Core, not ORM, execution:
# this runs for every request and the ORM layer would add a good part of the query's cost.
STAMP_AND_UNITS = (
    select(
        _versions.c.version,
        _versions.c.updated_at,
        _grids.c.id,
        _grids.c.code,
        _community.c.code,
        _community.c.name,
        _street.c.code,
        _street.c.name,
        _district.c.code,
        _district.c.name,
    )
    .select_from(_versions)
    .outerjoin(_grids, _grids.c.id.in_(bindparam("grid_ids", expanding=True)))
    .outerjoin(_community, _community.c.id == _grids.c.community_id)
    .outerjoin(_street, _street.c.id == _community.c.parent_id)
    .outerjoin(_district, _district.c.id == _street.c.parent_id)
    .where(_versions.c.layer == Layer.GRID.value)
)

StampAndUnits = tuple[IndexStamp, dict[int, GridUnits]]


def _place(code: str | None, name: str | None) -> Place | None:
    """A unit from two nullable columns."""
    return None if code is None or name is None else Place(code, name)


async def read_stamp_and_units(session: AsyncSession, grid_ids: Collection[int]) -> StampAndUnits:
    """The grid layer's stamp and the units of the given grids, in one query."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    rows = (await connection.execute(STAMP_AND_UNITS, {"grid_ids": sorted(grid_ids)})).all()
    if not rows:
        return EMPTY_STAMP, {}
    units = {
        int(row[2]): GridUnits(
            grid_code=str(row[3]),
            community=_place(row[4], row[5]),
            street=_place(row[6], row[7]),
            district=_place(row[8], row[9]),
        )
        for row in rows
        if row[2] is not None
    }
    return IndexStamp(int(rows[0][0]), rows[0][1]), units


# --- answering from memory (the public endpoint) ----------------------------------------------

# Every grid with its units: read in one query when a snapshot is refreshed.
ALL_GRID_UNITS = (
    select(
        _grids.c.id,
        _grids.c.code,
        _community.c.code,
        _community.c.name,
        _street.c.code,
        _street.c.name,
        _district.c.code,
        _district.c.name,
    )
    .select_from(_grids)
    .outerjoin(_community, _community.c.id == _grids.c.community_id)
    .outerjoin(_street, _street.c.id == _community.c.parent_id)
    .outerjoin(_district, _district.c.id == _street.c.parent_id)
)


@dataclass(frozen=True)
class Snapshot:
    """What a lookup needs, read at one moment: the index for the stamp then current and the
    units of every grid."""

    index: GridIndex
    units: dict[int, GridUnits]


class RecentGrids(Recent[Snapshot]):
    """A process's recent snapshot of the grid layer, for lookups that may be slightly stale.

    The public locate endpoint answers from the snapshot while it is younger than the configured
    bound, without touching the database; re-reading it (``core.recent.Recent``) reads the grid
    layer's stamp and the tree's version, and builds a new snapshot only when one of them moved.
    Worker processes therefore disagree for at most that bound.
    """

    def __init__(self) -> None:
        """Nothing read yet."""
        super().__init__(read_snapshot, read_snapshot_stamp)

    @property
    def refreshes(self) -> int:
        """How many times the snapshot was read."""
        return self.reads


async def read_snapshot_stamp(session: AsyncSession) -> tuple[IndexStamp, int]:
    """What a snapshot depends on: the grid layer's stamp and the unit tree's version."""
    return await read_stamp(session), await org_version(session)


async def read_snapshot(session: AsyncSession) -> Snapshot:
    """The current index (from the process's cache) and the units of every grid."""
    cache = cache_for(session)
    index = await cache.for_stamp(session, await read_stamp(session))
    connection = await session.connection()
    rows = (await connection.execute(ALL_GRID_UNITS)).all()
    units = {
        int(row[0]): GridUnits(
            grid_code=str(row[1]),
            community=_place(row[2], row[3]),
            street=_place(row[4], row[5]),
            district=_place(row[6], row[7]),
        )
        for row in rows
    }
    return Snapshot(index=index, units=units)


def locate_in(snapshot: Snapshot, lon: float, lat: float, crs: Crs = Crs.WGS84) -> Location:
    """Locate a point in a snapshot; raises ``OutsideGrids`` when no grid covers it."""
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    grid_id = snapshot.index.locate_point(wgs_lon, wgs_lat)
    return _answer(snapshot.index, snapshot.units, grid_id, crs, (lon, lat), (wgs_lon, wgs_lat))


def _answer(
    index: GridIndex,
    units: dict[int, GridUnits],
    grid_id: int | None,
    crs: Crs,
    given: tuple[float, float],
    wgs84: tuple[float, float],
) -> Location:
    """The location of a found grid, or ``OutsideGrids`` naming the nearest one."""
    found = None if grid_id is None else units.get(grid_id)
    if grid_id is None or found is None:
        nearest = index.nearest(*wgs84)
        if nearest is None:
            raise OutsideGrids(*wgs84, None, None)
        nearest_id, distance = nearest
        raise OutsideGrids(*wgs84, index.code_of(nearest_id), distance)
    return Location(
        crs=crs,
        lon=given[0],
        lat=given[1],
        wgs84_lon=wgs84[0],
        wgs84_lat=wgs84[1],
        grid_id=grid_id,
        grid_code=found.grid_code,
        community=found.community,
        street=found.street,
        district=found.district,
    )


# --- lookups ------------------------------------------------------------------------------------


async def locate(
    session: AsyncSession,
    lon: float,
    lat: float,
    crs: Crs = Crs.WGS84,
    *,
    cache: GridIndexCache | None = None,
) -> Location:
    """Locate a point given in ``crs``; raises ``OutsideGrids`` when no grid covers it.

    The cached index answers first; the query that follows reads the layer's stamp and the units
    of that answer together. Only when the stamp has moved is the index rebuilt (and the units
    of a different answer read).
    """
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    cache = cache or cache_for(session)

    async def read(grid_id: int | None) -> StampAndUnits:
        """The stamp and, for a found grid, its units."""
        return await read_stamp_and_units(session, () if grid_id is None else (grid_id,))

    index: GridIndex | None = cache.current
    grid_id = index.locate_point(wgs_lon, wgs_lat) if index is not None else None
    stamp, units = await read(grid_id)
    if index is None or index.stamp != stamp:
        index = await cache.for_stamp(session, stamp)
        grid_id = index.locate_point(wgs_lon, wgs_lat)
        if grid_id is not None and grid_id not in units:
            _stamp, units = await read(grid_id)
    return _answer(index, units, grid_id, crs, (lon, lat), (wgs_lon, wgs_lat))


async def locate_many(
    session: AsyncSession,
    lons: ArrayLike,
    lats: ArrayLike,
    crs: Crs = Crs.WGS84,
    *,
    cache: GridIndexCache | None = None,
) -> NDArray[np.int64]:
    """Grid ids for many points given in ``crs`` (``-1`` where no grid covers a point)."""
    wgs_lons, wgs_lats = to_wgs84_array(lons, lats, crs)
    index = await (cache or cache_for(session)).get(session)
    return index.locate_many(wgs_lons, wgs_lats)
