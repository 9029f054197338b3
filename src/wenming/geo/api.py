"""Geography API: layers as GeoJSON in and out, grid details and grid workers, all scoped."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response

from wenming.auth.deps import SignedInActor
from wenming.core.deps import AppClock, DbSession
from wenming.core.errors import InvalidInput
from wenming.geo import repository, service
from wenming.geo.crs import Crs
from wenming.geo.gazetteer.importer import GAZETTEER_LAYERS, export_collection, import_gazetteer
from wenming.geo.geometry import Box
from wenming.geo.schemas import (
    FeatureNote,
    GridDetail,
    GridWorkersIn,
    ImportReportOut,
    LegacyCode,
)
from wenming.geo.version import Layer

router = APIRouter(prefix="/api/v1/geo", tags=["geography"])

GEOJSON_MEDIA_TYPE = "application/geo+json"
GRID_CODE_PATTERN = r"^[0-9]{14,15}$"
GridCode = Annotated[
    str, Path(pattern=GRID_CODE_PATTERN, description="15-digit grid code (or older 14-digit)")
]


def parse_bbox(value: str | None) -> Box | None:
    """``minlon,minlat,maxlon,maxlat`` as a box, or an error naming the ``bbox`` parameter."""
    if value is None or not value.strip():
        return None
    parts = value.split(",")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise InvalidInput(
            "bbox must be four numbers minlon,minlat,maxlon,maxlat, e.g. 122.05,40.98,122.10,41.02",
            field="bbox",
        )
    min_lon, min_lat, max_lon, max_lat = numbers
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(
            "bbox must lie within longitude -180..180 and latitude -90..90 with each minimum "
            "not above its maximum",
            field="bbox",
        )
    return Box(min_lon, min_lat, max_lon, max_lat)


@router.get(
    "/layers/{layer}",
    summary="A layer as GeoJSON",
    response_class=Response,
    responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}, "description": "FeatureCollection"}},
)
async def get_layer(
    layer: Layer,
    session: DbSession,
    actor: SignedInActor,
    bbox: Annotated[
        str | None,
        Query(description="only features meeting minlon,minlat,maxlon,maxlat (WGS-84)"),
    ] = None,
) -> Response:
    """The features of a layer inside your units, as an RFC 7946 FeatureCollection."""
    box = parse_bbox(bbox)
    if layer in GAZETTEER_LAYERS:
        body = await export_collection(session, actor, layer, box)
    else:
        body = await service.export_layer(session, actor, layer, bbox=box)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode(), media_type=GEOJSON_MEDIA_TYPE)


@router.post("/layers/{layer}", response_model=ImportReportOut, summary="Import a layer")
async def post_layer(
    layer: Layer,
    collection: Annotated[
        dict[str, Any], Body(description="a GeoJSON FeatureCollection (see docs/geo.md)")
    ],
    session: DbSession,
    clock: AppClock,
    actor: SignedInActor,
    crs: Annotated[
        Crs, Query(description="coordinate system of the positions; GeoJSON's own is wgs84")
    ] = Crs.WGS84,
) -> ImportReportOut:
    """Admins upsert features by code inside the units they manage; all or nothing.

    A file with problems is refused with 422 and a ``problems`` list of
    ``{index, code, reason}``; features outside your units with 403.
    """
    importer = import_gazetteer if layer in GAZETTEER_LAYERS else service.import_layer
    report = await importer(session, layer, collection, clock.now(), actor=actor, crs=crs)
    return ImportReportOut(
        layer=report.layer,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        repaired=[FeatureNote(**note) for note in report.repaired],
        legacy_codes=[LegacyCode(**item) for item in report.legacy_codes],
        version=report.version,
    )


@router.get("/grids/{code}", response_model=GridDetail, summary="One grid")
async def get_grid(code: GridCode, session: DbSession, actor: SignedInActor) -> GridDetail:
    """A grid with its community, street, area, attributes and workers; 403 outside your scope."""
    return await repository.grid_detail(session, actor, code)


@router.put("/grids/{code}/workers", response_model=GridDetail, summary="Set a grid's workers")
async def put_grid_workers(
    code: GridCode, body: GridWorkersIn, session: DbSession, actor: SignedInActor
) -> GridDetail:
    """Admins of the grid's community set its grid workers (users holding the grid_worker role
    on the community or a unit above it)."""
    await service.assign_grid_workers(session, actor, code, body.usernames)
    return await repository.grid_detail(session, actor, code)
