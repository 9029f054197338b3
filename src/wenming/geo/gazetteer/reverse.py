"""Reverse geocoding: a coordinate → the nearest door plate, road or named place, as a readable
label ("兴盛路 12 号附近") with the grid.

Each process keeps an in-memory index of every door plate, road and place (shapely STRtrees on a
local metric plane), keyed by the version stamps of the three gazetteer layers in the database —
the pattern of the grid index (``geo.index``): one indexed read per call gives the stamps of these
layers and of the grid layer, so both in-memory indexes are known to be current, and an index is
rebuilt only when an import has changed its layer. The grid's community and street names are read
fresh when they are needed.

Label rules (docs/gazetteer.md): a plate within ``AT_PLATE_M`` → "兴盛路 12 号"; within
``NEAR_PLATE_M`` → "兴盛路 12 号附近"; else a road within ``NEAR_ROAD_M`` → "兴盛路附近"; else a
place within ``NEAR_PLACE_M`` → "中心农贸市场附近"; else the community and grid
("兴盛社区 网格 211104004001003"); outside every grid with nothing near, no label.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.stampcache import PerDatabase, StampedCache
from wenming.geo import lookup
from wenming.geo.crs import Crs, to_wgs84
from wenming.geo.gazetteer.models import DoorPlate, NamedPlace, Road
from wenming.geo.gazetteer.parse import plate_label
from wenming.geo.geometry import METRES_PER_DEGREE, from_wkb
from wenming.geo.importer import GeometryArray
from wenming.geo.index import EMPTY_STAMP, GridIndex, IndexStamp
from wenming.geo.index import cache_for as grid_cache_for
from wenming.geo.models import SpatialVersion
from wenming.geo.version import Layer

AT_PLATE_M = 5.0
NEAR_PLATE_M = 60.0
NEAR_ROAD_M = 80.0
NEAR_PLACE_M = 150.0
LAYERS = (Layer.ROAD.value, Layer.ADDRESS.value, Layer.PLACE.value)
NO_STALENESS = timedelta(0)
# The metric plane of the index: x = lon · KX(lat0), y = lat · METRES_PER_DEGREE, with lat0 the
# middle latitude of the data. Over a district (tens of km) the scale error is below 0.1 %.
DEFAULT_ORIGIN_LAT = 40.0

Stamp = tuple[tuple[str, int], ...]
# One indexed read gives the stamps of the gazetteer layers and of the grid layer.
STAMP_QUERY = (
    select(SpatialVersion.layer, SpatialVersion.version, SpatialVersion.updated_at)
    .where(SpatialVersion.layer.in_([*LAYERS, Layer.GRID.value]))
    .order_by(SpatialVersion.layer)
)


@dataclass(frozen=True)
class Reverse:
    """What lies at a coordinate."""

    label: str | None
    kind: str | None  # address | road | place | grid | None
    distance_m: float | None
    wgs84_lon: float
    wgs84_lat: float
    address_code: str | None = None
    road_code: str | None = None
    place_code: str | None = None
    grid_code: str | None = None
    community: lookup.Place | None = None
    street: lookup.Place | None = None


class GazetteerIndex:
    """Nearest-neighbour index of plates, roads and places for one set of layer versions."""

    def __init__(
        self,
        stamp: Stamp,
        plates: list[tuple[str, str, int, str, float, float]],
        roads: list[tuple[str, str, bytes]],
        places: list[tuple[str, str, float, float]],
    ) -> None:
        """Build from (code, road name, number, suffix, lon, lat) plates, (code, name, WKB)
        roads and (code, name, lon, lat) places."""
        self.stamp = stamp
        lats = [p[5] for p in plates] + [p[3] for p in places]
        self.origin_lat = float(np.mean(lats)) if lats else DEFAULT_ORIGIN_LAT
        self.kx = METRES_PER_DEGREE * math.cos(math.radians(self.origin_lat))
        self.ky = METRES_PER_DEGREE
        self.plates = plates
        self.roads = roads
        self.places = places
        self.plate_tree = self._points([(p[4], p[5]) for p in plates])
        self.place_tree = self._points([(p[2], p[3]) for p in places])
        lines = np.empty(len(roads), dtype=object)
        lines[:] = [self._metric_shape(from_wkb(wkb)) for _c, _n, wkb in roads]
        self.road_tree = shapely.STRtree(lines)

    def _points(self, lonlats: list[tuple[float, float]]) -> shapely.STRtree:
        """An STRtree of metric points."""
        if not lonlats:
            return shapely.STRtree(np.empty(0, dtype=object))
        xy = np.asarray(lonlats, dtype=float) * [self.kx, self.ky]
        points: GeometryArray = np.asarray(shapely.points(xy), dtype=object)
        return shapely.STRtree(points)

    def _metric_shape(self, shape: Any) -> Any:
        """A lon/lat geometry on the index's metric plane."""
        return shapely.transform(shape, lambda xy: xy * [self.kx, self.ky])

    @staticmethod
    def _nearest(tree: shapely.STRtree, point: Point, within: float) -> tuple[int, float] | None:
        """The position of the nearest geometry within a distance, and the distance."""
        if len(tree) == 0:
            return None
        found, distances = tree.query_nearest(
            point, max_distance=within, return_distance=True, all_matches=False
        )
        if len(found) == 0:
            return None
        return int(found[0]), float(distances[0])

    def nearest(self, lon: float, lat: float) -> Reverse:
        """The nearest plate, road or place of a WGS-84 point (no grid yet)."""
        point = Point(lon * self.kx, lat * self.ky)
        plate = self._nearest(self.plate_tree, point, NEAR_PLATE_M)
        if plate is not None:
            code, road_name, number, suffix, _lon, _lat = self.plates[plate[0]]
            label = plate_label(road_name, number, suffix)
            return Reverse(
                label=label if plate[1] <= AT_PLATE_M else f"{label}附近",
                kind="address",
                distance_m=round(plate[1], 1),
                wgs84_lon=lon,
                wgs84_lat=lat,
                address_code=code,
            )
        road = self._nearest(self.road_tree, point, NEAR_ROAD_M)
        if road is not None:
            code, name, _wkb = self.roads[road[0]]
            return Reverse(f"{name}附近", "road", round(road[1], 1), lon, lat, road_code=code)
        place = self._nearest(self.place_tree, point, NEAR_PLACE_M)
        if place is not None:
            code, name, _lon, _lat = self.places[place[0]]
            return Reverse(f"{name}附近", "place", round(place[1], 1), lon, lat, place_code=code)
        return Reverse(None, None, None, lon, lat)


async def read_stamps(session: AsyncSession) -> tuple[Stamp, IndexStamp]:
    """The versions of the three gazetteer layers and the grid layer's stamp (one read)."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    rows = (await session.execute(STAMP_QUERY)).all()
    grid = next(
        (IndexStamp(int(v), at) for layer, v, at in rows if layer == Layer.GRID.value),
        EMPTY_STAMP,
    )
    return tuple((str(layer), int(v)) for layer, v, _at in rows if layer in LAYERS), grid


async def build_index(session: AsyncSession, stamp: Stamp) -> GazetteerIndex:
    """A new index of what this session sees."""
    plates = (
        await session.execute(
            select(
                DoorPlate.code,
                Road.name,
                DoorPlate.number,
                DoorPlate.suffix,
                DoorPlate.lon,
                DoorPlate.lat,
            )
            .join(Road, Road.id == DoorPlate.road_id)
            .where(DoorPlate.building.is_(None))
            .order_by(DoorPlate.code)
        )
    ).all()
    roads = (await session.execute(select(Road.code, Road.name, Road.geometry))).all()
    places = (
        await session.execute(
            select(NamedPlace.code, NamedPlace.name, NamedPlace.lon, NamedPlace.lat)
        )
    ).all()
    return await asyncio.to_thread(
        GazetteerIndex,
        stamp,
        [(str(c), str(r), int(n), str(s), float(x), float(y)) for c, r, n, s, x, y in plates],
        [(str(c), str(n), bytes(w)) for c, n, w in roads],
        [(str(c), str(n), float(x), float(y)) for c, n, x, y in places],
    )


class IndexCache(StampedCache[Stamp, GazetteerIndex]):
    """The current gazetteer index of one database in this process."""

    def __init__(self) -> None:
        """Nothing built yet."""
        super().__init__(build_index, lambda index: index.stamp, stamp_at_least)
        # What the last stamp read found current, and when: callers that accept answers a
        # little stale (``max_staleness``) skip the read within that bound.
        self.checked: tuple[datetime, GazetteerIndex, GridIndex] | None = None

    async def get(self, session: AsyncSession) -> GazetteerIndex:
        """The index for the stamp this session reads, rebuilt (once) when it moved."""
        stamp, _grid = await read_stamps(session)
        return await self.for_stamp(session, stamp)


def stamp_at_least(stamp: Stamp, than: Stamp) -> bool:
    """Whether every layer of a stamp is at least as new as in another."""
    versions = dict(stamp)
    return all(versions.get(layer, 0) >= version for layer, version in than)


_CACHES = PerDatabase(IndexCache)


def cache_for(session: AsyncSession) -> IndexCache:
    """The gazetteer index cache of the database a session talks to."""
    return _CACHES.of(session)


async def _nearest(
    session: AsyncSession,
    lon: float,
    lat: float,
    crs: Crs,
    now: datetime | None = None,
    max_staleness: timedelta = NO_STALENESS,
) -> tuple[Reverse, GridIndex, int | None]:
    """The nearest plate, road or place, the grid index and the covering grid's id: one query
    when both indexes are current, none when they were found current less than
    ``max_staleness`` before ``now``."""
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    cache = cache_for(session)
    checked = cache.checked
    if now is not None and checked is not None and now - checked[0] < max_staleness:
        _at, index, grids = checked
    else:
        stamp, grid_stamp = await read_stamps(session)
        index = await cache.for_stamp(session, stamp)
        grids = await grid_cache_for(session).for_stamp(session, grid_stamp)
        if now is not None:
            cache.checked = (now, index, grids)
    return index.nearest(wgs_lon, wgs_lat), grids, grids.locate_point(wgs_lon, wgs_lat)


async def reverse(session: AsyncSession, lon: float, lat: float, crs: Crs = Crs.WGS84) -> Reverse:
    """What lies at a coordinate given in ``crs``: nearest plate, road or place, and the grid
    with its community and street."""
    found, grids, grid_id = await _nearest(session, lon, lat, crs)
    return await _with_grid(session, found, grids, grid_id)


async def _with_grid(
    session: AsyncSession, found: Reverse, grids: GridIndex, grid_id: int | None
) -> Reverse:
    """A nearest-feature answer completed with the covering grid and its units."""
    if grid_id is None:
        return found
    _stamp, units = await lookup.read_stamp_and_units(session, (grid_id,))
    unit = units.get(grid_id)
    label, kind = found.label, found.kind
    if label is None and unit is not None and unit.community is not None:
        label, kind = f"{unit.community.name} 网格 {unit.grid_code}", "grid"
    return Reverse(
        label=label,
        kind=kind,
        distance_m=found.distance_m,
        wgs84_lon=found.wgs84_lon,
        wgs84_lat=found.wgs84_lat,
        address_code=found.address_code,
        road_code=found.road_code,
        place_code=found.place_code,
        grid_code=grids.code_of(grid_id),
        community=None if unit is None else unit.community,
        street=None if unit is None else unit.street,
    )


async def reverse_label(
    session: AsyncSession,
    lon: float,
    lat: float,
    crs: Crs = Crs.WGS84,
    *,
    now: datetime | None = None,
    max_staleness: timedelta = NO_STALENESS,
) -> str | None:
    """A readable address for a coordinate ("兴盛路 12 号附近"), for cases reported with
    coordinates only; None outside every grid with nothing near. Reads, never writes.

    One indexed query checks that the in-memory indexes are current (a second one reads the
    community's name, only when nothing is near). A caller that accepts an answer up to
    ``max_staleness`` old (e.g. ``WENMING_GEO_LOOKUP_MAX_STALENESS_MS``, as ``/geo/locate`` does)
    passes its clock's ``now``: within that bound of the last check no query is made.
    """
    found, grids, grid_id = await _nearest(session, lon, lat, crs, now, max_staleness)
    if found.label is not None or grid_id is None:
        return found.label
    return (await _with_grid(session, found, grids, grid_id)).label


async def read_index(session: AsyncSession) -> GazetteerIndex:
    """The current gazetteer index (from the process's cache, rebuilt only when the layers'
    stamp moved), for callers that keep it for a bounded time (case intake)."""
    stamp, _grid_stamp = await read_stamps(session)
    return await cache_for(session).for_stamp(session, stamp)
