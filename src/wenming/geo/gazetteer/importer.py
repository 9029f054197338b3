"""Import and export of the gazetteer layers ``road``, ``address`` (door plates) and ``place``.

Files are GeoJSON FeatureCollections or CSV (UTF-8, a header row). Like the other geography
layers, an import checks every row or feature first and lists every problem at once (named by its
CSV row or its 0-based feature position, and its code); nothing is written unless all are good.
Rows are matched to stored ones by ``code``: unchanged rows are left alone, so importing the same
file twice changes nothing. The searchable names of roads and places are rewritten in the same
transaction, and the layer's version stamp is bumped when anything changed, so every process's
reverse-geocoding index notices. Formats and rules: docs/gazetteer.md.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import Forbidden, OutOfScope
from wenming.geo import geojson
from wenming.geo.crs import Crs, to_wgs84, to_wgs84_array
from wenming.geo.gazetteer.models import DoorPlate, GazetteerName, NamedPlace, Road
from wenming.geo.gazetteer.parse import name_key
from wenming.geo.geojson import Feature, Parsed, Problem, anchor
from wenming.geo.geometry import Box, box_of, from_wkb, local_metric, to_wkb
from wenming.geo.importer import GridLocator, load_stored_grids, load_units
from wenming.geo.service import GeoImportError, ImportReport
from wenming.geo.version import Layer, bump_version, current_version
from wenming.org.models import AdminUnit
from wenming.org.roles import Permission
from wenming.org.scope import Actor, units_with, visible_units

GAZETTEER_LAYERS = (Layer.ROAD, Layer.ADDRESS, Layer.PLACE)
PLACE_TYPES = {
    "market": "市场",
    "school": "学校",
    "compound": "小区",
    "hospital": "医院",
    "park": "公园",
    "square": "广场",
    "station": "车站",
    "mall": "商场",
    "government": "机关",
    "venue": "场馆",
    "hotel": "宾馆",
    "other": "其他",
}
CSV_COLUMNS: dict[Layer, tuple[str, ...]] = {
    Layer.ROAD: ("code", "name", "aliases", "unit_code", "wkt"),
    Layer.ADDRESS: (
        "code",
        "road_code",
        "number",
        "suffix",
        "building",
        "entrance",
        "room",
        "unit_code",
        "lon",
        "lat",
    ),
    Layer.PLACE: ("code", "name", "place_type", "aliases", "unit_code", "lon", "lat"),
}
REQUIRED: dict[Layer, tuple[str, ...]] = {
    Layer.ROAD: ("code", "name"),
    Layer.ADDRESS: ("code", "road_code", "number"),
    Layer.PLACE: ("code", "name", "place_type"),
}
TEXT_LIMITS = {"name": 100, "building": 20, "entrance": 20, "room": 20}
MAX_ALIASES_LENGTH = 500
MAX_NUMBER = 99_999
MIN_OWNER_LEVEL = 3
CHUNK = 500
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_SUFFIX = re.compile(r"(?:-|之)?([0-9]{1,3})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RowProblem(Problem):
    """A problem of a CSV row; ``index`` is the row's line number (the header is line 1)."""

    def __str__(self) -> str:
        """``row 3 (RD-001): ...``."""
        if self.index is None:
            return f"{self.code}: {self.reason}" if self.code else self.reason
        named = f" ({self.code})" if self.code else ""
        return f"row {self.index}{named}: {self.reason}"


# --- reading files ------------------------------------------------------------------------------


def read_csv(text: str, layer: Layer, crs: Crs = Crs.WGS84) -> Parsed:
    """Rows of a CSV file as features (index = line number), or the problems that prevent it."""
    parsed = Parsed()
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED[layer] if name not in header]
    geometry_columns = ("wkt",) if layer is Layer.ROAD else ("lon", "lat")
    missing += [name for name in geometry_columns if name not in header]
    if missing:
        parsed.problems.append(
            RowProblem(
                None,
                None,
                f"the header lacks {', '.join(missing)}; layer {layer.value} uses the columns "
                f"{', '.join(CSV_COLUMNS[layer])}",
            )
        )
        return parsed
    for row in reader:
        line = reader.line_num
        values = {
            (key or "").strip(): (value or "").strip()
            for key, value in row.items()
            if key is not None
        }
        properties: dict[str, Any] = {k: v for k, v in values.items() if v != ""}
        code = properties.get("code")
        parsed.total += 1
        try:
            shape = _csv_geometry(layer, values, crs)
        except ValueError as bad:
            parsed.problems.append(RowProblem(line, code, str(bad)))
            shape = None
        parsed.features.append(Feature(line, code, properties, shape))
    return parsed


def _csv_geometry(layer: Layer, values: dict[str, str], crs: Crs) -> BaseGeometry:
    """The geometry of a CSV row in WGS-84: a WKT line for roads, lon and lat otherwise."""
    if layer is Layer.ROAD:
        wkt = values.get("wkt", "")
        try:
            shape = shapely.from_wkt(wkt)
        except shapely.errors.GEOSException:
            raise ValueError(
                f"wkt {geojson.shown(wkt)} is not a WKT LINESTRING or MULTILINESTRING "
                "(longitude latitude pairs)"
            ) from None
        if not isinstance(shape, LineString | MultiLineString) or shape.is_empty:
            raise ValueError("wkt must be a LINESTRING or MULTILINESTRING of lon lat pairs")
        coordinates = shapely.get_coordinates(shape)
        if not ((abs(coordinates[:, 0]) <= 180).all() and (abs(coordinates[:, 1]) <= 90).all()):
            raise ValueError("wkt has a position outside longitude -180..180, latitude -90..90")
        if crs is not Crs.WGS84:
            shape = shapely.transform(
                shape, lambda xy: np.column_stack(to_wgs84_array(xy[:, 0], xy[:, 1], crs))
            )
        return shape
    try:
        lon, lat = float(values.get("lon", "")), float(values.get("lat", ""))
    except ValueError:
        raise ValueError("lon and lat must be numbers (WGS-84 degrees unless --crs)") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"lon {lon}, lat {lat} is outside longitude -180..180, latitude -90..90")
    return Point(*to_wgs84(lon, lat, crs))


# --- planning -----------------------------------------------------------------------------------


@dataclass
class Row:
    """A checked row, ready to write."""

    index: int
    code: str
    values: dict[str, Any]
    unit_id: int
    names: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What an import will do."""

    layer: Layer
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    inserts: list[Row] = field(default_factory=list)
    updates: list[tuple[int, Row]] = field(default_factory=list)
    unchanged: int = 0


def _text(properties: dict[str, Any], name: str) -> str | None:
    """A text property, trimmed; numbers are taken as written; empty is absent."""
    value = properties.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be text, not {geojson.shown(value)}")
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {geojson.shown(value)}")
    value = value.strip()
    if _CONTROL.search(value):
        raise ValueError(f"{name} must be one line of text without control characters")
    limit = TEXT_LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise ValueError(f"{name} has {len(value)} characters; at most {limit} are allowed")
    return value or None


def _aliases(properties: dict[str, Any]) -> list[str]:
    """Aliases from a list or a ``|``-separated text; each one line, at most 100 characters."""
    value = properties.get("aliases")
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split("|")
    aliases: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"aliases must be texts, not {geojson.shown(item)}")
        alias = item.strip()
        if not alias:
            continue
        if "|" in alias or _CONTROL.search(alias) or len(alias) > TEXT_LIMITS["name"]:
            raise ValueError(
                f"alias {geojson.shown(alias)} must be one line of at most 100 characters "
                "without '|'"
            )
        if alias not in aliases:
            aliases.append(alias)
    if len("|".join(aliases)) > MAX_ALIASES_LENGTH:
        raise ValueError(f"aliases take more than {MAX_ALIASES_LENGTH} characters together")
    return aliases


def _number(properties: dict[str, Any]) -> int:
    """The door number: a whole number 1..99999."""
    value = properties.get("number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NUMBER:
        raise ValueError(
            f"number {geojson.shown(value)} must be a whole door number from 1 to {MAX_NUMBER}"
        )
    return value


def _suffix(properties: dict[str, Any]) -> str:
    """A sub-number (12-1号, 12之1号) stored as ``-1``; empty when absent."""
    value = _text(properties, "suffix")
    if value is None:
        return ""
    match = _SUFFIX.fullmatch(value)
    if match is None:
        raise ValueError(f"suffix {geojson.shown(value)} must be a sub-number like -1 or 之1")
    return f"-{int(match.group(1))}"


@dataclass
class Context:
    """What the database holds of the codes a file mentions."""

    units: dict[str, Any] = field(default_factory=dict)
    roads: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (id, unit id)
    locator: GridLocator | None = None
    community_of_grid: dict[int, int] = field(default_factory=dict)


async def load_context(session: AsyncSession, layer: Layer, parsed: Parsed) -> Context:
    """Units, roads and grids the features refer to."""
    context = Context()
    unit_codes = {str(f.properties.get("unit_code", "")).strip() for f in parsed.features}
    context.units = await load_units(session, unit_codes - {""})
    if layer is Layer.ADDRESS:
        codes = sorted({str(f.properties.get("road_code", "")).strip() for f in parsed.features})
        for start in range(0, len(codes), CHUNK):
            rows = await session.execute(
                select(Road.code, Road.id, Road.unit_id).where(
                    Road.code.in_(codes[start : start + CHUNK])
                )
            )
            context.roads.update({code: (int(i), int(u)) for code, i, u in rows})
    shapes = [
        f.geometry
        for f in parsed.features
        if f.geometry is not None and not str(f.properties.get("unit_code", "")).strip()
    ]
    box = geojson.bounds_of(shapes)
    if box is not None:
        grids = await load_stored_grids(session, box=box)
        context.locator = GridLocator(grids)
        context.community_of_grid = {grid.id: grid.community_id for grid in grids}
    return context


def plan_rows(layer: Layer, parsed: Parsed, context: Context, csv_rows: bool) -> Plan:
    """Check every feature; list every problem; the rows to write when there are none."""
    plan = Plan(layer)
    make = RowProblem if csv_rows else Problem
    seen: dict[str, int] = {}
    anchors = [anchor(f.geometry) if f.geometry is not None else None for f in parsed.features]
    located = (
        context.locator.locate([a[0] for a in anchors if a], [a[1] for a in anchors if a])
        if context.locator is not None
        else [None] * sum(1 for a in anchors if a)
    )
    grids = iter(located)
    for feature, place in zip(parsed.features, anchors, strict=True):
        grid = next(grids) if place is not None else None
        code = feature.code
        try:
            row = _check(layer, feature, context, grid.id if grid is not None else None)
        except ValueError as bad:
            plan.problems.append(make(feature.index, code, str(bad)))
            continue
        if row.code in seen:
            plan.problems.append(
                make(
                    feature.index,
                    row.code,
                    f"code {row.code} appears twice (first at "
                    f"{'row' if csv_rows else 'feature'} {seen[row.code]})",
                )
            )
            continue
        seen[row.code] = feature.index
        if feature.geometry is not None:
            plan.rows.append(row)
    return plan


def _check(layer: Layer, feature: Feature, context: Context, grid_id: int | None) -> Row:
    """One feature as a row to write, or ``ValueError`` naming the first problem."""
    properties = feature.properties
    code = _text(properties, "code")
    if code is None:
        raise ValueError("code is required")
    if not _CODE.fullmatch(code):
        raise ValueError(
            f"code {geojson.shown(code)} must be 1-32 letters, digits, '.', '-' or '_' starting "
            "with a letter or digit"
        )
    values: dict[str, Any] = {
        "code": code,
        "synthetic": properties.get("synthetic") in (True, "true"),
    }
    names: list[str] = []
    if layer in (Layer.ROAD, Layer.PLACE):
        name = _text(properties, "name")
        if name is None:
            raise ValueError("name is required")
        aliases = _aliases(properties)
        values.update(name=name, aliases="|".join(aliases))
        names = [name, *aliases]
    if layer is Layer.PLACE:
        place_type = _text(properties, "place_type")
        if place_type not in PLACE_TYPES:
            raise ValueError(
                f"place_type {geojson.shown(place_type)} must be one of {', '.join(PLACE_TYPES)}"
            )
        values["place_type"] = place_type
    road_unit: int | None = None
    if layer is Layer.ADDRESS:
        road_code = _text(properties, "road_code") or ""
        road = context.roads.get(road_code)
        if road is None:
            raise ValueError(
                f"unknown road_code: there is no road {geojson.shown(road_code)}; import the "
                "road layer first"
            )
        road_unit = road[1]
        values.update(
            road_id=road[0],
            number=_number(properties),
            suffix=_suffix(properties),
            building=_text(properties, "building"),
            entrance=_text(properties, "entrance"),
            room=_text(properties, "room"),
        )
        if values["building"] is not None:
            values["building"] = values["building"].upper()
    shape = feature.geometry
    if shape is not None:
        values.update(_geometry_values(layer, shape))
    unit_code = _text(properties, "unit_code")
    if unit_code is not None:
        unit = context.units.get(unit_code)
        if unit is None or unit.level < MIN_OWNER_LEVEL:
            raise ValueError(
                f"unknown unit_code: {geojson.shown(unit_code)} is not a district, street/town "
                "or community/village of the organisation"
            )
        unit_id = int(unit.id)
    elif grid_id is not None:
        unit_id = context.community_of_grid[grid_id]
    elif road_unit is not None:
        unit_id = road_unit
    else:
        raise ValueError("lies in no grid: give unit_code, the unit it belongs to")
    return Row(feature.index, code, values, unit_id, names)


def _geometry_values(layer: Layer, shape: BaseGeometry) -> dict[str, Any]:
    """Stored columns of a geometry."""
    if layer is not Layer.ROAD:
        assert isinstance(shape, Point)
        return {"lon": float(shape.x), "lat": float(shape.y)}
    length = float(local_metric(shape).length)
    if length <= 0:
        raise ValueError("the road's line has no length")
    box = box_of(shape)
    middle_lon, middle_lat = anchor(shape)
    return {
        "geometry": to_wkb(shape),
        "length_m": round(length, 1),
        "lon": middle_lon,
        "lat": middle_lat,
        "min_lon": box.min_lon,
        "min_lat": box.min_lat,
        "max_lon": box.max_lon,
        "max_lat": box.max_lat,
    }


MODELS: dict[Layer, type[Road] | type[DoorPlate] | type[NamedPlace]] = {
    Layer.ROAD: Road,
    Layer.ADDRESS: DoorPlate,
    Layer.PLACE: NamedPlace,
}
NAME_KIND = {Layer.ROAD: "road", Layer.PLACE: "place"}


def _same(stored: dict[str, Any], row: Row) -> bool:
    """Whether a stored row already holds a row's values."""
    if stored["unit_id"] != row.unit_id:
        return False
    for key, value in row.values.items():
        old = stored.get(key)
        if key == "geometry":
            if old is None or not from_wkb(old).equals_exact(from_wkb(value), 1e-10):
                return False
        elif isinstance(value, float):
            if old is None or abs(float(old) - value) > 1e-9:
                return False
        elif old != value:
            return False
    return True


async def classify(session: AsyncSession, plan: Plan) -> None:
    """Sort the rows into inserts, updates and unchanged by their stored counterparts."""
    model = MODELS[plan.layer]
    table = model.__table__
    codes = [row.code for row in plan.rows]
    stored: dict[str, dict[str, Any]] = {}
    for start in range(0, len(codes), CHUNK):
        result = await session.execute(
            select(table).where(table.c.code.in_(codes[start : start + CHUNK]))
        )
        for mapping in result.mappings():
            stored[str(mapping["code"])] = dict(mapping)
    for row in plan.rows:
        old = stored.get(row.code)
        if old is None:
            plan.inserts.append(row)
        elif _same(old, row):
            plan.unchanged += 1
        else:
            plan.updates.append((int(old["id"]), row))


async def require_scope(session: AsyncSession, actor: Actor, plan: Plan, csv_rows: bool) -> None:
    """Refuse unless the actor manages the unit owning every row."""
    if not actor.grants_with(Permission.MANAGE_ORG):
        raise Forbidden(
            "your roles may not import the gazetteer; a street, district or system admin may"
        )
    needed = sorted({row.unit_id for row in plan.rows})
    if not needed:
        return
    reach = units_with(actor, Permission.MANAGE_ORG).subquery()
    allowed = set((await session.scalars(select(reach.c[0]).where(reach.c[0].in_(needed)))).all())
    outside = [row for row in plan.rows if row.unit_id not in allowed]
    if not outside:
        return
    codes = dict(
        (
            await session.execute(
                select(AdminUnit.id, AdminUnit.code).where(
                    AdminUnit.id.in_({row.unit_id for row in outside})
                )
            )
        ).all()
    )
    make = RowProblem if csv_rows else Problem
    problems = [
        make(row.index, row.code, f"belongs to unit {codes[row.unit_id]}, outside your scope")
        for row in outside
    ]
    raise OutOfScope(
        f"{len(outside)} {'rows' if csv_rows else 'features'} lie outside the units you manage "
        f"(the first is {problems[0]}); nothing was imported",
        problems=[p.as_dict() for p in problems],
    )


async def write(session: AsyncSession, plan: Plan, now: datetime) -> None:
    """Insert and update in bulk; rewrite the searchable names of changed roads and places."""
    model = MODELS[plan.layer]
    table = model.__table__
    if plan.inserts:
        await session.execute(
            insert(model),
            [{**row.values, "unit_id": row.unit_id, "updated_at": now} for row in plan.inserts],
        )
    if plan.updates:
        await session.execute(
            update(model),
            [
                {**row.values, "id": row_id, "unit_id": row.unit_id, "updated_at": now}
                for row_id, row in plan.updates
            ],
        )
    kind = NAME_KIND.get(plan.layer)
    if kind is None or not (plan.inserts or plan.updates):
        return
    changed = [row for row in plan.inserts] + [row for _id, row in plan.updates]
    codes = [row.code for row in changed]
    ids: dict[str, int] = {}
    units = dict((await session.execute(select(AdminUnit.id, AdminUnit.code))).all())
    for start in range(0, len(codes), CHUNK):
        rows = await session.execute(
            select(table.c.code, table.c.id).where(table.c.code.in_(codes[start : start + CHUNK]))
        )
        ids.update({str(code): int(i) for code, i in rows})
    id_list = sorted(ids.values())
    for start in range(0, len(id_list), CHUNK):
        await session.execute(
            delete(GazetteerName).where(
                GazetteerName.kind == kind, GazetteerName.ref_id.in_(id_list[start : start + CHUNK])
            )
        )
    await session.execute(
        insert(GazetteerName),
        [
            {
                "kind": kind,
                "ref_id": ids[row.code],
                "code": row.code,
                "name": name,
                "alias": position > 0,
                "search_text": name_key(name)[:100] or name[:100],
                "unit_code": units.get(row.unit_id),
                "lon": row.values["lon"],
                "lat": row.values["lat"],
            }
            for row in changed
            for position, name in enumerate(row.names)
        ],
    )


async def import_gazetteer(
    session: AsyncSession,
    layer: Layer,
    content: Parsed | object,
    now: datetime,
    *,
    actor: Actor | None = None,
    crs: Crs = Crs.WGS84,
) -> ImportReport:
    """Validate a layer (a GeoJSON value, or CSV rows read by ``read_csv``) and upsert it by code.

    Raises ``GeoImportError`` listing every problem; with an actor, ``Forbidden`` /
    ``OutOfScope`` unless the actor manages the unit owning every row. Flushes only.
    """
    if layer not in GAZETTEER_LAYERS:
        raise ValueError(f"{layer.value} is not a gazetteer layer")
    if actor is not None and not actor.grants_with(Permission.MANAGE_ORG):
        raise Forbidden(
            "your roles may not import the gazetteer; a street, district or system admin may"
        )
    csv_rows = isinstance(content, Parsed)
    parsed = (
        content if isinstance(content, Parsed) else geojson.parse_collection(content, layer, crs)
    )
    context = await load_context(session, layer, parsed)
    plan = plan_rows(layer, parsed, context, csv_rows)
    problems = [*parsed.problems, *plan.problems]
    if problems:
        problems.sort(key=lambda p: (p.index is None, p.index or 0))
        raise GeoImportError(problems)
    if actor is not None:
        await require_scope(session, actor, plan, csv_rows)
    await classify(session, plan)
    await write(session, plan, now)
    await session.flush()
    changed = bool(plan.inserts or plan.updates)
    version = (
        await bump_version(session, layer, now)
        if changed
        else await current_version(session, layer)
    )
    return ImportReport(
        layer=layer,
        created=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        repaired=[p.as_dict() for p in parsed.repaired],
        version=version,
    )


# --- export -------------------------------------------------------------------------------------


async def export_rows(
    session: AsyncSession, layer: Layer, unit_ids: Sequence[int] | None = None
) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """Every row of a layer (or of some units) as (properties, geometry), in code order."""
    model = MODELS[layer]
    table = model.__table__
    unit = AdminUnit.__table__
    statement = (
        select(table, unit.c.code.label("unit_code"))
        .join(unit, unit.c.id == table.c.unit_id)
        .order_by(table.c.code)
    )
    if unit_ids is not None:
        statement = statement.where(table.c.unit_id.in_(list(unit_ids)))
    road_codes: dict[int, str] = {}
    if layer is Layer.ADDRESS:
        road_codes = {int(i): str(c) for i, c in await session.execute(select(Road.id, Road.code))}
    rows: list[tuple[dict[str, Any], BaseGeometry]] = []
    for mapping in (await session.execute(statement)).mappings():
        properties: dict[str, Any] = {"code": mapping["code"]}
        if layer is Layer.ADDRESS:
            properties.update(
                road_code=road_codes[int(mapping["road_id"])],
                number=mapping["number"],
                suffix=mapping["suffix"] or None,
                building=mapping["building"],
                entrance=mapping["entrance"],
                room=mapping["room"],
            )
        else:
            properties["name"] = mapping["name"]
            if layer is Layer.PLACE:
                properties["place_type"] = mapping["place_type"]
            properties["aliases"] = [a for a in str(mapping["aliases"]).split("|") if a]
        properties["unit_code"] = mapping["unit_code"]
        if mapping["synthetic"]:
            properties["synthetic"] = True
        properties = {k: v for k, v in properties.items() if v is not None}
        shape = (
            from_wkb(mapping["geometry"])
            if layer is Layer.ROAD
            else Point(mapping["lon"], mapping["lat"])
        )
        rows.append((properties, shape))
    return rows


def to_geojson(rows: Iterable[tuple[dict[str, Any], BaseGeometry]]) -> dict[str, Any]:
    """Rows as a FeatureCollection."""
    return geojson.collection(geojson.feature(shape, props) for props, shape in rows)


def to_csv(layer: Layer, rows: Iterable[tuple[dict[str, Any], BaseGeometry]]) -> str:
    """Rows as CSV text with the layer's columns (and ``synthetic``)."""
    out = io.StringIO()
    columns = [*CSV_COLUMNS[layer], "synthetic"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for properties, shape in rows:
        record: dict[str, Any] = {
            k: ("|".join(v) if isinstance(v, list) else v) for k, v in properties.items()
        }
        record["synthetic"] = "true" if properties.get("synthetic") else ""
        if layer is Layer.ROAD:
            record["wkt"] = shapely.to_wkt(shape, rounding_precision=-1)
        else:
            assert isinstance(shape, Point)
            record["lon"], record["lat"] = repr(shape.x), repr(shape.y)
        writer.writerow(record)
    return out.getvalue()


async def export_collection(
    session: AsyncSession, actor: Actor | None, layer: Layer, bbox: Box | None = None
) -> dict[str, Any]:
    """A gazetteer layer as a FeatureCollection: everything on the trusted path (actor None),
    else the rows of the units the actor may read; optionally only those meeting ``bbox``."""
    unit_ids: list[int] | None = None
    if actor is not None:
        reach = visible_units(actor).subquery()
        unit_ids = [int(i) for i in (await session.scalars(select(reach.c[0]))).all()]
    rows = await export_rows(session, layer, unit_ids)
    if bbox is not None:
        area = shapely.box(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)
        rows = [(props, shape) for props, shape in rows if shape.intersects(area)]
    return to_geojson(rows)


def collection_csv(layer: Layer, collection: dict[str, Any]) -> str:
    """An exported FeatureCollection of a gazetteer layer as CSV text."""
    return to_csv(
        layer,
        (
            (feature["properties"], shapely.geometry.shape(feature["geometry"]))
            for feature in collection["features"]
        ),
    )
