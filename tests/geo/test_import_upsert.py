"""Upsert by code: re-importing changes nothing, changes are counted and versioned, export and
import round-trip exactly, points and components find their grid and owner, scope is enforced."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.geo import (
    COMMUNITY_BOXES,
    STREET_BOXES,
    boundary_collection,
    collection,
    create_boundaries,
    create_geography,
    feature,
    grid_features,
    lonlat,
    point,
    rect,
)
from tests.factories.org import actor_for, create_tree, create_user
from wenming.core.errors import Forbidden, OutOfScope
from wenming.geo.crs import Crs, from_wgs84
from wenming.geo.models import Component, Grid, InspectionPoint
from wenming.geo.service import export_layer, generate_grids, import_layer
from wenming.geo.version import Layer, current_version
from wenming.org.roles import Role
from wenming.org.scope import Grant

C1A = "211104004001"
C2A = "211104005001"
LAYERS = (Layer.STREET, Layer.COMMUNITY, Layer.GRID, Layer.POINT, Layer.COMPONENT)


def points_file() -> dict[str, Any]:
    """Three inspection points of each geometry kind, and their owners."""
    return collection(
        feature(point(50, 50), code="P-001", name="向阳菜市场", location_type="market"),
        feature(
            {"type": "LineString", "coordinates": [list(lonlat(0, 0)), list(lonlat(500, 0))]},
            code="P-002",
            name="建设路",
            location_type="main_road",
            unit_code="211104004000",
        ),
        feature(
            rect(820, -80, 900, -20), code="P-003", name="实践站", location_type="practice_centre"
        ),
    )


def components_file() -> dict[str, Any]:
    """Two components: one in a grid of 测试一社区, one in no grid (owned by the district)."""
    return collection(
        feature(
            point(150, 50),
            code="2111040101000001",
            name="上水井盖",
            status="破损",
            owner_department_code="211104-CGJ",
            maintainer_department_code="211104-CGJ-ZFD",
        ),
        feature(point(5000, 5000), code="2111040301000002", status="intact"),
    )


async def seed_all(session: AsyncSession) -> None:
    """Boundaries, grids, points and components of the standard layout."""
    tree = await create_tree(session)
    await create_geography(session, tree)
    await import_layer(session, Layer.POINT, points_file(), NOW)
    await import_layer(session, Layer.COMPONENT, components_file(), NOW)


async def test_reimporting_the_same_file_changes_nothing(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    features = [f for code in COMMUNITY_BOXES for f in grid_features(code)]
    first = await import_layer(session, Layer.GRID, collection(*features), NOW)
    assert (first.created, first.updated, first.unchanged, first.version) == (24, 0, 0, 1)
    again = await import_layer(session, Layer.GRID, collection(*features), NOW)
    assert (again.created, again.updated, again.unchanged, again.version) == (0, 0, 24, 1)
    boundaries = await import_layer(session, Layer.STREET, boundary_collection(STREET_BOXES), NOW)
    assert (boundaries.created, boundaries.updated, boundaries.unchanged) == (0, 0, 2)
    assert await current_version(session, Layer.STREET) == 1


async def test_a_changed_feature_is_updated_and_bumps_the_version(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    features = grid_features(C1A)
    await import_layer(session, Layer.GRID, collection(*features), NOW)
    features[2]["properties"].update(land_use="居住用地", management_grade="一类")
    report = await import_layer(session, Layer.GRID, collection(*features), NOW)
    assert (report.created, report.updated, report.unchanged, report.version) == (0, 1, 7, 2)
    rows = (
        await session.execute(
            select(Grid.code, Grid.land_use, Grid.management_grade).where(
                Grid.land_use.is_not(None)
            )
        )
    ).all()
    assert [tuple(row) for row in rows] == [("211104004001003", "居住用地", "一类")]


async def test_points_and_components_get_their_grid_and_owner(session: AsyncSession) -> None:
    await seed_all(session)
    points = (await export_layer(session, None, Layer.POINT))["features"]
    assert [
        (
            f["properties"]["code"],
            f["geometry"]["type"],
            f["properties"]["unit_code"],
            f["properties"]["grid_code"],
        )
        for f in points
    ] == [
        ("P-001", "Point", C1A, "211104004001001"),
        ("P-002", "LineString", "211104004000", "211104004001003"),
        ("P-003", "Polygon", C2A, "211104005001005"),
    ]
    assert points[2]["properties"]["area_m2"] == 4800.0
    assert points[0]["properties"]["location_type_name"] == "农贸/集贸市场"
    components = (await export_layer(session, None, Layer.COMPONENT))["features"]
    assert [f["properties"] for f in components] == [
        {
            "code": "2111040101000001",
            "name": "上水井盖",
            "status": "damaged",
            "class_code": "01",
            "subclass_code": "01",
            "owner_department_code": "211104-CGJ",
            "maintainer_department_code": "211104-CGJ-ZFD",
            "unit_code": C1A,
            "grid_code": "211104004001002",
            "synthetic": False,
        },
        {
            "code": "2111040301000002",
            "name": None,
            "status": "intact",
            "class_code": "03",
            "subclass_code": "01",
            "owner_department_code": None,
            "maintainer_department_code": None,
            "unit_code": "211104000000",
            "grid_code": None,
            "synthetic": False,
        },
    ]


async def test_a_point_on_a_shared_edge_goes_to_the_grid_with_the_smaller_code(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_geography(session, tree)
    report = await import_layer(
        session,
        Layer.COMPONENT,
        collection(feature(point(100, 0), code="2111040101000009", status="intact")),
        NOW,
    )
    assert report.created == 1
    grid_code = await session.scalar(
        select(Grid.code).join(Component, Component.grid_id == Grid.id)
    )
    assert grid_code == "211104004001001"


@pytest.mark.parametrize("layer", LAYERS)
async def test_export_then_import_round_trips_exactly(session: AsyncSession, layer: Layer) -> None:
    await seed_all(session)
    exported = await export_layer(session, None, layer)
    count = len(exported["features"])
    assert count > 0
    report = await import_layer(session, layer, exported, NOW)
    assert (report.created, report.updated, report.unchanged) == (0, 0, count)
    assert await export_layer(session, None, layer) == exported


async def test_exported_grids_import_into_an_empty_layer_as_they_were(
    session: AsyncSession,
) -> None:
    await seed_all(session)
    exported = await export_layer(session, None, Layer.GRID)
    await session.execute(delete(Grid))
    report = await import_layer(session, Layer.GRID, exported, NOW)
    assert report.created == 24
    assert await export_layer(session, None, Layer.GRID) == exported


async def test_regenerating_grids_moves_points_and_components_to_the_new_grids(
    session: AsyncSession,
) -> None:
    await seed_all(session)
    point_version = await current_version(session, Layer.POINT)
    grids = await generate_grids(session, C1A, 40_000, NOW)
    assert [g.code for g in grids] == ["211104004001001", "211104004001002"]
    located = (
        await session.execute(
            select(InspectionPoint.code, Grid.code)
            .outerjoin(Grid, Grid.id == InspectionPoint.grid_id)
            .order_by(InspectionPoint.code)
        )
    ).all()
    assert [tuple(row) for row in located] == [
        ("P-001", "211104004001001"),
        ("P-002", "211104004001002"),
        ("P-003", "211104005001005"),
    ]
    component_grid = await session.scalar(
        select(Grid.code).join(Component, Component.grid_id == Grid.id)
    )
    assert component_grid == "211104004001001"
    assert await current_version(session, Layer.POINT) == point_version + 1


async def test_admins_import_only_inside_the_units_they_manage(session: AsyncSession) -> None:
    tree = await create_tree(session)
    await create_boundaries(session, tree)
    admin = await create_user(session, "street-admin", Role.STREET_ADMIN, unit=tree.street)
    actor = actor_for(admin, Grant(Role.STREET_ADMIN, unit_id=tree.street.id))
    mine = await import_layer(
        session, Layer.GRID, collection(*grid_features(C1A)), NOW, actor=actor
    )
    assert mine.created == 8
    with pytest.raises(OutOfScope) as caught:
        await import_layer(session, Layer.GRID, collection(*grid_features(C2A)), NOW, actor=actor)
    assert caught.value.detail == (
        "8 features lie outside the units you manage (the first is feature 0, 211104005001001); "
        "nothing was imported"
    )
    assert caught.value.extensions["problems"][0] == {
        "index": 0,
        "code": "211104005001001",
        "reason": "belongs to unit 211104005001, outside your scope",
    }
    with pytest.raises(OutOfScope):
        await import_layer(
            session, Layer.STREET, boundary_collection(STREET_BOXES), NOW, actor=actor
        )
    worker = await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    with pytest.raises(Forbidden) as refused:
        await import_layer(
            session,
            Layer.GRID,
            collection(*grid_features(C1A)),
            NOW,
            actor=actor_for(worker, Grant(Role.GRID_WORKER, unit_id=tree.community.id)),
        )
    assert refused.value.detail == (
        "your roles may not import geography; a street, district or system admin may"
    )


async def test_positions_from_a_chinese_web_map_are_converted_to_wgs84(
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_geography(session, tree)
    lon, lat = lonlat(150, 50)
    gcj_lon, gcj_lat = from_wgs84(lon, lat, Crs.GCJ02)
    assert abs(gcj_lon - lon) > 0.001
    report = await import_layer(
        session,
        Layer.COMPONENT,
        collection(
            feature(
                {"type": "Point", "coordinates": [gcj_lon, gcj_lat]},
                code="2111040101000007",
                status="intact",
            )
        ),
        NOW,
        crs=Crs.GCJ02,
    )
    assert report.created == 1
    stored = (await session.execute(select(Component.lon, Component.lat))).one()
    assert abs(stored.lon - lon) < 1e-7 and abs(stored.lat - lat) < 1e-7
    grid_code = await session.scalar(
        select(Grid.code).join(Component, Component.grid_id == Grid.id)
    )
    assert grid_code == "211104004001002"
