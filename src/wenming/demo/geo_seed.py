"""The demo district's geography: SYNTHETIC boundaries, grids, inspection points and components.

Nothing here is surveyed. The township codes and names of 大洼区 are real (see ``seed.py``); every
shape below is invented around the district's real location (the urban centre near lon 122.08,
lat 40.99) so that the map, the point lookup and the reports have something plausible to work on:

- the district outline is an irregular polygon of about 1,700 km²;
- the five urban 街道 (大洼, 田家, 榆树, 王家, 于楼) share a compact urban core and 二界沟街道 is a
  small coastal patch; the ten 镇 tile the rest of the district;
- every street/town is split into its demo communities/villages by a Voronoi diagram over
  well-spread seed points whose shared edges are perturbed, so boundaries look drawn rather than
  ruled, while neighbours still share every vertex (no gap, no overlap);
- the urban communities get standard 10,000 m² grids from the platform's grid generator; each
  village is split into 3 to 8 rural grids along its village groups (about 15 km² each, far
  above what the square-cell generator makes) that go through the grid import;
- about 200 inspection points with invented names labelled （示例） (roads and lanes as lines;
  markets, parks, compounds as polygons; halls, hotels, stations as points) and 1,000
  components named after their subclass go through the same GeoJSON import and validation as
  any real data; each demo grid worker patrols the first grids of their community.

Everything is deterministic: one fixed random seed, so every install draws the same district.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import Conflict
from wenming.demo.seed import (
    DEMO_PEOPLE,
    DISTRICT_CODE,
    SYNTHETIC_LABEL,
    DemoUnit,
    community_units,
    is_seeded,
    township_units,
)
from wenming.geo import geojson
from wenming.geo.geometry import METRES_PER_DEGREE
from wenming.geo.models import Boundary, Component, Grid, GridWorker, InspectionPoint
from wenming.geo.service import assign_grid_workers, generate_grids, import_layer
from wenming.geo.version import Layer
from wenming.org.codes import UnitKind
from wenming.org.models import AdminUnit
from wenming.org.roles import Role

RANDOM_SEED = 20_261_127
COUNTY_CODE = DISTRICT_CODE[:6]

# The local plane (metres east and north) is centred here; lon/lat follow from it.
ORIGIN_LON, ORIGIN_LAT = 122.05, 40.90
URBAN_CENTRE = (122.08, 40.99)
# Where 二界沟街道's small coastal patch lies, as a direction and a share of the district radius.
COASTAL_BEARING_DEG = 232.0
COASTAL_RADIUS_SHARE = 0.82

DISTRICT_RADIUS_M = 23_300.0
URBAN_CORE_RADIUS_M = 1_100.0
COASTAL_PATCH_RADIUS_M = 480.0
COASTAL_STREET = "211104002000"  # 二界沟街道
CENTRAL_STREET = "211104004000"  # 大洼街道, the old county seat, in the middle of the core
# The other urban streets sit around the centre: (code, bearing in degrees, clockwise from north).
RING_STREETS: tuple[tuple[str, float], ...] = (
    ("211104009000", 10.0),  # 于楼街道, north
    ("211104007000", 95.0),  # 王家街道, east
    ("211104005000", 185.0),  # 田家街道, south
    ("211104006000", 275.0),  # 榆树街道, west
)

URBAN_CELL_AREA_M2 = 10_000.0  # the standard 万米单元网格, cut by the grid generator
RURAL_GRID_AREA_M2 = 15_000_000.0  # rural grids follow village groups: a few per village
RURAL_GRIDS_PER_VILLAGE = (3, 8)
GRIDS_PER_WORKER = 6  # each demo grid worker patrols the first grids of their community

# Components (部件): class -> (class name, owner department, maintainer department,
# [(subclass, name, weight, placed along roads)]). The classes are GB/T 30428.2's; the 公用设施
# subclasses are numbered in the order the reference lists them (上水井盖 = 01, as in the field
# example 3205080101000001); the other subclass numbers are the demo's own.
COMPONENT_CLASSES: dict[str, tuple[str, str, str, tuple[tuple[str, str, int, bool], ...]]] = {
    "01": (
        "公用设施",
        "211104-ZJJ",
        "211104-CGJ",
        (
            ("01", "上水井盖", 60, True),
            ("02", "污水井盖", 70, True),
            ("03", "雨水井盖", 80, True),
            ("04", "雨水箅子", 70, True),
            ("05", "电力井盖", 35, True),
            ("06", "路灯井盖", 25, True),
            ("07", "热力井盖", 30, True),
            ("08", "燃气井盖", 25, True),
            ("09", "公安井盖", 10, True),
            ("10", "消防设施", 25, False),
            ("11", "路灯", 120, True),
            ("12", "报刊亭", 6, True),
        ),
    ),
    "02": (
        "道路交通",
        "211104-JJDD",
        "211104-JJDD",
        (
            ("01", "交通信号灯", 20, True),
            ("02", "交通标志牌", 40, True),
            ("03", "道路护栏", 30, True),
            ("04", "公交站亭", 15, True),
            ("05", "停车场", 8, False),
        ),
    ),
    "03": (
        "市容环境",
        "211104-CGJ",
        "211104-HWZX",
        (
            ("01", "公共厕所", 12, False),
            ("02", "垃圾箱", 90, True),
            ("03", "垃圾收集站", 10, False),
            ("04", "户外广告", 25, True),
        ),
    ),
    "04": (
        "园林绿化",
        "211104-ZJJ",
        "211104-CGJ",
        (
            ("01", "古树名木", 4, False),
            ("02", "行道树", 60, True),
            ("03", "绿地", 20, False),
            ("04", "花坛", 15, False),
        ),
    ),
    "05": (
        "房屋土地",
        "211104-ZJJ",
        "211104-ZJJ",
        (("01", "宣传栏", 15, True), ("02", "人防工事", 3, False)),
    ),
    "06": (
        "其他设施",
        "211104-CGJ",
        "211104-CGJ",
        (("01", "监控电子眼", 25, True), ("02", "水质监测站", 2, False)),
    ),
}
COMPONENT_COUNT = 1_000
# Most components are intact; the rest are the kind of fault a patrol reports.
COMPONENT_STATUSES: tuple[tuple[str, int], ...] = (
    ("intact", 85),
    ("damaged", 7),
    ("missing", 3),
    ("occupied", 5),
)
RURAL_COMPONENT_SHARE = 0.08

ROAD_NAMES_EAST_WEST = ("向海大街", "兴盛路", "光明路", "园林路")
ROAD_NAMES_NORTH_SOUTH = ("锦华路", "新兴路", "育才路", "和平大街")
COMMERCIAL_STREET_NAMES = ("中兴商业街", "锦绣美食街", "滨河步行街", "鼎翔商业街", "东城夜市街")
COMPOUND_NAMES = (
    "金地家园", "锦华园", "阳光小区", "盛世华庭", "碧水湾", "康城", "翰林苑", "丽景小区",
    "御园", "新城花园", "福源里", "东方家园", "稻香园", "苇海人家", "蟹田小区", "滨河湾",
    "书香苑", "和谐家园", "龙湾小区", "晨光小区", "恒大名都", "紫荆苑", "向阳小区", "锦绣华城",
    "泰和园", "瑞景佳苑",
)  # fmt: skip
OLD_COMPOUND_NAMES = (
    "供销社家属院", "粮库家属楼", "化肥厂宿舍", "农机站家属院", "一中家属楼", "糖厂宿舍",
    "水利局家属院", "老邮局家属楼", "纺织厂宿舍", "建筑公司家属院", "百货大楼家属院",
    "食品厂宿舍", "电业局家属楼", "粮油加工厂宿舍",
)  # fmt: skip
PARK_NAMES = ("湿地公园", "人民公园", "滨河公园", "文化公园", "儿童公园", "苇海公园")
SQUARE_NAMES = ("文化广场", "人民广场", "体育广场", "市民广场", "稻乡广场")
SCHOOL_NAMES = (
    "实验小学", "第一小学", "第二小学", "第三小学", "第一初级中学", "第二初级中学",
    "高级中学", "职业中专", "育红小学", "新华小学", "向阳小学", "光明中学",
)  # fmt: skip
MALL_NAMES = ("兴隆百货", "大润发超市", "新玛特", "家乐福超市", "华联超市", "百姓超市")
HOSPITAL_NAMES = ("区人民医院", "区中医院", "区妇幼保健院", "区第二人民医院")
HOTEL_NAMES = (
    "锦江宾馆", "大洼宾馆", "红海滩酒店", "稻乡大酒店", "蟹都饭店", "湿地宾馆", "好运来饭店",
    "鑫源酒店", "金色家园宾馆", "老街饭店", "鼎盛酒楼", "渔家乐饭庄",
)  # fmt: skip
CULTURAL_NAMES = ("区图书馆", "区文化馆", "区博物馆", "区体育馆", "区影剧院")
STATION_NAMES = ("大洼客运站", "公交总站", "大洼火车站", "二界沟客运站")
SERVICE_HALL_NAMES = ("区政务服务中心", "区不动产登记大厅", "区社保服务大厅")
CONSTRUCTION_NAMES = (
    "锦华园二期工地", "实验小学扩建工地", "滨河路改造工地", "安置小区工地", "污水处理厂扩建工地",
    "体育中心工地",
)  # fmt: skip
MARKET_NAMES = (
    "中心农贸市场",
    "东城早市",
    "西城农贸市场",
    "北关集贸市场",
    "南环蔬菜市场",
    "水产品市场",
)

# How many inspection points of each location type the demo draws in the urban core.
URBAN_POINT_COUNTS: dict[str, int] = {
    # Large areas first, while there is room; then lines; then single buildings.
    "park": 6,
    "residential_compound": 20,
    "school_surroundings": 12,
    "old_compound": 10,
    "construction_site": 6,
    "square": 5,
    "market": 6,
    "mall_supermarket": 6,
    "commercial_street": 5,
    "back_lane": 16,
    "hospital": 4,
    "station": 3,
    "service_hall": 3,
    "hotel_restaurant": 8,
    "cultural_venue": 5,
    "patriotic_base": 1,
    "youth_centre": 1,
    "bus": 8,
}
# Location types drawn as polygons, with their side lengths in metres (min, max).
POLYGON_SIZES: dict[str, tuple[float, float]] = {
    "park": (120.0, 220.0),
    "residential_compound": (90.0, 170.0),
    "school_surroundings": (80.0, 140.0),
    "old_compound": (60.0, 110.0),
    "construction_site": (70.0, 130.0),
    "square": (60.0, 110.0),
    "market": (40.0, 80.0),
    "mall_supermarket": (40.0, 80.0),
}


@dataclass(frozen=True)
class DemoFeature:
    """One feature of a layer before import: its code, properties and geometry in lon/lat."""

    code: str
    properties: dict[str, Any]
    geometry: BaseGeometry

    def as_geojson(self) -> dict[str, Any]:
        """The RFC 7946 Feature."""
        return geojson.feature(self.geometry, {"code": self.code, **self.properties})


@dataclass
class DemoGeography:
    """The whole synthetic geography of the demo district, ready to import."""

    district: Polygon
    streets: dict[str, Polygon]  # every township-level unit: the 街道 and the 镇
    communities: dict[str, Polygon]  # every community (社区) and village (村)
    rural_grids: list[DemoFeature] = field(default_factory=list)
    points: list[DemoFeature] = field(default_factory=list)
    components: list[DemoFeature] = field(default_factory=list)


def feature_collection(features: Iterable[DemoFeature]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of demo features."""
    return geojson.collection(f.as_geojson() for f in features)


# --- the local plane ------------------------------------------------------------------------------

KX = METRES_PER_DEGREE * math.cos(math.radians(ORIGIN_LAT))
KY = METRES_PER_DEGREE


def plane_xy(lon: float, lat: float) -> tuple[float, float]:
    """A lon/lat position as metres east and north of the origin."""
    return ((lon - ORIGIN_LON) * KX, (lat - ORIGIN_LAT) * KY)


def to_lonlat(geometry: BaseGeometry) -> BaseGeometry:
    """A plane geometry in WGS-84 lon/lat. Not rounded: equal plane vertices map to equal lon/lat
    vertices, and vertices inserted on an edge stay on it, so neighbours neither overlap nor
    leave gaps."""
    return shapely.transform(geometry, lambda xy: xy / [KX, KY] + [ORIGIN_LON, ORIGIN_LAT])


def polygon_to_lonlat(shape: Polygon) -> Polygon:
    """A plane polygon in WGS-84 lon/lat."""
    converted = to_lonlat(shape)
    assert isinstance(converted, Polygon)
    return converted


# --- shapes ---------------------------------------------------------------------------------------


def wobbly_disc(
    rng: np.random.Generator,
    centre: tuple[float, float],
    radius: float,
    vertices: int,
    harmonics: Sequence[float],
) -> Polygon:
    """An irregular, star-shaped outline: a circle whose radius varies with a few random waves."""
    angles = np.linspace(0.0, 2 * math.pi, vertices, endpoint=False)
    radii = np.ones(vertices)
    for order, amplitude in enumerate(harmonics, start=2):
        radii += amplitude * np.sin(order * angles + rng.uniform(0, 2 * math.pi))
    radii += rng.normal(0.0, 0.006, vertices)
    xs = centre[0] + radius * radii * np.sin(angles)
    ys = centre[1] + radius * radii * np.cos(angles)
    return Polygon(zip(xs.tolist(), ys.tolist(), strict=True))


def random_points_in(rng: np.random.Generator, area: BaseGeometry, count: int) -> list[Point]:
    """Uniformly random points inside an area (rejection sampling in its bounding box)."""
    min_x, min_y, max_x, max_y = area.bounds
    shapely.prepare(area)
    found: list[Point] = []
    while len(found) < count:
        xs = rng.uniform(min_x, max_x, count * 4)
        ys = rng.uniform(min_y, max_y, count * 4)
        candidates = np.asarray(shapely.points(xs, ys))
        inside = candidates[shapely.contains(area, candidates)]
        found.extend(inside[: count - len(found)].tolist())
    return found


def spread_seeds(
    rng: np.random.Generator,
    area: BaseGeometry,
    count: int,
    fixed: Sequence[Point] = (),
    candidates: int = 400,
) -> list[Point]:
    """``count`` well-spread points inside an area, away from its edge and from ``fixed`` points:
    each is the candidate farthest from those already chosen (farthest-point sampling)."""
    pool = random_points_in(rng, area, candidates)
    xy = shapely.get_coordinates(pool)
    score = 2.0 * shapely.distance(area.boundary, np.asarray(pool))
    for taken in fixed:
        score = np.minimum(score, np.hypot(xy[:, 0] - taken.x, xy[:, 1] - taken.y))
    chosen: list[Point] = []
    for _ in range(count):
        best = int(np.argmax(score))
        chosen.append(pool[best])
        score = np.minimum(score, np.hypot(xy[:, 0] - xy[best, 0], xy[:, 1] - xy[best, 1]))
    return chosen


def perturbed_line(rng: np.random.Generator, line: LineString, roughness: float) -> LineString:
    """A line with its ends kept and its course bent by midpoint displacement, so that a shared
    border looks drawn by hand rather than ruled."""
    coords = [np.asarray(line.coords[0], dtype=float), np.asarray(line.coords[-1], dtype=float)]
    for _level in range(4):
        refined = [coords[0]]
        for start, end in itertools.pairwise(coords):
            segment = end - start
            length = float(np.hypot(*segment))
            normal = np.array([-segment[1], segment[0]]) / length if length else np.zeros(2)
            offset = rng.normal(0.0, roughness) * length
            refined.extend([(start + end) / 2 + normal * offset, end])
        coords = refined
    return LineString([tuple(c) for c in coords])


def largest_part(geometry: BaseGeometry) -> Polygon:
    """The biggest polygon of a (multi)polygon result."""
    parts = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, Polygon)]
    return max(parts, key=lambda part: part.area)


def make_contiguous(regions: list[BaseGeometry]) -> list[Polygon]:
    """Regions that each form one polygon: any detached piece joins the neighbour with which it
    shares the longest border, so the tiling stays exact."""
    shapes = list(regions)
    for index, shape in enumerate(shapes):
        parts = sorted(getattr(shape, "geoms", [shape]), key=lambda part: part.area, reverse=True)
        if len(parts) <= 1:
            continue
        shapes[index] = parts[0]
        for piece in parts[1:]:
            borders = [
                (piece.boundary.intersection(other.boundary).length, other_index)
                for other_index, other in enumerate(shapes)
                if other_index != index
            ]
            _length, neighbour = max(borders)
            shapes[neighbour] = shapely.union(shapes[neighbour], piece)
    return [largest_part(shape) if not isinstance(shape, Polygon) else shape for shape in shapes]


def partition(
    rng: np.random.Generator, outline: Polygon, seeds: Sequence[Point], roughness: float
) -> list[Polygon]:
    """Split an outline into one region per seed: a Voronoi diagram whose shared edges are
    perturbed, then re-noded with the untouched outline so that the regions tile it exactly."""
    if len(seeds) == 1:
        return [outline]
    frame = outline.buffer(outline.length)
    cells = list(
        shapely.voronoi_polygons(MultiPoint(list(seeds)), extend_to=frame, ordered=True).geoms
    )
    margin = outline.buffer(0.02 * math.sqrt(outline.area))
    edges: list[BaseGeometry] = []
    for i, first in enumerate(cells):
        for second in cells[i + 1 :]:
            shared = first.intersection(second)
            if shared.geom_type != "LineString" or shared.length == 0:
                continue
            clipped = shared.intersection(margin)
            for piece in getattr(clipped, "geoms", [clipped]):
                if isinstance(piece, LineString) and piece.length > 0:
                    edges.append(perturbed_line(rng, piece, roughness))
    network = shapely.union_all([*edges, outline.boundary])
    faces = [
        face
        for face in shapely.get_parts(shapely.polygonize(shapely.get_parts(network)))
        if outline.contains(face.representative_point())
    ]
    owners: list[list[BaseGeometry]] = [[] for _ in seeds]
    for face in faces:
        overlaps = [face.intersection(cell).area for cell in cells]
        owners[int(np.argmax(overlaps))].append(face)
    return make_contiguous([shapely.union_all(parts) for parts in owners])


# --- the administrative layout --------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The unit tree of the demo grouped for drawing: streets and towns with their children."""

    streets: list[DemoUnit]
    towns: list[DemoUnit]
    children: dict[str, list[DemoUnit]]


def demo_layout() -> Layout:
    """The demo's townships and their communities/villages, as ``seed.py`` creates them."""
    townships = township_units()
    children: dict[str, list[DemoUnit]] = {t.code: [] for t in townships}
    for unit in community_units(townships):
        assert unit.parent_code is not None
        children[unit.parent_code].append(unit)
    return Layout(
        streets=[t for t in townships if t.kind is UnitKind.STREET],
        towns=[t for t in townships if t.kind is UnitKind.TOWN],
        children=children,
    )


def bearing_point(centre: Point, bearing_deg: float, distance: float) -> Point:
    """The point at a distance from a centre in a compass direction."""
    angle = math.radians(bearing_deg)
    return Point(centre.x + distance * math.sin(angle), centre.y + distance * math.cos(angle))


def draw_boundaries(rng: np.random.Generator, layout: Layout) -> DemoGeography:
    """Streets, towns, communities and villages in the plane, each tiling its parent."""
    district = wobbly_disc(rng, (0.0, 0.0), DISTRICT_RADIUS_M, 96, (0.07, 0.05, 0.03, 0.02))
    core_centre = Point(plane_xy(*URBAN_CENTRE))
    core = wobbly_disc(rng, (core_centre.x, core_centre.y), URBAN_CORE_RADIUS_M, 48, (0.08, 0.05))
    coastal_centre = bearing_point(
        Point(0.0, 0.0), COASTAL_BEARING_DEG, COASTAL_RADIUS_SHARE * DISTRICT_RADIUS_M
    )
    coastal = wobbly_disc(
        rng, (coastal_centre.x, coastal_centre.y), COASTAL_PATCH_RADIUS_M, 32, (0.1, 0.05)
    )
    ring_seeds = [
        bearing_point(core_centre, bearing, 0.62 * URBAN_CORE_RADIUS_M)
        for _code, bearing in RING_STREETS
    ]
    core_codes = [CENTRAL_STREET, *(code for code, _bearing in RING_STREETS)]
    core_streets = partition(rng, core, [core_centre, *ring_seeds], roughness=0.06)
    street_shapes = dict(zip(core_codes, core_streets, strict=True))
    street_shapes[COASTAL_STREET] = coastal
    assert sorted(street_shapes) == sorted(s.code for s in layout.streets)

    town_seeds = spread_seeds(
        rng,
        district.difference(core.buffer(3_000)).difference(coastal.buffer(3_000)),
        len(layout.towns),
        fixed=[core_centre, coastal_centre],
    )
    town_cells = partition(rng, district, town_seeds, roughness=0.08)
    town_shapes = make_contiguous(
        [cell.difference(core).difference(coastal) for cell in town_cells]
    )
    shapes: dict[str, Polygon] = {**street_shapes}
    shapes.update(zip((t.code for t in layout.towns), town_shapes, strict=True))

    communities: dict[str, Polygon] = {}
    for township in [*layout.streets, *layout.towns]:
        outline = shapes[township.code]
        kids = layout.children[township.code]
        seeds = spread_seeds(rng, outline, len(kids))
        roughness = 0.07 if township.kind is UnitKind.STREET else 0.09
        communities.update(
            zip((kid.code for kid in kids), partition(rng, outline, seeds, roughness), strict=True)
        )
    return DemoGeography(
        district=district,
        streets={code: shape for code, shape in shapes.items()},
        communities=communities,
    )


# --- inspection points ----------------------------------------------------------------------------


def short_name(unit: DemoUnit) -> str:
    """A unit's name without its kind and the synthetic label: 向阳社区（示例） -> 向阳."""
    name = unit.name.removesuffix(SYNTHETIC_LABEL)
    for suffix in ("街道", "社区", "镇", "村"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def point_code(serial: int) -> str:
    """The code of the demo's n-th inspection point: county code, ``P`` and a 4-digit serial."""
    return f"{COUNTY_CODE}P{serial:04d}"


def rotated_rectangle(centre: Point, width: float, height: float, angle_deg: float) -> Polygon:
    """A rectangle of a size around a centre, turned by an angle (degrees, anticlockwise)."""
    half_w, half_h = width / 2, height / 2
    corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
    angle = math.radians(angle_deg)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    return Polygon(
        [(centre.x + x * cos_a - y * sin_a, centre.y + x * sin_a + y * cos_a) for x, y in corners]
    )


def straight_line(centre: Point, length: float, angle_deg: float) -> LineString:
    """A straight line of a length through a centre, turned anticlockwise from east (degrees)."""
    angle = math.radians(angle_deg)
    dx, dy = length / 2 * math.cos(angle), length / 2 * math.sin(angle)
    return LineString([(centre.x - dx, centre.y - dy), (centre.x + dx, centre.y + dy)])


def longest_line(geometry: BaseGeometry) -> LineString | None:
    """The longest line of a clipping result, or None when nothing linear is left."""
    lines = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, LineString)]
    lines = [line for line in lines if line.length > 0]
    return max(lines, key=lambda line: line.length) if lines else None


@dataclass
class PointDraft:
    """An inspection point in the plane, before it gets its code and lon/lat geometry."""

    name: str
    location_type: str
    shape: BaseGeometry


class PointPlanner:
    """Places inspection points without overlapping each other and names their owning unit."""

    def __init__(self, rng: np.random.Generator, geography: DemoGeography, grid_angle: float):
        """Start with the drawn boundaries and the orientation of the urban street grid."""
        self.rng = rng
        self.geography = geography
        self.grid_angle = grid_angle
        self.drafts: list[PointDraft] = []
        self.occupied: list[BaseGeometry] = []

    def add(self, name: str, location_type: str, shape: BaseGeometry) -> None:
        """Keep a placed point; areas and roads it covers are no longer free."""
        self.drafts.append(PointDraft(f"{name}{SYNTHETIC_LABEL}", location_type, shape))
        self.occupied.append(shape.buffer(12.0) if shape.geom_type != "Polygon" else shape)

    def is_free(self, shape: BaseGeometry) -> bool:
        """Whether a shape stays clear of everything placed so far."""
        return not any(shape.intersects(other) for other in self.occupied)

    def place(
        self,
        name: str,
        location_type: str,
        within: BaseGeometry | Callable[[], BaseGeometry],
        make: Callable[[Point], BaseGeometry],
    ) -> None:
        """Place a shape made around random centres until one fits, free, inside an area (or
        inside one of the areas a chooser offers, a fresh one every few tries)."""
        for _attempt in range(40):
            area = within() if callable(within) else within
            for centre in random_points_in(self.rng, area, 10):
                shape = make(centre)
                if area.contains(shape) and self.is_free(shape):
                    self.add(name, location_type, shape)
                    return
        raise AssertionError(f"no room for {name} ({location_type})")

    def polygon_maker(self, location_type: str) -> Callable[[Point], BaseGeometry]:
        """Rectangles of the type's typical size, aligned with the street grid."""
        low, high = POLYGON_SIZES[location_type]

        def make(centre: Point) -> BaseGeometry:
            """A rectangle of random size and slight tilt around a centre."""
            width, height = self.rng.uniform(low, high, 2)
            angle = self.grid_angle + float(self.rng.normal(0.0, 4.0))
            return rotated_rectangle(centre, float(width), float(height), angle)

        return make

    def line_maker(self, low: float, high: float) -> Callable[[Point], BaseGeometry]:
        """Straight lines of a length range, along or across the street grid."""

        def make(centre: Point) -> BaseGeometry:
            """A line of random length through a centre, along or across the grid."""
            across = 90.0 if self.rng.random() < 0.5 else 0.0
            angle = self.grid_angle + across + float(self.rng.normal(0.0, 3.0))
            return straight_line(centre, float(self.rng.uniform(low, high)), angle)

        return make

    def marker(self, centre: Point) -> BaseGeometry:
        """A point-shaped place."""
        return centre


def main_roads(
    rng: np.random.Generator, geography: DemoGeography, layout: Layout, grid_angle: float
) -> list[PointDraft]:
    """The main roads of the urban core cut into one inspection segment per street, plus the
    main road through each town's seat and through the coastal patch."""
    drafts: list[PointDraft] = []
    core_centre = Point(plane_xy(*URBAN_CENTRE))
    street_names = {street.code: short_name(street) for street in layout.streets}
    roads: list[tuple[str, LineString]] = []
    for index, name in enumerate(ROAD_NAMES_EAST_WEST[:3]):
        offset = (index - 1) * 620.0 + float(rng.normal(0.0, 40.0))
        centre = bearing_point(core_centre, 0.0 - grid_angle, offset)
        roads.append((name, straight_line(centre, 4_000.0, grid_angle)))
    for index, name in enumerate(ROAD_NAMES_NORTH_SOUTH[:3]):
        offset = (index - 1) * 650.0 + float(rng.normal(0.0, 40.0))
        centre = bearing_point(core_centre, 90.0 - grid_angle, offset)
        roads.append((name, straight_line(centre, 4_000.0, grid_angle + 90.0)))
    for road_name, road in roads:
        for code in (CENTRAL_STREET, *(code for code, _bearing in RING_STREETS)):
            piece = longest_line(road.intersection(geography.streets[code]))
            if piece is not None and piece.length >= 250.0:
                label = f"{road_name}（{street_names[code]}段）"
                drafts.append(PointDraft(f"{label}{SYNTHETIC_LABEL}", "main_road", piece))
    coastal = geography.streets[COASTAL_STREET]
    seat = polylabel(coastal, 5.0)
    for road_name, angle in ((ROAD_NAMES_EAST_WEST[3], 20.0), (ROAD_NAMES_NORTH_SOUTH[3], 110.0)):
        piece = longest_line(straight_line(seat, 2_000.0, angle).intersection(coastal))
        assert piece is not None
        label = f"{road_name}（{street_names[COASTAL_STREET]}段）"
        drafts.append(PointDraft(f"{label}{SYNTHETIC_LABEL}", "main_road", piece))
    for town in layout.towns:
        outline = geography.streets[town.code]
        seat = polylabel(outline, 50.0)
        line = straight_line(seat, 2_400.0, float(rng.uniform(0.0, 180.0)))
        piece = longest_line(line.intersection(outline))
        assert piece is not None
        name = f"{short_name(town)}镇中街"
        drafts.append(PointDraft(f"{name}{SYNTHETIC_LABEL}", "main_road", piece))
    return drafts


def draw_points(
    rng: np.random.Generator, geography: DemoGeography, layout: Layout
) -> list[PointDraft]:
    """About 200 inspection points across the location types: lines for roads and lanes,
    polygons for areas such as markets, parks and compounds, points for buildings."""
    grid_angle = float(rng.uniform(-12.0, 12.0))
    planner = PointPlanner(rng, geography, grid_angle)
    for road in main_roads(rng, geography, layout, grid_angle):
        planner.drafts.append(road)
        planner.occupied.append(road.shape.buffer(15.0))
    urban_codes = [kid.code for street in layout.streets for kid in layout.children[street.code]]
    core_codes = [code for code in urban_codes if not code.startswith(COASTAL_STREET[:9])]
    units = {unit.code: unit for units in layout.children.values() for unit in units}

    areas = np.array([geography.communities[code].area for code in core_codes])

    def urban_code() -> str:
        """A random community of the urban core, chosen by its area."""
        return core_codes[int(rng.choice(len(core_codes), p=areas / areas.sum()))]

    def urban_area() -> BaseGeometry:
        """The boundary of a random community of the urban core."""
        return geography.communities[urban_code()]

    names: dict[str, Iterable[str]] = {
        "commercial_street": COMMERCIAL_STREET_NAMES,
        "square": SQUARE_NAMES,
        "park": PARK_NAMES,
        "residential_compound": COMPOUND_NAMES,
        "old_compound": OLD_COMPOUND_NAMES,
        "construction_site": CONSTRUCTION_NAMES,
        "school_surroundings": SCHOOL_NAMES,
        "market": MARKET_NAMES,
        "mall_supermarket": MALL_NAMES,
        "hospital": HOSPITAL_NAMES,
        "station": STATION_NAMES,
        "service_hall": SERVICE_HALL_NAMES,
        "hotel_restaurant": HOTEL_NAMES,
        "cultural_venue": CULTURAL_NAMES,
        "patriotic_base": ("革命烈士纪念馆",),
        "youth_centre": ("区青少年活动中心",),
        "bus": tuple(f"{road}公交站" for road in ROAD_NAMES_EAST_WEST + ROAD_NAMES_NORTH_SOUTH),
    }
    lane_sides = ("东", "西", "南", "北", "前", "后")
    lanes_per_community: dict[str, int] = {}
    for location_type, count in URBAN_POINT_COUNTS.items():
        pool = iter(names.get(location_type, ()))
        for _ in range(count):
            if location_type == "back_lane":
                code = urban_code()
                area = geography.communities[code]
                serial = lanes_per_community.get(code, 0)
                lanes_per_community[code] = serial + 1
                name = f"{short_name(units[code])}{lane_sides[serial % len(lane_sides)]}巷"
                if serial >= len(lane_sides):
                    name = f"{name}{serial // len(lane_sides) + 1}"
                planner.place(name, location_type, area, planner.line_maker(150.0, 380.0))
            elif location_type == "commercial_street":
                planner.place(
                    next(pool), location_type,
                    lambda: geography.streets[urban_code()[:9] + "000"],
                    planner.line_maker(300.0, 560.0),
                )  # fmt: skip
            elif location_type in POLYGON_SIZES:
                maker = planner.polygon_maker(location_type)
                planner.place(next(pool), location_type, urban_area, maker)
            else:
                planner.place(next(pool), location_type, urban_area, planner.marker)
    district_seat = Point(plane_xy(*URBAN_CENTRE))
    planner.place(
        "大洼区新时代文明实践中心", "practice_centre",
        geography.streets[CENTRAL_STREET].intersection(district_seat.buffer(400.0)),
        planner.marker,
    )  # fmt: skip
    for township in [*layout.streets, *layout.towns]:
        outline = geography.streets[township.code]
        seat_area = outline.intersection(polylabel(outline, 20.0).buffer(1_500.0))
        planner.place(
            f"{township.name}新时代文明实践所", "practice_centre", seat_area, planner.marker
        )
        if township.kind is UnitKind.TOWN:
            town = short_name(township)
            planner.place(f"{town}集贸市场", "market", seat_area, planner.polygon_maker("market"))
            planner.place(
                f"{town}中心小学", "school_surroundings", seat_area,
                planner.polygon_maker("school_surroundings"),
            )  # fmt: skip
    for code in urban_codes:
        planner.place(
            f"{short_name(units[code])}社区党群服务中心", "community",
            geography.communities[code], planner.marker,
        )  # fmt: skip
    return planner.drafts


def owning_unit(shape: BaseGeometry, outlines: Sequence[tuple[str, BaseGeometry]]) -> str:
    """The first unit whose outline covers a shape, else the district."""
    for code, outline in outlines:
        if outline.covers(shape):
            return code
    return DISTRICT_CODE


def point_features(drafts: Sequence[PointDraft], geography: DemoGeography) -> list[DemoFeature]:
    """The inspection points as importable features, coded in the order they were drawn, each
    owned by the smallest unit covering it: community/village, else street/town, else the
    district (outlines are widened by a metre for lines clipped to a boundary)."""
    outlines = [
        (code, outline.buffer(1.0))
        for level in (geography.communities, geography.streets)
        for code, outline in level.items()
    ]
    return [
        DemoFeature(
            point_code(serial),
            {
                "name": draft.name,
                "location_type": draft.location_type,
                "unit_code": owning_unit(draft.shape, outlines),
            },
            to_lonlat(draft.shape),
        )
        for serial, draft in enumerate(drafts, start=1)
    ]


# --- components -----------------------------------------------------------------------------------


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split a total in proportion to weights, largest remainders first, summing exactly."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for index in order[: total - sum(counts)]:
        counts[index] += 1
    return counts


def component_code(class_code: str, subclass_code: str, serial: int) -> str:
    """A 16-digit component ID: 6-digit county, 2-digit class, 2-digit subclass, 6-digit serial."""
    return f"{COUNTY_CODE}{class_code}{subclass_code}{serial:06d}"


def draw_components(
    rng: np.random.Generator,
    geography: DemoGeography,
    layout: Layout,
    roads: Sequence[LineString],
) -> list[DemoFeature]:
    """About 1,000 components: road furniture along the roads and lanes of the urban areas, the
    rest spread over the urban communities, a few near each town's seat."""
    kinds = [
        (class_code, sub)
        for class_code, (_name, _owner, _maintainer, subs) in COMPONENT_CLASSES.items()
        for sub in subs
    ]
    counts = allocate(COMPONENT_COUNT, [sub[2] for _class, sub in kinds])
    statuses = [status for status, _weight in COMPONENT_STATUSES]
    status_weights = np.array([weight for _status, weight in COMPONENT_STATUSES], dtype=float)
    urban = shapely.union_all(
        [geography.communities[kid.code] for s in layout.streets for kid in layout.children[s.code]]
    )
    town_seats = [
        geography.streets[town.code].intersection(
            polylabel(geography.streets[town.code], 50.0).buffer(900.0)
        )
        for town in layout.towns
    ]
    road_lengths = np.array([road.length for road in roads])
    features: list[DemoFeature] = []
    for (class_code, (subclass, name, _weight, along_roads)), count in zip(
        kinds, counts, strict=True
    ):
        _class_name, owner, maintainer, _subs = COMPONENT_CLASSES[class_code]
        for serial in range(1, count + 1):
            if rng.random() < RURAL_COMPONENT_SHARE:
                seat = town_seats[int(rng.integers(len(town_seats)))]
                spot = random_points_in(rng, seat, 1)[0]
            elif along_roads:
                road = roads[int(rng.choice(len(roads), p=road_lengths / road_lengths.sum()))]
                spot = road_side_spot(rng, road, urban)
            else:
                spot = random_points_in(rng, urban, 1)[0]
            status = statuses[
                int(rng.choice(len(statuses), p=status_weights / status_weights.sum()))
            ]
            features.append(
                DemoFeature(
                    component_code(class_code, subclass, serial),
                    {
                        "name": name,
                        "status": status,
                        "owner_department_code": owner,
                        "maintainer_department_code": maintainer,
                    },
                    to_lonlat(spot),
                )
            )
    return features


def road_side_spot(rng: np.random.Generator, road: LineString, within: BaseGeometry) -> Point:
    """A random spot beside a road (5-14 m off its centre line) that lies inside an area."""
    for _attempt in range(100):
        along = float(rng.uniform(0.0, road.length))
        here = road.interpolate(along)
        ahead = road.interpolate(min(road.length, along + 1.0))
        behind = road.interpolate(max(0.0, along - 1.0))
        dx, dy = ahead.x - behind.x, ahead.y - behind.y
        length = math.hypot(dx, dy) or 1.0
        side = float(rng.choice([-1.0, 1.0])) * float(rng.uniform(5.0, 14.0))
        spot = Point(here.x - dy / length * side, here.y + dx / length * side)
        if within.contains(spot):
            return spot
    raise AssertionError("no road-side spot inside the urban area")


# --- rural grids ----------------------------------------------------------------------------------


def serial_order(shapes: Sequence[BaseGeometry]) -> list[int]:
    """Indexes of shapes in grid-code order: rows north→south, west→east within a row (a row is
    as tall as an average shape is wide)."""
    band = math.sqrt(sum(shape.area for shape in shapes) / len(shapes))
    top = max(shape.bounds[3] for shape in shapes)
    anchors = [shape.representative_point() for shape in shapes]
    return sorted(
        range(len(shapes)),
        key=lambda i: (math.floor((top - anchors[i].y) / band), anchors[i].x),
    )


def draw_rural_grids(
    rng: np.random.Generator, geography: DemoGeography, layout: Layout
) -> list[DemoFeature]:
    """Each village split into a few rural grids along its village groups (屯), coded like any
    grid (village code + serial, west→east then north→south)."""
    features: list[DemoFeature] = []
    low, high = RURAL_GRIDS_PER_VILLAGE
    for town in layout.towns:
        for village in layout.children[town.code]:
            outline = geography.communities[village.code]
            count = min(high, max(low, round(outline.area / RURAL_GRID_AREA_M2)))
            pieces = partition(rng, outline, spread_seeds(rng, outline, count), 0.1)
            for serial, index in enumerate(serial_order(pieces), start=1):
                features.append(
                    DemoFeature(
                        f"{village.code}{serial:03d}",
                        {
                            "community_code": village.code,
                            "land_use": "农林用地",
                            "management_grade": "三级",
                            "synthetic": True,
                        },
                        to_lonlat(pieces[index]),
                    )
                )
    return features


# --- the whole district ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def demo_geography() -> DemoGeography:
    """The demo district's whole synthetic geography in lon/lat (drawn once per process)."""
    rng = np.random.default_rng(RANDOM_SEED)
    layout = demo_layout()
    plane = draw_boundaries(rng, layout)
    drafts = draw_points(rng, plane, layout)
    urban = shapely.union_all([plane.streets[street.code] for street in layout.streets])
    roads = [
        draft.shape
        for draft in drafts
        if isinstance(draft.shape, LineString) and draft.shape.intersects(urban)
    ]
    return DemoGeography(
        district=polygon_to_lonlat(plane.district),
        streets={code: polygon_to_lonlat(shape) for code, shape in plane.streets.items()},
        communities={code: polygon_to_lonlat(s) for code, s in plane.communities.items()},
        points=point_features(drafts, plane),
        components=draw_components(rng, plane, layout, roads),
        rural_grids=draw_rural_grids(rng, plane, layout),
    )


# --- grid attributes ------------------------------------------------------------------------------

# What the main use of the land in a grid says about it: (land use, responsible party or None for
# the community as territorial fallback (属地兜底)), by the location type that covers most of it.
LAND_USE_BY_TYPE: dict[str, tuple[str, str | None]] = {
    "residential_compound": ("居住用地", None),
    "old_compound": ("居住用地", None),
    "construction_site": ("居住用地", None),
    "park": ("绿地与广场用地", "城管局（综合执法局）"),
    "square": ("绿地与广场用地", "城管局（综合执法局）"),
    "school_surroundings": ("公共管理与公共服务用地", None),
    "market": ("商业服务业设施用地", "市场监管局"),
    "mall_supermarket": ("商业服务业设施用地", "市场监管局"),
}
DOMINANT_SHARE = 0.25


def urban_grid_attributes(
    grid: BaseGeometry, points: Sequence[DemoFeature], places: shapely.STRtree
) -> dict[str, Any]:
    """Land use, management grade and responsible party of an urban grid from the places in it
    (``places`` indexes the points' shapes): grade 一级 where a main road or commercial street
    runs, 二级 elsewhere."""
    covered: dict[str, float] = {}
    busy = False
    commercial = False
    for position in places.query(grid, predicate="intersects"):
        point = points[int(position)]
        location_type = point.properties["location_type"]
        if location_type in LAND_USE_BY_TYPE:
            share = point.geometry.intersection(grid).area / grid.area
            covered[location_type] = covered.get(location_type, 0.0) + share
        elif location_type in ("main_road", "commercial_street"):
            busy = True
            commercial = commercial or location_type == "commercial_street"
    land_use, party = ("商业服务业设施用地" if commercial else "居住用地"), None
    if covered:
        dominant, share = max(covered.items(), key=lambda item: item[1])
        if share >= DOMINANT_SHARE:
            land_use, party = LAND_USE_BY_TYPE[dominant]
    return {
        "land_use": land_use,
        "management_grade": "一级" if busy else "二级",
        "responsible_party": party,
    }


# --- seeding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeoSeedSummary:
    """What the demo geography holds after seeding, and whether this call changed anything."""

    streets: int
    communities: int
    grids: int
    points: int
    components: int
    changed: bool


def boundary_collection(geography: DemoGeography, codes: Iterable[str]) -> dict[str, Any]:
    """Street or community boundaries as a FeatureCollection flagged synthetic."""
    shapes = {**geography.streets, **geography.communities}
    return feature_collection(
        DemoFeature(code, {"synthetic": True}, shapes[code]) for code in codes
    )


def flagged(features: Iterable[DemoFeature]) -> dict[str, Any]:
    """A FeatureCollection of demo features, each flagged synthetic."""
    return feature_collection(
        DemoFeature(f.code, {**f.properties, "synthetic": True}, f.geometry) for f in features
    )


async def grid_counts(session: AsyncSession) -> dict[str, int]:
    """How many grids each community or village has, by unit code."""
    rows = await session.execute(
        select(AdminUnit.code, func.count(Grid.id))
        .join(Grid, Grid.community_id == AdminUnit.id)
        .group_by(AdminUnit.code)
    )
    return {code: int(count) for code, count in rows.all()}


async def cut_urban_grids(
    session: AsyncSession, geography: DemoGeography, codes: Sequence[str], now: datetime
) -> bool:
    """Cut the standard grids of the urban communities that have none yet and describe them."""
    have = await grid_counts(session)
    missing = [code for code in codes if not have.get(code)]
    places = shapely.STRtree([point.geometry for point in geography.points])
    for code in missing:
        for grid in await generate_grids(session, code, URBAN_CELL_AREA_M2, now):
            shape = shapely.from_wkb(grid.geometry)
            attributes = urban_grid_attributes(shape, geography.points, places)
            grid.land_use = attributes["land_use"]
            grid.management_grade = attributes["management_grade"]
            grid.responsible_party = attributes["responsible_party"]
    await session.flush()
    return bool(missing)


async def staff_grids(session: AsyncSession) -> bool:
    """Give each demo grid worker the first grids of their community as their patrol area."""
    changed = False
    for person in DEMO_PEOPLE:
        if person.role is not Role.GRID_WORKER:
            continue
        patrol = await session.execute(
            select(Grid.code, GridWorker.user_id)
            .join(AdminUnit, AdminUnit.id == Grid.community_id)
            .outerjoin(GridWorker, GridWorker.grid_id == Grid.id)
            .where(AdminUnit.code == person.place)
            .order_by(Grid.code)
            .limit(GRIDS_PER_WORKER)
        )
        for code, worker in patrol.all():
            if worker is None:
                await assign_grid_workers(session, None, code, [person.username])
                changed = True
    return changed


async def count_rows(session: AsyncSession, model: type[Any]) -> int:
    """How many rows a table holds."""
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def seed_demo_geography(session: AsyncSession, now: datetime) -> GeoSeedSummary:
    """Seed the demo district's synthetic geography; a second call changes nothing.

    Needs the demo district (``seed_demo``) first. Everything goes through the geography import
    and grid generation that real data uses, so it passes the same validation. Flushes only:
    the caller commits.
    """
    if not await is_seeded(session):
        raise Conflict(
            "the demo geography needs the demo district first: seed it with `wenming demo` "
            "on an empty database"
        )
    geography = demo_geography()
    layout = demo_layout()
    urban = [kid.code for street in layout.streets for kid in layout.children[street.code]]
    villages = [kid.code for town in layout.towns for kid in layout.children[town.code]]
    townships = [street.code for street in [*layout.streets, *layout.towns]]
    reports = [
        await import_layer(session, Layer.STREET, boundary_collection(geography, townships), now),
        await import_layer(
            session, Layer.COMMUNITY, boundary_collection(geography, [*urban, *villages]), now
        ),
    ]
    cut = await cut_urban_grids(session, geography, urban, now)
    reports.append(await import_layer(session, Layer.GRID, flagged(geography.rural_grids), now))
    staffed = await staff_grids(session)
    reports.append(await import_layer(session, Layer.POINT, flagged(geography.points), now))
    reports.append(await import_layer(session, Layer.COMPONENT, flagged(geography.components), now))
    # Imported here, not at the top: the gazetteer is drawn from this module's roads and places.
    from wenming.demo.gazetteer_seed import seed_demo_gazetteer

    gazetteer = await seed_demo_gazetteer(session, now)
    boundaries = select(func.count()).select_from(Boundary).join(AdminUnit)
    return GeoSeedSummary(
        streets=int(
            await session.scalar(
                boundaries.where(AdminUnit.kind.in_([UnitKind.STREET.value, UnitKind.TOWN.value]))
            )
            or 0
        ),
        communities=int(
            await session.scalar(
                boundaries.where(
                    AdminUnit.kind.in_([UnitKind.COMMUNITY.value, UnitKind.VILLAGE.value])
                )
            )
            or 0
        ),
        grids=await count_rows(session, Grid),
        points=await count_rows(session, InspectionPoint),
        components=await count_rows(session, Component),
        changed=cut or staffed or gazetteer.changed or any(r.created or r.updated for r in reports),
    )
