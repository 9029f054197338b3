"""Reverse geocoding: the nearest door plate, road or place as a readable label with the grid,
the index rebuilt when an import changes a layer, and the public endpoint."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.gazetteer import create_gazetteer, xingsheng_xy
from tests.factories.geo import collection, create_geography, feature, lonlat, point
from tests.factories.org import create_tree
from wenming.geo.crs import Crs, from_wgs84
from wenming.geo.gazetteer.importer import import_gazetteer
from wenming.geo.gazetteer.reverse import cache_for, reverse, reverse_label
from wenming.geo.lookup import Place
from wenming.geo.version import Layer


async def world(session: AsyncSession) -> None:
    """The standard tree with boundaries, every grid and the test gazetteer."""
    tree = await create_tree(session)
    await create_geography(session, tree)
    await create_gazetteer(session, tree)


async def label_at(session: AsyncSession, x: float, y: float) -> str | None:
    """The label of a metric position."""
    return await reverse_label(session, *lonlat(x, y))


async def test_labels_by_distance_from_plates_roads_and_places(session: AsyncSession) -> None:
    await world(session)
    x12, y12 = xingsheng_xy(12)
    assert await label_at(session, x12, y12) == "兴盛路 12 号"
    assert await label_at(session, x12 + 2, y12 - 25) == "兴盛路 12 号附近"
    assert await label_at(session, 200, 95) == "光明街附近"
    assert await label_at(session, 1150, 95) == "锦华园附近"
    assert await label_at(session, 1190, -95) == "测试三社区 网格 211104005001008"
    assert await label_at(session, 5000, 5000) is None


async def test_the_answer_carries_codes_distance_and_units(session: AsyncSession) -> None:
    await world(session)
    x, y = xingsheng_xy(31)
    found = await reverse(session, *lonlat(x, y + 20))
    assert (
        found.label,
        found.kind,
        found.distance_m,
        found.address_code,
        found.grid_code,
        found.community,
        found.street,
    ) == (
        "兴盛路 31 号附近",
        "address",
        20.0,
        "XS-031",
        "211104004001004",
        Place("211104004001", "测试一社区"),
        Place("211104004000", "大洼街道"),
    )


async def test_a_gcj02_coordinate_is_converted_first(session: AsyncSession) -> None:
    await world(session)
    lon, lat = from_wgs84(*lonlat(*xingsheng_xy(40)), Crs.GCJ02)
    assert await reverse_label(session, lon, lat, Crs.GCJ02) == "兴盛路 40 号"


async def test_an_import_moves_the_stamp_and_the_index_is_rebuilt(session: AsyncSession) -> None:
    await world(session)
    cache = cache_for(session)
    assert await label_at(session, 640, -88) == "中街 1 号附近"
    builds = cache.builds
    assert await label_at(session, 640, -88) == "中街 1 号附近"
    assert cache.builds == builds
    await import_gazetteer(
        session,
        Layer.ADDRESS,
        collection(feature(point(640, -88), code="ZA-100", road_code="RD-ZJ-1", number=100)),
        NOW,
    )
    assert await label_at(session, 640, -88) == "中街 100 号"
    assert cache.builds == builds + 1


async def test_the_public_endpoint(session: AsyncSession, client: httpx.AsyncClient) -> None:
    await world(session)
    lon, lat = lonlat(*xingsheng_xy(12))
    response = await client.get("/api/v1/geo/reverse", params={"lat": lat, "lon": lon})
    assert response.status_code == 200
    assert response.json() == {
        "label": "兴盛路 12 号",
        "kind": "address",
        "distance_m": 0.0,
        "wgs84": {"lon": lon, "lat": lat},
        "address_code": "XS-012",
        "road_code": None,
        "place_code": None,
        "grid_code": "211104004001006",
        "community": {"code": "211104004001", "name": "测试一社区"},
        "street": {"code": "211104004000", "name": "大洼街道"},
    }
    bad = await client.get("/api/v1/geo/reverse", params={"lat": 95, "lon": lon})
    assert bad.status_code == 422
    assert "lat" in bad.text


async def test_a_caller_accepting_staleness_skips_the_check_within_the_bound(
    session: AsyncSession,
) -> None:
    await world(session)
    bound = timedelta(seconds=1)
    spot = lonlat(640, -88)
    assert await reverse_label(session, *spot, now=NOW, max_staleness=bound) == "中街 1 号附近"
    await import_gazetteer(
        session,
        Layer.ADDRESS,
        collection(feature(point(640, -88), code="ZA-100", road_code="RD-ZJ-1", number=100)),
        NOW,
    )
    within = NOW + timedelta(milliseconds=999)
    assert await reverse_label(session, *spot, now=within, max_staleness=bound) == "中街 1 号附近"
    after = NOW + bound
    assert await reverse_label(session, *spot, now=after, max_staleness=bound) == "中街 100 号"
    assert await reverse_label(session, *spot) == "中街 100 号"
