"""Grid workers in the field: their grids, and patrols (巡查) with a GPS track.

A patrol starts and stops from the worker's phone; while the page is open the phone sends its
fixes in batches. The distance is the sum of the great-circle legs between consecutive fixes,
leaving out fixes whose accuracy is worse than ``MAX_ACCURACY_M`` and jumps faster than a
person on a bicycle (``MAX_SPEED_M_S``), which are GPS noise rather than walking. The duration
runs from start to stop. Street admins (and whoever may read people in the territory) see the
patrols of their territory; a worker sees their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.models import Case
from wenming.cases.service import distance_m
from wenming.cases.workflow import State
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from wenming.geo import geojson
from wenming.geo.geometry import from_wkb
from wenming.geo.models import Grid, GridWorker
from wenming.org.models import AdminUnit, User
from wenming.org.roles import Permission, Role
from wenming.org.scope import Actor, units_with
from wenming.phone.models import Patrol, PatrolPoint

MAX_ACCURACY_M = 100.0
MAX_SPEED_M_S = 12.0
MAX_POINTS_PER_BATCH = 500
# A phone's clock may run a little ahead of the server's; fixes further ahead are refused.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Fix:
    """One GPS fix in WGS-84."""

    lon: float
    lat: float
    at: datetime
    accuracy_m: float | None = None


def track_length(fixes: list[Fix]) -> float:
    """Metres walked along a track: legs between usable fixes, noise left out (pure)."""
    total = 0.0
    previous: Fix | None = None
    for fix in fixes:
        if fix.accuracy_m is not None and fix.accuracy_m > MAX_ACCURACY_M:
            continue
        if previous is not None:
            leg = distance_m(previous.lon, previous.lat, fix.lon, fix.lat)
            seconds = (fix.at - previous.at).total_seconds()
            if seconds <= 0 or leg / seconds > MAX_SPEED_M_S:
                continue
            total += leg
        previous = fix
    return total


def require_worker(actor: Actor) -> int:
    """The grid worker's user id; Forbidden for anyone else."""
    if actor.user_id is None or not actor.has_role(Role.GRID_WORKER):
        raise Forbidden("Patrols are for grid workers.")
    return actor.user_id


async def my_grids(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """The grids the worker patrols, as a GeoJSON FeatureCollection (WGS-84)."""
    user_id = require_worker(actor)
    rows = await session.execute(
        select(Grid, AdminUnit.name)
        .join(GridWorker, GridWorker.grid_id == Grid.id)
        .join(AdminUnit, AdminUnit.id == Grid.community_id)
        .where(GridWorker.user_id == user_id)
        .order_by(Grid.code)
    )
    return geojson.collection(
        geojson.feature(
            from_wkb(grid.geometry), {"code": grid.code, "community_name": community_name}
        )
        for grid, community_name in rows
    )


async def verification_tasks(
    session: AsyncSession, actor: Actor, state: State, *, limit: int = 50
) -> list[Case]:
    """Cases in the worker's grids waiting for them on site, oldest first: new reports to
    verify (核实, ``verifying``) or fixes to check (核查, ``handled``)."""
    user_id = require_worker(actor)
    rows = await session.scalars(
        select(Case)
        .join(GridWorker, GridWorker.grid_id == Case.grid_id)
        .where(GridWorker.user_id == user_id, Case.state == state.value)
        .order_by(Case.updated_at, Case.id)
        .limit(limit)
    )
    return list(rows.all())


async def running(session: AsyncSession, user_id: int) -> Patrol | None:
    """The worker's patrol that has not been stopped, if any."""
    row: Patrol | None = await session.scalar(
        select(Patrol).where(Patrol.user_id == user_id, Patrol.ended_at.is_(None))
    )
    return row


async def start(
    session: AsyncSession, actor: Actor, grid_code: str | None, now: datetime
) -> Patrol:
    """Start a patrol (in one of the worker's grids, or across all of them)."""
    user_id = require_worker(actor)
    if await running(session, user_id) is not None:
        raise Conflict("A patrol is already running; stop it before starting another.")
    grid: Grid | None = None
    if grid_code is not None:
        grid = await session.scalar(
            select(Grid)
            .join(GridWorker, GridWorker.grid_id == Grid.id)
            .where(Grid.code == grid_code, GridWorker.user_id == user_id)
        )
        if grid is None:
            raise InvalidInput(f"Grid {grid_code} is not one of your grids.", field="grid_code")
    unit_id = grid.community_id if grid is not None else await _home_unit(session, user_id)
    patrol = Patrol(
        user_id=user_id,
        grid_id=grid.id if grid is not None else None,
        unit_id=unit_id,
        started_at=now,
        ended_at=None,
        distance_m=0.0,
        duration_s=0,
        point_count=0,
    )
    session.add(patrol)
    await session.flush()
    return patrol


async def _home_unit(session: AsyncSession, user_id: int) -> int | None:
    """The community of the worker's first grid: where a patrol without a grid belongs."""
    unit_id: int | None = await session.scalar(
        select(Grid.community_id)
        .join(GridWorker, GridWorker.grid_id == Grid.id)
        .where(GridWorker.user_id == user_id)
        .order_by(Grid.code)
        .limit(1)
    )
    return unit_id


async def _own(session: AsyncSession, actor: Actor, patrol_id: int) -> Patrol:
    user_id = require_worker(actor)
    patrol = await session.get(Patrol, patrol_id, with_for_update=True)
    if patrol is None or patrol.user_id != user_id:
        raise NotFound(f"No patrol {patrol_id} of yours.")
    return patrol


async def _fixes(session: AsyncSession, patrol_id: int) -> list[Fix]:
    rows = await session.scalars(
        select(PatrolPoint).where(PatrolPoint.patrol_id == patrol_id).order_by(PatrolPoint.seq)
    )
    return [Fix(p.lon, p.lat, p.at, p.accuracy_m) for p in rows.all()]


async def add_fixes(
    session: AsyncSession, actor: Actor, patrol_id: int, fixes: list[Fix], now: datetime
) -> Patrol:
    """Append fixes (in the order taken) to a running patrol and update its distance."""
    patrol = await _own(session, actor, patrol_id)
    if patrol.ended_at is not None:
        raise Conflict(f"Patrol {patrol_id} has stopped; start a new one.")
    if len(fixes) > MAX_POINTS_PER_BATCH:
        raise InvalidInput(f"Send at most {MAX_POINTS_PER_BATCH} fixes at a time.", field="points")
    last = await session.scalar(
        select(func.max(PatrolPoint.seq)).where(PatrolPoint.patrol_id == patrol_id)
    )
    seq = int(last or 0)
    for fix in sorted(fixes, key=lambda f: f.at):
        if fix.at < patrol.started_at or fix.at > now + CLOCK_SKEW:
            continue
        seq += 1
        session.add(
            PatrolPoint(
                patrol_id=patrol.id,
                seq=seq,
                lon=fix.lon,
                lat=fix.lat,
                accuracy_m=fix.accuracy_m,
                at=fix.at,
            )
        )
    await session.flush()
    track = await _fixes(session, patrol.id)
    patrol.point_count = len(track)
    patrol.distance_m = round(track_length(track), 1)
    patrol.duration_s = int((now - patrol.started_at).total_seconds())
    return patrol


async def stop(session: AsyncSession, actor: Actor, patrol_id: int, now: datetime) -> Patrol:
    """Stop a patrol: its duration is fixed from start to now."""
    patrol = await _own(session, actor, patrol_id)
    if patrol.ended_at is not None:
        return patrol
    patrol.ended_at = now
    patrol.duration_s = int((now - patrol.started_at).total_seconds())
    return patrol


def _visible_to(actor: Actor) -> ColumnElement[bool]:
    """The patrols an actor may see: their own, and those of units where they read people."""
    return or_(
        Patrol.user_id == actor.user_id,
        Patrol.unit_id.in_(units_with(actor, Permission.READ_PEOPLE)),
    )


async def visible(
    session: AsyncSession, actor: Actor, *, limit: int = 100
) -> list[tuple[Patrol, str, str | None]]:
    """Patrols the actor may see, newest first, with the worker's name and the grid code:
    their own, and those in units where they may read people (street admins and above)."""
    if actor.user_id is None:
        return []
    rows = await session.execute(
        select(Patrol, User.display_name, Grid.code)
        .join(User, User.id == Patrol.user_id)
        .outerjoin(Grid, Grid.id == Patrol.grid_id)
        .where(_visible_to(actor))
        .order_by(Patrol.started_at.desc(), Patrol.id.desc())
        .limit(limit)
    )
    return [(patrol, name, code) for patrol, name, code in rows.all()]


async def track(session: AsyncSession, actor: Actor, patrol_id: int) -> list[Fix]:
    """A patrol's fixes, for whoever may see the patrol."""
    found = None
    if actor.user_id is not None:
        found = await session.scalar(
            select(Patrol.id).where(Patrol.id == patrol_id, _visible_to(actor))
        )
    if found is None:
        raise NotFound(f"No patrol {patrol_id} within your reach.")
    return await _fixes(session, patrol_id)
