"""Point lookup as a service: grid and units of a point in any coordinate system, the outside-grids
problem with the nearest grid, names read fresh, bulk lookups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import COMMUNITY_BOXES, create_boundaries, create_grids, lonlat
from tests.factories.org import Tree, actor_for, create_tree, create_user
from wenming.geo.crs import Crs, from_wgs84
from wenming.geo.geometry import distance_m
from wenming.geo.index import GridIndexCache
from wenming.geo.lookup import (
    Location,
    OutsideGrids,
    Place,
    RecentGrids,
    locate,
    locate_in,
    locate_many,
)
from wenming.org.roles import Role
from wenming.org.scope import Grant
from wenming.org.service import rename_unit_as

DISTRICT = Place("211104000000", "大洼区")
STREET = Place("211104004000", "大洼街道")
COMMUNITY = Place("211104004001", "测试一社区")


async def geography(session: AsyncSession, *community_codes: str) -> Tree:
    """The standard tree with boundaries and the grids of the given communities."""
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, *(community_codes or tuple(COMMUNITY_BOXES)))
    return tree


async def test_a_wgs84_point_gets_its_grid_and_every_unit_above(session: AsyncSession) -> None:
    await geography(session)
    lon, lat = lonlat(150, 50)
    found = await locate(session, lon, lat, cache=GridIndexCache())
    assert found == Location(
        crs=Crs.WGS84,
        lon=lon,
        lat=lat,
        wgs84_lon=lon,
        wgs84_lat=lat,
        grid_id=found.grid_id,
        grid_code="211104004001002",
        community=COMMUNITY,
        street=STREET,
        district=DISTRICT,
    )


@pytest.mark.parametrize("system", [Crs.GCJ02, Crs.BD09])
async def test_points_from_amap_and_baidu_are_converted_first(
    session: AsyncSession, system: Crs
) -> None:
    await geography(session)
    wgs_lon, wgs_lat = lonlat(1150, -50)
    lon, lat = from_wgs84(wgs_lon, wgs_lat, system)
    assert distance_m(lon, lat, wgs_lon, wgs_lat) > 400  # read as WGS-84 it would miss
    found = await locate(session, lon, lat, system, cache=GridIndexCache())
    assert found.grid_code == "211104005001008"
    assert (found.crs, found.lon, found.lat) == (system, lon, lat)
    assert abs(found.wgs84_lon - wgs_lon) < 1e-9
    assert abs(found.wgs84_lat - wgs_lat) < 1e-9
    assert found.community == Place("211104005001", "测试三社区")
    assert found.street == Place("211104005000", "田家街道")
    assert found.district == DISTRICT


async def test_a_point_on_the_edge_between_communities_goes_to_the_lower_code(
    session: AsyncSession,
) -> None:
    await geography(session)
    cache = GridIndexCache()
    for _ in range(3):
        found = await locate(session, *lonlat(400, 50), cache=cache)
        assert found.grid_code == "211104004001004"
    corner = await locate(session, *lonlat(800, 0), cache=cache)
    assert corner.grid_code == "211104004002004"


async def test_outside_every_grid_names_the_nearest_grid_and_distance(
    session: AsyncSession,
) -> None:
    await geography(session)
    lon, lat = lonlat(1260, 30)
    with pytest.raises(OutsideGrids) as raised:
        await locate(session, lon, lat, cache=GridIndexCache())
    edge_lon, edge_lat = lonlat(1200, 30)
    metres = round(distance_m(lon, lat, edge_lon, edge_lat), 1)
    assert 59.9 <= metres <= 60.1
    problem = raised.value.problem()
    assert problem == {
        "type": "/problems/outside-grids",
        "title": "Outside every grid",
        "status": 404,
        "detail": f"No grid covers the point lon {lon:.7f}, lat {lat:.7f} (WGS-84). "
        f"The nearest grid is 211104005001004, {metres:.1f} m away.",
        "wgs84": {"lon": lon, "lat": lat},
        "nearest_grid": {"code": "211104005001004", "distance_m": metres},
    }
    assert raised.value.nearest_code == "211104005001004"


async def test_without_any_grid_the_problem_says_so(session: AsyncSession) -> None:
    await create_tree(session)
    with pytest.raises(OutsideGrids) as raised:
        await locate(session, 122.0, 41.0, cache=GridIndexCache())
    assert raised.value.detail == (
        "No grid covers the point lon 122.0000000, lat 41.0000000 (WGS-84): "
        "no grids have been defined yet."
    )
    assert raised.value.problem()["nearest_grid"] is None


async def test_renamed_units_show_at_once(session: AsyncSession) -> None:
    tree = await geography(session, "211104004001")
    cache = GridIndexCache()
    point = lonlat(50, 50)
    assert (await locate(session, *point, cache=cache)).community == COMMUNITY
    tree.community.name = "新名社区"
    await session.flush()
    found = await locate(session, *point, cache=cache)
    assert found.community == Place("211104004001", "新名社区")
    assert cache.builds == 1  # a rename is not a grid change


async def test_lookup_follows_grid_changes_through_the_version(session: AsyncSession) -> None:
    await geography(session, "211104004001")
    cache = GridIndexCache()
    point = lonlat(450, 50)
    with pytest.raises(OutsideGrids):
        await locate(session, *point, cache=cache)
    await create_grids(session, "211104004002")
    found = await locate(session, *point, cache=cache)
    assert found.grid_code == "211104004002001"
    assert found.community == Place("211104004002", "测试二社区")
    assert cache.builds == 2


async def test_bulk_lookup_converts_and_locates_every_point(session: AsyncSession) -> None:
    await geography(session)
    # Interior points only: a round trip through GCJ-02 moves a point by up to 1e-10°, which
    # can take a point lying exactly on an edge to either side of it.
    wgs = [lonlat(50, 50), lonlat(450, -50), lonlat(5000, 0), lonlat(399, 50)]
    lons, lats = np.array(wgs).T
    gcj_lons, gcj_lats = zip(*(from_wgs84(a, b, Crs.GCJ02) for a, b in wgs), strict=True)
    cache = GridIndexCache()
    from_wgs = await locate_many(session, lons, lats, cache=cache)
    from_gcj = await locate_many(session, gcj_lons, gcj_lats, Crs.GCJ02, cache=cache)
    assert from_wgs.tolist() == from_gcj.tolist()
    index = cache.current
    assert index is not None
    codes = [index.code_of(i) if i >= 0 else None for i in from_wgs.tolist()]
    assert codes == ["211104004001001", "211104004002005", None, "211104004001004"]


# --- answers from memory ----------------------------------------------------------------------


async def test_concurrent_requests_refresh_the_snapshot_once_and_answer_exactly(
    session: AsyncSession,
) -> None:
    await geography(session)
    opened: list[int] = []

    @asynccontextmanager
    async def open_session() -> AsyncIterator[AsyncSession]:
        opened.append(1)
        yield session

    recent = RecentGrids()
    bound = timedelta(seconds=1)
    snapshots = await asyncio.gather(*(recent.get(open_session, NOW, bound) for _ in range(5)))
    assert (len(opened), recent.refreshes) == (1, 1)
    assert all(snapshot is snapshots[0] for snapshot in snapshots)
    points = [lonlat(x, y) for x in (50, 450, 850, 1150) for y in (-50, 50)]
    from_memory = [locate_in(snapshots[0], *p) for p in points]
    read_alone = [await locate(session, *p, cache=GridIndexCache()) for p in points]
    assert from_memory == read_alone
    assert recent.fresh(NOW + bound, bound) is None


async def test_while_one_request_refreshes_the_others_answer_from_the_previous_snapshot(
    session: AsyncSession,
) -> None:
    await geography(session)
    release = asyncio.Event()
    opened: list[int] = []

    @asynccontextmanager
    async def slow_open() -> AsyncIterator[AsyncSession]:
        opened.append(1)
        if len(opened) == 2:
            await release.wait()
        yield session

    recent = RecentGrids()
    bound = timedelta(seconds=1)
    first = await recent.get(slow_open, NOW, bound)
    later = NOW + bound
    refreshing = asyncio.create_task(recent.get(slow_open, later, bound))
    await asyncio.sleep(0)
    assert await recent.get(slow_open, later, bound) is first  # not queued behind the refresh
    release.set()
    refreshed = await refreshing
    # Nothing changed meanwhile: the stamps say so, and the snapshot is kept, dated anew.
    assert refreshed is first
    assert (recent.read_at, recent.refreshes, recent.loads, len(opened)) == (later, 2, 1, 2)
    assert await recent.get(slow_open, later, bound) is refreshed


async def test_a_renamed_unit_shows_in_the_next_snapshot_and_nothing_else_reloads_it(
    session: AsyncSession,
) -> None:
    tree = await geography(session)

    @asynccontextmanager
    async def open_session() -> AsyncIterator[AsyncSession]:
        yield session

    recent = RecentGrids()
    bound = timedelta(seconds=1)
    point = lonlat(50, 50)
    first = await recent.get(open_session, NOW, bound)
    before = locate_in(first, *point)
    admin = await create_user(session, "renamer", Role.STREET_ADMIN, unit=tree.street)
    actor = actor_for(admin, Grant(Role.STREET_ADMIN, unit_id=tree.street.id))
    assert before.community is not None
    await rename_unit_as(session, actor, before.community.code, "改名社区", NOW)
    # Within the bound the snapshot stands; past it the tree's version has moved.
    assert await recent.get(open_session, NOW + bound / 4, bound) is first
    renamed = await recent.get(open_session, NOW + bound, bound)
    assert (recent.refreshes, recent.loads) == (2, 2)
    assert locate_in(renamed, *point) == replace(
        before, community=Place(before.community.code, "改名社区")
    )
    assert await recent.get(open_session, NOW + 2 * bound, bound) is renamed
    assert (recent.refreshes, recent.loads) == (3, 2)
