"""Grid workers' patrols: start, GPS fixes, distance without the noise, stop with the duration;
visible to the worker and to the admins of the territory, to nobody else."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import GRID_C1A, World, create_world
from tests.factories.geo import lonlat
from tests.factories.org import bearer_headers
from wenming.cases.service import distance_m
from wenming.core.clock import FrozenClock
from wenming.phone.patrols import MAX_ACCURACY_M, Fix, track_length

URL = "/api/v1/app"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


def fix(x: float, y: float, minutes: float, accuracy: float | None = 5.0) -> Fix:
    lon, lat = lonlat(x, y)
    return Fix(lon, lat, NOW + timedelta(minutes=minutes), accuracy)


def test_track_length_adds_the_legs_and_leaves_out_the_noise() -> None:
    a, b, c = fix(0, 0, 0), fix(100, 0, 2), fix(100, 50, 3)
    walked = distance_m(a.lon, a.lat, b.lon, b.lat) + distance_m(b.lon, b.lat, c.lon, c.lat)
    assert walked == pytest.approx(150.0, abs=0.5)
    assert track_length([a, b, c]) == pytest.approx(walked)
    blurred = fix(900, 900, 2.5, accuracy=MAX_ACCURACY_M + 1)
    assert track_length([a, b, blurred, c]) == pytest.approx(walked)
    leap = fix(5000, 0, 2.1)  # 4.9 km in 6 s: a GPS jump, not a walk
    assert track_length([a, b, leap, c]) == pytest.approx(walked)
    assert track_length([]) == 0.0


def point(x: float, y: float, minutes: float, accuracy: float = 5.0) -> dict[str, object]:
    lon, lat = lonlat(x, y)
    at = (NOW + timedelta(minutes=minutes)).isoformat()
    return {"lon": lon, "lat": lat, "at": at, "accuracy_m": accuracy}


async def test_a_grid_worker_patrols_and_the_street_admin_sees_it(
    client: httpx.AsyncClient, session: AsyncSession, world: World, clock: FrozenClock
) -> None:
    worker = await bearer_headers(session, world.people.grid_worker)
    started = await client.post(f"{URL}/patrols", json={"grid_code": GRID_C1A}, headers=worker)
    assert started.status_code == 201, started.text
    patrol = started.json()
    assert (patrol["grid_code"], patrol["ended_at"], patrol["distance_m"]) == (GRID_C1A, None, 0)
    again = await client.post(f"{URL}/patrols", json={}, headers=worker)
    assert again.status_code == 409

    clock.advance(minutes=10)
    moved = await client.post(
        f"{URL}/patrols/{patrol['id']}/points",
        json={"points": [point(100, 0, 2), point(0, 0, 0), point(100, 50, 3)]},
        headers=worker,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["point_count"] == 3
    assert moved.json()["distance_m"] == pytest.approx(150.0, abs=0.6)
    clock.advance(minutes=20)
    stopped = await client.post(f"{URL}/patrols/{patrol['id']}/stop", headers=worker)
    assert (stopped.json()["duration_s"], stopped.json()["ended_at"] is not None) == (1800, True)
    late = await client.post(
        f"{URL}/patrols/{patrol['id']}/points", json={"points": [point(0, 0, 29)]}, headers=worker
    )
    assert late.status_code == 409

    admin = await bearer_headers(session, world.people.street_admin)
    seen = (await client.get(f"{URL}/patrols", headers=admin)).json()
    assert [(p["id"], p["distance_m"], p["duration_s"]) for p in seen] == [
        (patrol["id"], stopped.json()["distance_m"], 1800)
    ]
    track = (await client.get(f"{URL}/patrols/{patrol['id']}/track", headers=admin)).json()
    assert [round(lon, 7) for lon, _lat in track] == [
        round(lonlat(0, 0)[0], 7),
        round(lonlat(100, 0)[0], 7),
        round(lonlat(100, 50)[0], 7),
    ]
    other = await bearer_headers(session, world.people.grid_worker_elsewhere)
    assert (await client.get(f"{URL}/patrols", headers=other)).json() == []
    hidden = await client.get(f"{URL}/patrols/{patrol['id']}/track", headers=other)
    assert hidden.status_code == 404
    foreign = await client.post(f"{URL}/patrols/{patrol['id']}/stop", headers=other)
    assert foreign.status_code == 404


async def test_only_grid_workers_patrol_and_only_in_their_grids(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    citizen = await bearer_headers(session, world.people.citizen)
    refused = await client.post(f"{URL}/patrols", json={}, headers=citizen)
    assert refused.status_code == 403
    worker = await bearer_headers(session, world.people.grid_worker)
    elsewhere = await client.post(
        f"{URL}/patrols", json={"grid_code": "211104005001001"}, headers=worker
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["field"] == "grid_code"
    assert (await client.get(f"{URL}/patrols/current", headers=worker)).json() is None


async def test_a_grid_worker_sees_their_grids(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    worker = await bearer_headers(session, world.people.grid_worker)
    grids = (await client.get(f"{URL}/worker/grids", headers=worker)).json()
    assert [f["properties"]["code"] for f in grids["features"]] == [GRID_C1A]
    assert grids["features"][0]["geometry"]["type"] == "Polygon"
