"""The demo geography: synthetic shapes that tile exactly, points of every location type,
1,000 coded components, all stored through the real import, seeded once and deterministically."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.core.errors import Conflict
from wenming.demo import geo_seed
from wenming.demo.geo_seed import (
    COMPONENT_CLASSES,
    RANDOM_SEED,
    URBAN_CELL_AREA_M2,
    GeoSeedSummary,
    allocate,
    demo_geography,
    demo_layout,
    draw_boundaries,
    partition,
    seed_demo_geography,
    serial_order,
)
from wenming.demo.seed import SYNTHETIC_LABEL, seed_demo
from wenming.geo.geometry import area_m2, from_wkb
from wenming.geo.gridgen import square_cells
from wenming.geo.models import Boundary, Component, Grid, GridWorker, InspectionPoint
from wenming.geo.version import Layer, current_version
from wenming.org.models import AdminUnit, User

LAYOUT = demo_layout()
GEOGRAPHY = demo_geography()
STREET_CODES = [unit.code for unit in LAYOUT.streets]
TOWN_CODES = [unit.code for unit in LAYOUT.towns]
URBAN_COMMUNITIES = [kid.code for code in STREET_CODES for kid in LAYOUT.children[code]]
VILLAGES = [kid.code for code in TOWN_CODES for kid in LAYOUT.children[code]]
LOCATION_TYPES = {
    "main_road", "commercial_street", "back_lane", "square", "park", "residential_compound",
    "old_compound", "construction_site", "school_surroundings", "market", "mall_supermarket",
    "hospital", "station", "service_hall", "hotel_restaurant", "cultural_venue",
    "practice_centre", "community", "patriotic_base", "youth_centre", "bus",
}  # fmt: skip


def overlap_m2(shapes: list[Polygon]) -> float:
    """The total area, in m², where any two of the shapes overlap."""
    overlaps = (a.intersection(b) for a, b in itertools.combinations(shapes, 2))
    return sum(area_m2(overlap) for overlap in overlaps if not overlap.is_empty)


# --- the drawn shapes (pure) -------------------------------------------------------------------


def test_the_district_lies_around_dawa() -> None:
    district = GEOGRAPHY.district
    assert district.is_valid
    assert 1_600e6 < area_m2(district) < 1_850e6
    assert district.contains(Point(122.08, 40.99))
    assert GEOGRAPHY.streets["211104004000"].contains(Point(122.08, 40.99))
    min_lon, min_lat, max_lon, max_lat = district.bounds
    assert 121.7 < min_lon < max_lon < 122.4
    assert 40.6 < min_lat < max_lat < 41.2


def test_streets_and_towns_tile_the_district() -> None:
    shapes = [GEOGRAPHY.streets[code] for code in [*STREET_CODES, *TOWN_CODES]]
    assert len(shapes) == 16
    assert all(isinstance(shape, Polygon) and shape.is_valid for shape in shapes)
    assert overlap_m2(shapes) < 0.01
    union = shapely.union_all(shapes)
    assert abs(area_m2(union) - area_m2(GEOGRAPHY.district)) < 0.01
    assert area_m2(union.symmetric_difference(GEOGRAPHY.district)) < 0.01


@pytest.mark.parametrize("township", [*STREET_CODES, *TOWN_CODES])
def test_each_township_is_split_into_its_communities(township: str) -> None:
    outline = GEOGRAPHY.streets[township]
    kids = [GEOGRAPHY.communities[kid.code] for kid in LAYOUT.children[township]]
    assert len(kids) == (3 if township in STREET_CODES else 2)
    assert all(isinstance(kid, Polygon) and kid.is_valid and not kid.is_empty for kid in kids)
    assert overlap_m2(kids) < 0.01
    assert area_m2(shapely.union_all(kids).symmetric_difference(outline)) < 0.01


def test_urban_streets_are_small_and_towns_large() -> None:
    for code in STREET_CODES:
        assert 0.2e6 < area_m2(GEOGRAPHY.streets[code]) < 1.5e6, code
    for code in TOWN_CODES:
        assert 50e6 < area_m2(GEOGRAPHY.streets[code]) < 400e6, code


def test_the_same_seed_draws_the_same_district() -> None:
    first = draw_boundaries(np.random.default_rng(RANDOM_SEED), LAYOUT)
    again = draw_boundaries(np.random.default_rng(RANDOM_SEED), LAYOUT)
    assert first.district.equals_exact(again.district, 0.0)
    for code, shape in first.communities.items():
        assert shape.equals_exact(again.communities[code], 0.0), code


def test_partition_gives_each_seed_its_region() -> None:
    square = Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000)])
    seeds = [Point(200, 200), Point(800, 250), Point(500, 800)]
    regions = partition(np.random.default_rng(1), square, seeds, roughness=0.08)
    assert len(regions) == 3
    for region, seed in zip(regions, seeds, strict=True):
        assert region.contains(seed)
    assert abs(sum(region.area for region in regions) - square.area) < 1e-6
    assert partition(np.random.default_rng(1), square, seeds[:1], 0.08) == [square]


def test_allocate_splits_exactly() -> None:
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(1000, [60, 70, 80]) == [286, 333, 381]
    assert sum(allocate(1000, [3, 7, 11, 13])) == 1000


def test_serial_order_runs_west_to_east_then_north_to_south() -> None:
    def cell(x: float, y: float) -> Polygon:
        """A 10 by 10 square with its south-west corner at x, y."""
        return Polygon([(x, y), (x + 10, y), (x + 10, y + 10), (x, y + 10)])

    shapes = [cell(10, 0), cell(0, 10), cell(0, 0), cell(10, 10)]
    assert serial_order(shapes) == [1, 3, 2, 0]


def test_rural_grids_tile_their_villages() -> None:
    by_village: dict[str, list[Polygon]] = {}
    for grid in GEOGRAPHY.rural_grids:
        assert re.fullmatch(r"211104\d{9}", grid.code)
        assert grid.properties == {
            "community_code": grid.code[:12],
            "land_use": "农林用地",
            "management_grade": "三级",
            "synthetic": True,
        }
        assert isinstance(grid.geometry, Polygon)
        by_village.setdefault(grid.code[:12], []).append(grid.geometry)
    assert sorted(by_village) == sorted(VILLAGES)
    for village, grids in by_village.items():
        assert 3 <= len(grids) <= 8
        assert overlap_m2(grids) < 0.01
        outline = GEOGRAPHY.communities[village]
        assert area_m2(shapely.union_all(grids).symmetric_difference(outline)) < 0.01


def test_points_cover_every_location_type_with_all_three_shapes() -> None:
    points = GEOGRAPHY.points
    assert len(points) == 206
    assert [p.code for p in points] == [f"211104P{n:04d}" for n in range(1, 207)]
    assert set(Counter(p.properties["location_type"] for p in points)) == LOCATION_TYPES
    shapes = Counter(p.geometry.geom_type for p in points)
    assert shapes == {"Polygon": 91, "Point": 68, "LineString": 47}
    for point in points:
        assert point.properties["name"].endswith(SYNTHETIC_LABEL)
        kind = point.properties["location_type"]
        if kind in ("main_road", "commercial_street", "back_lane"):
            assert isinstance(point.geometry, LineString), point.code
        unit = point.properties["unit_code"]
        outline = GEOGRAPHY.communities.get(unit) or GEOGRAPHY.streets[unit]
        assert outline.buffer(1e-5).covers(point.geometry), point.code
    polygons = [p.geometry for p in points if isinstance(p.geometry, Polygon)]
    assert overlap_m2(polygons) == 0.0


def test_components_are_coded_and_mostly_intact() -> None:
    components = GEOGRAPHY.components
    assert len(components) == 1000
    codes = [c.code for c in components]
    assert len(set(codes)) == 1000
    for component in components:
        assert re.fullmatch(r"211104\d{10}", component.code)
        class_code, subclass = component.code[6:8], component.code[8:10]
        _name, owner, maintainer, subclasses = COMPONENT_CLASSES[class_code]
        names = {sub[0]: sub[1] for sub in subclasses}
        assert component.properties["name"] == names[subclass]
        assert component.properties["owner_department_code"] == owner
        assert component.properties["maintainer_department_code"] == maintainer
        assert isinstance(component.geometry, Point)
        assert GEOGRAPHY.district.contains(component.geometry)
    statuses = Counter(c.properties["status"] for c in components)
    assert set(statuses) == {"intact", "damaged", "missing", "occupied"}
    assert statuses["intact"] > 800
    assert min(statuses.values()) >= 20


# --- seeding the database ----------------------------------------------------------------------


async def test_geography_needs_the_demo_district(session: AsyncSession) -> None:
    with pytest.raises(Conflict, match="needs the demo district first"):
        await seed_demo_geography(session, NOW)


async def test_seeding_stores_everything_once_synthetic_placed_and_staffed(
    session: AsyncSession,
) -> None:
    await seed_demo(session, NOW)
    summary = await seed_demo_geography(session, NOW)

    urban = sum(
        len(square_cells(GEOGRAPHY.communities[code], URBAN_CELL_AREA_M2))
        for code in URBAN_COMMUNITIES
    )
    grids = urban + len(GEOGRAPHY.rural_grids)
    assert urban >= 300
    assert summary == GeoSeedSummary(
        streets=16, communities=38, grids=grids, points=206, components=1000, changed=True
    )
    versions = {layer: await current_version(session, layer) for layer in Layer}
    assert all(versions.values())

    again = await seed_demo_geography(session, NOW)
    assert again == GeoSeedSummary(
        streets=16, communities=38, grids=grids, points=206, components=1000, changed=False
    )
    assert {layer: await current_version(session, layer) for layer in Layer} == versions

    for model in (Boundary, Grid, InspectionPoint, Component):
        flags = (await session.scalars(select(model.synthetic).distinct())).all()
        assert flags == [True], model.__name__
    unplaced = await session.scalar(
        select(func.count()).select_from(Component).where(Component.grid_id.is_(None))
    )
    assert unplaced == 0
    unplaced_points = await session.scalar(
        select(func.count()).select_from(InspectionPoint).where(InspectionPoint.grid_id.is_(None))
    )
    assert unplaced_points == 0
    graded = Counter((await session.scalars(select(Grid.management_grade))).all())
    assert set(graded) == {"一级", "二级", "三级"}
    assert None not in Counter((await session.scalars(select(Grid.land_use))).all())

    staffed = (
        await session.execute(
            select(User.username, func.count(GridWorker.grid_id))
            .join(GridWorker, GridWorker.user_id == User.id)
            .group_by(User.username)
            .order_by(User.username)
        )
    ).all()
    assert staffed == [
        ("demo_grid_worker", 6),
        ("demo_grid_worker_2", 6),
        ("demo_grid_worker_3", 6),
        ("demo_grid_worker_4", 6),
    ]
    patrol = (
        await session.scalars(
            select(Grid.code)
            .join(GridWorker, GridWorker.grid_id == Grid.id)
            .join(User, User.id == GridWorker.user_id)
            .where(User.username == "demo_grid_worker")
            .order_by(Grid.code)
        )
    ).all()
    assert patrol == [f"211104004001{serial:03d}" for serial in range(1, 7)]
    boundary = await session.scalar(
        select(Boundary.geometry)
        .join(AdminUnit, AdminUnit.id == Boundary.unit_id)
        .where(AdminUnit.code == "211104004000")
    )
    assert boundary is not None
    stored = from_wkb(boundary).normalize()
    assert stored.equals_exact(GEOGRAPHY.streets["211104004000"].normalize(), 0.0)


def test_the_module_says_it_is_synthetic() -> None:
    assert geo_seed.__doc__ is not None
    assert "SYNTHETIC" in geo_seed.__doc__
    assert "Nothing here is surveyed." in geo_seed.__doc__
