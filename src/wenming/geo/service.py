"""Use cases of the geography layers: import, export, grid generation, grid workers.

Functions take an optional actor: ``None`` is the trusted system path (CLI, demo seed); an actor
is checked against ``org.scope`` first. All of them flush only; the caller's edge commits, so a
refused import leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import Conflict, Forbidden, InvalidInput, OutOfScope
from wenming.geo import geojson, gridgen, repository
from wenming.geo.crs import Crs
from wenming.geo.geojson import Feature, Parsed, Problem
from wenming.geo.geometry import Box, from_wkb
from wenming.geo.importer import (
    COMMUNITY_KINDS,
    GridLocator,
    Plan,
    changed_box,
    load_snapshot,
    load_stored_grids,
    plan_layer,
    write_plan,
)
from wenming.geo.models import Boundary, Component, Grid, GridWorker, InspectionPoint
from wenming.geo.version import Layer, bump_version, current_version
from wenming.org.models import AdminUnit, RoleAssignment, UnitClosure, User
from wenming.org.roles import Permission, Role
from wenming.org.scope import Actor, units_with, users_with


class GeoImportError(InvalidInput):
    """A GeoJSON file with problems: every one is listed in ``problems`` and nothing was written."""

    slug = "geo-import-refused"
    title = "Import refused"

    def __init__(self, problems: Sequence[Problem]) -> None:
        count = len(problems)
        listed = [p.as_dict() for p in problems]
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the GeoJSON; nothing was imported",
            problems=listed,
        )
        self.problems: list[dict[str, Any]] = listed


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows created, updated and left unchanged, and what was repaired."""

    layer: Layer
    created: int
    updated: int
    unchanged: int
    repaired: list[dict[str, Any]] = field(default_factory=list)
    legacy_codes: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    def summary(self) -> str:
        """One sentence for the command line."""
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}; "
            f"layer version {self.version}"
        )


async def import_layer(
    session: AsyncSession,
    layer: Layer,
    collection: dict[str, Any],
    now: datetime,
    *,
    actor: Actor | None = None,
    crs: Crs = Crs.WGS84,
) -> ImportReport:
    """Validate a FeatureCollection for a layer and upsert it by code: all features or none.

    Positions are WGS-84 as RFC 7946 says, unless ``crs`` names the Chinese map system they
    come from (GCJ-02, BD-09); they are converted to WGS-84 then.

    Raises ``GeoImportError`` listing every problem; with an actor, ``Forbidden`` /
    ``OutOfScope`` unless the actor manages the unit owning each feature.
    """
    if actor is not None and not actor.grants_with(Permission.MANAGE_ORG):
        raise Forbidden(
            "your roles may not import geography; a street, district or system admin may"
        )
    parsed = geojson.parse_collection(collection, layer, crs)
    snapshot = await load_snapshot(session, layer, parsed)
    plan = plan_layer(layer, parsed, snapshot)
    _refuse_problems(parsed, plan)
    if actor is not None:
        await _require_scope(session, actor, plan)
    return await _apply(session, plan, parsed, now)


def _refuse_problems(parsed: Parsed, plan: Plan) -> None:
    """Raise ``GeoImportError`` with the file's and the plan's problems, in feature order."""
    problems = [*parsed.problems, *plan.problems]
    if problems:
        problems.sort(key=lambda p: (p.index is None, p.index or 0))
        raise GeoImportError(problems)


async def _apply(
    session: AsyncSession,
    plan: Plan,
    parsed: Parsed,
    now: datetime,
    *,
    removed_box: Box | None = None,
) -> ImportReport:
    """Write a checked plan, bump the layer's version when it changed, re-place points.

    ``removed_box`` surrounds grids the caller removed, whose points need a new grid too.
    """
    await write_plan(session, plan, now)
    if plan.changed or removed_box is not None:
        version = await bump_version(session, plan.layer, now)
    else:
        version = await current_version(session, plan.layer)
    if plan.layer is Layer.GRID:
        box = _union_box(changed_box(plan), removed_box)
        if box is not None:
            await relocate(session, box, now)
    return ImportReport(
        layer=plan.layer,
        created=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=len(plan.unchanged),
        repaired=[p.as_dict() for p in parsed.repaired],
        legacy_codes=plan.legacy_codes,
        version=version,
    )


def _union_box(first: Box | None, second: Box | None) -> Box | None:
    """The box around two optional boxes."""
    if first is None or second is None:
        return first or second
    return Box(
        min(first.min_lon, second.min_lon),
        min(first.min_lat, second.min_lat),
        max(first.max_lon, second.max_lon),
        max(first.max_lat, second.max_lat),
    )


async def _require_scope(session: AsyncSession, actor: Actor, plan: Plan) -> None:
    """Refuse unless the actor holds MANAGE_ORG on the unit owning every feature."""
    candidates = plan.candidates
    needed = sorted({c.owner_unit_id for c in candidates})
    if not needed:
        return
    reach = units_with(actor, Permission.MANAGE_ORG).subquery()
    allowed = set((await session.scalars(select(reach.c[0]).where(reach.c[0].in_(needed)))).all())
    outside = [c for c in candidates if c.owner_unit_id not in allowed]
    if not outside:
        return
    codes = dict(
        (
            await session.execute(
                select(AdminUnit.id, AdminUnit.code).where(
                    AdminUnit.id.in_({c.owner_unit_id for c in outside})
                )
            )
        ).all()
    )
    problems = [
        Problem(
            c.index, c.code, f"belongs to unit {codes.get(c.owner_unit_id)}, outside your scope"
        ).as_dict()
        for c in outside
    ]
    first = outside[0]
    raise OutOfScope(
        f"{len(outside)} feature{'s' if len(outside) != 1 else ''} lie outside the units you "
        f"manage (the first is feature {first.index}, {first.code}); nothing was imported",
        problems=problems,
    )


async def relocate(session: AsyncSession, box: Box, now: datetime) -> None:
    """Give the points and components inside a box the grid they now lie in.

    Called after grids change; a layer whose rows change gets its version bumped.
    """
    grids = await load_stored_grids(
        session, box=(box.min_lon, box.min_lat, box.max_lon, box.max_lat)
    )
    locator = GridLocator(grids)
    for model, layer in ((InspectionPoint, Layer.POINT), (Component, Layer.COMPONENT)):
        rows = (
            await session.execute(
                select(model.id, model.lon, model.lat, model.grid_id).where(
                    model.lon.between(box.min_lon, box.max_lon),
                    model.lat.between(box.min_lat, box.max_lat),
                )
            )
        ).all()
        if not rows:
            continue
        found = locator.locate([row.lon for row in rows], [row.lat for row in rows])
        changes = [
            {"id": row.id, "grid_id": grid.id if grid else None, "updated_at": now}
            for row, grid in zip(rows, found, strict=True)
            if (grid.id if grid else None) != row.grid_id
        ]
        if changes:
            await session.execute(update(model), changes)
            await bump_version(session, layer, now)
    await session.flush()


async def export_layer(
    session: AsyncSession,
    actor: Actor | None,
    layer: Layer,
    *,
    bbox: Box | None = None,
) -> dict[str, Any]:
    """A layer as a GeoJSON FeatureCollection; an actor sees only the units in their scope."""
    return geojson.collection(await repository.layer_features(session, actor, layer, bbox=bbox))


async def community_by_code(session: AsyncSession, code: str) -> AdminUnit:
    """The community or village with a code, or an error naming the option to fix."""
    unit = await session.scalar(select(AdminUnit).where(AdminUnit.code == code.strip()))
    if unit is None or unit.kind not in COMMUNITY_KINDS:
        what = f"{code} is a {unit.kind}" if unit is not None else f"there is no unit {code}"
        raise InvalidInput(f"no community or village {code}: {what}", field="community_code")
    return unit


async def generate_grids(
    session: AsyncSession, community_code: str, cell_area_m2: float, now: datetime
) -> list[Grid]:
    """Split a community's stored boundary into square grids and store them as its grids.

    Grid N gets the code community code + N (001, 002, ...), numbered west→east, north→south.
    Grids of the community with the same code are updated in place, the others removed, so
    running it again with the same cell area changes nothing. Refused when a grid that would
    change or go has grid workers assigned (unassign them first). The grids inherit the
    boundary's ``synthetic`` flag.
    """
    community = await community_by_code(session, community_code)
    boundary = await session.get(Boundary, community.id)
    if boundary is None:
        raise InvalidInput(
            f"community {community.code} ({community.name}) has no boundary yet; import it "
            "first: wenming geo import FILE --layer community",
            field="community_code",
        )
    cells = gridgen.square_cells(from_wkb(boundary.geometry), cell_area_m2)
    features = [
        Feature(
            index=n,
            code=f"{community.code}{n + 1:03d}",
            properties={
                "code": f"{community.code}{n + 1:03d}",
                "community_code": community.code,
                "synthetic": boundary.synthetic,
            },
            geometry=cell,
        )
        for n, cell in enumerate(cells)
    ]
    parsed = Parsed(features=features, total=len(features))
    snapshot = await load_snapshot(session, Layer.GRID, parsed, replacing_community_id=community.id)
    existing = {
        grid.code: grid for grid in await load_stored_grids(session, community_ids=[community.id])
    }
    plan = plan_layer(Layer.GRID, parsed, snapshot)
    _refuse_problems(parsed, plan)
    new_codes = {c.code for c in plan.candidates}
    removed = [grid for code, grid in existing.items() if code not in new_codes]
    touched = [existing[c.code].id for c in plan.updates] + [grid.id for grid in removed]
    await _refuse_if_staffed(session, touched)
    removed_box: Box | None = None
    if removed:
        await session.execute(delete(Grid).where(Grid.id.in_([grid.id for grid in removed])))
        bounds = geojson.bounds_of([grid.geometry for grid in removed])
        removed_box = Box(*bounds) if bounds else None
    await _apply(session, plan, parsed, now, removed_box=removed_box)
    grids = await session.scalars(
        select(Grid).where(Grid.community_id == community.id).order_by(Grid.code)
    )
    return list(grids.all())


async def _refuse_if_staffed(session: AsyncSession, grid_ids: Sequence[int]) -> None:
    """Refuse to change or remove grids that have grid workers assigned."""
    if not grid_ids:
        return
    staffed = (
        await session.scalars(
            select(Grid.code)
            .join(GridWorker, GridWorker.grid_id == Grid.id)
            .where(Grid.id.in_(grid_ids))
            .distinct()
            .order_by(Grid.code)
        )
    ).all()
    if staffed:
        raise Conflict(
            f"grids {', '.join(staffed)} have grid workers assigned and would change or go; "
            "unassign their workers first (PUT /api/v1/geo/grids/{code}/workers with an empty "
            "list)"
        )


async def assign_grid_workers(
    session: AsyncSession,
    actor: Actor | None,
    grid_code: str,
    usernames: Sequence[str],
) -> Grid:
    """Make a set of grid workers the workers of a grid (replacing the previous set).

    Each must be an active user holding the grid_worker role on the grid's community or a unit
    above it; an actor must manage the grid's community and be able to read each worker.
    """
    grid = await repository.grid_by_code(session, grid_code)
    community_id = grid.community_id
    if actor is not None:
        await repository.require_on_grid(session, actor, Permission.MANAGE_ORG, grid)
    names = list(dict.fromkeys(name.strip().lower() for name in usernames if name.strip()))
    users = {
        user.username: user
        for user in (await session.scalars(select(User).where(User.username.in_(names)))).all()
    }
    if actor is not None and users:
        readable = users_with(actor, Permission.READ_PEOPLE).subquery()
        visible = set(
            (
                await session.scalars(
                    select(readable.c[0]).where(
                        readable.c[0].in_([user.id for user in users.values()])
                    )
                )
            ).all()
        )
        users = {name: user for name, user in users.items() if user.id in visible}
    covering = set(
        (
            await session.scalars(
                select(RoleAssignment.user_id)
                .join(UnitClosure, UnitClosure.ancestor_id == RoleAssignment.unit_id)
                .where(
                    RoleAssignment.role == Role.GRID_WORKER.value,
                    UnitClosure.descendant_id == community_id,
                    RoleAssignment.user_id.in_([user.id for user in users.values()]),
                )
            )
        ).all()
    )
    errors: list[dict[str, str]] = []
    for name in names:
        user = users.get(name)
        if user is None:
            errors.append({"field": "usernames", "message": f"no user {name!r} within your scope"})
        elif not user.is_active:
            errors.append({"field": "usernames", "message": f"user {name!r} is disabled"})
        elif user.id not in covering:
            errors.append(
                {
                    "field": "usernames",
                    "message": f"{name!r} is not a grid worker of the community of grid "
                    f"{grid.code} or a unit above it",
                }
            )
    if errors:
        raise InvalidInput(
            "; ".join(e["message"] for e in errors) + "; no worker was changed",
            errors=errors,
        )
    await session.execute(delete(GridWorker).where(GridWorker.grid_id == grid.id))
    for name in names:
        session.add(GridWorker(grid_id=grid.id, user_id=users[name].id))
    await session.flush()
    return grid
