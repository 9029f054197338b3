"""``GET /api/v1/geo/locate``: public answers, the outside-grids problem, field-named 422s."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import COMMUNITY_BOXES, create_boundaries, create_grids, lonlat
from tests.factories.org import actor_for, create_tree, create_user
from wenming.core.clock import FrozenClock
from wenming.geo.crs import Crs, from_wgs84
from wenming.geo.geometry import distance_m
from wenming.geo.lookup_api import LocateOut, router
from wenming.org.roles import Role
from wenming.org.scope import Grant
from wenming.org.service import rename_unit_as, unit_by_code

PATH = "/api/v1/geo/locate"
UNITS = {
    "community": {"code": "211104004002", "name": "测试二社区"},
    "street": {"code": "211104004000", "name": "大洼街道"},
    "district": {"code": "211104000000", "name": "大洼区"},
}


@pytest.fixture
def locate_app(app: FastAPI) -> FastAPI:
    """The application with the locate route (added here when the app does not mount it)."""
    if not any(getattr(route, "path", None) == PATH for route in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
async def geography(session: AsyncSession, locate_app: FastAPI) -> None:
    """The standard tree with boundaries and all 24 grids."""
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, *COMMUNITY_BOXES)


@pytest.mark.usefixtures("geography")
async def test_anonymous_caller_gets_grid_and_units(client: httpx.AsyncClient) -> None:
    lon, lat = lonlat(450, -50)
    response = await client.get(PATH, params={"lon": lon, "lat": lat})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "crs": "wgs84",
        "lon": lon,
        "lat": lat,
        "wgs84": {"lon": lon, "lat": lat},
        "grid": {"code": "211104004002005"},
        **UNITS,
    }
    # The body is exactly what the documented response model describes.
    assert LocateOut.model_validate(response.json()).model_dump(mode="json") == response.json()


@pytest.mark.usefixtures("geography")
@pytest.mark.parametrize("system", [Crs.GCJ02, Crs.BD09])
async def test_amap_and_baidu_coordinates_are_accepted(
    client: httpx.AsyncClient, system: Crs
) -> None:
    wgs_lon, wgs_lat = lonlat(450, -50)
    lon, lat = from_wgs84(wgs_lon, wgs_lat, system)
    response = await client.get(PATH, params={"lon": lon, "lat": lat, "crs": system.value})
    assert response.status_code == 200
    body = response.json()
    assert (body["crs"], body["lon"], body["lat"]) == (system.value, lon, lat)
    assert abs(body["wgs84"]["lon"] - wgs_lon) < 1e-9
    assert abs(body["wgs84"]["lat"] - wgs_lat) < 1e-9
    assert body["grid"] == {"code": "211104004002005"}
    assert {key: body[key] for key in UNITS} == UNITS


@pytest.mark.usefixtures("geography")
async def test_shared_edge_resolves_to_the_same_grid_every_time(
    client: httpx.AsyncClient,
) -> None:
    lon, lat = lonlat(800, -50)
    codes = {
        (await client.get(PATH, params={"lon": lon, "lat": lat})).json()["grid"]["code"]
        for _ in range(5)
    }
    assert codes == {"211104004002008"}


@pytest.mark.usefixtures("geography")
async def test_outside_every_grid_is_a_404_problem_with_the_nearest_grid(
    client: httpx.AsyncClient,
) -> None:
    lon, lat = lonlat(-75, 50)
    response = await client.get(PATH, params={"lon": lon, "lat": lat})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    metres = round(distance_m(lon, lat, *lonlat(0, 50)), 1)
    assert 74.9 <= metres <= 75.1
    assert response.json() == {
        "type": "/problems/outside-grids",
        "title": "Outside every grid",
        "status": 404,
        "detail": f"No grid covers the point lon {lon:.7f}, lat {lat:.7f} (WGS-84). "
        f"The nearest grid is 211104004001001, {metres:.1f} m away.",
        "wgs84": {"lon": lon, "lat": lat},
        "nearest_grid": {"code": "211104004001001", "distance_m": metres},
        "instance": PATH,
    }


@pytest.mark.usefixtures("locate_app")
async def test_without_grids_the_problem_says_none_are_defined(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(PATH, params={"lon": 122, "lat": 41})
    assert response.status_code == 404
    assert response.json() == {
        "type": "/problems/outside-grids",
        "title": "Outside every grid",
        "status": 404,
        "detail": "No grid covers the point lon 122.0000000, lat 41.0000000 (WGS-84): "
        "no grids have been defined yet.",
        "wgs84": {"lon": 122.0, "lat": 41.0},
        "nearest_grid": None,
        "instance": PATH,
    }


BAD_QUERIES = [
    ({"lat": "41"}, "lon", "Field required"),
    ({"lon": "122"}, "lat", "Field required"),
    ({"lon": "east", "lat": "41"}, "lon", "Input should be a valid number"),
    ({"lon": "180.5", "lat": "41"}, "lon", "Input should be less than or equal to 180"),
    ({"lon": "-181", "lat": "41"}, "lon", "Input should be greater than or equal to -180"),
    ({"lon": "122", "lat": "90.01"}, "lat", "Input should be less than or equal to 90"),
    ({"lon": "nan", "lat": "41"}, "lon", "Input should be a finite number"),
    ({"lon": "122", "lat": "inf"}, "lat", "Input should be a finite number"),
    (
        {"lon": "122", "lat": "41", "crs": "utm"},
        "crs",
        "Input should be 'wgs84', 'gcj02' or 'bd09'",
    ),
]


@pytest.mark.usefixtures("locate_app")
@pytest.mark.parametrize(("params", "field", "message"), BAD_QUERIES)
async def test_bad_coordinates_are_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str, message: str
) -> None:
    response = await client.get(PATH, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-input"
    assert body["detail"] == f"Fix these fields: {field}."
    assert [error["field"] for error in body["errors"]] == [field]
    assert body["errors"][0]["message"].startswith(message)


async def rename(session: AsyncSession, code: str, name: str, now: datetime) -> None:
    """Rename a unit as its district's admin does."""
    district = await unit_by_code(session, "211104000000")
    assert district is not None
    admin = await create_user(session, "renamer", Role.DISTRICT_ADMIN, unit=district)
    actor = actor_for(admin, Grant(Role.DISTRICT_ADMIN, unit_id=district.id))
    await rename_unit_as(session, actor, code, name, now)


@pytest.mark.usefixtures("geography")
async def test_answers_come_from_memory_within_the_staleness_bound(
    client: httpx.AsyncClient, locate_app: FastAPI, session: AsyncSession, clock: FrozenClock
) -> None:
    locate_app.state.settings.geo_lookup_max_staleness_ms = 1000
    lon, lat = lonlat(450, -50)
    first = await client.get(PATH, params={"lon": lon, "lat": lat})
    assert first.json()["community"] == UNITS["community"]
    assert locate_app.state.recent_grids.refreshes == 1

    await rename(session, "211104004002", "改名社区", clock.now())
    clock.advance(milliseconds=499)
    within = await client.get(PATH, params={"lon": lon, "lat": lat})
    assert within.json()["community"] == UNITS["community"]  # still the snapshot's name
    assert locate_app.state.recent_grids.refreshes == 1  # answered without the database

    clock.advance(milliseconds=501)
    after = await client.get(PATH, params={"lon": lon, "lat": lat})
    assert after.json()["community"] == {"code": "211104004002", "name": "改名社区"}
    assert locate_app.state.recent_grids.refreshes == 2


@pytest.mark.usefixtures("geography")
async def test_without_a_staleness_bound_every_answer_sees_committed_changes(
    client: httpx.AsyncClient, locate_app: FastAPI, session: AsyncSession
) -> None:
    assert locate_app.state.settings.geo_lookup_max_staleness_ms == 0
    lon, lat = lonlat(450, -50)
    await client.get(PATH, params={"lon": lon, "lat": lat})
    await rename(session, "211104004002", "改名社区", NOW)
    response = await client.get(PATH, params={"lon": lon, "lat": lat})
    assert response.json()["community"] == {"code": "211104004002", "name": "改名社区"}
    assert locate_app.state.recent_grids.refreshes == 2
