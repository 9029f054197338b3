"""``GET /api/v1/geo/locate``: which grid, community, street and district a point lies in.

Open to everyone, signed in or not: a citizen's phone asks it before reporting a problem, and the
answer holds only public codes and names (no people, no case data).

Answers come from the process's recent snapshot of the grid layer (``lookup.RecentGrids``): no
database work while the snapshot is younger than ``WENMING_GEO_LOOKUP_MAX_STALENESS_MS`` (1 s by
default), one shared refresh after that. Grid changes therefore show within that bound in every
worker process.

A point outside every grid is answered with 404 and the problem type ``/problems/outside-grids``:
the resource asked for — the grid at that place — does not exist, while the request itself was
well-formed. The problem names the nearest grid and its distance in metres. Malformed ``lon``,
``lat`` or ``crs`` values are 422 problems naming the field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from wenming.core.deps import OpenSession
from wenming.geo import lookup
from wenming.geo.crs import Crs

router = APIRouter(prefix="/api/v1/geo", tags=["geography"])

PROBLEM_EXAMPLE_OUTSIDE: dict[str, Any] = {
    "type": "/problems/outside-grids",
    "title": "Outside every grid",
    "status": 404,
    "detail": "No grid covers the point lon 122.0000000, lat 41.0000000 (WGS-84). "
    "The nearest grid is 211104004001001, 153.2 m away.",
    "wgs84": {"lon": 122.0, "lat": 41.0},
    "nearest_grid": {"code": "211104004001001", "distance_m": 153.2},
    "instance": "/api/v1/geo/locate",
}


class Coordinates(BaseModel):
    """A longitude/latitude pair in degrees."""

    lon: float
    lat: float


class GridRef(BaseModel):
    """A unit grid; grids are named by their 15-digit (or older 14-digit) code."""

    code: str


class UnitRef(BaseModel):
    """An administrative unit: 12-digit statistical code and name."""

    code: str
    name: str


class LocateOut(BaseModel):
    """Where a point lies."""

    crs: Crs = Field(description="the system the point was given in")
    lon: float = Field(description="longitude as given")
    lat: float = Field(description="latitude as given")
    wgs84: Coordinates = Field(description="the point in WGS-84, as used for the lookup")
    grid: GridRef
    community: UnitRef | None
    street: UnitRef | None
    district: UnitRef | None


def recent_grids(request: Request) -> lookup.RecentGrids:
    """The app's recent snapshot of the grid layer (one per application, so per database)."""
    recent: lookup.RecentGrids | None = getattr(request.app.state, "recent_grids", None)
    if recent is None:
        recent = request.app.state.recent_grids = lookup.RecentGrids()
    return recent


def _unit(place: lookup.Place | None) -> dict[str, str] | None:
    """The wire form of a unit."""
    return None if place is None else {"code": place.code, "name": place.name}


@router.get(
    "/locate",
    response_model=LocateOut,
    summary="Grid, community, street and district of a point (public)",
    responses={
        404: {
            "description": "No grid covers the point; the nearest grid and distance are given",
            "content": {"application/problem+json": {"example": PROBLEM_EXAMPLE_OUTSIDE}},
        },
        422: {"description": "lon, lat or crs is missing or malformed (the field is named)"},
    },
)
async def locate(
    request: Request,
    open_session: OpenSession,
    lon: Annotated[
        float,
        Query(ge=-180, le=180, allow_inf_nan=False, description="longitude in degrees"),
    ],
    lat: Annotated[
        float, Query(ge=-90, le=90, allow_inf_nan=False, description="latitude in degrees")
    ],
    crs: Annotated[
        Crs,
        Query(
            description="coordinate system of lon/lat: wgs84 (GPS, 天地图), gcj02 (高德, "
            "腾讯) or bd09 (百度)"
        ),
    ] = Crs.WGS84,
) -> JSONResponse:
    """The grid covering the point and the units above it; points on a shared edge always
    resolve to the grid with the lowest code."""
    # Clock and settings straight from the app state: this endpoint is on the hot path, and each
    # dependency FastAPI resolves costs a measurable share of a request answered from memory.
    state = request.app.state
    max_staleness = timedelta(milliseconds=state.settings.geo_lookup_max_staleness_ms)
    snapshot = await recent_grids(request).get(open_session, state.clock.now(), max_staleness)
    found = lookup.locate_in(snapshot, lon, lat, crs)
    # Built by hand in the ``LocateOut`` shape: this endpoint is on the hot path and a response
    # returned as-is skips FastAPI's second validation of the model.
    return JSONResponse(
        {
            "crs": found.crs.value,
            "lon": found.lon,
            "lat": found.lat,
            "wgs84": {"lon": found.wgs84_lon, "lat": found.wgs84_lat},
            "grid": {"code": found.grid_code},
            "community": _unit(found.community),
            "street": _unit(found.street),
            "district": _unit(found.district),
        }
    )
