"""GeoJSON (RFC 7946) in and out: parse features strictly, repair what is safe, write features.

Pure: no database. ``parse_collection`` checks the shape of a FeatureCollection and of every
feature's geometry for one layer and returns the features it could read, the problems of those it
could not, and the repairs it made. Problems and repairs name the feature by its 0-based position
in ``features`` and its ``code`` property. Geometries come out two-dimensional, valid and with
RFC 7946 winding (exterior rings counter-clockwise, holes clockwise); the same orientation is
applied on the way out, so an export always follows the RFC whatever was imported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from wenming.geo.crs import Crs, to_wgs84_array
from wenming.geo.geometry import local_metric
from wenming.geo.version import Layer

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")
LAYER_GEOMETRY_TYPES: dict[Layer, tuple[str, ...]] = {
    Layer.STREET: POLYGONAL,
    Layer.COMMUNITY: POLYGONAL,
    Layer.GRID: POLYGONAL,
    Layer.POINT: ("Point", *LINEAR, *POLYGONAL),
    Layer.COMPONENT: ("Point",),
    Layer.ROAD: LINEAR,
    Layer.ADDRESS: ("Point",),
    Layer.PLACE: ("Point",),
}
# A repair is safe when it keeps the area within this fraction (0.1 %) and keeps the kind of
# geometry: a Polygon must stay one Polygon. Anything else is reported for a person to fix.
REPAIR_AREA_TOLERANCE = 0.001
MAX_SHOWN = 40


@dataclass(frozen=True)
class Problem:
    """Why a feature (or the whole file when ``index`` is None) cannot be imported."""

    index: int | None
    code: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The wire form: ``{"index", "code", "reason"}``."""
        return {"index": self.index, "code": self.code, "reason": self.reason}

    def __str__(self) -> str:
        """A line a person can act on, e.g. ``feature 3 (211104004001003): ...``."""
        if self.index is None:
            return f"{self.code}: {self.reason}" if self.code else self.reason
        named = f" ({self.code})" if self.code else ""
        return f"feature {self.index}{named}: {self.reason}"


@dataclass(frozen=True)
class Feature:
    """A feature with its position, properties and clean geometry (None when it was unusable,
    so that its properties are still checked and every problem is reported at once)."""

    index: int
    code: str | None
    properties: dict[str, Any]
    geometry: BaseGeometry | None


@dataclass
class Parsed:
    """The outcome of reading a FeatureCollection for one layer."""

    features: list[Feature] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)
    total: int = 0


class _Bad(Exception):
    """A reason why a geometry cannot be read; raised inside the parser only."""


def shown(value: object) -> str:
    """A value quoted for a message, shortened when long."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def feature_code(properties: dict[str, Any]) -> str | None:
    """The ``code`` property as it names the feature in messages (numbers shown as written)."""
    code = properties.get("code")
    if isinstance(code, str):
        return code.strip() or None
    if isinstance(code, int | float) and not isinstance(code, bool):
        return str(code)
    return None


def parse_collection(collection: object, layer: Layer, crs: Crs = Crs.WGS84) -> Parsed:
    """Read the features of a FeatureCollection for a layer; never raises for bad input.

    RFC 7946 positions are WGS-84; coordinates that come from a Chinese web map may be given in
    GCJ-02 or BD-09 instead and are converted to WGS-84 before any check of the geometry.
    """
    parsed = Parsed()
    if not isinstance(collection, dict):
        parsed.problems.append(
            Problem(None, None, "the file must hold one GeoJSON object, a FeatureCollection")
        )
        return parsed
    if collection.get("type") != "FeatureCollection":
        parsed.problems.append(
            Problem(
                None,
                None,
                f'"type" must be "FeatureCollection", not {shown(collection.get("type"))}',
            )
        )
        return parsed
    features = collection.get("features")
    if not isinstance(features, list):
        parsed.problems.append(Problem(None, None, '"features" must be a list of features'))
        return parsed
    parsed.total = len(features)
    for index, raw in enumerate(features):
        _parse_feature(index, raw, layer, parsed, crs)
    return parsed


def _parse_feature(index: int, raw: object, layer: Layer, parsed: Parsed, crs: Crs) -> None:
    """Read one feature into ``parsed``: its geometry, or the problem that prevents it."""
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        parsed.problems.append(Problem(index, None, 'is not a GeoJSON object of type "Feature"'))
        return
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        parsed.problems.append(Problem(index, None, '"properties" must be an object'))
        return
    code = feature_code(properties)
    problem, shape = _read_geometry(raw.get("geometry"), layer, parsed, index, code, crs)
    if problem is not None:
        parsed.problems.append(Problem(index, code, problem))
    parsed.features.append(Feature(index, code, properties, shape))


def _read_geometry(
    geometry: object, layer: Layer, parsed: Parsed, index: int, code: str | None, crs: Crs
) -> tuple[str | None, BaseGeometry | None]:
    """A feature's clean geometry, or the reason it cannot be used; repairs go to ``parsed``."""
    allowed = LAYER_GEOMETRY_TYPES[layer]
    if not isinstance(geometry, dict):
        return f"has no geometry; layer {layer.value} needs {_names(allowed)}", None
    kind = geometry.get("type")
    if kind not in allowed:
        return (
            f"geometry type {shown(kind)} does not fit layer {layer.value}; use {_names(allowed)}",
            None,
        )
    notes: list[str] = []
    try:
        shape = _build(str(kind), geometry.get("coordinates"), notes)
        if crs is not Crs.WGS84:
            shape = _to_wgs84(shape, crs)
        shape = _make_clean(shape, notes)
    except _Bad as bad:
        return str(bad), None
    if notes:
        parsed.repaired.append(Problem(index, code, "; ".join(notes)))
    return None, shape


def _to_wgs84(shape: BaseGeometry, crs: Crs) -> BaseGeometry:
    """A geometry with every position converted from a Chinese map system to WGS-84."""

    def convert(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lons, lats = to_wgs84_array(xy[:, 0], xy[:, 1], crs)
        return np.column_stack((lons, lats))

    converted: BaseGeometry = shapely.transform(shape, convert)
    return converted


def _names(kinds: Sequence[str]) -> str:
    """Geometry type names for a message: ``Polygon or MultiPolygon``."""
    if len(kinds) == 1:
        return kinds[0]
    return ", ".join(kinds[:-1]) + f" or {kinds[-1]}"


def _position(value: object) -> tuple[float, float]:
    """One [lon, lat] (an altitude is allowed and dropped) in WGS-84 degrees."""
    if not isinstance(value, list) or len(value) < 2:
        raise _Bad(f"position {shown(value)} must be [longitude, latitude]")
    lon, lat = value[0], value[1]
    for number in (lon, lat):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise _Bad(f"position {shown(value)} must hold numbers, not {shown(number)}")
        if not math.isfinite(number):
            raise _Bad(f"position {shown(value)} must hold finite numbers")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise _Bad(
            f"coordinate {shown(value)} is outside the longitude/latitude range "
            "(longitude -180..180, latitude -90..90); GeoJSON positions are WGS-84 degrees "
            "in [longitude, latitude] order"
        )
    return float(lon), float(lat)


def _positions(value: object, what: str, minimum: int) -> list[tuple[float, float]]:
    """A list of positions with at least ``minimum`` entries."""
    if not isinstance(value, list):
        raise _Bad(f"{what} must be a list of positions")
    points = [_position(item) for item in value]
    if len(points) < minimum:
        raise _Bad(f"{what} has {len(points)} positions; at least {minimum} are needed")
    return points


def _ring(value: object, what: str, notes: list[str]) -> list[tuple[float, float]]:
    """A linear ring; an unclosed one is closed (and noted), fewer than 3 corners is refused."""
    points = _positions(value, what, 3)
    if points[0] != points[-1]:
        points.append(points[0])
        notes.append(f"{what} was not closed; closed it")
    if len(points) < 4:
        raise _Bad(f"{what} needs at least 4 positions (first and last the same)")
    return points


def _polygon(value: object, what: str, notes: list[str]) -> Polygon:
    """A Polygon from its rings: the exterior first, then holes."""
    if not isinstance(value, list) or not value:
        raise _Bad(f"{what} must be a list of rings, the exterior first")
    exterior = _ring(value[0], f"{what} exterior ring", notes)
    holes = [_ring(ring, f"{what} hole {n}", notes) for n, ring in enumerate(value[1:], 1)]
    return Polygon(exterior, holes)


def _list(value: object, what: str) -> list[Any]:
    """A non-empty list of parts."""
    if not isinstance(value, list) or not value:
        raise _Bad(f"{what} must be a non-empty list")
    return value


def _build(kind: str, coordinates: object, notes: list[str]) -> BaseGeometry:
    """A shapely geometry from GeoJSON coordinates of a type, with messages for bad ones."""
    if coordinates is None:
        raise _Bad(f"{kind} geometry has no coordinates")
    if kind == "Point":
        return Point(_position(coordinates))
    if kind == "LineString":
        return LineString(_positions(coordinates, "the line", 2))
    if kind == "MultiLineString":
        parts = _list(coordinates, "MultiLineString coordinates")
        return MultiLineString([_positions(part, f"line {n}", 2) for n, part in enumerate(parts)])
    if kind == "Polygon":
        return _polygon(coordinates, "the polygon", notes)
    parts = _list(coordinates, "MultiPolygon coordinates")
    return MultiPolygon([_polygon(part, f"polygon {n}", notes) for n, part in enumerate(parts)])


def _make_clean(shape: BaseGeometry, notes: list[str]) -> BaseGeometry:
    """A valid geometry with RFC 7946 winding; invalid polygons are repaired when that is safe."""
    if isinstance(shape, LineString | MultiLineString) and shape.length == 0:
        raise _Bad("the line has no length: all its positions are the same")
    if not isinstance(shape, Polygon | MultiPolygon):
        return shape
    if not shape.is_valid:
        shape = _repaired(shape, notes)
    if shape.is_empty or shape.area == 0:
        raise _Bad("the polygon has no area")
    return orient(shape)


def _repaired(shape: Polygon | MultiPolygon, notes: list[str]) -> BaseGeometry:
    """The repair of an invalid polygon, or a refusal saying why it is not safe."""
    reason = shapely.is_valid_reason(shape)
    fixed = shapely.make_valid(shape)
    polygons = [
        part for part in shapely.get_parts(fixed) if isinstance(part, Polygon) and part.area > 0
    ]
    if not polygons:
        raise _Bad(f"the polygon has no area: its outline collapses to lines or points ({reason})")
    result: BaseGeometry = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if isinstance(shape, Polygon) and not isinstance(result, Polygon):
        raise _Bad(
            f"invalid polygon ({reason}); repairing it would split it into {len(polygons)} "
            "polygons, which is not safe to do automatically; fix the outline"
        )
    origin_lat = float(result.centroid.y)
    before = abs(float(local_metric(shape, origin_lat).area))
    after = float(local_metric(result, origin_lat).area)
    change = abs(after - before)
    if change > REPAIR_AREA_TOLERANCE * max(before, after):
        raise _Bad(
            f"invalid polygon ({reason}); repairing it would change its area by "
            f"{change:.1f} m² (more than {REPAIR_AREA_TOLERANCE:.1%}), which is not safe "
            "to do automatically; fix the outline"
        )
    notes.append(f"invalid polygon ({reason}) repaired; area changed by {change:.1f} m²")
    return result


def orient(shape: BaseGeometry) -> BaseGeometry:
    """RFC 7946 winding: exterior rings counter-clockwise, holes clockwise."""
    oriented: BaseGeometry = shapely.orient_polygons(shape, exterior_cw=False)
    return oriented


def geometry_type(shape: BaseGeometry) -> str:
    """The GeoJSON type name of a geometry."""
    return str(shape.geom_type)


def anchor(shape: BaseGeometry) -> tuple[float, float]:
    """The lon/lat that places a geometry on the map and in a grid: the point itself, the middle
    of a line, a point inside a polygon."""
    if isinstance(shape, Point):
        return float(shape.x), float(shape.y)
    if isinstance(shape, LineString | MultiLineString):
        middle = shapely.line_interpolate_point(
            shapely.line_merge(shape) if isinstance(shape, MultiLineString) else shape,
            0.5,
            normalized=True,
        )
        if isinstance(middle, Point) and not middle.is_empty:
            return float(middle.x), float(middle.y)
        inside = shape.representative_point()
        return float(inside.x), float(inside.y)
    inside = shape.point_on_surface()
    return float(inside.x), float(inside.y)


def _listed(value: Any) -> Any:
    """Nested tuples (as shapely maps coordinates) as nested lists."""
    if isinstance(value, tuple | list):
        return [_listed(item) for item in value]
    return value


def geometry_object(shape: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON geometry object of a shape, polygons with RFC 7946 winding."""
    if isinstance(shape, Polygon | MultiPolygon):
        shape = orient(shape)
    mapped = shapely.geometry.mapping(shape)
    return {"type": mapped["type"], "coordinates": _listed(mapped["coordinates"])}


def feature(shape: BaseGeometry, properties: dict[str, Any]) -> dict[str, Any]:
    """One GeoJSON Feature."""
    return {"type": "Feature", "geometry": geometry_object(shape), "properties": properties}


def point_feature(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    """A Point Feature from a longitude and latitude."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection."""
    return {"type": "FeatureCollection", "features": list(features)}


def dumps(collection_value: dict[str, Any]) -> str:
    """A FeatureCollection as UTF-8 JSON text with one feature per line (readable, diffable)."""
    features = collection_value.get("features", [])
    body = ",\n".join(
        json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in features
    )
    head = {key: value for key, value in collection_value.items() if key != "features"}
    opening = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    if not features:
        return opening + ',"features":[]}\n'
    return opening + ',"features":[\n' + body + "\n]}\n"


def bounds_of(shapes: Sequence[BaseGeometry]) -> tuple[float, float, float, float] | None:
    """The lon/lat box around several geometries, or None for none."""
    if not shapes:
        return None
    boxes = shapely.bounds(np.asarray(shapes, dtype=object))
    return (
        float(boxes[:, 0].min()),
        float(boxes[:, 1].min()),
        float(boxes[:, 2].max()),
        float(boxes[:, 3].max()),
    )
