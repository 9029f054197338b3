"""Importing through the API: a report for a good file, a 422 problem listing every problem for a
bad one, 403 outside the admin's units, and nothing written unless everything is right."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.geo import (
    collection,
    create_boundaries,
    feature,
    grid_features,
    mount_geo_api,
    rect,
)
from tests.factories.org import bearer_headers, create_tree, create_user
from wenming.geo.models import Grid
from wenming.org.roles import Role

URL = "/api/v1/geo/layers/grid"


@pytest.fixture
def geo_app(app: FastAPI) -> FastAPI:
    """The test app serving the geography API."""
    mount_geo_api(app)
    return app


async def street_admin_headers(session: AsyncSession) -> dict[str, str]:
    """A street admin of 大洼街道 with the layout's boundaries stored, committed."""
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    admin = await create_user(session, "street-admin", Role.STREET_ADMIN, unit=tree.street)
    headers = await bearer_headers(session, admin)
    await session.commit()
    return headers


async def grid_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Grid)) or 0)


async def test_a_good_file_is_imported_and_reported(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    headers = await street_admin_headers(session)
    features = grid_features("211104004001")
    features[0]["properties"]["code"] = "21110400400101"
    response = await client.post(URL, json=collection(*features), headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "layer": "grid",
        "created": 8,
        "updated": 0,
        "unchanged": 0,
        "repaired": [],
        "legacy_codes": [{"index": 0, "code": "21110400400101", "stored_as": "211104004001001"}],
        "version": 1,
    }
    again = await client.post(URL, json=collection(*features), headers=headers)
    assert (again.json()["created"], again.json()["unchanged"], again.json()["version"]) == (
        0,
        8,
        1,
    )


async def test_a_bad_file_is_a_422_problem_listing_every_problem(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    headers = await street_admin_headers(session)
    features = grid_features("211104004001")
    features[2]["geometry"] = {"type": "Point", "coordinates": [122.0, 41.0]}
    features[5]["properties"]["community_code"] = "211104004009"
    response = await client.post(URL, json=collection(*features), headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/geo-import-refused"
    assert body["detail"] == "2 problems in the GeoJSON; nothing was imported"
    assert body["problems"] == [
        {
            "index": 2,
            "code": "211104004001003",
            "reason": "geometry type 'Point' does not fit layer grid; use Polygon or MultiPolygon",
        },
        {
            "index": 5,
            "code": "211104004001006",
            "reason": "unknown community_code: there is no community or village 211104004009 "
            "in the organisation",
        },
    ]
    assert await grid_count(session) == 0


async def test_features_outside_the_admins_units_are_a_403(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    headers = await street_admin_headers(session)
    features = [*grid_features("211104004001"), *grid_features("211104005001")]
    response = await client.post(URL, json=collection(*features), headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "/problems/out-of-scope"
    assert [p["index"] for p in body["problems"]] == list(range(8, 16))
    assert await grid_count(session) == 0


async def test_people_without_admin_rights_cannot_import(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    tree = await create_tree(session)
    worker = await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    headers = await bearer_headers(session, worker)
    await session.commit()
    one = collection(feature(rect(0, 0, 100, 100), code="211104004001001"))
    refused = await client.post(URL, json=one, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/forbidden"
    anonymous = await client.post(URL, json=one)
    assert anonymous.status_code == 401


async def test_a_body_that_is_not_a_json_object_is_a_422(
    session: AsyncSession, client: httpx.AsyncClient, geo_app: FastAPI
) -> None:
    headers = await street_admin_headers(session)
    listed = await client.post(URL, json=[1, 2], headers=headers)
    assert listed.status_code == 422
    broken = await client.post(
        URL,
        content=b'{"type": "FeatureCollection", ',
        headers={**headers, "content-type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "body"
    wrong_shape = await client.post(URL, json={"type": "Feature"}, headers=headers)
    assert wrong_shape.json()["problems"] == [
        {
            "index": None,
            "code": None,
            "reason": '"type" must be "FeatureCollection", not \'Feature\'',
        }
    ]
