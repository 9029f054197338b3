"""The demo district's gazetteer: SYNTHETIC roads, door plates and named places (示例).

Nothing here is surveyed. The roads are the demo's road and lane inspection points (their pieces
joined by name: 兴盛路 is one road across the streets it crosses); door plates are set along
each road every ``PLATE_SPACING_M`` metres, odd numbers on the left of the drawing direction and
even numbers on the right, ``PLATE_OFFSET_M`` from the centre line, numbered from the start of
the road. Numbers ending in 7 are left out on purpose, so that the search has numbers to
interpolate; every plate whose number is a multiple of 20 has buildings 1 and 2 (栋). The named
places are the demo's markets, schools, compounds, hospitals, stations, malls, parks, squares,
hotels and venues, with the short names people use as aliases (区人民医院 → 人民医院,
第一初级中学 → 一中). Every row is flagged ``synthetic``. Deterministic: the demo geography is.

Everything goes through the gazetteer import, so it passes the validation real data does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.demo.geo_seed import DemoFeature, demo_geography, feature_collection
from wenming.demo.seed import DISTRICT_CODE
from wenming.geo.gazetteer.importer import import_gazetteer
from wenming.geo.gazetteer.models import DoorPlate, NamedPlace, Road
from wenming.geo.geometry import from_local_metric, local_metric
from wenming.geo.version import Layer

PLATE_SPACING_M = 40.0
PLATE_OFFSET_M = 12.0
MISSING_LAST_DIGIT = 7
BUILDINGS_EVERY = 20
ROAD_TYPES = ("main_road", "commercial_street", "back_lane")
PLACE_TYPES = {
    "market": "market",
    "school_surroundings": "school",
    "residential_compound": "compound",
    "old_compound": "compound",
    "hospital": "hospital",
    "station": "station",
    "mall_supermarket": "mall",
    "park": "park",
    "square": "square",
    "hotel_restaurant": "hotel",
    "cultural_venue": "venue",
}
ROAD_ALIASES = {
    "向海大街": ["向海街"],
    "和平大街": ["和平街"],
    "兴盛路": ["兴盛大路"],
    "锦华路": ["锦华大道"],
}
_NOTES = re.compile(r"（[^（）]*）")
SCHOOL_SHORT = {"第一初级中学": "一中", "第二初级中学": "二中", "高级中学": "高中"}


def base_name(name: str) -> str:
    """A demo name without its notes: 兴盛路（大洼段）（示例） → 兴盛路."""
    return _NOTES.sub("", name)


def place_aliases(name: str) -> list[str]:
    """The short names people use for a place."""
    aliases: list[str] = []
    if name in SCHOOL_SHORT:
        aliases.append(SCHOOL_SHORT[name])
    if name.startswith("区") and len(name) > 3:
        aliases.append(name[1:])
    if name.endswith("农贸市场") and len(name) > 4:
        aliases.append(name[: -len("农贸市场")] + "市场")
    if name.endswith("小区") and len(name) > 3:
        aliases.append(name[: -len("小区")])
    return aliases


def owner(shape: BaseGeometry, outlines: Sequence[tuple[str, BaseGeometry]]) -> str:
    """The smallest unit whose outline covers a shape, else the district."""
    for code, outline in outlines:
        if outline.covers(shape):
            return code
    return DISTRICT_CODE


@dataclass(frozen=True)
class DemoGazetteer:
    """The gazetteer layers as features, ready to import."""

    roads: list[DemoFeature]
    plates: list[DemoFeature]
    places: list[DemoFeature]


def _parts(shape: BaseGeometry) -> list[LineString]:
    """The lines of a (multi)line, longest first."""
    lines = [g for g in getattr(shape, "geoms", [shape]) if isinstance(g, LineString)]
    return sorted(lines, key=lambda line: -line.length)


def draw_plates(road_code: str, road: BaseGeometry, origin_lat: float) -> list[DemoFeature]:
    """Door plates along both sides of a road (lon/lat line)."""
    plates: list[DemoFeature] = []
    odd, even = 1, 2
    for part in _parts(local_metric(road, origin_lat)):
        steps = int(part.length // PLATE_SPACING_M)
        for step in range(steps + 1):
            distance = min(part.length, step * PLATE_SPACING_M + PLATE_SPACING_M / 4)
            for side, number in ((1.0, odd), (-1.0, even)):
                spot = part.offset_curve(side * PLATE_OFFSET_M).interpolate(distance)
                if number % 10 != MISSING_LAST_DIGIT:
                    plates.extend(_plate(road_code, number, spot, origin_lat))
            odd, even = odd + 2, even + 2
    return plates


def _plate(road_code: str, number: int, spot: BaseGeometry, origin_lat: float) -> list[DemoFeature]:
    """A plate (and its buildings, for every ``BUILDINGS_EVERY``-th number) at a metric spot."""
    point = from_local_metric(spot, origin_lat)
    base = {"road_code": road_code, "number": number}
    features = [DemoFeature(f"{road_code}-{number:04d}", base, point)]
    if number % BUILDINGS_EVERY == 0:
        for building in (1, 2):
            features.append(
                DemoFeature(
                    f"{road_code}-{number:04d}-{building}",
                    {**base, "building": str(building)},
                    point,
                )
            )
    return features


@lru_cache(maxsize=1)
def demo_gazetteer() -> DemoGazetteer:
    """The synthetic gazetteer of the demo district (drawn once per process)."""
    geography = demo_geography()
    outlines = [
        (code, outline.buffer(0.0001))
        for level in (geography.communities, geography.streets)
        for code, outline in level.items()
    ]
    pieces: dict[str, list[BaseGeometry]] = {}
    for point in geography.points:
        if point.properties["location_type"] in ROAD_TYPES:
            pieces.setdefault(base_name(point.properties["name"]), []).append(point.geometry)
    origin_lat = float(geography.district.centroid.y)
    roads: list[DemoFeature] = []
    plates: list[DemoFeature] = []
    for serial, (name, shapes) in enumerate(sorted(pieces.items()), start=1):
        merged = shapely.line_merge(shapely.union_all(shapes))
        if not isinstance(merged, LineString | MultiLineString):
            continue
        code = f"{DISTRICT_CODE[:6]}-R{serial:03d}"
        properties: dict[str, Any] = {
            "name": name,
            "unit_code": owner(merged, outlines),
        }
        if name in ROAD_ALIASES:
            properties["aliases"] = ROAD_ALIASES[name]
        roads.append(DemoFeature(code, properties, merged))
        plates.extend(draw_plates(code, merged, origin_lat))
    places: list[DemoFeature] = []
    for point in geography.points:
        place_type = PLACE_TYPES.get(point.properties["location_type"])
        if place_type is None:
            continue
        name = base_name(point.properties["name"])
        spot = point.geometry.representative_point()
        assert isinstance(spot, Point)
        properties = {
            "name": name,
            "place_type": place_type,
            "unit_code": point.properties["unit_code"],
        }
        aliases = place_aliases(name)
        if aliases:
            properties["aliases"] = aliases
        places.append(DemoFeature(f"{DISTRICT_CODE[:6]}-P{len(places) + 1:03d}", properties, spot))
    return DemoGazetteer(roads=roads, plates=plates, places=places)


def _flagged(features: Iterable[DemoFeature]) -> dict[str, Any]:
    """Features flagged synthetic, as a FeatureCollection."""
    return feature_collection(
        DemoFeature(f.code, {**f.properties, "synthetic": True}, f.geometry) for f in features
    )


@dataclass(frozen=True)
class GazetteerSeedSummary:
    """What the demo gazetteer holds after seeding, and whether this call changed anything."""

    roads: int
    plates: int
    places: int
    changed: bool


async def seed_demo_gazetteer(session: AsyncSession, now: datetime) -> GazetteerSeedSummary:
    """Import the demo gazetteer (after the demo geography); a second call changes nothing."""
    gazetteer = demo_gazetteer()
    reports = [
        await import_gazetteer(session, Layer.ROAD, _flagged(gazetteer.roads), now),
        await import_gazetteer(session, Layer.ADDRESS, _flagged(gazetteer.plates), now),
        await import_gazetteer(session, Layer.PLACE, _flagged(gazetteer.places), now),
    ]

    async def count(model: type[Road] | type[DoorPlate] | type[NamedPlace]) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return GazetteerSeedSummary(
        roads=await count(Road),
        plates=await count(DoorPlate),
        places=await count(NamedPlace),
        changed=any(r.created or r.updated for r in reports),
    )
