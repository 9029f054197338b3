"""Importing and exporting the gazetteer layers: CSV and GeoJSON, every problem named by row or
feature, nothing half-imported, re-imports idempotent by code, and the API's scope rules."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.gazetteer import (
    create_gazetteer,
    line,
    place_features,
    plate_features,
    road_features,
)
from tests.factories.geo import collection, create_geography, feature, mount_geo_api, point
from tests.factories.org import Tree, bearer_headers, create_tree, create_user
from wenming.geo.gazetteer.importer import (
    collection_csv,
    export_collection,
    import_gazetteer,
    read_csv,
)
from wenming.geo.gazetteer.models import DoorPlate, GazetteerName, NamedPlace, Road
from wenming.geo.service import GeoImportError
from wenming.geo.version import Layer, current_version
from wenming.org.roles import Role


async def geography(session: AsyncSession) -> Tree:
    """The standard tree with boundaries and every grid."""
    tree = await create_tree(session)
    await create_geography(session, tree)
    return tree


async def counts(session: AsyncSession) -> tuple[int, int, int, int]:
    """Rows of roads, plates, places and names."""
    result = []
    for model in (Road, DoorPlate, NamedPlace, GazetteerName):
        result.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return result[0], result[1], result[2], result[3]


ROADS_CSV = """code,name,aliases,unit_code,wkt
RD-1,兴盛路,兴盛大路|兴盛街,211104000000,"LINESTRING (122 41, 122.01 41)"
RD-2,光明街,,,"LINESTRING (122.0024 40.9991, 122.0024 41.0009)"
"""


async def test_csv_layers_import_and_a_second_import_changes_nothing(
    session: AsyncSession,
) -> None:
    await geography(session)
    first = await import_gazetteer(session, Layer.ROAD, read_csv(ROADS_CSV, Layer.ROAD), NOW)
    assert (first.created, first.updated, first.unchanged, first.version) == (2, 0, 0, 1)
    plates = (
        "code,road_code,number,suffix,building,entrance,room,unit_code,lon,lat\n"
        "P-1,RD-1,1,,,,,,122.0001,41.0001\n"
        "P-2,RD-1,2,之1,3,2,501,,122.0001,40.9999\n"
    )
    report = await import_gazetteer(session, Layer.ADDRESS, read_csv(plates, Layer.ADDRESS), NOW)
    assert (report.created, report.version) == (2, 1)
    stored = (
        await session.execute(
            select(
                DoorPlate.code,
                DoorPlate.number,
                DoorPlate.suffix,
                DoorPlate.building,
                DoorPlate.entrance,
                DoorPlate.room,
            ).order_by(DoorPlate.code)
        )
    ).all()
    assert [tuple(row) for row in stored] == [
        ("P-1", 1, "", None, None, None),
        ("P-2", 2, "-1", "3", "2", "501"),
    ]
    # 光明街 took the community of the grid at its middle; 兴盛路 its given unit.
    units = (
        await session.execute(
            select(GazetteerName.name, GazetteerName.alias, GazetteerName.unit_code).order_by(
                GazetteerName.id
            )
        )
    ).all()
    assert [tuple(row) for row in units] == [
        ("兴盛路", False, "211104000000"),
        ("兴盛大路", True, "211104000000"),
        ("兴盛街", True, "211104000000"),
        ("光明街", False, "211104004001"),
    ]
    again = await import_gazetteer(session, Layer.ROAD, read_csv(ROADS_CSV, Layer.ROAD), NOW)
    assert (again.created, again.updated, again.unchanged, again.version) == (0, 0, 2, 1)
    assert await counts(session) == (2, 2, 0, 4)


async def test_an_export_imports_again_unchanged_as_geojson_and_as_csv(
    session: AsyncSession,
) -> None:
    tree = await geography(session)
    await create_gazetteer(session, tree)
    before = await counts(session)
    for layer, total in ((Layer.ROAD, 5), (Layer.ADDRESS, 141), (Layer.PLACE, 4)):
        exported = await export_collection(session, None, layer)
        assert len(exported["features"]) == total
        as_geojson = await import_gazetteer(session, layer, exported, NOW)
        as_csv = await import_gazetteer(
            session, layer, read_csv(collection_csv(layer, exported), layer), NOW
        )
        assert (as_geojson.unchanged, as_csv.unchanged) == (total, total)
        assert as_geojson.created + as_geojson.updated + as_csv.created + as_csv.updated == 0
        assert await current_version(session, layer) == 1
    assert await counts(session) == before
    first_road = (await export_collection(session, None, Layer.ROAD))["features"][0]
    assert first_road["properties"] == {
        "code": "RD-GM",
        "name": "光明街",
        "aliases": [],
        "unit_code": "211104004001",
    }


async def test_every_problem_of_a_geojson_file_is_named_and_nothing_is_written(
    session: AsyncSession,
) -> None:
    tree = await geography(session)
    await create_gazetteer(session, tree)
    before = await counts(session)
    bad = collection(
        feature(point(10, 10), code="N-1", road_code="RD-NONE", number=1),
        feature(point(10, 10), code="N-2", road_code="RD-XS", number=0),
        feature(point(10, 10), code="N-3", road_code="RD-XS", number="十二"),
        feature(point(10, 10), code="N-4", road_code="RD-XS", number=4, suffix="甲"),
        feature(line((0, 0), (10, 0)), code="N-5", road_code="RD-XS", number=5),
        feature(point(10, 10), code="N 6", road_code="RD-XS", number=6),
        feature(point(10, 10), code="N-7", road_code="RD-XS", number=7),
        feature(point(10, 10), code="N-7", road_code="RD-XS", number=8),
        feature(point(5000, 10), code="N-9", road_code="RD-XS", number=9),
        feature(point(10, 10), code="N-10", road_code="RD-XS", number=10, unit_code="2111"),
        feature(point(10, 10), code="N-11", road_code="RD-XS", number=11, building="x" * 21),
    )
    with pytest.raises(GeoImportError) as refused:
        await import_gazetteer(session, Layer.ADDRESS, bad, NOW)
    assert refused.value.problems == [
        {
            "index": 0,
            "code": "N-1",
            "reason": "unknown road_code: there is no road 'RD-NONE'; import the road layer first",
        },
        {
            "index": 1,
            "code": "N-2",
            "reason": "number 0 must be a whole door number from 1 to 99999",
        },
        {
            "index": 2,
            "code": "N-3",
            "reason": "number '十二' must be a whole door number from 1 to 99999",
        },
        {
            "index": 3,
            "code": "N-4",
            "reason": "suffix '甲' must be a sub-number like -1 or 之1",
        },
        {
            "index": 4,
            "code": "N-5",
            "reason": "geometry type 'LineString' does not fit layer address; use Point",
        },
        {
            "index": 5,
            "code": "N 6",
            "reason": "code 'N 6' must be 1-32 letters, digits, '.', '-' or '_' starting with a "
            "letter or digit",
        },
        {"index": 7, "code": "N-7", "reason": "code N-7 appears twice (first at feature 6)"},
        {
            "index": 9,
            "code": "N-10",
            "reason": "unknown unit_code: '2111' is not a district, street/town or "
            "community/village of the organisation",
        },
        {
            "index": 10,
            "code": "N-11",
            "reason": "building has 21 characters; at most 20 are allowed",
        },
    ]
    assert await counts(session) == before
    assert await current_version(session, Layer.ADDRESS) == 1


async def test_a_plate_outside_every_grid_needs_its_unit(session: AsyncSession) -> None:
    await geography(session)
    roads = collection(feature(line((5000, 0), (5100, 0)), code="R-FAR", name="远郊路"))
    with pytest.raises(GeoImportError) as refused:
        await import_gazetteer(session, Layer.ROAD, roads, NOW)
    assert refused.value.problems == [
        {
            "index": 0,
            "code": "R-FAR",
            "reason": "lies in no grid: give unit_code, the unit it belongs to",
        }
    ]


async def test_csv_problems_name_the_row_and_a_bad_header_names_the_columns(
    session: AsyncSession,
) -> None:
    await geography(session)
    text = (
        "code,name,place_type,aliases,unit_code,lon,lat\n"
        "PL-1,市场,market,,211104004001,122.001,41.0\n"
        "PL-2,,school,,211104004001,122.001,41.0\n"
        "PL-3,公园,garden,,211104004001,122.001,41.0\n"
        "PL-4,广场,square,,211104004001,east,41.0\n"
    )
    with pytest.raises(GeoImportError) as refused:
        await import_gazetteer(session, Layer.PLACE, read_csv(text, Layer.PLACE), NOW)
    assert refused.value.problems == [
        {"index": 3, "code": "PL-2", "reason": "name is required"},
        {
            "index": 4,
            "code": "PL-3",
            "reason": "place_type 'garden' must be one of market, school, compound, hospital, "
            "park, square, station, mall, government, venue, hotel, other",
        },
        {
            "index": 5,
            "code": "PL-4",
            "reason": "lon and lat must be numbers (WGS-84 degrees unless --crs)",
        },
    ]
    assert str(read_csv(text, Layer.PLACE).problems[0]) == (
        "row 5 (PL-4): lon and lat must be numbers (WGS-84 degrees unless --crs)"
    )
    header = read_csv("code,name\nR,路\n", Layer.ROAD)
    assert [str(p) for p in header.problems] == [
        "the header lacks wkt; layer road uses the columns code, name, aliases, unit_code, wkt"
    ]
    assert await counts(session) == (0, 0, 0, 0)


@pytest.fixture
def geo_app(app: FastAPI) -> FastAPI:
    """The test app serving the geography API."""
    mount_geo_api(app)
    return app


async def test_the_layer_api_imports_for_admins_of_the_units_and_refuses_others(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    tree = await geography(session)
    admin = await create_user(session, "street-admin", Role.STREET_ADMIN, unit=tree.street)
    worker = await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    admin_headers = await bearer_headers(session, admin)
    worker_headers = await bearer_headers(session, worker)
    await session.commit()
    mine = collection(*road_features()[1:3])
    response = await client.post("/api/v1/geo/layers/road", json=mine, headers=admin_headers)
    assert response.status_code == 200
    assert response.json() == {
        "layer": "road",
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "repaired": [],
        "legacy_codes": [],
        "version": 1,
    }
    district_road = collection(road_features()[0])
    outside = await client.post(
        "/api/v1/geo/layers/road", json=district_road, headers=admin_headers
    )
    assert outside.status_code == 403
    assert outside.json()["problems"] == [
        {"index": 0, "code": "RD-XS", "reason": "belongs to unit 211104000000, outside your scope"}
    ]
    refused = await client.post("/api/v1/geo/layers/road", json=mine, headers=worker_headers)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/forbidden"
    exported = await client.get("/api/v1/geo/layers/road", headers=worker_headers)
    assert exported.status_code == 200
    assert [f["properties"]["code"] for f in exported.json()["features"]] == ["RD-GM"]
    assert await counts(session) == (2, 0, 0, 2)


async def test_places_and_plates_through_the_api_with_a_422_for_bad_features(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    tree = await geography(session)
    admin = await create_user(session, "district-admin", Role.DISTRICT_ADMIN, unit=tree.district)
    headers = await bearer_headers(session, admin)
    await session.commit()
    for layer, features in (
        ("road", road_features()),
        ("address", plate_features()),
        ("place", place_features()),
    ):
        response = await client.post(
            f"/api/v1/geo/layers/{layer}", json=collection(*features), headers=headers
        )
        assert (response.status_code, response.json()["created"]) == (200, len(features))
    bad = collection(feature(point(10, 10), code="X", name="无类型"))
    response = await client.post("/api/v1/geo/layers/place", json=bad, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/geo-import-refused"
    assert response.json()["problems"] == [
        {
            "index": 0,
            "code": "X",
            "reason": "place_type None must be one of market, school, compound, hospital, park, "
            "square, station, mall, government, venue, hotel, other",
        }
    ]
