"""Grid generation: square cells clipped to the boundary, slivers merged, numbered west→east then
north→south, stored through the import's validation; a second run changes nothing."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import (
    collection,
    create_boundaries,
    feature,
    lonlat,
    rect,
    rect_shape,
    ring,
)
from tests.factories.org import create_tree, create_user
from wenming.core.errors import Conflict, InvalidInput
from wenming.geo.geometry import area_m2, local_metric
from wenming.geo.gridgen import SLIVER_FRACTION, square_cells
from wenming.geo.models import Grid
from wenming.geo.service import assign_grid_workers, generate_grids, import_layer
from wenming.geo.version import Layer, current_version
from wenming.org.roles import Role

C1A = "211104004001"


def centre(shape: BaseGeometry) -> tuple[float, float]:
    """The metric centre of a lon/lat shape relative to the layout origin."""
    point = shape.centroid
    origin = lonlat(0, 0)
    moved = local_metric(shapely.Point(point.x - origin[0], point.y - origin[1]), origin_lat=41.0)
    return round(moved.x), round(moved.y)


def metric_area(shape: BaseGeometry) -> float:
    """The area in m² of a lon/lat shape, empty or not, on the layout's plane."""
    return float(local_metric(shape, origin_lat=41.0).area)


def symmetric_difference_m2(cells: list[BaseGeometry], boundary: BaseGeometry) -> float:
    """How far the union of the cells is from the boundary, in m²."""
    return metric_area(shapely.symmetric_difference(shapely.union_all(cells), boundary))


def test_cells_are_numbered_west_to_east_then_north_to_south() -> None:
    boundary = rect_shape(0, -100, 300, 100)
    cells = square_cells(boundary, 10_000)
    assert [centre(cell) for cell in cells] == [
        (50, 50),
        (150, 50),
        (250, 50),
        (50, -50),
        (150, -50),
        (250, -50),
    ]
    assert [round(area_m2(cell)) for cell in cells] == [10_000] * 6


def test_cells_cover_an_irregular_boundary_exactly_and_slivers_join_a_neighbour() -> None:
    # An L-shaped community whose width is not a multiple of the cell side: a 4 m strip.
    boundary = Polygon(ring([(0, 0), (304, 0), (304, 100), (100, 100), (100, 250), (0, 250)]))
    cells = square_cells(boundary, 10_000)
    assert symmetric_difference_m2(cells, boundary) < 0.01
    areas = [area_m2(cell) for cell in cells]
    assert min(areas) >= SLIVER_FRACTION * 10_000
    assert all(isinstance(cell, Polygon) and cell.is_valid for cell in cells)
    overlaps = sum(
        metric_area(shapely.intersection(a, b)) for i, a in enumerate(cells) for b in cells[i + 1 :]
    )
    assert overlaps < 0.01
    # Rows from the top (y 250): 150..250 one cell, then 50..150, then the remainder 0..50.
    assert [centre(cell) for cell in cells][:2] == [(50, 200), (50, 100)]
    assert round(sum(areas)) == round(area_m2(boundary))
    assert len(cells) == 7


def test_cells_follow_rfc_winding() -> None:
    cells = square_cells(rect_shape(0, 0, 200, 100), 10_000)
    assert all(shapely.LinearRing(cell.exterior.coords).is_ccw for cell in cells)


@pytest.mark.parametrize("area", [50.0, 2_000_000.0, float("nan")])
def test_cell_areas_outside_the_supported_range_are_refused(area: float) -> None:
    with pytest.raises(InvalidInput) as caught:
        square_cells(rect_shape(0, 0, 100, 100), area)
    assert caught.value.field == "cell_area"
    assert caught.value.detail.startswith("cell area must be between 100 and 1000000 m²")


def test_more_cells_than_a_serial_can_number_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        square_cells(rect_shape(-2000, -2000, 2000, 2000), 10_000)
    assert caught.value.detail == (
        "the community covers 16,000,000 m², about 1,600 cells of 10,000 m²; a grid code has "
        "room for 999. Use a larger cell area"
    )


async def test_generated_grids_are_stored_with_codes_and_a_rerun_changes_nothing(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    grids = await generate_grids(session, C1A, 10_000, NOW)
    assert [grid.code for grid in grids] == [f"{C1A}{n:03d}" for n in range(1, 9)]
    assert all(grid.community_id == tree.community.id for grid in grids)
    version = await current_version(session, Layer.GRID)
    again = await generate_grids(session, C1A, 10_000, NOW)
    assert [grid.id for grid in again] == [grid.id for grid in grids]
    assert await current_version(session, Layer.GRID) == version


async def test_regenerating_with_larger_cells_replaces_the_grids(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await generate_grids(session, C1A, 10_000, NOW)
    grids = await generate_grids(session, C1A, 40_000, NOW)
    assert [grid.code for grid in grids] == [f"{C1A}001", f"{C1A}002"]
    stored = (await session.scalars(select(Grid.code).order_by(Grid.code))).all()
    assert stored == [f"{C1A}001", f"{C1A}002"]


async def test_grids_with_workers_are_not_replaced(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    await generate_grids(session, C1A, 10_000, NOW)
    await assign_grid_workers(session, None, f"{C1A}005", ["worker"])
    with pytest.raises(Conflict) as caught:
        await generate_grids(session, C1A, 40_000, NOW)
    assert caught.value.detail == (
        "grids 211104004001005 have grid workers assigned and would change or go; unassign "
        "their workers first (PUT /api/v1/geo/grids/{code}/workers with an empty list)"
    )
    same = await generate_grids(session, C1A, 10_000, NOW)
    assert len(same) == 8


async def test_generation_needs_a_community_with_a_boundary(session: AsyncSession) -> None:
    await create_tree(session)
    with pytest.raises(InvalidInput) as missing:
        await generate_grids(session, C1A, 10_000, NOW)
    assert missing.value.detail == (
        "community 211104004001 (测试一社区) has no boundary yet; import it first: wenming geo "
        "import FILE --layer community"
    )
    with pytest.raises(InvalidInput) as street:
        await generate_grids(session, "211104004000", 10_000, NOW)
    assert street.value.detail == "no community or village 211104004000: 211104004000 is a street"


async def test_generated_grids_must_not_overlap_a_neighbours_grids(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await import_layer(
        session,
        Layer.GRID,
        collection(
            feature(
                rect(400, -100, 800, 100), code="211104004002001", community_code="211104004002"
            )
        ),
        NOW,
    )
    # Widen 测试一社区 so that it overlaps its neighbour's grid.
    await import_layer(
        session, Layer.COMMUNITY, collection(feature(rect(0, -100, 450, 100), code=C1A)), NOW
    )
    with pytest.raises(InvalidInput) as caught:
        await generate_grids(session, C1A, 10_000, NOW)
    problems = caught.value.extensions["problems"]
    assert [p["reason"] for p in problems] == [
        "overlaps the stored grid 211104004002001 by 5000.0 m²",
        "overlaps the stored grid 211104004002001 by 5000.0 m²",
    ]
    assert [p["code"] for p in problems] == [f"{C1A}005", f"{C1A}010"]
