"""The grid index answers exactly like a brute-force ``covers`` with the lowest-code rule, on edges,
vertices, holes and overlaps, in bulk and one point at a time; it follows the grid layer's version
stamp across caches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import (
    COMMUNITY_BOXES,
    create_boundaries,
    create_grids,
    grid_features,
    lonlat,
)
from tests.factories.org import create_tree
from wenming.geo.geometry import distance_m, from_wkb
from wenming.geo.index import (
    EMPTY_STAMP,
    GridIndex,
    GridIndexCache,
    GridShape,
    IndexStamp,
    build_grid_index,
    cache_for,
    grid_index,
    read_stamp,
)
from wenming.geo.models import Grid

# Hand-made layout in units of 1/1024° from (122°, 41°): every corner, every point on an edge at
# a fraction k/8 and every point on the 45° diagonal is exactly representable, so "on the edge"
# really is on the edge.
UNIT = 1.0 / 1024
LON0, LAT0 = 122.0, 41.0


def at(x: float, y: float) -> tuple[float, float]:
    """Lon/lat of a layout position."""
    return LON0 + x * UNIT, LAT0 + y * UNIT


def poly(shell: Sequence[tuple[float, float]], *holes: Sequence[tuple[float, float]]) -> Polygon:
    """A polygon from layout positions."""
    return Polygon([at(*p) for p in shell], [[at(*p) for p in hole] for hole in holes])


def square(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    """The corners of a layout rectangle, counter-clockwise."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


LAYOUT: dict[str, BaseGeometry] = {
    # 001: a square with an empty hole (1..2) and a hole (2.5..3.5) filled by grid 009.
    "211104004001001": poly(square(0, 0, 4, 4), square(1, 1, 2, 2), square(2.5, 2.5, 3.5, 3.5)),
    # 002 shares the edge x = 4 with 001; 008 overlaps it on 7..8 x 0..2.
    "211104004001002": poly(square(4, 0, 8, 4)),
    # 003 and 004 share the diagonal from (0, 4) to (4, 8).
    "211104004001003": poly([(0, 4), (4, 8), (0, 8)]),
    "211104004001004": poly([(0, 4), (4, 4), (4, 8)]),
    # 005 and 006 are two-part grids forming a chequerboard that meets at the vertex (6, 6).
    "211104004001005": MultiPolygon([poly(square(4, 4, 6, 6)), poly(square(6, 6, 8, 8))]),
    "211104004001006": MultiPolygon([poly(square(6, 4, 8, 6)), poly(square(4, 6, 6, 8))]),
    # 007 lies far off, so most of the bounding box is empty.
    "211104004001007": poly(square(20, 20, 21, 21)),
    "211104004001008": poly(square(7, 0, 9, 2)),
    "211104004001009": poly(square(2.5, 2.5, 3.5, 3.5)),
}


def layout_shapes() -> list[GridShape]:
    """The layout with ids that do not follow the code order."""
    return [
        GridShape(id=900 - n, code=code, geometry=geometry)
        for n, (code, geometry) in enumerate(LAYOUT.items())
    ]


def brute_force(shapes: Iterable[GridShape], lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """The id of the lowest-code grid that covers each point, -1 for none."""
    answer = np.full(lons.shape, -1, dtype=np.int64)
    for shape in sorted(shapes, key=lambda s: s.code, reverse=True):
        covered = shapely.intersects_xy(shape.geometry, lons, lats)
        answer[covered] = shape.id
    return answer


def edge_points(geometries: Iterable[BaseGeometry], steps: int = 8) -> np.ndarray:
    """Every vertex and the points at k/steps along every ring edge."""
    found = []
    for geometry in geometries:
        for part in shapely.get_parts(geometry):
            for ring in shapely.get_rings(part):
                coords = shapely.get_coordinates(ring)
                for a, b in pairwise(coords):
                    for k in range(steps):
                        found.append(a + (b - a) * (k / steps))
    return np.array(found)


def assert_matches_brute_force(index: GridIndex, shapes: list[GridShape], points: np.ndarray):
    """Bulk and single lookups both equal the brute force on every point."""
    lons, lats = points[:, 0], points[:, 1]
    expected = brute_force(shapes, lons, lats)
    assert index.locate_many(lons, lats).tolist() == expected.tolist()
    singles = [index.locate_point(float(x), float(y)) for x, y in points]
    assert [-1 if s is None else s for s in singles] == expected.tolist()
    return expected


def layout_points() -> np.ndarray:
    """Random points over and around the layout, plus every vertex and on-edge point."""
    rng = np.random.default_rng(3)
    spread = rng.uniform(-1, 22, size=(20_000, 2))
    random_points = np.column_stack(at(spread[:, 0], spread[:, 1]))
    return np.vstack([random_points, edge_points(LAYOUT.values())])


@pytest.mark.parametrize("cells_per_grid_side", [1, 4, 16, 64])
def test_every_point_resolves_like_brute_force_covers(cells_per_grid_side: int) -> None:
    shapes = layout_shapes()
    index = GridIndex(shapes, cells_per_grid_side=cells_per_grid_side)
    expected = assert_matches_brute_force(index, shapes, layout_points())
    # The layout has points in every grid, on shared edges and in holes.
    assert set(expected.tolist()) == {-1} | {s.id for s in shapes}


def code_at(index: GridIndex, x: float, y: float) -> str | None:
    """The code of the grid at a layout position."""
    found = index.locate_point(*at(x, y))
    return None if found is None else index.code_of(found)


def test_shared_edges_vertices_holes_and_overlaps_follow_the_rule() -> None:
    index = GridIndex(layout_shapes())
    assert code_at(index, 4, 2) == "211104004001001"  # edge shared by 001 and 002
    assert code_at(index, 4, 4) == "211104004001001"  # vertex of 001, 002, 004, 005
    assert code_at(index, 1, 5) == "211104004001003"  # the diagonal of 003 and 004
    assert code_at(index, 6, 6) == "211104004001005"  # where the two-part grids meet
    assert code_at(index, 5, 7) == "211104004001006"
    assert code_at(index, 1.5, 1.5) is None  # the empty hole of 001
    assert code_at(index, 1, 1.5) == "211104004001001"  # on that hole's ring
    assert code_at(index, 3, 3) == "211104004001009"  # in the island filling 001's other hole
    assert code_at(index, 2.5, 3) == "211104004001001"  # on the island's edge
    assert code_at(index, 7.5, 1) == "211104004001002"  # where 002 and 008 overlap
    assert code_at(index, 8.5, 1) == "211104004001008"
    assert code_at(index, 0, 0) == "211104004001001"
    assert code_at(index, 21, 21) == "211104004001007"  # the far corner of the bounding box
    assert code_at(index, 15, 15) is None
    assert code_at(index, -0.001, 2) is None


def test_answers_do_not_depend_on_the_order_grids_arrive_in() -> None:
    shapes = layout_shapes()
    points = layout_points()
    forward = GridIndex(shapes).locate_many(points[:, 0], points[:, 1])
    backward = GridIndex(list(reversed(shapes))).locate_many(points[:, 0], points[:, 1])
    assert forward.tolist() == backward.tolist()


def voronoi_shapes(count: int, seed: int) -> list[GridShape]:
    """Irregular grids tiling a rectangle (Voronoi cells of jittered points), shuffled codes."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(count))
    xs, ys = np.meshgrid(np.arange(side) + 0.5, np.arange(side) + 0.5)
    seeds = np.column_stack([xs.ravel(), ys.ravel()]) + rng.uniform(-0.4, 0.4, (side * side, 2))
    frame = shapely.box(0, 0, side, side)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    cells = shapely.transform(cells, lambda xy: xy * [0.002, 0.0015] + [LON0, LAT0])
    codes = rng.permutation(len(cells))
    return [
        GridShape(id=n + 1, code=f"211104004001{codes[n]:03d}", geometry=cell)
        for n, cell in enumerate(cells)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_irregular_tiling_resolves_like_brute_force(seed: int) -> None:
    shapes = voronoi_shapes(400, seed)
    index = GridIndex(shapes)
    lon_min, lat_min, lon_max, lat_max = shapely.total_bounds([s.geometry for s in shapes])
    rng = np.random.default_rng(seed)
    random_points = np.column_stack(
        [
            rng.uniform(lon_min - 0.001, lon_max + 0.001, 30_000),
            rng.uniform(lat_min - 0.001, lat_max + 0.001, 30_000),
        ]
    )
    points = np.vstack([random_points, edge_points([s.geometry for s in shapes], steps=4)])
    expected = assert_matches_brute_force(index, shapes, points)
    assert (expected == -1).sum() > 0
    assert 0 < index.boundary_cell_count < index.cell_count


def test_invalid_grid_is_repaired_before_indexing() -> None:
    bowtie = poly([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not bowtie.is_valid
    index = GridIndex([GridShape(1, "211104004001001", bowtie)])
    # Repaired into the two triangles left and right of the crossing at (1, 1).
    assert code_at(index, 0.2, 1) == "211104004001001"
    assert code_at(index, 1.8, 1) == "211104004001001"
    assert code_at(index, 1, 1) == "211104004001001"
    assert code_at(index, 1, 0.5) is None
    assert code_at(index, 1, 1.5) is None
    repaired = shapely.make_valid(bowtie)
    rng = np.random.default_rng(5)
    spread = rng.uniform(-0.5, 2.5, size=(5_000, 2))
    lons, lats = at(spread[:, 0], spread[:, 1])
    expected = np.where(shapely.intersects_xy(repaired, lons, lats), 1, -1)
    assert index.locate_many(lons, lats).tolist() == expected.tolist()


def test_grids_without_area_are_left_out() -> None:
    index = GridIndex(
        [
            GridShape(1, "211104004001001", Polygon()),
            GridShape(2, "211104004001002", poly(square(0, 0, 1, 1))),
        ]
    )
    assert index.size == 1
    assert index.grid_ids.tolist() == [2]


def test_an_empty_index_answers_nothing() -> None:
    index = GridIndex([])
    assert index.size == 0
    assert index.locate_point(122.0, 41.0) is None
    assert index.locate_many([122.0, 0.0], [41.0, 0.0]).tolist() == [-1, -1]
    assert index.nearest(122.0, 41.0) is None


def test_bulk_lookup_keeps_the_shape_and_ignores_non_finite_points() -> None:
    index = GridIndex(layout_shapes())
    inside = at(0.5, 0.5)
    lons = np.array([[inside[0], np.nan], [np.inf, inside[0]]])
    lats = np.array([[inside[1], inside[1]], [inside[1], -np.inf]])
    ids = index.locate_many(lons, lats)
    grid_001 = 900
    assert ids.tolist() == [[grid_001, -1], [-1, -1]]
    assert index.locate_point(float("nan"), inside[1]) is None
    with pytest.raises(ValueError, match="differ in shape"):
        index.locate_many([1.0, 2.0], [1.0])


def test_nearest_reports_the_closest_grid_and_its_distance_in_metres() -> None:
    index = GridIndex(layout_shapes())
    lon, lat = at(10, 1)
    grid_id, metres = index.nearest(lon, lat) or (0, 0.0)
    assert index.code_of(grid_id) == "211104004001008"
    assert metres == pytest.approx(distance_m(lon, lat, *at(9, 1)), abs=0.01)
    assert 81.0 < metres < 83.0  # 1/1024° of longitude at 41° N
    # Equally far from 001 and 003 (both 1/1024° west of x = 0 at y = 4): the lower code wins.
    tie_id, tie_metres = index.nearest(*at(-1, 4)) or (0, 0.0)
    assert index.code_of(tie_id) == "211104004001001"
    assert tie_metres == pytest.approx(distance_m(*at(-1, 4), *at(0, 4)), abs=0.01)
    # A covered point is 0 m from the grid that covers it.
    assert index.nearest(*at(4, 2)) == (index.locate_point(*at(4, 2)), 0.0)
    # From the middle of 001's empty hole the hole's west and east sides (half a unit of
    # longitude) are nearer than its north and south sides (half a unit of latitude).
    hole_metres = distance_m(*at(1.5, 1.5), *at(1, 1.5))
    assert index.nearest(*at(1.5, 1.5)) == (900, pytest.approx(hole_metres, abs=0.01))


# --- against the database: stamps, caches, rebuilds ---------------------------------------------


async def stored_shapes(session: AsyncSession) -> list[GridShape]:
    """Every stored grid, straight from its WKB."""
    rows = await session.execute(select(Grid.id, Grid.code, Grid.geometry))
    return [GridShape(i, code, from_wkb(wkb)) for i, code, wkb in rows]


async def test_stored_grids_resolve_like_brute_force(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, *COMMUNITY_BOXES)
    shapes = await stored_shapes(session)
    assert len(shapes) == 24
    index = await grid_index(session, GridIndexCache())
    rng = np.random.default_rng(11)
    west, south = lonlat(-50, -150)
    east, north = lonlat(1250, 150)
    random_points = np.column_stack(
        [rng.uniform(west, east, 20_000), rng.uniform(south, north, 20_000)]
    )
    on_lines = np.array(
        [lonlat(x, y) for x in range(0, 1201, 50) for y in (-100, -75, -50, 0, 50, 100)]
    )
    points = np.vstack([random_points, on_lines, edge_points([s.geometry for s in shapes])])
    expected = assert_matches_brute_force(index, shapes, points)
    assert set(expected.tolist()) == {-1} | {s.id for s in shapes}
    # The edge x = 400 m between communities 004001 and 004002 goes to the lower code.
    on_edge = index.locate_point(*lonlat(400, 50))
    assert on_edge is not None
    assert index.code_of(on_edge) == "211104004001004"


async def test_stamp_is_empty_until_the_grid_layer_first_changes(session: AsyncSession) -> None:
    assert await read_stamp(session) == EMPTY_STAMP
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, "211104004001")
    assert await read_stamp(session) == IndexStamp(1, NOW)


async def test_index_is_reused_until_the_version_moves_then_rebuilt(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, "211104004001")
    cache = GridIndexCache()
    first = await grid_index(session, cache)
    assert first.size == 8
    assert first.stamp.version == 1
    assert await grid_index(session, cache) is first
    assert cache.builds == 1
    in_new_grid = lonlat(450, 50)
    assert first.locate_point(*in_new_grid) is None

    await create_grids(session, "211104004002")  # the real import path bumps the version

    second = await grid_index(session, cache)
    assert second is not first
    assert second.stamp.version == 2
    assert second.size == 16
    found = second.locate_point(*in_new_grid)
    assert found is not None
    assert second.code_of(found) == "211104004002001"
    assert cache.builds == 2
    assert first.locate_point(*in_new_grid) is None  # an index never changes once built


async def test_a_second_process_cache_sees_the_new_version(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, "211104004001")
    worker_a, worker_b = GridIndexCache(), GridIndexCache()
    before_a = await grid_index(session, worker_a)
    before_b = await grid_index(session, worker_b)
    assert before_a.stamp == before_b.stamp

    await create_grids(session, "211104005001")

    # Worker B was not involved in the change; its next request reads the stamp and rebuilds.
    after_b = await grid_index(session, worker_b)
    assert after_b.stamp.version == before_b.stamp.version + 1
    found = after_b.locate_point(*lonlat(1150, -50))
    assert found is not None
    assert after_b.code_of(found) == "211104005001008"
    assert (await grid_index(session, worker_a)).stamp == after_b.stamp


async def test_an_older_snapshot_does_not_replace_a_newer_index(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, "211104004001")
    cache = GridIndexCache()
    current = await grid_index(session, cache)
    older = await cache.for_stamp(session, IndexStamp(current.stamp.version - 1, None))
    assert older is not current
    assert cache.current is current


async def test_sessions_share_the_cache_of_their_connection(session: AsyncSession) -> None:
    assert cache_for(session) is cache_for(session)
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, "211104004001")
    shared = await grid_index(session)
    assert await grid_index(session) is shared
    fresh = await build_grid_index(session)
    assert fresh is not shared
    assert fresh.stamp == shared.stamp
    assert fresh.grid_ids.tolist() == shared.grid_ids.tolist()


def test_grid_feature_numbering_used_above() -> None:
    codes = [f["properties"]["code"] for f in grid_features("211104005001")]
    assert codes[0] == "211104005001001"
    assert codes[-1] == "211104005001008"
