"""Check a layer's features against the rules and the database, then upsert them in bulk.

Three steps, as for the organisation import: ``load_snapshot`` reads what the database holds of
the codes a file mentions (one query per kind of thing, in chunks), ``plan_layer`` checks every
feature against the file and the snapshot and lists every problem at once (pure), and
``write_plan`` inserts the new rows and updates the changed ones with bulk statements. Rows are
matched by code; a row whose stored values equal the file's is left alone, so importing the same
file twice changes nothing. The rules and tolerances are described in docs/geo.md.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.geo import geojson
from wenming.geo.geojson import Feature, Parsed, Problem
from wenming.geo.geometry import (
    METRES_PER_DEGREE,
    Box,
    area_m2,
    box_of,
    from_local_metric,
    from_wkb,
    to_wkb,
)
from wenming.geo.models import Boundary, Component, Grid, InspectionPoint, LocationType
from wenming.geo.version import Layer
from wenming.org.codes import UNIT_CODE_LENGTH, UnitKind
from wenming.org.models import AdminUnit, Department

# Pieces of an overlap, a gap or a part outside the community smaller than this are noise from
# digitising or floating point and are ignored; larger ones are reported with their area.
SLIVER_M2 = 1.0
LOOKUP_CHUNK = 500
TEXT_LIMITS = {"land_use": 50, "management_grade": 20, "responsible_party": 100, "name": 100}
GRID_CODE_LENGTH = 15
LEGACY_GRID_CODE_LENGTH = 14
COMPONENT_CODE_LENGTH = 16
COMPONENT_STATUSES = ("intact", "damaged", "missing", "occupied")
STATUS_ALIASES = {"完好": "intact", "破损": "damaged", "丢失": "missing", "占用": "occupied"}
BOUNDARY_KINDS: dict[Layer, tuple[UnitKind, ...]] = {
    Layer.STREET: (UnitKind.STREET, UnitKind.TOWN),
    Layer.COMMUNITY: (UnitKind.COMMUNITY, UnitKind.VILLAGE),
}
COMMUNITY_KINDS = BOUNDARY_KINDS[Layer.COMMUNITY]
MIN_OWNER_LEVEL = 3  # points and components belong to a district, street/town or community/village
LAYER_MODELS: dict[Layer, type[Boundary] | type[Grid] | type[InspectionPoint] | type[Component]] = {
    Layer.STREET: Boundary,
    Layer.COMMUNITY: Boundary,
    Layer.GRID: Grid,
    Layer.POINT: InspectionPoint,
    Layer.COMPONENT: Component,
}
_DIGITS = re.compile(r"[0-9]+")
_POINT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

GeometryArray = npt.NDArray[np.object_]


# --- codes (pure) ---------------------------------------------------------------------------------


def grid_code_problem(code: str) -> str | None:
    """Why a string is not a grid code (15 digits, or 14 in the older layout), or None."""
    if not _DIGITS.fullmatch(code) or len(code) not in (GRID_CODE_LENGTH, LEGACY_GRID_CODE_LENGTH):
        return (
            f"grid code {geojson.shown(code)} must be 15 digits (12-digit community code + "
            "3-digit serial) or 14 in the older layout (2-digit serial)"
        )
    if not code[UNIT_CODE_LENGTH:].strip("0"):
        return f"grid code {code} has serial {code[UNIT_CODE_LENGTH:]}; serials start at 1"
    return None


def canonical_grid_code(code: str) -> str:
    """The stored form of a grid code: a 14-digit code gets its 2-digit serial padded to 3."""
    if len(code) == LEGACY_GRID_CODE_LENGTH:
        return code[:UNIT_CODE_LENGTH] + "0" + code[UNIT_CODE_LENGTH:]
    return code


def component_code_problem(code: str) -> str | None:
    """Why a string is not a 16-digit component ID (6 county, 2 class, 2 subclass, 6 serial)."""
    if not _DIGITS.fullmatch(code) or len(code) != COMPONENT_CODE_LENGTH:
        return (
            f"component code {geojson.shown(code)} must be 16 digits: 6 county code, "
            "2 class, 2 subclass, 6 serial, e.g. 2111040101000001"
        )
    for label, part in (("class", code[6:8]), ("subclass", code[8:10]), ("serial", code[10:])):
        if not part.strip("0"):
            return f"component code {code} has {label} {part}; it must not be all zeros"
    return None


def point_code_problem(code: str) -> str | None:
    """Why a string is not an inspection point code, or None."""
    if not _POINT_CODE.fullmatch(code):
        return (
            f"point code {geojson.shown(code)} must be 1-32 letters, digits, '.', '-' or '_' "
            "starting with a letter or digit"
        )
    return None


def parse_status(value: str) -> str | None:
    """A component status from its English or Chinese name, or None when it names none."""
    key = value.strip()
    key = STATUS_ALIASES.get(key, key.lower())
    return key if key in COMPONENT_STATUSES else None


# --- snapshot -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    """A unit as the importer needs it."""

    id: int
    code: str
    name: str
    kind: str
    level: int
    parent_id: int | None


@dataclass(frozen=True)
class StoredGrid:
    """A grid already in the database, for overlap and gap checks and for locating points."""

    id: int
    code: str
    community_id: int
    community_code: str
    geometry: BaseGeometry


@dataclass
class Snapshot:
    """What the database holds of the things a file mentions."""

    units: dict[str, UnitRef] = field(default_factory=dict)
    existing: dict[str, dict[str, Any]] = field(default_factory=dict)
    boundaries: dict[int, BaseGeometry] = field(default_factory=dict)
    stored_grids: list[StoredGrid] = field(default_factory=list)
    departments: dict[str, int] = field(default_factory=dict)
    location_types: dict[str, bool] = field(default_factory=dict)
    replacing_community_id: int | None = None


class GridLocator:
    """Finds the grid under each of many points with one STRtree query.

    A point on an edge shared by several grids goes to the grid with the smallest code, so the
    answer never depends on the order in which grids were loaded.
    """

    def __init__(self, grids: Sequence[StoredGrid]) -> None:
        self.grids = sorted(grids, key=lambda grid: grid.code)
        shapes = np.empty(len(self.grids), dtype=object)
        shapes[:] = [grid.geometry for grid in self.grids]
        self.tree = shapely.STRtree(shapes)

    def locate(self, lons: Sequence[float], lats: Sequence[float]) -> list[StoredGrid | None]:
        """The grid covering each point, or None where no grid does."""
        if not self.grids or not lons:
            return [None] * len(lons)
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        pairs = self.tree.query(points, predicate="intersects")
        best = np.full(len(lons), -1, dtype=np.int64)
        if pairs.shape[1]:
            order = np.lexsort((pairs[1], pairs[0]))
            point_index, grid_index = pairs[0][order], pairs[1][order]
            first = np.ones(len(point_index), dtype=bool)
            first[1:] = point_index[1:] != point_index[:-1]
            best[point_index[first]] = grid_index[first]
        return [self.grids[i] if i >= 0 else None for i in best.tolist()]


def _chunks(values: Iterable[str]) -> list[list[str]]:
    """Distinct values in chunks small enough for an ``IN`` list."""
    unique = sorted(set(values))
    return [unique[i : i + LOOKUP_CHUNK] for i in range(0, len(unique), LOOKUP_CHUNK)]


async def load_units(session: AsyncSession, codes: Iterable[str]) -> dict[str, UnitRef]:
    """The units with these codes."""
    units: dict[str, UnitRef] = {}
    for batch in _chunks(c for c in codes if c):
        rows = await session.execute(
            select(
                AdminUnit.id,
                AdminUnit.code,
                AdminUnit.name,
                AdminUnit.kind,
                AdminUnit.level,
                AdminUnit.parent_id,
            ).where(AdminUnit.code.in_(batch))
        )
        for row in rows:
            units[row.code] = UnitRef(*row)
    return units


async def load_stored_grids(
    session: AsyncSession,
    *,
    box: tuple[float, float, float, float] | None = None,
    community_ids: Iterable[int] = (),
) -> list[StoredGrid]:
    """Stored grids whose box meets a lon/lat box, or that belong to some communities."""
    conditions = []
    if box is not None:
        min_lon, min_lat, max_lon, max_lat = box
        conditions.append(
            and_(
                Grid.min_lon <= max_lon,
                Grid.max_lon >= min_lon,
                Grid.min_lat <= max_lat,
                Grid.max_lat >= min_lat,
            )
        )
    ids = sorted(set(community_ids))
    if ids:
        conditions.append(Grid.community_id.in_(ids))
    if not conditions:
        return []
    found: dict[int, StoredGrid] = {}
    for condition in conditions:
        rows = await session.execute(
            select(Grid.id, Grid.code, Grid.community_id, AdminUnit.code, Grid.geometry)
            .join(AdminUnit, AdminUnit.id == Grid.community_id)
            .where(condition)
        )
        for grid_id, code, community_id, community_code, wkb in rows:
            found[grid_id] = StoredGrid(grid_id, code, community_id, community_code, from_wkb(wkb))
    return sorted(found.values(), key=lambda grid: grid.code)


def _text_value(feature: Feature, name: str) -> str:
    """A property as text for code lookups (non-strings become empty and are reported elsewhere)."""
    value = feature.properties.get(name)
    return value.strip() if isinstance(value, str) else ""


async def load_snapshot(
    session: AsyncSession,
    layer: Layer,
    parsed: Parsed,
    *,
    replacing_community_id: int | None = None,
) -> Snapshot:
    """Read what the database holds of the codes and places the parsed features mention."""
    features = parsed.features
    snapshot = Snapshot(replacing_community_id=replacing_community_id)
    codes = [_text_value(f, "code") for f in features]
    shapes = [f.geometry for f in features if f.geometry is not None]
    box = geojson.bounds_of(shapes)
    if layer in BOUNDARY_KINDS:
        snapshot.units = await load_units(session, codes)
        snapshot.existing = await _existing(session, layer, list(snapshot.units.values()))
        return snapshot
    if layer is Layer.GRID:
        snapshot.units = await load_units(
            session, (_text_value(f, "community_code") for f in features)
        )
        community_ids = [u.id for u in snapshot.units.values()]
        snapshot.boundaries = await _boundaries(session, community_ids)
        snapshot.existing = await _existing_by_code(
            session, Grid, [canonical_grid_code(c) for c in codes]
        )
        snapshot.stored_grids = await load_stored_grids(
            session, box=box, community_ids=community_ids
        )
        return snapshot
    snapshot.stored_grids = await load_stored_grids(session, box=box) if box else []
    unit_codes = [_text_value(f, "unit_code") for f in features]
    unit_codes += [grid.community_code for grid in snapshot.stored_grids]
    if layer is Layer.POINT:
        snapshot.units = await load_units(session, unit_codes)
        snapshot.existing = await _existing_by_code(session, InspectionPoint, codes)
        rows = await session.execute(select(LocationType.code, LocationType.active))
        snapshot.location_types = {code: bool(active) for code, active in rows}
        return snapshot
    unit_codes += [c[:6] + "0" * 6 for c in codes if len(c) >= 6]
    snapshot.units = await load_units(session, unit_codes)
    snapshot.existing = await _existing_by_code(session, Component, codes)
    department_codes = [
        _text_value(f, name)
        for f in features
        for name in ("owner_department_code", "maintainer_department_code")
    ]
    for batch in _chunks(c for c in department_codes if c):
        rows = await session.execute(
            select(Department.code, Department.id).where(Department.code.in_(batch))
        )
        snapshot.departments.update({code: dept_id for code, dept_id in rows})
    return snapshot


async def _boundaries(session: AsyncSession, unit_ids: Sequence[int]) -> dict[int, BaseGeometry]:
    """The stored boundaries of some units."""
    found: dict[int, BaseGeometry] = {}
    for start in range(0, len(unit_ids), LOOKUP_CHUNK):
        batch = list(unit_ids[start : start + LOOKUP_CHUNK])
        rows = await session.execute(
            select(Boundary.unit_id, Boundary.geometry).where(Boundary.unit_id.in_(batch))
        )
        found.update({unit_id: from_wkb(wkb) for unit_id, wkb in rows})
    return found


def _columns(model: type[Any]) -> list[str]:
    """The column names of a model that an import compares and writes."""
    skipped = {"id", "created_at", "updated_at"}
    return [c.key for c in model.__table__.columns if c.key not in skipped]


async def _existing(
    session: AsyncSession, layer: Layer, units: Sequence[UnitRef]
) -> dict[str, dict[str, Any]]:
    """The stored boundaries of units, as column values keyed by unit code."""
    code_of = {unit.id: unit.code for unit in units}
    columns = _columns(Boundary)
    found: dict[str, dict[str, Any]] = {}
    ids = sorted(code_of)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        batch = ids[start : start + LOOKUP_CHUNK]
        rows = await session.execute(
            select(*(getattr(Boundary, c) for c in columns)).where(Boundary.unit_id.in_(batch))
        )
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            found[code_of[values["unit_id"]]] = values
    return found


async def _existing_by_code(
    session: AsyncSession,
    model: type[Grid] | type[InspectionPoint] | type[Component],
    codes: Iterable[str],
) -> dict[str, dict[str, Any]]:
    """Stored rows of a coded layer as column values (with ``id``) keyed by code."""
    columns = ["id", *_columns(model)]
    found: dict[str, dict[str, Any]] = {}
    for batch in _chunks(c for c in codes if c):
        rows = await session.execute(
            select(*(getattr(model, c) for c in columns)).where(model.code.in_(batch))
        )
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            found[values["code"]] = values
    return found


# --- planning (pure) ------------------------------------------------------------------------------


@dataclass
class Candidate:
    """A feature that passed its own checks: the row it becomes and the unit that owns it."""

    index: int
    code: str
    values: dict[str, Any]
    owner_unit_id: int
    geometry: BaseGeometry | None = None


@dataclass
class Plan:
    """What an import will do, or the problems that stop it."""

    layer: Layer
    inserts: list[Candidate] = field(default_factory=list)
    updates: list[Candidate] = field(default_factory=list)
    unchanged: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    legacy_codes: list[dict[str, Any]] = field(default_factory=list)
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def candidates(self) -> list[Candidate]:
        """Every row of the file, in file order."""
        return sorted([*self.inserts, *self.updates, *self.unchanged], key=lambda c: c.index)

    @property
    def changed(self) -> bool:
        """Whether writing the plan changes the layer."""
        return bool(self.inserts or self.updates)


class _Checker:
    """Collects problems for one feature at a time."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.ok = True
        self.feature: Feature | None = None

    def start(self, feature: Feature) -> None:
        """Begin checking a feature."""
        self.feature = feature
        self.ok = feature.geometry is not None

    def problem(self, reason: str, code: str | None = None) -> None:
        """Record a problem of the current feature."""
        assert self.feature is not None
        self.plan.problems.append(Problem(self.feature.index, code or self.feature.code, reason))
        self.ok = False

    def text(self, name: str, *, required: bool) -> str | None:
        """A one-line text property, trimmed; empty means absent."""
        assert self.feature is not None
        value = self.feature.properties.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(f'property "{name}" is missing')
            return None
        if not isinstance(value, str):
            self.problem(f'property "{name}" must be text, not {geojson.shown(value)}')
            return None
        text = value.strip()
        limit = TEXT_LIMITS.get(name)
        if limit is not None and len(text) > limit:
            self.problem(f'property "{name}" has {len(text)} characters; at most {limit} fit')
            return None
        if _CONTROL_CHARACTERS.search(text):
            self.problem(f'property "{name}" must be one line without control characters')
            return None
        return text

    def synthetic(self) -> bool:
        """The optional ``synthetic`` flag (demo data)."""
        assert self.feature is not None
        value = self.feature.properties.get("synthetic", False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(f'property "synthetic" must be true or false, not {geojson.shown(value)}')
            return False
        return value

    def code(self, check: Callable[[str], str | None]) -> str | None:
        """The ``code`` property checked by a rule function returning a problem or None."""
        assert self.feature is not None
        raw = self.feature.properties.get("code")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            self.problem(f'property "code" must be text in quotes, not the number {raw}')
            return None
        code = self.text("code", required=True)
        if code is None:
            return None
        if problem := check(code):
            self.problem(problem)
            return None
        return code


def _geometry_values(shape: BaseGeometry) -> dict[str, Any]:
    """The stored geometry columns: WKB and bounding box."""
    box = box_of(shape)
    return {
        "geometry": to_wkb(shape),
        "min_lon": box.min_lon,
        "min_lat": box.min_lat,
        "max_lon": box.max_lon,
        "max_lat": box.max_lat,
    }


def _unit_kind_label(kinds: Sequence[UnitKind]) -> str:
    return " or ".join(kind.value for kind in kinds)


def _plan_boundaries(parsed: Parsed, snapshot: Snapshot, plan: Plan) -> list[Candidate]:
    """Street/town or community/village boundaries: the code must name a unit of that kind."""
    kinds = BOUNDARY_KINDS[plan.layer]
    other = Layer.COMMUNITY if plan.layer is Layer.STREET else Layer.STREET
    check = _Checker(plan)
    candidates: list[Candidate] = []
    for feature in parsed.features:
        check.start(feature)
        code = check.code(_unit_code_problem)
        synthetic = check.synthetic()
        if code is None:
            continue
        unit = snapshot.units.get(code)
        if unit is None:
            check.problem(f"no {_unit_kind_label(kinds)} with code {code} in the organisation")
            continue
        if unit.kind not in kinds:
            hint = (
                f"; import it with --layer {other.value}"
                if unit.kind in BOUNDARY_KINDS[other]
                else ""
            )
            check.problem(
                f"{code} ({unit.name}) is a {unit.kind}, not a {_unit_kind_label(kinds)}{hint}"
            )
            continue
        if not check.ok or feature.geometry is None:
            continue
        values = {
            "unit_id": unit.id,
            **_geometry_values(feature.geometry),
            "area_m2": area_m2(feature.geometry),
            "synthetic": synthetic,
        }
        owner = unit.parent_id if unit.parent_id is not None else unit.id
        candidates.append(Candidate(feature.index, code, values, owner, feature.geometry))
    return candidates


def _unit_code_problem(code: str) -> str | None:
    if not _DIGITS.fullmatch(code) or len(code) != UNIT_CODE_LENGTH:
        return (
            f"unit code {geojson.shown(code)} must be the 12-digit statistical code, "
            "e.g. 211104004000"
        )
    return None


def _plan_grids(parsed: Parsed, snapshot: Snapshot, plan: Plan) -> list[Candidate]:
    """Grids: code and community agree, the community exists, the attributes fit."""
    check = _Checker(plan)
    candidates: list[Candidate] = []
    for feature in parsed.features:
        check.start(feature)
        given = check.code(grid_code_problem)
        community_code = check.text("community_code", required=True)
        attributes = {
            name: check.text(name, required=False)
            for name in ("land_use", "management_grade", "responsible_party")
        }
        synthetic = check.synthetic()
        community: UnitRef | None = None
        if community_code is not None:
            community = snapshot.units.get(community_code)
            if community is None or community.kind not in COMMUNITY_KINDS:
                what = (
                    f"{community_code} ({community.name}) is a {community.kind}"
                    if community is not None
                    else f"there is no community or village {community_code}"
                )
                check.problem(f"unknown community_code: {what} in the organisation")
                community = None
        if given is None or community_code is None or community is None:
            continue
        if given[:UNIT_CODE_LENGTH] != community_code:
            check.problem(
                f"grid code {given} must start with its community's code {community_code}"
            )
            continue
        code = canonical_grid_code(given)
        if code != given:
            plan.legacy_codes.append({"index": feature.index, "code": given, "stored_as": code})
        if not check.ok or feature.geometry is None:
            continue
        values = {
            "code": code,
            "community_id": community.id,
            **_geometry_values(feature.geometry),
            "area_m2": area_m2(feature.geometry),
            **attributes,
            "synthetic": synthetic,
        }
        candidates.append(Candidate(feature.index, code, values, community.id, feature.geometry))
    return candidates


def _locate(
    features: Sequence[Feature], snapshot: Snapshot
) -> dict[int, tuple[float, float, StoredGrid | None]]:
    """The anchor point and grid of each feature with a geometry, by feature index."""
    with_shape = [f for f in features if f.geometry is not None]
    anchors = [geojson.anchor(f.geometry) for f in with_shape if f.geometry is not None]
    grids = GridLocator(snapshot.stored_grids).locate(
        [lon for lon, _ in anchors], [lat for _, lat in anchors]
    )
    return {
        f.index: (lon, lat, grid)
        for f, (lon, lat), grid in zip(with_shape, anchors, grids, strict=True)
    }


def _plan_points(parsed: Parsed, snapshot: Snapshot, plan: Plan) -> list[Candidate]:
    """Inspection points: a known active location type and an owning unit."""
    check = _Checker(plan)
    located = _locate(parsed.features, snapshot)
    units_by_id = {unit.id: unit for unit in snapshot.units.values()}
    candidates: list[Candidate] = []
    for feature in parsed.features:
        check.start(feature)
        code = check.code(point_code_problem)
        name = check.text("name", required=True)
        location_type = check.text("location_type", required=True)
        unit_code = check.text("unit_code", required=False)
        synthetic = check.synthetic()
        if location_type is not None:
            active = snapshot.location_types.get(location_type)
            if active is None:
                known = ", ".join(sorted(c for c, a in snapshot.location_types.items() if a))
                check.problem(f"unknown location_type {location_type!r}; use one of: {known}")
            elif not active:
                check.problem(f"location_type {location_type!r} is retired; choose another")
        lon, lat, grid = located.get(feature.index, (0.0, 0.0, None))
        unit: UnitRef | None = None
        if unit_code is not None:
            unit = snapshot.units.get(unit_code)
            if unit is None or unit.level < MIN_OWNER_LEVEL:
                check.problem(f"unknown unit_code: no district, street or community {unit_code}")
                unit = None
        elif grid is not None:
            unit = units_by_id.get(grid.community_id)
        elif feature.geometry is not None:
            check.problem(
                'property "unit_code" is missing, and the point lies in no grid whose '
                "community could own it"
            )
        if code is None or name is None or location_type is None or unit is None:
            continue
        if not check.ok or feature.geometry is None:
            continue
        values = {
            "code": code,
            "name": name,
            "location_type": location_type,
            **_geometry_values(feature.geometry),
            "geometry_type": geojson.geometry_type(feature.geometry),
            "lon": lon,
            "lat": lat,
            "unit_id": unit.id,
            "grid_id": grid.id if grid is not None else None,
            "synthetic": synthetic,
        }
        candidates.append(Candidate(feature.index, code, values, unit.id, feature.geometry))
    return candidates


def _plan_components(parsed: Parsed, snapshot: Snapshot, plan: Plan) -> list[Candidate]:
    """Components: a 16-digit ID whose county is their unit's district, a status, departments."""
    check = _Checker(plan)
    located = _locate(parsed.features, snapshot)
    units_by_id = {unit.id: unit for unit in snapshot.units.values()}
    candidates: list[Candidate] = []
    for feature in parsed.features:
        check.start(feature)
        code = check.code(component_code_problem)
        name = check.text("name", required=False)
        status_text = check.text("status", required=True)
        unit_code = check.text("unit_code", required=False)
        synthetic = check.synthetic()
        status = parse_status(status_text) if status_text is not None else None
        if status_text is not None and status is None:
            check.problem(
                f"unknown status {status_text!r}; use one of: {', '.join(COMPONENT_STATUSES)} "
                "(or 完好, 破损, 丢失, 占用)"
            )
        departments: dict[str, int | None] = {}
        for role in ("owner", "maintainer"):
            department_code = check.text(f"{role}_department_code", required=False)
            departments[role] = None
            if department_code is not None:
                departments[role] = snapshot.departments.get(department_code)
                if departments[role] is None:
                    check.problem(
                        f"unknown {role}_department_code: no department {department_code}"
                    )
        if code is None or feature.geometry is None:
            continue
        lon, lat, grid = located[feature.index]
        unit = _component_unit(check, code, unit_code, grid, snapshot, units_by_id)
        if unit is None or status is None or not check.ok:
            continue
        values = {
            "code": code,
            "class_code": code[6:8],
            "subclass_code": code[8:10],
            "name": name,
            "status": status,
            "owner_department_id": departments["owner"],
            "maintainer_department_id": departments["maintainer"],
            "lon": lon,
            "lat": lat,
            "grid_id": grid.id if grid is not None else None,
            "unit_id": unit.id,
            "synthetic": synthetic,
        }
        candidates.append(Candidate(feature.index, code, values, unit.id, feature.geometry))
    return candidates


def _component_unit(
    check: _Checker,
    code: str,
    unit_code: str | None,
    grid: StoredGrid | None,
    snapshot: Snapshot,
    units_by_id: dict[int, UnitRef],
) -> UnitRef | None:
    """The unit owning a component: as given, else the community of its grid, else its district.

    Whichever it is, the component code's first 6 digits must be that unit's district.
    """
    county = code[:6]
    if unit_code is not None:
        unit = snapshot.units.get(unit_code)
        if unit is None or unit.level < MIN_OWNER_LEVEL:
            check.problem(f"unknown unit_code: no district, street or community {unit_code}")
            return None
        where = f"unit {unit.code} ({unit.name})"
    elif grid is not None:
        found = units_by_id.get(grid.community_id)
        if found is None:
            check.problem(f"the community of grid {grid.code} was removed; run the import again")
            return None
        unit = found
        where = f"grid {grid.code} of {unit.code} ({unit.name})"
    else:
        district = snapshot.units.get(county + "0" * 6)
        if district is None:
            check.problem(
                f"lies in no grid, and there is no district {county}000000 to own it "
                "(the first 6 digits of the code)"
            )
            return None
        return district
    if unit.code[:6] != county:
        check.problem(
            f"code {code} starts with county {county}, but the component belongs to {where} "
            f"in county {unit.code[:6]}"
        )
        return None
    return unit


# --- topology (pure) ------------------------------------------------------------------------------


def _array(shapes: Sequence[BaseGeometry]) -> GeometryArray:
    """An object array of geometries (shapely's vectorised functions take these)."""
    array = np.empty(len(shapes), dtype=object)
    array[:] = list(shapes)
    return array


def to_metric(shapes: GeometryArray, origin_lat: float) -> GeometryArray:
    """Many lon/lat geometries in metres on one plane tangent at ``origin_lat``."""
    kx = METRES_PER_DEGREE * math.cos(math.radians(origin_lat))
    factors = np.array([kx, METRES_PER_DEGREE])
    result: GeometryArray = shapely.transform(shapes, lambda xy: xy * factors)
    return result


def significant_pieces(shape: BaseGeometry) -> list[Polygon]:
    """The polygon pieces of a metric geometry of at least ``SLIVER_M2``."""
    return [
        part
        for part in shapely.get_parts(shape)
        if isinstance(part, Polygon) and part.area >= SLIVER_M2
    ]


def _area_text(pieces: Sequence[Polygon]) -> str:
    return f"{sum(p.area for p in pieces):.1f} m²"


def grid_topology_problems(
    candidates: Sequence[Candidate],
    stored: Sequence[StoredGrid],
    boundaries: dict[int, BaseGeometry],
    community_codes: dict[int, str],
    *,
    check_gaps: bool = True,
) -> list[Problem]:
    """Grids outside their community, overlapping each other, or leaving gaps in a community.

    ``candidates`` are the file's grids; ``stored`` the grids already in the database that stay
    (those the file does not replace). Areas are measured in metres on one local plane.
    """
    new = [c for c in candidates if c.geometry is not None]
    if not new:
        return []
    shapes = [c.geometry for c in new if c.geometry is not None]
    everything = shapes + [grid.geometry for grid in stored]
    box = geojson.bounds_of(everything)
    assert box is not None
    origin_lat = (box[1] + box[3]) / 2
    metric = to_metric(_array(everything), origin_lat)
    metric_boundaries = {
        unit_id: to_metric(_array([shape]), origin_lat)[0] for unit_id, shape in boundaries.items()
    }
    problems: list[Problem] = []
    problems += _outside_problems(new, metric, metric_boundaries, community_codes)
    problems += _overlap_problems(new, stored, metric)
    if check_gaps:
        problems += _gap_problems(
            new, stored, metric, metric_boundaries, community_codes, origin_lat
        )
    return problems


def _community_of(candidate: Candidate) -> int:
    community_id: int = candidate.values["community_id"]
    return community_id


def _outside_problems(
    new: Sequence[Candidate],
    metric: GeometryArray,
    boundaries: dict[int, BaseGeometry],
    community_codes: dict[int, str],
) -> list[Problem]:
    """Grids that reach outside the stored boundary of their community."""
    problems: list[Problem] = []
    positions = [i for i, c in enumerate(new) if _community_of(c) in boundaries]
    if not positions:
        return problems
    outside = shapely.difference(
        metric[positions], _array([boundaries[_community_of(new[i])] for i in positions])
    )
    for position, part in zip(positions, outside, strict=True):
        pieces = significant_pieces(part)
        if pieces:
            candidate = new[position]
            problems.append(
                Problem(
                    candidate.index,
                    candidate.code,
                    f"lies partly outside the boundary of its community "
                    f"{community_codes[_community_of(candidate)]}: {_area_text(pieces)} outside",
                )
            )
    return problems


def _overlap_problems(
    new: Sequence[Candidate], stored: Sequence[StoredGrid], metric: GeometryArray
) -> list[Problem]:
    """Pairs of grids whose interiors overlap by more than slivers."""
    count = len(new)
    tree = shapely.STRtree(metric)
    pairs = tree.query(metric[:count], predicate="intersects")
    left, right = pairs[0], pairs[1]
    keep = (right >= count) | (right > left)
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    interiors = shapely.relate_pattern(metric[left], metric[right], "T********")
    left, right = left[interiors], right[interiors]
    overlaps = shapely.intersection(metric[left], metric[right])
    problems: list[Problem] = []
    for i, j, overlap in zip(left.tolist(), right.tolist(), overlaps, strict=True):
        pieces = significant_pieces(overlap)
        if not pieces:
            continue
        candidate = new[i]
        if j < count:
            other = f"grid {new[j].code} (feature {new[j].index})"
        else:
            other = f"the stored grid {stored[j - count].code}"
        problems.append(
            Problem(candidate.index, candidate.code, f"overlaps {other} by {_area_text(pieces)}")
        )
    return problems


def _gap_problems(
    new: Sequence[Candidate],
    stored: Sequence[StoredGrid],
    metric: GeometryArray,
    boundaries: dict[int, BaseGeometry],
    community_codes: dict[int, str],
    origin_lat: float,
) -> list[Problem]:
    """Parts of a community that its grids leave uncovered.

    With a stored boundary, the gaps are the boundary minus the grids; without one, the holes
    enclosed by the grids.
    """
    members: dict[int, list[BaseGeometry]] = defaultdict(list)
    for position, candidate in enumerate(new):
        members[_community_of(candidate)].append(metric[position])
    for position, grid in enumerate(stored, start=len(new)):
        if grid.community_id in members:
            members[grid.community_id].append(metric[position])
    problems: list[Problem] = []
    for community_id in sorted(members, key=lambda unit_id: community_codes[unit_id]):
        cover = shapely.union_all(_array(members[community_id]))
        boundary = boundaries.get(community_id)
        if boundary is not None:
            uncovered = shapely.difference(boundary, cover)
        else:
            uncovered = shapely.union_all(
                _array(
                    [
                        Polygon(ring)
                        for part in shapely.get_parts(cover)
                        if isinstance(part, Polygon)
                        for ring in part.interiors
                    ]
                )
            )
        pieces = significant_pieces(uncovered)
        if not pieces:
            continue
        largest = max(pieces, key=lambda piece: piece.area)
        where = from_local_metric(largest.representative_point(), origin_lat)
        assert isinstance(where, Point)
        inside = "inside its boundary" if boundary is not None else "enclosed by them"
        code = community_codes[community_id]
        problems.append(
            Problem(
                None,
                code,
                f"the grids of community {code} leave {len(pieces)} "
                f"gap{'s' if len(pieces) != 1 else ''} of {_area_text(pieces)} {inside} "
                f"(the largest, {largest.area:.1f} m², around {where.x:.6f}, {where.y:.6f})",
            )
        )
    return problems


# --- the plan -------------------------------------------------------------------------------------


def plan_layer(layer: Layer, parsed: Parsed, snapshot: Snapshot) -> Plan:
    """Check every parsed feature; list all problems, or what to insert, update and keep."""
    plan = Plan(layer)
    if layer in BOUNDARY_KINDS:
        candidates = _plan_boundaries(parsed, snapshot, plan)
    elif layer is Layer.GRID:
        candidates = _plan_grids(parsed, snapshot, plan)
    elif layer is Layer.POINT:
        candidates = _plan_points(parsed, snapshot, plan)
    else:
        candidates = _plan_components(parsed, snapshot, plan)
    seen: dict[str, Candidate] = {}
    unique: list[Candidate] = []
    given = {feature.index: feature.code for feature in parsed.features}
    for candidate in candidates:
        first = seen.get(candidate.code)
        if first is not None:
            plan.problems.append(
                Problem(
                    candidate.index,
                    given.get(candidate.index) or candidate.code,
                    f"code {candidate.code} appears twice in the file (first as feature "
                    f"{first.index})",
                )
            )
            continue
        seen[candidate.code] = candidate
        unique.append(candidate)
    if layer is Layer.GRID:
        complete = not parsed.problems and not plan.problems
        plan.problems += _grid_topology(unique, snapshot, check_gaps=complete)
    plan.problems.sort(key=lambda p: (p.index is None, p.index or 0))
    if plan.problems:
        return plan
    for candidate in unique:
        current = snapshot.existing.get(candidate.code)
        if current is None:
            plan.inserts.append(candidate)
            continue
        plan.previous[candidate.code] = current
        if layer not in BOUNDARY_KINDS:
            candidate.values["id"] = current["id"]
        if all(current.get(key) == value for key, value in candidate.values.items()):
            plan.unchanged.append(candidate)
        else:
            plan.updates.append(candidate)
    return plan


def _grid_topology(
    candidates: Sequence[Candidate], snapshot: Snapshot, *, check_gaps: bool
) -> list[Problem]:
    """The topology problems of a grid file against itself and the grids that stay stored.

    Gaps are looked for only when every feature of the file is usable: a feature refused for
    another reason would otherwise show up a second time as a gap.
    """
    replaced = {c.code for c in candidates}
    stored = [
        grid
        for grid in snapshot.stored_grids
        if grid.code not in replaced and grid.community_id != snapshot.replacing_community_id
    ]
    community_codes = {unit.id: unit.code for unit in snapshot.units.values()}
    community_codes.update({grid.community_id: grid.community_code for grid in stored})
    return grid_topology_problems(
        candidates, stored, snapshot.boundaries, community_codes, check_gaps=check_gaps
    )


# --- writing --------------------------------------------------------------------------------------


async def write_plan(session: AsyncSession, plan: Plan, now: datetime) -> None:
    """Insert the new rows and update the changed ones, in bulk; flushes only."""
    model = LAYER_MODELS[plan.layer]
    if plan.inserts:
        stamps: dict[str, datetime] = {"updated_at": now}
        if model is Grid:
            stamps["created_at"] = now
        await session.execute(insert(model), [{**c.values, **stamps} for c in plan.inserts])
    if plan.updates:
        await session.execute(
            update(model), [{**c.values, "updated_at": now} for c in plan.updates]
        )
    await session.flush()


def changed_box(plan: Plan) -> Box | None:
    """The lon/lat box around everything a plan changes, before and after."""
    boxes: list[tuple[float, float, float, float]] = []
    for candidate in [*plan.inserts, *plan.updates]:
        values = candidate.values
        if "min_lon" in values:
            boxes.append(
                (values["min_lon"], values["min_lat"], values["max_lon"], values["max_lat"])
            )
        previous = plan.previous.get(candidate.code)
        if previous is not None and "min_lon" in previous:
            boxes.append(
                (previous["min_lon"], previous["min_lat"], previous["max_lon"], previous["max_lat"])
            )
    if not boxes:
        return None
    return Box(
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
