"""Scoped reads of the geography layers: every read for an actor filters through ``org.scope``.

``actor=None`` is the trusted system path (command line, demo seed) and sees everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from wenming.core.errors import InvalidInput, NotFound
from wenming.core.security import mask_name, mask_phone
from wenming.geo import geojson
from wenming.geo.geometry import Box, area_m2, from_wkb
from wenming.geo.importer import BOUNDARY_KINDS, canonical_grid_code, grid_code_problem
from wenming.geo.models import Boundary, Component, Grid, GridWorker, InspectionPoint, LocationType
from wenming.geo.schemas import GridDetail, GridWorkerOut
from wenming.geo.version import Layer
from wenming.org.models import AdminUnit, Department, User
from wenming.org.roles import Permission
from wenming.org.scope import Actor, require_on_unit, users_with, visible_units

AREA_DECIMALS = 1


def _meets(model: Any, bbox: Box) -> ColumnElement[bool]:
    """Rows whose bounding box meets ``bbox``."""
    return and_(
        model.min_lon <= bbox.max_lon,
        model.max_lon >= bbox.min_lon,
        model.min_lat <= bbox.max_lat,
        model.max_lat >= bbox.min_lat,
    )


async def layer_features(
    session: AsyncSession, actor: Actor | None, layer: Layer, *, bbox: Box | None = None
) -> list[dict[str, Any]]:
    """The features of a layer in code order, limited to the actor's units and to ``bbox``."""
    if layer in BOUNDARY_KINDS:
        return await _boundary_features(session, actor, layer, bbox)
    if layer is Layer.GRID:
        return await _grid_features(session, actor, bbox)
    if layer is Layer.POINT:
        return await _point_features(session, actor, bbox)
    return await _component_features(session, actor, bbox)


async def _boundary_features(
    session: AsyncSession, actor: Actor | None, layer: Layer, bbox: Box | None
) -> list[dict[str, Any]]:
    query = (
        select(Boundary, AdminUnit.code, AdminUnit.name, AdminUnit.kind)
        .join(AdminUnit, AdminUnit.id == Boundary.unit_id)
        .where(AdminUnit.kind.in_([kind.value for kind in BOUNDARY_KINDS[layer]]))
        .order_by(AdminUnit.code)
    )
    if actor is not None:
        query = query.where(Boundary.unit_id.in_(visible_units(actor)))
    if bbox is not None:
        query = query.where(_meets(Boundary, bbox))
    rows = await session.execute(query)
    return [
        geojson.feature(
            from_wkb(boundary.geometry),
            {
                "code": code,
                "name": name,
                "kind": kind,
                "area_m2": round(boundary.area_m2, AREA_DECIMALS),
                "synthetic": boundary.synthetic,
            },
        )
        for boundary, code, name, kind in rows
    ]


async def _grid_features(
    session: AsyncSession, actor: Actor | None, bbox: Box | None
) -> list[dict[str, Any]]:
    query = (
        select(Grid, AdminUnit.code, AdminUnit.name)
        .join(AdminUnit, AdminUnit.id == Grid.community_id)
        .order_by(Grid.code)
    )
    if actor is not None:
        query = query.where(Grid.community_id.in_(visible_units(actor)))
    if bbox is not None:
        query = query.where(_meets(Grid, bbox))
    rows = await session.execute(query)
    return [
        geojson.feature(
            from_wkb(grid.geometry),
            {
                "code": grid.code,
                "community_code": community_code,
                "community_name": community_name,
                "land_use": grid.land_use,
                "management_grade": grid.management_grade,
                "responsible_party": grid.responsible_party,
                "area_m2": round(grid.area_m2, AREA_DECIMALS),
                "synthetic": grid.synthetic,
            },
        )
        for grid, community_code, community_name in rows
    ]


async def _point_features(
    session: AsyncSession, actor: Actor | None, bbox: Box | None
) -> list[dict[str, Any]]:
    query = (
        select(InspectionPoint, AdminUnit.code, Grid.code, LocationType.name_zh)
        .join(AdminUnit, AdminUnit.id == InspectionPoint.unit_id)
        .join(LocationType, LocationType.code == InspectionPoint.location_type)
        .outerjoin(Grid, Grid.id == InspectionPoint.grid_id)
        .order_by(InspectionPoint.code)
    )
    if actor is not None:
        query = query.where(InspectionPoint.unit_id.in_(visible_units(actor)))
    if bbox is not None:
        query = query.where(_meets(InspectionPoint, bbox))
    rows = await session.execute(query)
    features = []
    for point, unit_code, grid_code, type_name in rows:
        shape = from_wkb(point.geometry)
        properties: dict[str, Any] = {
            "code": point.code,
            "name": point.name,
            "location_type": point.location_type,
            "location_type_name": type_name,
            "unit_code": unit_code,
            "grid_code": grid_code,
        }
        if point.geometry_type in geojson.POLYGONAL:
            properties["area_m2"] = round(area_m2(shape), AREA_DECIMALS)
        properties["synthetic"] = point.synthetic
        features.append(geojson.feature(shape, properties))
    return features


async def _component_features(
    session: AsyncSession, actor: Actor | None, bbox: Box | None
) -> list[dict[str, Any]]:
    owner = aliased(Department)
    maintainer = aliased(Department)
    query = (
        select(Component, AdminUnit.code, Grid.code, owner.code, maintainer.code)
        .join(AdminUnit, AdminUnit.id == Component.unit_id)
        .outerjoin(Grid, Grid.id == Component.grid_id)
        .outerjoin(owner, owner.id == Component.owner_department_id)
        .outerjoin(maintainer, maintainer.id == Component.maintainer_department_id)
        .order_by(Component.code)
    )
    if actor is not None:
        query = query.where(Component.unit_id.in_(visible_units(actor)))
    if bbox is not None:
        query = query.where(
            Component.lon.between(bbox.min_lon, bbox.max_lon),
            Component.lat.between(bbox.min_lat, bbox.max_lat),
        )
    rows = await session.execute(query)
    return [
        geojson.point_feature(
            component.lon,
            component.lat,
            {
                "code": component.code,
                "name": component.name,
                "status": component.status,
                "class_code": component.class_code,
                "subclass_code": component.subclass_code,
                "owner_department_code": owner_code,
                "maintainer_department_code": maintainer_code,
                "unit_code": unit_code,
                "grid_code": grid_code,
                "synthetic": component.synthetic,
            },
        )
        for component, unit_code, grid_code, owner_code, maintainer_code in rows
    ]


async def grid_by_code(session: AsyncSession, code: str) -> Grid:
    """A grid by its 15-digit (or older 14-digit) code."""
    code = code.strip()
    if problem := grid_code_problem(code):
        raise InvalidInput(problem, field="code")
    grid = await session.scalar(select(Grid).where(Grid.code == canonical_grid_code(code)))
    if grid is None:
        raise NotFound(f"No grid with code {code}.")
    return grid


async def require_on_grid(
    session: AsyncSession, actor: Actor, permission: Permission, grid: Grid
) -> None:
    """Raise OutOfScope unless the actor holds a permission on the grid's community."""
    community_code = await session.scalar(
        select(AdminUnit.code).where(AdminUnit.id == grid.community_id)
    )
    label = f"{community_code}, the community of grid {grid.code}"
    await require_on_unit(session, actor, permission, grid.community_id, label)


async def grid_detail(session: AsyncSession, actor: Actor | None, code: str) -> GridDetail:
    """A grid with its community and street, area, attributes and workers.

    Grid codes are public like unit codes, so a grid outside the actor's scope is a 403. Worker
    names are shown to viewers who may read those people, otherwise masked (王**); phones only
    to viewers who may see contacts, masked for other readers of people.
    """
    grid = await grid_by_code(session, code)
    if actor is not None:
        await require_on_grid(session, actor, Permission.READ_ORG, grid)
    street = aliased(AdminUnit)
    community, street_code, street_name = (
        await session.execute(
            select(AdminUnit, street.code, street.name)
            .outerjoin(street, street.id == AdminUnit.parent_id)
            .where(AdminUnit.id == grid.community_id)
        )
    ).one()
    workers = list(
        (
            await session.scalars(
                select(User)
                .join(GridWorker, GridWorker.user_id == User.id)
                .where(GridWorker.grid_id == grid.id)
                .order_by(User.username)
            )
        ).all()
    )
    readable, contacts = await _people_rights(session, actor, [user.id for user in workers])
    return GridDetail(
        code=grid.code,
        community_code=community.code,
        community_name=community.name,
        street_code=street_code,
        street_name=street_name,
        area_m2=round(grid.area_m2, AREA_DECIMALS),
        land_use=grid.land_use,
        management_grade=grid.management_grade,
        responsible_party=grid.responsible_party or community.name,
        responsible_party_is_fallback=not grid.responsible_party,
        bbox=[grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat],
        synthetic=grid.synthetic,
        workers=[
            GridWorkerOut(
                username=user.username if user.id in readable else None,
                display_name=user.display_name
                if user.id in readable
                else (mask_name(user.display_name) or ""),
                phone=user.phone
                if user.id in contacts
                else (mask_phone(user.phone) if user.id in readable else None),
            )
            for user in workers
        ],
    )


async def _people_rights(
    session: AsyncSession, actor: Actor | None, user_ids: list[int]
) -> tuple[set[int], set[int]]:
    """Which of some users the actor may read, and whose contacts the actor may see."""
    if actor is None:
        return set(user_ids), set(user_ids)
    if not user_ids:
        return set(), set()

    async def within(permission: Permission) -> set[int]:
        reach = users_with(actor, permission).subquery()
        found = await session.scalars(select(reach.c[0]).where(reach.c[0].in_(user_ids)))
        return set(found.all())

    return await within(Permission.READ_PEOPLE), await within(Permission.SEE_CONTACTS)
