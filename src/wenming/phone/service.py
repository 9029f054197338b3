"""Use cases of the citizens' phone app: a report that its device can later prove it made,
nearby open reports to say "me too" to, "my reports", the rating and "not fixed".

A citizen reports without an account. The device draws a secret for each report and keeps it
with the tracking code; only its SHA-256 digest is stored (``case_reporter_key``). Whoever holds
the secret is the reporter to this module: they see their report's timeline even when it is not
public, rate it once it is closed, and reopen it within the window. A signed-in citizen is
recognised by the account instead. Services flush; the edge commits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from wenming.cases import service as cases
from wenming.cases.models import Case, Category
from wenming.cases.public import (
    PublicCase,
    PublicFilter,
    public_cases,
    public_clause,
    public_events,
    public_note,
)
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import ActionIn
from wenming.cases.views import category_out
from wenming.cases.vocab import Kind, Source
from wenming.cases.workflow import (
    Action,
    Capacity,
    State,
    allowed_actions,
)
from wenming.core.config import Settings
from wenming.core.errors import Conflict, InvalidInput, NotFound
from wenming.core.security import constant_time_equal
from wenming.geo.crs import Crs, from_wgs84, to_wgs84
from wenming.geo.models import Grid
from wenming.org.scope import Actor
from wenming.phone.models import CaseRating, ReporterKey
from wenming.phone.schemas import AppReportIn, Rating, ReportStatusOut, StepOut

MAX_NEARBY = 5
MAX_MINE = 100


async def service_area(session: AsyncSession) -> tuple[float, float, float, float] | None:
    """The WGS-84 box around every grid (min lon, min lat, max lon, max lat): where the app's
    maps open. None before any grid is loaded."""
    row = (
        await session.execute(
            select(
                func.min(Grid.min_lon),
                func.min(Grid.min_lat),
                func.max(Grid.max_lon),
                func.max(Grid.max_lat),
            )
        )
    ).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


async def map_extent(session: AsyncSession, crs: Crs) -> list[list[float]] | None:
    """The service area as Leaflet bounds ``[[south, west], [north, east]]`` in a map's system."""
    box = await service_area(session)
    if box is None:
        return None
    west, south = from_wgs84(box[0], box[1], crs)
    east, north = from_wgs84(box[2], box[3], crs)
    return [[south, west], [north, east]]


def digest(secret: str) -> str:
    """The stored form of a reporter secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def report(
    session: AsyncSession,
    actor: Actor,
    body: AppReportIn,
    *,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None,
) -> cases.Reported:
    """Report through the case loop and remember the digest of the device's secret.

    A retry with the same Idempotency-Key returns the first case and stores nothing new.
    """
    if body.source not in (Source.CITIZEN, Source.GRID_WORKER):
        raise InvalidInput(
            "The app files citizens' and grid workers' reports only.", field="source"
        )
    outcome = await cases.report(
        session, actor, body.case(), now=now, settings=settings, idempotency_key=idempotency_key
    )
    if outcome.created and body.reporter_secret is not None:
        session.add(
            ReporterKey(
                case_id=outcome.case.id, secret_digest=digest(body.reporter_secret), created_at=now
            )
        )
        await session.flush()
    return outcome


async def nearby(
    session: AsyncSession,
    kind: Kind,
    code: str,
    lon: float,
    lat: float,
    crs: Crs,
    *,
    now: datetime,
    settings: Settings,
) -> list[tuple[int, PublicCase]]:
    """Open public cases of a category within its duplicate radius of a point, from the
    duplicate window, nearest first, with their distance in metres: what the reporter is shown
    before submitting, to say "me too" instead of reporting again."""
    book = await rulebook(session, settings)
    category_id = book.by_code.get((kind, code))
    if category_id is None:
        raise InvalidInput(f"There is no {kind.value} category {code}.", field="category_code")
    x, y = to_wgs84(lon, lat, crs)
    radius = book.category(category_id).duplicate_radius_m
    dlat = math.degrees(radius / cases.EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(y)), 0.01)
    wanted = PublicFilter(
        categories=((kind, code),),
        bbox=(x - dlon, y - dlat, x + dlon, y + dlat),
        since=now - timedelta(days=settings.duplicate_window_days),
        include_old=True,
    )
    found = await public_cases(session, wanted, now=now, settings=settings, page_size=200)
    near = [
        (cases.distance_m(x, y, item.lon, item.lat), item)
        for item in found
        if item.lon is not None and item.lat is not None
    ]
    near = [(d, item) for d, item in near if d <= radius]
    near.sort(key=lambda pair: (pair[0], pair[1].code))
    return [(round(d), item) for d, item in near[:MAX_NEARBY]]


@dataclass(frozen=True)
class Known:
    """A case looked up by its tracking code, and whether the caller is its reporter."""

    case: Case
    is_reporter: bool


async def _holds_key(session: AsyncSession, case: Case, secret: str | None) -> bool:
    if secret is None:
        return False
    stored = await session.scalar(
        select(ReporterKey.secret_digest).where(ReporterKey.case_id == case.id)
    )
    return stored is not None and constant_time_equal(stored, digest(secret))


async def known(session: AsyncSession, actor: Actor, code: str, secret: str | None) -> Known | None:
    """The case of a tracking code if the caller may follow it: its reporter (by secret or
    account) always, anyone else only when ``cases.public`` shows it to the public."""
    row = (
        await session.execute(
            select(Case, public_clause())
            .join(Category, Category.id == Case.category_id)
            .where(Case.code == code)
        )
    ).first()
    if row is None:
        return None
    case, public = row
    by_account = actor.user_id is not None and case.reporter_user_id == actor.user_id
    is_reporter = by_account or await _holds_key(session, case, secret)
    if not is_reporter and not public:
        return None
    return Known(case, is_reporter)


async def _reporter_case(
    session: AsyncSession, actor: Actor, code: str, secret: str | None
) -> Case:
    found = await known(session, actor, code, secret)
    if found is None or not found.is_reporter:
        raise NotFound(
            f"No report {code} of yours: only its reporter may do this, from the device that "
            "sent it or signed in to the account that sent it."
        )
    return found.case


# What a reporter proven by their device's secret may do on their own report.
REPORTER = frozenset({Capacity.REPORTER})


def reopen_until(case: Case, settings: Settings) -> datetime | None:
    """Until when a closed case may be reopened by its reporter (None unless it is closed)."""
    return cases.reopen_until(case, settings) if State(case.state) is State.CLOSED else None


async def statuses(
    session: AsyncSession,
    actor: Actor,
    found: list[Known],
    *,
    now: datetime,
    settings: Settings,
) -> list[ReportStatusOut]:
    """Where each report stands, with its timeline and what its reporter may do now."""
    if not found:
        return []
    book = await rulebook(session, settings)
    ids = [k.case.id for k in found]
    events = await public_events(session, ids)
    ratings = {
        r.case_id: r
        for r in (await session.scalars(select(CaseRating).where(CaseRating.case_id.in_(ids))))
    }
    timeline = {
        case_id: [
            StepOut(
                action=event.action,
                to_state=State(event.to_state),
                at=event.at,
                note=public_note(event),
            )
            for event in steps
        ]
        for case_id, steps in events.items()
    }
    out = []
    for item in found:
        case = item.case
        rating = ratings.get(case.id)
        until = reopen_until(case, settings)
        closed = State(case.state) is State.CLOSED
        out.append(
            ReportStatusOut(
                code=case.code,
                state=State(case.state),
                category=category_out(book.category(case.category_id)),
                description=case.description if item.is_reporter else "",
                address=case.address,
                created_at=case.created_at,
                closed_at=case.closed_at,
                reopen_until=until,
                is_reporter=item.is_reporter,
                has_contact=item.is_reporter and bool(case.reporter_name or case.reporter_phone),
                can_rate=item.is_reporter and closed and rating is None,
                can_reopen=item.is_reporter and until is not None and now <= until,
                rating=Rating(rating.rating) if rating is not None else None,
                rating_comment=rating.comment if rating is not None else None,
                timeline=timeline.get(case.id, []),
            )
        )
    return out


async def kept_on_device(
    session: AsyncSession, actor: Actor, items: list[tuple[str, str | None]]
) -> list[Known]:
    """The reports behind the codes a device keeps, in the device's order (two queries for any
    number of codes); unknown codes, and private reports of someone else, are left out."""
    codes = list(dict.fromkeys(code for code, _secret in items))
    if not codes:
        return []
    rows = await session.execute(
        select(Case, public_clause())
        .join(Category, Category.id == Case.category_id)
        .where(Case.code.in_(codes))
    )
    cases: dict[str, Case] = {}
    public: set[str] = set()
    for case, is_public in rows.all():
        cases[case.code] = case
        if is_public:
            public.add(case.code)
    keys = dict(
        (
            await session.execute(
                select(ReporterKey.case_id, ReporterKey.secret_digest).where(
                    ReporterKey.case_id.in_([c.id for c in cases.values()])
                )
            )
        ).all()
    )
    found: list[Known] = []
    seen: set[str] = set()
    for code, secret in items:
        kept = cases.get(code)
        if kept is None or code in seen:
            continue
        seen.add(code)
        stored = keys.get(kept.id)
        by_key = (
            secret is not None
            and stored is not None
            and constant_time_equal(stored, digest(secret))
        )
        by_account = actor.user_id is not None and kept.reporter_user_id == actor.user_id
        if by_key or by_account or code in public:
            found.append(Known(kept, by_key or by_account))
    return found


async def of_account(session: AsyncSession, actor: Actor) -> list[Known]:
    """The signed-in citizen's own reports, newest first."""
    if actor.user_id is None:
        return []
    rows = await session.scalars(
        select(Case)
        .where(Case.reporter_user_id == actor.user_id)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(MAX_MINE)
    )
    return [Known(case, True) for case in rows.all()]


async def rate(
    session: AsyncSession,
    actor: Actor,
    code: str,
    secret: str | None,
    rating: Rating,
    comment: str,
    *,
    now: datetime,
) -> CaseRating:
    """The reporter rates a closed case, once."""
    case = await _reporter_case(session, actor, code, secret)
    if State(case.state) is not State.CLOSED:
        raise Conflict(
            f"Report {code} is {case.state}; it can be rated once it is closed.", state=case.state
        )
    row = CaseRating(
        case_id=case.id,
        rating=rating.value,
        comment=comment,
        by_user_id=actor.user_id,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as error:
        raise Conflict(f"Report {code} has already been rated.") from error
    return row


async def forget_contact(
    session: AsyncSession, actor: Actor, code: str, secret: str | None, *, now: datetime
) -> Case:
    """The reporter withdraws the name and number they left on a report; the report stays.

    Followers added by a merge keep their own entries (they are other people's reports).
    """
    case = await _reporter_case(session, actor, code, secret)
    case.reporter_name = None
    case.reporter_phone = None
    case.anonymous = True
    case.updated_at = now
    try:
        await session.flush()
    except StaleDataError as error:
        raise Conflict(f"Report {code} changed at this moment; try again.") from error
    return case


async def not_fixed(
    session: AsyncSession,
    actor: Actor,
    code: str,
    secret: str | None,
    note: str,
    *,
    now: datetime,
    settings: Settings,
) -> Case:
    """The reporter says the problem is still there: the case is reopened (back to the
    responsible unit with a new handling clock) if its reopen window is still open.

    A signed-in reporter takes the workflow's own ``reopen`` action. A reporter known by the
    device's secret has no account to act with: the same action is taken in the reporter
    capacity, and the event is recorded as the reporter's.
    """
    case = await _reporter_case(session, actor, code, secret)
    body = ActionIn(note=note)
    if actor.user_id is not None and case.reporter_user_id == actor.user_id:
        return await cases.act(
            session, actor, code, Action.REOPEN, body, now=now, settings=settings
        )
    standing = cases.standing_of(case, now, settings)
    if Action.REOPEN not in allowed_actions(standing, REPORTER):
        detail = (
            f"Report {code} is {case.state}; only a closed report can be reopened."
            if standing.state is not State.CLOSED
            else f"Report {code} was closed more than {settings.reopen_window_days} days ago; "
            "report the problem anew."
        )
        raise Conflict(detail, state=case.state)
    return await cases.take(
        session,
        Actor.anonymous(),  # the secret proves the reporter, not whoever is signed in
        case,
        Action.REOPEN,
        body,
        REPORTER,
        now=now,
        settings=settings,
        label="reporter",
        via="reporter_key",
    )
