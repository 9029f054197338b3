"""Export and reads, scoped by org.scope: layers as GeoJSON through the service and the API, grid
details with masked workers, and setting a grid's workers."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.geo import create_geography, lonlat, mount_geo_api
from tests.factories.org import Tree, actor_for, bearer_headers, create_tree, create_user
from wenming.geo.geometry import Box
from wenming.geo.service import assign_grid_workers, export_layer
from wenming.geo.version import Layer
from wenming.org.models import User
from wenming.org.roles import Role
from wenming.org.scope import Grant

C1A = "211104004001"
GRID_1 = "211104004001001"


@dataclass
class People:
    """The standard tree with geography and the people the tests sign in as."""

    tree: Tree
    district_admin: User
    street_admin: User
    other_street_admin: User
    worker: User
    street_worker: User
    other_worker: User
    street_handler: User


async def people(session: AsyncSession) -> People:
    """Geography of the standard layout and one person per role that matters here, committed."""
    tree = await create_tree(session)
    await create_geography(session, tree)
    found = People(
        tree=tree,
        district_admin=await create_user(
            session, "district-admin", Role.DISTRICT_ADMIN, unit=tree.district
        ),
        street_admin=await create_user(
            session, "street-admin", Role.STREET_ADMIN, unit=tree.street
        ),
        other_street_admin=await create_user(
            session, "other-admin", Role.STREET_ADMIN, unit=tree.street_sibling
        ),
        worker=await create_user(
            session, "worker", Role.GRID_WORKER, unit=tree.community, phone="13812345678"
        ),
        street_worker=await create_user(
            session, "street-worker", Role.GRID_WORKER, unit=tree.street, phone="13900001111"
        ),
        other_worker=await create_user(
            session, "other-worker", Role.GRID_WORKER, unit=tree.community_of_sibling
        ),
        street_handler=await create_user(session, "street-handler", Role.HANDLER, unit=tree.street),
    )
    found.worker.display_name = "王小明"
    found.street_worker.display_name = "李娜"
    await session.commit()
    return found


def codes(collection: dict[str, object]) -> list[str]:
    """The codes of a FeatureCollection's features."""
    features = collection["features"]
    assert isinstance(features, list)
    return [f["properties"]["code"] for f in features]


@pytest.fixture
def geo_app(app: FastAPI) -> FastAPI:
    """The test app serving the geography API."""
    mount_geo_api(app)
    return app


# --- service --------------------------------------------------------------------------------------


async def test_each_actor_exports_only_the_units_in_scope(session: AsyncSession) -> None:
    found = await people(session)
    tree = found.tree
    street_admin = actor_for(found.street_admin, Grant(Role.STREET_ADMIN, unit_id=tree.street.id))
    worker = actor_for(found.worker, Grant(Role.GRID_WORKER, unit_id=tree.community.id))
    district_admin = actor_for(
        found.district_admin, Grant(Role.DISTRICT_ADMIN, unit_id=tree.district.id)
    )
    street_grids = codes(await export_layer(session, street_admin, Layer.GRID))
    assert street_grids == [f"{C1A}{n:03d}" for n in range(1, 9)] + [
        f"211104004002{n:03d}" for n in range(1, 9)
    ]
    assert codes(await export_layer(session, worker, Layer.GRID)) == [
        f"{C1A}{n:03d}" for n in range(1, 9)
    ]
    assert len(codes(await export_layer(session, district_admin, Layer.GRID))) == 24
    assert codes(await export_layer(session, street_admin, Layer.STREET)) == ["211104004000"]
    assert codes(await export_layer(session, street_admin, Layer.COMMUNITY)) == [
        "211104004001",
        "211104004002",
    ]
    assert codes(await export_layer(session, worker, Layer.STREET)) == []


async def test_export_is_limited_to_a_bounding_box(session: AsyncSession) -> None:
    await people(session)
    (min_lon, min_lat), (max_lon, max_lat) = lonlat(10, -50), lonlat(150, 50)
    found = await export_layer(
        session, None, Layer.GRID, bbox=Box(min_lon, min_lat, max_lon, max_lat)
    )
    assert codes(found) == [f"{C1A}001", f"{C1A}002", f"{C1A}005", f"{C1A}006"]


async def test_grid_features_carry_their_community_and_area(session: AsyncSession) -> None:
    await people(session)
    first = (await export_layer(session, None, Layer.GRID))["features"][0]
    assert first["properties"] == {
        "code": GRID_1,
        "community_code": C1A,
        "community_name": "测试一社区",
        "land_use": None,
        "management_grade": None,
        "responsible_party": None,
        "area_m2": 9999.9,
        "synthetic": False,
    }
    assert first["geometry"]["type"] == "Polygon"


# --- API: layers ----------------------------------------------------------------------------------


async def test_the_layer_endpoint_answers_scoped_geojson(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    headers = await bearer_headers(session, found.other_street_admin)
    await session.commit()
    response = await client.get("/api/v1/geo/layers/grid", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert codes(body) == [f"211104005001{n:03d}" for n in range(1, 9)]
    (min_lon, min_lat), (max_lon, max_lat) = lonlat(10, -50), lonlat(150, 50)
    boxed = await client.get(
        "/api/v1/geo/layers/grid",
        params={"bbox": f"{min_lon},{min_lat},{max_lon},{max_lat}"},
        headers=await bearer_headers(session, found.district_admin),
    )
    assert codes(boxed.json()) == [f"{C1A}001", f"{C1A}002", f"{C1A}005", f"{C1A}006"]


async def test_the_layer_endpoint_refuses_bad_parameters_and_strangers(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    headers = await bearer_headers(session, found.district_admin)
    await session.commit()
    bad_box = await client.get("/api/v1/geo/layers/grid", params={"bbox": "1,2,3"}, headers=headers)
    assert bad_box.status_code == 422
    assert bad_box.headers["content-type"] == "application/problem+json"
    assert bad_box.json()["errors"] == [
        {
            "field": "bbox",
            "message": "bbox must be four numbers minlon,minlat,maxlon,maxlat, e.g. "
            "122.05,40.98,122.10,41.02",
        }
    ]
    flipped = await client.get(
        "/api/v1/geo/layers/grid", params={"bbox": "123,41,122,42"}, headers=headers
    )
    assert flipped.json()["errors"][0]["field"] == "bbox"
    unknown = await client.get("/api/v1/geo/layers/river", headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "layer"
    anonymous = await client.get("/api/v1/geo/layers/grid")
    assert anonymous.status_code == 401


# --- grid details and workers ---------------------------------------------------------------------


async def test_grid_details_show_place_fallback_party_and_workers(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    await assign_grid_workers(session, None, GRID_1, ["worker", "street-worker"])
    headers = await bearer_headers(session, found.district_admin)
    await session.commit()
    response = await client.get(f"/api/v1/geo/grids/{GRID_1}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body.pop("bbox") == [pytest.approx(v) for v in (*lonlat(0, 0), *lonlat(100, 100))]
    assert body == {
        "code": GRID_1,
        "community_code": C1A,
        "community_name": "测试一社区",
        "street_code": "211104004000",
        "street_name": "大洼街道",
        "area_m2": 9999.9,
        "land_use": None,
        "management_grade": None,
        "responsible_party": "测试一社区",
        "responsible_party_is_fallback": True,
        "synthetic": False,
        "workers": [
            {"username": "street-worker", "display_name": "李娜", "phone": "13900001111"},
            {"username": "worker", "display_name": "王小明", "phone": "13812345678"},
        ],
    }
    legacy = await client.get("/api/v1/geo/grids/21110400400101", headers=headers)
    assert legacy.json()["code"] == GRID_1


async def test_a_grid_worker_sees_colleagues_masked(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    await assign_grid_workers(session, None, GRID_1, ["worker", "street-worker"])
    headers = await bearer_headers(session, found.worker)
    await session.commit()
    body = (await client.get(f"/api/v1/geo/grids/{GRID_1}", headers=headers)).json()
    assert body["workers"] == [
        {"username": None, "display_name": "李*", "phone": None},
        {"username": "worker", "display_name": "王小明", "phone": "13812345678"},
    ]


async def test_grid_details_outside_scope_or_unknown_are_refused(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    headers = await bearer_headers(session, found.other_worker)
    await session.commit()
    outside = await client.get(f"/api/v1/geo/grids/{GRID_1}", headers=headers)
    assert outside.status_code == 403
    assert outside.json()["type"] == "/problems/out-of-scope"
    unknown = await client.get("/api/v1/geo/grids/211104004001099", headers=headers)
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "No grid with code 211104004001099.",
    )
    malformed = await client.get("/api/v1/geo/grids/2111", headers=headers)
    assert malformed.status_code == 422


async def test_street_admins_set_the_workers_of_their_grids(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    headers = await bearer_headers(session, found.street_admin)
    await session.commit()
    url = f"/api/v1/geo/grids/{GRID_1}/workers"
    response = await client.put(
        url, json={"usernames": ["Worker", "street-worker"]}, headers=headers
    )
    assert response.status_code == 200
    assert [w["username"] for w in response.json()["workers"]] == ["street-worker", "worker"]
    refused = await client.put(
        url, json={"usernames": ["street-handler", "other-worker", "nobody"]}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "usernames",
            "message": "'street-handler' is not a grid worker of the community of grid "
            "211104004001001 or a unit above it",
        },
        {"field": "usernames", "message": "no user 'other-worker' within your scope"},
        {"field": "usernames", "message": "no user 'nobody' within your scope"},
    ]
    unchanged = await client.get(f"/api/v1/geo/grids/{GRID_1}", headers=headers)
    assert len(unchanged.json()["workers"]) == 2
    cleared = await client.put(url, json={"usernames": []}, headers=headers)
    assert cleared.json()["workers"] == []


async def test_workers_are_set_only_by_admins_of_the_grid_and_must_cover_it(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    found = await people(session)
    url = f"/api/v1/geo/grids/{GRID_1}/workers"
    other_admin = await bearer_headers(session, found.other_street_admin)
    worker = await bearer_headers(session, found.worker)
    district_admin = await bearer_headers(session, found.district_admin)
    await session.commit()
    outside = await client.put(url, json={"usernames": ["worker"]}, headers=other_admin)
    assert outside.status_code == 403
    assert outside.json()["detail"] == (
        "Your roles (street_admin) do not allow 'manage_org' on unit 211104004001, the "
        "community of grid 211104004001001: it lies outside the units and departments assigned "
        "to you."
    )
    not_admin = await client.put(url, json={"usernames": ["worker"]}, headers=worker)
    assert not_admin.status_code == 403
    wrong_place = await client.put(
        url, json={"usernames": ["other-worker"]}, headers=district_admin
    )
    assert wrong_place.json()["errors"] == [
        {
            "field": "usernames",
            "message": "'other-worker' is not a grid worker of the community of grid "
            "211104004001001 or a unit above it",
        }
    ]
