"""Geography factories: shapes laid out in metres around a fixed origin, and boundaries and grids
stored through the real import service.

The layout matches the standard org tree (tests.factories.org): street S1 (大洼街道) spans
x 0..800 m, y -100..100 m; its communities C1a (0..400) and C1b (400..800); street S2 (田家街道)
and its community C2a span x 800..1200. Shapes are symmetric about y = 0, so the importer's local
plane (centred on the data) measures areas without a latitude bias: a 100 m square is 10000.0 m².
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from shapely.geometry import Point, Polygon
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import Tree
from wenming.geo.api import router as geo_router
from wenming.geo.geometry import from_local_metric
from wenming.geo.service import ImportReport, import_layer
from wenming.geo.version import Layer

ORIGIN_LON = 122.0
ORIGIN_LAT = 41.0
GRID_SIDE_M = 100.0


def lonlat(x: float, y: float) -> tuple[float, float]:
    """The lon/lat of a point x metres east and y metres north of the origin."""
    point = from_local_metric(Point(x, y), ORIGIN_LAT)
    assert isinstance(point, Point)
    return ORIGIN_LON + point.x, ORIGIN_LAT + point.y


def ring(corners: Iterable[tuple[float, float]]) -> list[list[float]]:
    """A closed GeoJSON ring from metric corners."""
    positions = [list(lonlat(x, y)) for x, y in corners]
    return [*positions, positions[0]]


def rect_ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    """A counter-clockwise ring around a metric rectangle."""
    return ring([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A GeoJSON Polygon of a metric rectangle."""
    return {"type": "Polygon", "coordinates": [rect_ring(x0, y0, x1, y1)]}


def rect_shape(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A shapely lon/lat polygon of a metric rectangle."""
    return Polygon(rect_ring(x0, y0, x1, y1))


def point(x: float, y: float) -> dict[str, Any]:
    """A GeoJSON Point at a metric position."""
    return {"type": "Point", "coordinates": list(lonlat(x, y))}


def feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    """A GeoJSON Feature."""
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection."""
    return {"type": "FeatureCollection", "features": list(features)}


STREET_BOXES = {
    "211104004000": (0.0, -100.0, 800.0, 100.0),
    "211104005000": (800.0, -100.0, 1200.0, 100.0),
}
COMMUNITY_BOXES = {
    "211104004001": (0.0, -100.0, 400.0, 100.0),
    "211104004002": (400.0, -100.0, 800.0, 100.0),
    "211104005001": (800.0, -100.0, 1200.0, 100.0),
}


def boundary_collection(boxes: dict[str, tuple[float, float, float, float]]) -> dict[str, Any]:
    """Boundaries of units as rectangles, by unit code."""
    return collection(*(feature(rect(*box), code=code) for code, box in boxes.items()))


def grid_features(community_code: str, *, side: float = GRID_SIDE_M) -> list[dict[str, Any]]:
    """Square grids covering a community's rectangle, numbered west→east, north→south."""
    x0, y0, x1, y1 = COMMUNITY_BOXES[community_code]
    features = []
    serial = 0
    y = y1
    while y > y0:
        x = x0
        while x < x1:
            serial += 1
            features.append(
                feature(
                    rect(x, y - side, x + side, y),
                    code=f"{community_code}{serial:03d}",
                    community_code=community_code,
                )
            )
            x += side
        y -= side
    return features


async def create_boundaries(session: AsyncSession, tree: Tree) -> None:
    """Store the street and community boundaries of the standard tree's district."""
    assert tree.street.code in STREET_BOXES
    await import_layer(session, Layer.STREET, boundary_collection(STREET_BOXES), NOW)
    await import_layer(session, Layer.COMMUNITY, boundary_collection(COMMUNITY_BOXES), NOW)


async def create_grids(session: AsyncSession, *community_codes: str) -> ImportReport:
    """Store 100 m square grids covering communities (8 per community of the layout)."""
    features = [f for code in community_codes for f in grid_features(code)]
    return await import_layer(session, Layer.GRID, collection(*features), NOW)


async def create_geography(session: AsyncSession, tree: Tree) -> None:
    """Boundaries of the whole layout and grids of all three communities (24 grids)."""
    await create_boundaries(session, tree)
    await create_grids(session, *COMMUNITY_BOXES)


def mount_geo_api(app: FastAPI) -> None:
    """Serve the geography API on a test app unless the application factory already does."""
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/api/v1/geo/layers/{layer}" not in paths:
        app.include_router(geo_router)
