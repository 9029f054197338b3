"""Import validation against the database: each kind of refusal with its exact problems, and a
refused file writes nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import (
    collection,
    create_boundaries,
    create_grids,
    feature,
    grid_features,
    lonlat,
    point,
    rect,
)
from tests.factories.org import create_tree
from wenming.geo.geojson import Problem
from wenming.geo.models import (
    Boundary,
    Component,
    Grid,
    InspectionPoint,
    LocationType,
    SpatialVersion,
)
from wenming.geo.service import GeoImportError, import_layer
from wenming.geo.version import Layer

C1A = "211104004001"
C1B = "211104004002"


async def refused(session: AsyncSession, layer: Layer, value: dict[str, Any]) -> list[str]:
    """The problems of a refused import, as the command line prints them."""
    with pytest.raises(GeoImportError) as caught:
        await import_layer(session, layer, value, NOW)
    assert caught.value.status == 422
    assert caught.value.problem()["problems"] == caught.value.problems
    return [str(Problem(**p)) for p in caught.value.problems]


async def state(session: AsyncSession) -> tuple[int, ...]:
    """Rows of every geography table and the sum of the layer versions."""
    counts = [
        int(await session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Boundary, Grid, InspectionPoint, Component)
    ]
    versions = int(await session.scalar(select(func.sum(SpatialVersion.version))) or 0)
    return (*counts, versions)


def grid(code: str, x0: float, y0: float, x1: float, y1: float, **extra: Any) -> dict[str, Any]:
    """A grid feature of a metric rectangle in the community its code names."""
    return feature(rect(x0, y0, x1, y1), code=code, community_code=code[:12], **extra)


# --- boundaries -----------------------------------------------------------------------------------


async def test_boundary_codes_must_name_units_of_the_layers_kind(session: AsyncSession) -> None:
    await create_tree(session)
    value = collection(
        feature(rect(0, 0, 10, 10), code="211104009000"),
        feature(rect(0, 0, 10, 10), code=C1A),
        feature(rect(0, 0, 10, 10), code="211104000000"),
        feature(rect(0, 0, 10, 10), code="2111040040"),
        feature(rect(0, 0, 10, 10), code=211104004000),
        feature(rect(0, 0, 10, 10)),
    )
    assert await refused(session, Layer.STREET, value) == [
        "feature 0 (211104009000): no street or town with code 211104009000 in the organisation",
        "feature 1 (211104004001): 211104004001 (测试一社区) is a community, not a street or "
        "town; import it with --layer community",
        "feature 2 (211104000000): 211104000000 (大洼区) is a district, not a street or town",
        "feature 3 (2111040040): unit code '2111040040' must be the 12-digit statistical code, "
        "e.g. 211104004000",
        'feature 4 (211104004000): property "code" must be text in quotes, not the number '
        "211104004000",
        'feature 5: property "code" is missing',
    ]
    assert await state(session) == (0, 0, 0, 0, 0)


# --- grids: codes and attributes ------------------------------------------------------------------


async def test_grid_codes_and_communities_are_checked(session: AsyncSession) -> None:
    await create_tree(session)
    value = collection(
        grid("2111040040010011", 0, 0, 10, 10),
        grid("211104004001000", 0, 0, 10, 10),
        feature(rect(0, 0, 10, 10), code="211104004002001", community_code=C1A),
        grid("211104009001001", 0, 0, 10, 10),
        grid("211104004000001", 0, 0, 10, 10),
        feature(rect(0, 0, 10, 10), code="211104004001009"),
        grid("211104004001010", 0, 0, 10, 10, land_use="x" * 51, management_grade=3),
        grid("211104004001011", 0, 0, 10, 10, responsible_party="物业\n公司", synthetic="yes"),
    )
    assert await refused(session, Layer.GRID, value) == [
        "feature 0 (2111040040010011): grid code '2111040040010011' must be 15 digits "
        "(12-digit community code + 3-digit serial) or 14 in the older layout (2-digit serial)",
        "feature 1 (211104004001000): grid code 211104004001000 has serial 000; serials start at 1",
        "feature 2 (211104004002001): grid code 211104004002001 must start with its "
        "community's code 211104004001",
        "feature 3 (211104009001001): unknown community_code: there is no community or village "
        "211104009001 in the organisation",
        "feature 4 (211104004000001): unknown community_code: 211104004000 (大洼街道) is a "
        "street in the organisation",
        'feature 5 (211104004001009): property "community_code" is missing',
        'feature 6 (211104004001010): property "land_use" has 51 characters; at most 50 fit',
        'feature 6 (211104004001010): property "management_grade" must be text, not 3',
        'feature 7 (211104004001011): property "responsible_party" must be one line without '
        "control characters",
        "feature 7 (211104004001011): property \"synthetic\" must be true or false, not 'yes'",
    ]
    assert await state(session) == (0, 0, 0, 0, 0)


async def test_a_fourteen_digit_code_is_stored_with_a_three_digit_serial(
    session: AsyncSession,
) -> None:
    await create_tree(session)
    report = await import_layer(
        session, Layer.GRID, collection(grid("21110400400107", 0, 0, 100, 100)), NOW
    )
    assert (report.created, report.legacy_codes) == (
        1,
        [{"index": 0, "code": "21110400400107", "stored_as": "211104004001007"}],
    )
    assert await session.scalar(select(Grid.code)) == "211104004001007"
    again = await import_layer(
        session, Layer.GRID, collection(grid("211104004001007", 0, 0, 100, 100)), NOW
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


async def test_a_code_twice_in_the_file_is_refused_also_through_its_older_form(
    session: AsyncSession,
) -> None:
    await create_tree(session)
    value = collection(
        grid("211104004001007", 0, 0, 100, 100),
        grid("21110400400107", 100, 0, 200, 100),
    )
    assert await refused(session, Layer.GRID, value) == [
        "feature 1 (21110400400107): code 211104004001007 appears twice in the file (first as "
        "feature 0)"
    ]


# --- grids: topology ------------------------------------------------------------------------------


async def test_a_grid_reaching_outside_its_community_is_reported_with_the_area(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    before = await state(session)
    features = grid_features(C1A)
    features[7] = grid("211104004001008", 300, -100, 410, 0)
    assert await refused(session, Layer.GRID, collection(*features)) == [
        "feature 7 (211104004001008): lies partly outside the boundary of its community "
        "211104004001: 1000.0 m² outside"
    ]
    assert await state(session) == before


async def test_overlaps_and_gaps_within_the_file_are_reported_with_their_areas(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    before = await state(session)
    features = grid_features(C1A)
    features[1] = grid("211104004001002", 90, 0, 190, 100)
    lon, lat = lonlat(195, 50)
    assert await refused(session, Layer.GRID, collection(*features)) == [
        "feature 0 (211104004001001): overlaps grid 211104004001002 (feature 1) by 1000.0 m²",
        "211104004001: the grids of community 211104004001 leave 1 gap of 1000.0 m² inside its "
        f"boundary (the largest, 1000.0 m², around {lon:.6f}, {lat:.6f})",
    ]
    assert await state(session) == before


async def test_overlaps_with_stored_grids_of_a_neighbour_are_reported(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, C1A)
    before = await state(session)
    features = grid_features(C1B)
    features[0] = grid("211104004002001", 390, 0, 500, 100)
    assert await refused(session, Layer.GRID, collection(*features)) == [
        "feature 0 (211104004002001): lies partly outside the boundary of its community "
        "211104004002: 1000.0 m² outside",
        "feature 0 (211104004002001): overlaps the stored grid 211104004001004 by 1000.0 m²",
    ]
    assert await state(session) == before


async def test_gaps_left_against_stored_grids_of_the_same_community_are_reported(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, C1A)
    replacement = grid("211104004001001", 0, 0, 50, 100)
    lon, lat = lonlat(75, 50)
    assert await refused(session, Layer.GRID, collection(replacement)) == [
        "211104004001: the grids of community 211104004001 leave 1 gap of 5000.0 m² inside its "
        f"boundary (the largest, 5000.0 m², around {lon:.6f}, {lat:.6f})"
    ]


async def test_without_a_boundary_only_holes_enclosed_by_the_grids_are_gaps(
    session: AsyncSession,
) -> None:
    await create_tree(session)
    ring_of_grids = [
        grid(f"{C1A}{n + 1:03d}", x, y, x + 100, y + 100)
        for n, (x, y) in enumerate(
            (x, y) for y in (50, -50, -150) for x in (0, 100, 200) if (x, y) != (100, -50)
        )
    ]
    lon, lat = lonlat(150, 0)
    assert await refused(session, Layer.GRID, collection(*ring_of_grids)) == [
        "211104004001: the grids of community 211104004001 leave 1 gap of 10000.0 m² enclosed "
        f"by them (the largest, 10000.0 m², around {lon:.6f}, {lat:.6f})"
    ]
    open_edge = collection(*ring_of_grids[:3])
    report = await import_layer(session, Layer.GRID, open_edge, NOW)
    assert report.created == 3


async def test_slivers_under_one_square_metre_are_ignored(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    features = grid_features(C1A)
    # 0.009 m × 100 m = 0.9 m² of overlap with grid 001 and of gap beside grid 003.
    features[1] = grid("211104004001002", 99.991, 0, 199.991, 100)
    report = await import_layer(session, Layer.GRID, collection(*features), NOW)
    assert report.created == 8


async def test_a_problem_in_one_feature_writes_none_of_the_others(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    before = await state(session)
    features = grid_features(C1A)
    features[3]["properties"]["community_code"] = "211104004009"
    problems = await refused(session, Layer.GRID, collection(*features))
    assert problems[0] == (
        "feature 3 (211104004001004): unknown community_code: there is no community or village "
        "211104004009 in the organisation"
    )
    assert await state(session) == before


# --- points and components ------------------------------------------------------------------------


async def test_points_need_a_known_type_name_and_owner(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await session.execute(
        update(LocationType).where(LocationType.code == "bus").values(active=False)
    )
    value = collection(
        feature(point(50, 50), code="P-1", name="", location_type="market", unit_code=C1A),
        feature(point(50, 50), code="P-2", name="站", location_type="bus", unit_code=C1A),
        feature(point(50, 50), code="P-3", name="站", location_type="zoo", unit_code=C1A),
        feature(
            point(50, 50), code="P-4", name="站", location_type="park", unit_code="211104009001"
        ),
        feature(point(50, 50), code="P-5", name="站", location_type="park"),
        feature(point(50, 50), code="P 6", name="站", location_type="park", unit_code=C1A),
    )
    problems = await refused(session, Layer.POINT, value)
    assert problems[:2] == [
        'feature 0 (P-1): property "name" is missing',
        "feature 1 (P-2): location_type 'bus' is retired; choose another",
    ]
    assert problems[2].startswith(
        "feature 2 (P-3): unknown location_type 'zoo'; use one of: back_lane, "
    )
    assert "practice_centre" in problems[2] and "bus," not in problems[2]
    assert problems[3:] == [
        "feature 3 (P-4): unknown unit_code: no district, street or community 211104009001",
        'feature 4 (P-5): property "unit_code" is missing, and the point lies in no grid whose '
        "community could own it",
        "feature 5 (P 6): point code 'P 6' must be 1-32 letters, digits, '.', '-' or '_' "
        "starting with a letter or digit",
    ]


async def test_component_codes_status_departments_and_county_are_checked(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    await create_grids(session, C1A)
    value = collection(
        feature(point(50, 50), code="211104010100001", status="intact"),
        feature(point(50, 50), code="2111040001000001", status="intact"),
        feature(point(50, 50), code="2111020101000001", status="intact"),
        feature(point(5000, 50), code="2111990101000001", status="intact"),
        feature(point(50, 50), code="2111040101000002", status="broken"),
        feature(
            point(50, 50),
            code="2111040101000003",
            status="完好",
            owner_department_code="211104-XXX",
            maintainer_department_code="211104-ZJJ",
        ),
        feature(point(50, 50), code="2111040101000004"),
        feature(
            point(50, 50), code="2111040101000005", status="occupied", unit_code="211102001000"
        ),
    )
    assert await refused(session, Layer.COMPONENT, value) == [
        "feature 0 (211104010100001): component code '211104010100001' must be 16 digits: 6 "
        "county code, 2 class, 2 subclass, 6 serial, e.g. 2111040101000001",
        "feature 1 (2111040001000001): component code 2111040001000001 has class 00; it must "
        "not be all zeros",
        "feature 2 (2111020101000001): code 2111020101000001 starts with county 211102, but the "
        "component belongs to grid 211104004001001 of 211104004001 (测试一社区) in county 211104",
        "feature 3 (2111990101000001): lies in no grid, and there is no district 211199000000 "
        "to own it (the first 6 digits of the code)",
        "feature 4 (2111040101000002): unknown status 'broken'; use one of: intact, damaged, "
        "missing, occupied (or 完好, 破损, 丢失, 占用)",
        "feature 5 (2111040101000003): unknown owner_department_code: no department 211104-XXX",
        'feature 6 (2111040101000004): property "status" is missing',
        "feature 7 (2111040101000005): code 2111040101000005 starts with county 211104, but "
        "the component belongs to unit 211102001000 (测试街道) in county 211102",
    ]
    assert int(await session.scalar(select(func.count()).select_from(Component)) or 0) == 0
