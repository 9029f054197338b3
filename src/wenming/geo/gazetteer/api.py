"""``GET /api/v1/geo/search`` and ``GET /api/v1/geo/reverse``: address search and reverse geocoding.

Both are open to everyone, like ``/geo/locate``: a citizen's phone and the hotline desk ask them
while a report is written, and the answers hold only what a street sign shows (road and place
names, door numbers, codes, coordinates, grid) — no people, no case data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from wenming.core.deps import DbSession, OpenSession
from wenming.geo.crs import Crs
from wenming.geo.gazetteer import reverse as reverse_geocoding
from wenming.geo.gazetteer.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH, search
from wenming.geo.lookup_api import recent_grids

router = APIRouter(prefix="/api/v1/geo", tags=["geography"])


class CandidateOut(BaseModel):
    """One ranked answer of the address search."""

    label: str = Field(description="the address as written, e.g. 兴盛路 12 号")
    kind: str = Field(description="address (door plate), road, place or point (inspection point)")
    codes: dict[str, str] = Field(description="codes by kind: address, road, place, point")
    lon: float = Field(description="WGS-84 longitude")
    lat: float = Field(description="WGS-84 latitude")
    grid_code: str | None = Field(description="the unit grid the position lies in")
    score: float = Field(description="0..1, higher is better")
    interpolated: bool = Field(
        description="true when the door number is not in the gazetteer and was placed between "
        "its neighbours along the road"
    )


class SearchOut(BaseModel):
    """The candidates for a query, best first."""

    query: str
    candidates: list[CandidateOut]


class UnitOut(BaseModel):
    """An administrative unit."""

    code: str
    name: str


class ReverseOut(BaseModel):
    """What lies at a coordinate."""

    label: str | None = Field(description="e.g. 兴盛路 12 号附近; null when nothing is near")
    kind: str | None = Field(description="address, road, place or grid")
    distance_m: float | None
    wgs84: dict[str, float]
    address_code: str | None
    road_code: str | None
    place_code: str | None
    grid_code: str | None
    community: UnitOut | None
    street: UnitOut | None


@router.get("/search", response_model=SearchOut, summary="Address search as you type (public)")
async def get_search(
    request: Request,
    session: DbSession,
    open_session: OpenSession,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_LENGTH,
            description="the address as typed: 大洼街道兴盛路12号3栋, 兴盛路十二号, 中心农贸市场",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> SearchOut:
    """Ranked door plates, roads, places and inspection points for a typed address.

    Grid codes come from the process's recent snapshot of the grid layer, as for
    ``/geo/locate`` (at most ``WENMING_GEO_LOOKUP_MAX_STALENESS_MS`` old)."""
    state = request.app.state
    max_staleness = timedelta(milliseconds=state.settings.geo_lookup_max_staleness_ms)
    snapshot = await recent_grids(request).get(open_session, state.clock.now(), max_staleness)
    found = await search(session, q, limit, grids=snapshot.index)
    return SearchOut(query=q, candidates=[CandidateOut(**c.as_dict()) for c in found])


@router.get("/reverse", response_model=ReverseOut, summary="Nearest address of a point (public)")
async def get_reverse(
    session: DbSession,
    lat: Annotated[
        float, Query(ge=-90, le=90, allow_inf_nan=False, description="latitude in degrees")
    ],
    lon: Annotated[
        float, Query(ge=-180, le=180, allow_inf_nan=False, description="longitude in degrees")
    ],
    crs: Annotated[
        Crs, Query(description="coordinate system: wgs84, gcj02 (高德, 腾讯) or bd09 (百度)")
    ] = Crs.WGS84,
) -> ReverseOut:
    """The nearest door plate, road or named place with a readable label, and the grid."""
    found = await reverse_geocoding.reverse(session, lon, lat, crs)
    return ReverseOut(
        label=found.label,
        kind=found.kind,
        distance_m=found.distance_m,
        wgs84={"lon": found.wgs84_lon, "lat": found.wgs84_lat},
        address_code=found.address_code,
        road_code=found.road_code,
        place_code=found.place_code,
        grid_code=found.grid_code,
        community=None
        if found.community is None
        else UnitOut(code=found.community.code, name=found.community.name),
        street=None
        if found.street is None
        else UnitOut(code=found.street.code, name=found.street.name),
    )
