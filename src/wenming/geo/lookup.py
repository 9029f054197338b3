"""Point lookup: a coordinate in any accepted system → grid → community → street → district.

The point is converted to WGS-84 first (``geo.crs``), then located with the process's grid index
(``geo.index``). Every answer is checked against the database: one indexed query reads the grid
layer's version stamp together with the codes and names of the grid's units, so renamed units
show at once and a grid change committed anywhere is never missed. Only when the stamp has moved
is the index rebuilt.

**Shared reads (the public endpoint).** Under load many lookups arrive at once, and each needs a
read that is at least as new as its own arrival. With ``shared=True`` a lookup joins the *next*
read to start — never one already running, whose snapshot may predate the caller — and that read
fetches the stamp and the units of every grid its callers asked for. One caller (the first to find
no read running) executes it in its own session; the others wait and use no database connection.
Each caller therefore sees data committed before it arrived, exactly as with a read of its own, at
a fraction of the cost. Only read-only callers may share: a transaction that has written must
not lead a read others trust, so ``shared`` defaults to False.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import NotFound
from wenming.geo.crs import Crs, to_wgs84, to_wgs84_array
from wenming.geo.index import (
    EMPTY_STAMP,
    GridIndex,
    GridIndexCache,
    IndexStamp,
    cache_for,
)
from wenming.geo.models import Grid, SpatialVersion
from wenming.geo.version import Layer
from wenming.org.models import AdminUnit

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


@dataclass(eq=False)
class _Flight:
    """One shared read: the keys its callers need and, once it has run, its outcome."""

    keys: set[int] = field(default_factory=set)
    started: bool = False
    succeeded: bool = False
    result: Any = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class SharedReads(Generic[ResultT]):
    """Callers that arrive while a read runs share the next one (see the module docstring)."""

    def __init__(self) -> None:
        """No read running, none waiting."""
        self._running: _Flight | None = None
        self._waiting: _Flight | None = None
        self.calls = 0
        self.reads = 0

    async def read(
        self, key: int | None, run: Callable[[frozenset[int]], Awaitable[ResultT]]
    ) -> ResultT:
        """The result of a read that started after this call and covered ``key``.

        ``run`` performs the read for a set of keys with the caller's own resources; it is
        called only when this caller leads the read. When a leader fails or is cancelled, the
        callers it served try again (one of them leading).
        """
        self.calls += 1
        while True:
            if self._waiting is None:
                self._waiting = _Flight()
            flight = self._waiting
            if key is not None:
                flight.keys.add(key)
            while self._running is not None and not flight.started:
                await self._running.done.wait()
            if not flight.started:
                self._waiting = None
                self._running = flight
                flight.started = True
                self.reads += 1
                try:
                    flight.result = await run(frozenset(flight.keys))
                    flight.succeeded = True
                finally:
                    self._running = None
                    flight.done.set()
                result: ResultT = flight.result
                return result
            await flight.done.wait()
            if flight.succeeded:
                shared: ResultT = flight.result
                return shared


_SHARED_READS: weakref.WeakKeyDictionary[GridIndexCache, SharedReads[StampAndUnits]] = (
    weakref.WeakKeyDictionary()
)


def shared_reads_for(cache: GridIndexCache) -> SharedReads[StampAndUnits]:
    """The shared stamp-and-units reads of one database (one per grid index cache)."""
    reads = _SHARED_READS.get(cache)
    if reads is None:
        reads = _SHARED_READS[cache] = SharedReads()
    return reads


# --- lookups ------------------------------------------------------------------------------------


async def locate(
    session: AsyncSession,
    lon: float,
    lat: float,
    crs: Crs = Crs.WGS84,
    *,
    cache: GridIndexCache | None = None,
    shared: bool = False,
) -> Location:
    """Locate a point given in ``crs``; raises ``OutsideGrids`` when no grid covers it.

    The cached index answers first; the query that follows reads the layer's stamp and the units
    of that answer together. Only when the stamp has moved is the index rebuilt (and the units
    of a different answer read). ``shared=True`` is for read-only sessions only (see above).
    """
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    cache = cache or cache_for(session)
    reads = shared_reads_for(cache) if shared else None

    async def read(grid_id: int | None) -> StampAndUnits:
        """The stamp and units, shared with concurrent callers or read alone."""
        if reads is None:
            return await read_stamp_and_units(session, () if grid_id is None else (grid_id,))
        return await reads.read(grid_id, lambda ids: read_stamp_and_units(session, ids))

    index: GridIndex | None = cache.current
    grid_id = index.locate_point(wgs_lon, wgs_lat) if index is not None else None
    stamp, units = await read(grid_id)
    if index is None or index.stamp != stamp:
        index = await cache.for_stamp(session, stamp)
        grid_id = index.locate_point(wgs_lon, wgs_lat)
        if grid_id is not None and grid_id not in units:
            _stamp, units = await read(grid_id)
    found = None if grid_id is None else units.get(grid_id)
    if grid_id is None or found is None:
        nearest = index.nearest(wgs_lon, wgs_lat)
        if nearest is None:
            raise OutsideGrids(wgs_lon, wgs_lat, None, None)
        nearest_id, distance = nearest
        raise OutsideGrids(wgs_lon, wgs_lat, index.code_of(nearest_id), distance)
    return Location(
        crs=crs,
        lon=lon,
        lat=lat,
        wgs84_lon=wgs_lon,
        wgs84_lat=wgs_lat,
        grid_id=grid_id,
        grid_code=found.grid_code,
        community=found.community,
        street=found.street,
        district=found.district,
    )


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
