"""Case use cases: report (with location, routing, duplicates and idempotency), act on a case
through the workflow table, say "me too". Services flush; the edge commits."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from wenming.attachments.models import Attachment
from wenming.attachments.service import attachments_by_keys
from wenming.cases import deadlines, notices, verification
from wenming.cases.access import capacities, readable
from wenming.cases.directory import OrgLookups, SessionLookups
from wenming.cases.models import (
    Case,
    CaseAttachment,
    CaseDeadline,
    CaseEvent,
    CaseFollower,
    IdempotencyKey,
)
from wenming.cases.routing import Reason, Suggestion, Target, suggest
from wenming.cases.rulebook import CategoryInfo, Rulebook, rulebook
from wenming.cases.schemas import ActionIn, CaseCreate, SupportIn, TargetIn
from wenming.cases.vocab import Purpose, Source
from wenming.cases.workflow import (
    OPEN_STATES,
    STEP_OF_STATE,
    Action,
    ActionRefused,
    Capacity,
    CaseStanding,
    Move,
    Pending,
    State,
    decide,
)
from wenming.core.config import Settings
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from wenming.geo.crs import Crs
from wenming.geo.gazetteer.reverse import read_index as read_gazetteer
from wenming.geo.lookup import Location, OutsideGrids, locate
from wenming.geo.models import Component
from wenming.org.models import AdminUnit, Department
from wenming.org.roles import Role
from wenming.org.scope import Actor

# Tracking codes: 12 characters from an alphabet without look-alikes (0/O, 1/I/L), about 59 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
# Who may report from which source besides citizens' own reports.
SOURCE_ROLES: dict[Source, frozenset[Role]] = {
    Source.CITIZEN: frozenset(),
    Source.GRID_WORKER: frozenset({Role.GRID_WORKER}),
    Source.HOTLINE: frozenset({Role.INTAKE, Role.DISPATCHER}),
    Source.VIDEO: frozenset({Role.INTAKE, Role.DISPATCHER}),
    Source.LEADERSHIP: frozenset({Role.INTAKE, Role.DISPATCHER}),
    Source.INSPECTION: frozenset({Role.STREET_ADMIN, Role.DISTRICT_ADMIN, Role.INTAKE}),
    Source.EVALUATION: frozenset({Role.EVALUATOR, Role.DISTRICT_ADMIN, Role.INTAKE}),
}
STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}
# Sources where the clerk enters someone else's report: the caller, not the clerk, is the reporter.
ON_BEHALF = frozenset({Source.HOTLINE, Source.VIDEO, Source.LEADERSHIP})
EARTH_RADIUS_M = 6_371_008.8
# Actions whose photos are taken on site by the checker: verification before filing (核实) and
# the check after handling (核查).
ON_SITE_ACTIONS = frozenset(
    {Action.CONFIRM, Action.NOT_FOUND, Action.VERIFY_PASS, Action.VERIFY_FAIL}
)
MAX_DUPLICATES = 5


def new_code() -> str:
    """A fresh, unguessable, printable tracking code: uniform over the alphabet, from one read
    of the system's random source (a read per character cost a system call each)."""
    size = len(CODE_ALPHABET)
    unbiased_below = 256 - 256 % size  # bytes at or above this would favour the first letters
    chars: list[str] = []
    while len(chars) < CODE_LENGTH:
        chars += [
            CODE_ALPHABET[b % size]
            for b in secrets.token_bytes(2 * CODE_LENGTH)
            if b < unbiased_below
        ]
    return "".join(chars[:CODE_LENGTH])


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Reported:
    """A report's outcome: the case, whether this call created it, and likely duplicates."""

    case: Case
    created: bool
    duplicates: list[Case]


async def case_by_code(session: AsyncSession, actor: Actor, code: str) -> Case:
    """A case the actor may read; NotFound otherwise (outsiders learn nothing about it)."""
    case = await session.scalar(select(Case).where(Case.code == code, readable(actor)))
    if case is None:
        raise NotFound(f"No case {code} within your reach.")
    return case


def _request_hash(body: CaseCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _owner(actor: Actor) -> str:
    return f"user:{actor.user_id}" if actor.user_id is not None else "public"


async def _replay(session: AsyncSession, owner: str, key: str, request_hash: str) -> Case | None:
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was already used for a different report; "
            "use a new key for a new report."
        )
    return await session.get(Case, row.case_id)


def _check_source(actor: Actor, source: Source) -> None:
    needed = SOURCE_ROLES[source]
    if needed and not actor.has_role(*needed):
        roles = ", ".join(sorted(role.value for role in needed))
        raise Forbidden(f"Reports from source '{source.value}' are made by: {roles}.")


def _category(book: Rulebook, actor: Actor, body: CaseCreate) -> CategoryInfo:
    category_id = book.by_code.get((body.category_kind, body.category_code))
    if category_id is None:
        raise InvalidInput(
            f"There is no {body.category_kind.value} category {body.category_code}.",
            field="category_code",
        )
    category = book.category(category_id)
    if not category.active:
        raise InvalidInput(
            f"Category {category.code} {category.name_zh} is retired; choose a current one.",
            field="category_code",
        )
    if not category.public and not actor.has_role(*STAFF_ROLES):
        raise InvalidInput(
            f"Category {category.code} {category.name_zh} cannot be reported by the public; "
            "call the emergency number or choose another category.",
            field="category_code",
        )
    return category


@dataclass(frozen=True)
class Place:
    """Where a report lies, resolved to grid and units."""

    lon: float | None
    lat: float | None
    grid_id: int | None
    grid_code: str | None
    unit_id: int
    street_id: int | None
    label: str


Locator = Callable[[float, float, Crs], Awaitable[Location]]
# A readable address near a WGS-84 point ("兴盛路 12 号附近"), or None when nothing is near.
AddressFinder = Callable[[float, float], Awaitable[str | None]]


async def _place(
    org: OrgLookups, locator: Locator, actor: Actor, body: CaseCreate, component: Component | None
) -> Place:
    lon, lat, crs = body.lon, body.lat, body.crs
    if (lon is None) != (lat is None):
        raise InvalidInput(
            "Give both lon and lat, or neither.", field="lat" if lat is None else "lon"
        )
    if lon is None and component is not None:
        lon, lat, crs = component.lon, component.lat, crs.WGS84
    if lon is not None and lat is not None:
        try:
            found = await locator(lon, lat, crs)
        except OutsideGrids as error:
            raise InvalidInput(error.detail, field="lon") from error
        codes = [p.code for p in (found.community, found.street) if p is not None]
        units = await org.units_by_code(codes)
        community = units.get(found.community.code) if found.community else None
        street = units.get(found.street.code) if found.street else None
        lowest = community or street
        if lowest is None:
            raise InvalidInput(
                "The point lies in a grid without a street or community.", field="lon"
            )
        label = "".join(p.name for p in (found.street, found.community) if p is not None)
        return Place(
            found.wgs84_lon,
            found.wgs84_lat,
            found.grid_id,
            found.grid_code,
            lowest.id,
            street.id if street else None,
            label,
        )
    if body.unit_code is None:
        raise InvalidInput(
            "Say where the problem is: lon and lat, a component code, or a unit code with an "
            "address.",
            field="lon",
        )
    if not actor.has_role(*STAFF_ROLES):
        raise InvalidInput("Reports from the public need a point on the map.", field="lon")
    unit = (await org.units_by_code([body.unit_code])).get(body.unit_code)
    if unit is None or unit.level < 4:
        raise InvalidInput(
            f"Unit {body.unit_code} is not a street/town or community/village.", field="unit_code"
        )
    if not body.address:
        raise InvalidInput("A report placed by unit needs an address.", field="address")
    street_id = unit.id if unit.level == 4 else unit.parent_id
    return Place(None, None, None, None, unit.id, street_id, unit.name)


async def find_duplicates(
    session: AsyncSession, book: Rulebook, case: Case, now: datetime, settings: Settings
) -> list[Case]:
    """Open cases of the same category near the case, reported in the last days, nearest first."""
    if case.lon is None or case.lat is None:
        return []
    radius = book.category(case.category_id).duplicate_radius_m
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(case.lat)), 0.01)
    since = now - timedelta(days=settings.duplicate_window_days)
    rows = await session.scalars(
        select(Case).where(
            Case.category_id == case.category_id,
            Case.created_at >= since,
            Case.id != case.id,
            Case.state.in_([s.value for s in OPEN_STATES]),
            Case.lon.between(case.lon - dlon, case.lon + dlon),
            Case.lat.between(case.lat - dlat, case.lat + dlat),
        )
    )
    near = [
        (distance_m(case.lon, case.lat, other.lon, other.lat), other)
        for other in rows.all()
        if other.lon is not None and other.lat is not None
    ]
    near = [(d, other) for d, other in near if d <= radius]
    near.sort(key=lambda pair: (pair[0], pair[1].id))
    return [other for _d, other in near[:MAX_DUPLICATES]]


async def likely_duplicates(
    session: AsyncSession, actor: Actor, case: Case, now: datetime, settings: Settings
) -> list[Case]:
    """The likely duplicates of a case that the actor may read."""
    book = await rulebook(session, settings)
    return await visible_to(
        session, actor, await find_duplicates(session, book, case, now, settings)
    )


async def visible_to(session: AsyncSession, actor: Actor, found: Sequence[Case]) -> list[Case]:
    """The cases of a list that the actor may read, in the list's order."""
    if not found or not actor.is_authenticated:
        return []
    visible = set(
        (
            await session.scalars(
                select(Case.id).where(Case.id.in_([c.id for c in found]), readable(actor))
            )
        ).all()
    )
    return [c for c in found if c.id in visible]


async def _link_attachments(
    session: AsyncSession,
    case: Case,
    keys: Sequence[str],
    purpose: Purpose,
    event: CaseEvent | None,
    field: str,
) -> list[str]:
    if not keys:
        return []
    if len(set(keys)) != len(keys):
        raise InvalidInput("The same photo is listed twice.", field=field)
    found = await attachments_by_keys(session, keys)
    linked = set(
        (
            await session.scalars(
                select(CaseAttachment.attachment_id).where(CaseAttachment.case_id == case.id)
            )
        ).all()
    )
    for position, attachment in enumerate(found):
        if attachment.id in linked:
            raise InvalidInput(f"Photo {attachment.key} is already on this case.", field=field)
        session.add(
            CaseAttachment(
                case_id=case.id,
                attachment_id=attachment.id,
                event_id=event.id if event is not None else None,
                purpose=purpose.value,
                position=position,
            )
        )
    return list(keys)


def _label(actor: Actor) -> str:
    if not actor.is_authenticated:
        return "public"
    return actor.display_name or actor.username


def _event(
    case: Case,
    action: str,
    from_state: State | None,
    actor: Actor,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """An event of a case in its current state (not added to any session)."""
    return CaseEvent(
        case_id=case.id,
        action=action,
        from_state=from_state.value if from_state else None,
        to_state=case.state,
        actor_user_id=actor.user_id,
        actor_label=_label(actor),
        at=now,
        note=note,
        data=json.dumps(data or {}, ensure_ascii=False, sort_keys=True),
    )


async def _append(
    session: AsyncSession,
    case: Case,
    action: str,
    from_state: State | None,
    actor: Actor,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    event = _event(case, action, from_state, actor, now, note, data)
    session.add(event)
    return event


async def _files_at(org: OrgLookups, actor: Actor, unit_id: int) -> bool:
    """Whether the actor holds the intake role over a place, and so may file its cases."""
    units = [g.unit_id for g in actor.grants if g.role is Role.INTAKE and g.unit_id is not None]
    if not units:
        return False
    territory = await org.depths(unit_id)
    return any(unit in territory for unit in units)


@dataclass
class Draft:
    """A report checked, placed and routed, not yet written: the case, its first clock and its
    first event (none has an id yet), the photos to link, and the idempotency key to record."""

    case: Case
    clock: CaseDeadline
    event: CaseEvent
    photos: list[Attachment]
    component_code: str | None
    grid_code: str | None
    idempotency: IdempotencyKey | None


async def prepare(
    session: AsyncSession | None,
    org: OrgLookups,
    locator: Locator,
    book: Rulebook,
    actor: Actor,
    body: CaseCreate,
    *,
    now: datetime,
    idempotency_key: str | None = None,
    find_address: AddressFinder | None = None,
) -> Draft:
    """Check, place and route a report without writing anything.

    ``session`` is read only for what no snapshot holds: the component named in the report and
    the photos it lists (``None`` is allowed when the report names neither).
    """
    _check_source(actor, body.source)
    if body.source is Source.CITIZEN and actor.has_role(*STAFF_ROLES) and body.unit_code:
        raise InvalidInput("Citizens' reports are placed with a point.", field="unit_code")
    category = _category(book, actor, body)
    component: Component | None = None
    if body.component_code is not None:
        if session is None:
            raise RuntimeError("a report naming a component is prepared with a session")
        component = await session.scalar(
            select(Component).where(Component.code == body.component_code)
        )
        if component is None:
            raise InvalidInput(
                f"There is no component {body.component_code}.", field="component_code"
            )
    place = await _place(org, locator, actor, body, component)
    address: str | None = body.address
    if not address and find_address is not None and place.lon is not None and place.lat is not None:
        # Reported with coordinates only: the nearest door plate, road or place of the gazetteer.
        address = await find_address(place.lon, place.lat)
    photos: list[Attachment] = []
    if body.attachments:
        if session is None:
            raise RuntimeError("a report with photos is prepared with a session")
        if len(set(body.attachments)) != len(body.attachments):
            raise InvalidInput("The same photo is listed twice.", field="attachments")
        photos = list(await attachments_by_keys(session, body.attachments))
    initial = verification.initial_state(book.verify_rules, body.source, category.id, place.grid_id)
    if (
        initial is State.REPORTED
        and body.source is Source.GRID_WORKER
        and await _files_at(org, actor, place.unit_id)
    ):
        # A grid worker who may also file cases for this place (an intake grant over it) files
        # their own field report at once instead of waiting for the command centre.
        initial = State.FILED
    case = Case(
        code=new_code(),
        source=body.source.value,
        category_id=category.id,
        description=body.description,
        lon=place.lon,
        lat=place.lat,
        address=address or place.label,
        grid_id=place.grid_id,
        unit_id=place.unit_id,
        street_id=place.street_id,
        component_id=component.id if component is not None else None,
        urgency=body.urgency.value,
        reporter_user_id=None if body.source in ON_BEHALF else actor.user_id,
        reporter_name=body.reporter_name,
        reporter_phone=body.reporter_phone,
        anonymous=body.anonymous,
        public=body.public,
        state=initial.value,
        overdue=False,
        escalation_level=0,
        rework_count=0,
        extension_count=0,
        reopen_count=0,
        supporters=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _remember(case, await suggest(org, book, case, component))
    clock = deadlines.plan_clock(book, case, STEP_OF_STATE[initial], now)
    event = _event(case, "report", None, actor, now, body.description)
    idempotency = None
    if idempotency_key is not None:
        idempotency = IdempotencyKey(
            owner=_owner(actor),
            key=idempotency_key,
            request_hash=_request_hash(body),
            created_at=now,
        )
    return Draft(case, clock, event, photos, body.component_code, place.grid_code, idempotency)


async def replay(
    session: AsyncSession, actor: Actor, body: CaseCreate, idempotency_key: str
) -> Case | None:
    """The case an earlier report with this key created, if any; Conflict when the key was used
    for a different report."""
    return await _replay(session, _owner(actor), idempotency_key, _request_hash(body))


async def report(
    session: AsyncSession,
    actor: Actor,
    body: CaseCreate,
    *,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
) -> Reported:
    """File a new report: validate, locate, route, look for duplicates, record the case and its
    first event. A repeated ``Idempotency-Key`` returns the case the first call created.

    This is the report inside a unit of work the caller holds (pages, demo, other services);
    the API's intake prepares from snapshots and writes in groups (``cases.intake``).
    """
    if idempotency_key is not None:
        earlier = await replay(session, actor, body, idempotency_key)
        if earlier is not None:
            return Reported(earlier, False, [])
    book = await rulebook(session, settings)

    async def locator(lon: float, lat: float, crs: Crs) -> Location:
        return await locate(session, lon, lat, crs)

    async def find_address(lon: float, lat: float) -> str | None:
        return (await read_gazetteer(session)).nearest(lon, lat).label

    draft = await prepare(
        session,
        SessionLookups(session),
        locator,
        book,
        actor,
        body,
        now=now,
        idempotency_key=idempotency_key,
        find_address=find_address,
    )
    if draft.idempotency is None:
        await _store(session, draft)
    else:
        try:
            async with session.begin_nested():
                await _store(session, draft)
        except IntegrityError:
            earlier = await replay(session, actor, body, draft.idempotency.key)
            if earlier is None:
                raise
            return Reported(earlier, False, [])
    # The public may read no case, so it is shown no duplicates: the search is for staff.
    duplicates = (
        await find_duplicates(session, book, draft.case, now, settings)
        if actor.is_authenticated
        else []
    )
    return Reported(draft.case, True, duplicates)


async def _store(session: AsyncSession, draft: Draft) -> None:
    """Write a draft in the session's unit of work."""
    case = draft.case
    session.add(case)
    await session.flush()
    draft.clock.case_id = case.id
    draft.event.case_id = case.id
    session.add_all([draft.clock, draft.event])
    await session.flush()
    for position, photo in enumerate(draft.photos):
        session.add(
            CaseAttachment(
                case_id=case.id,
                attachment_id=photo.id,
                event_id=draft.event.id,
                purpose=Purpose.REPORT.value,
                position=position,
            )
        )
    if draft.idempotency is not None:
        draft.idempotency.case_id = case.id
        session.add(draft.idempotency)
    await session.flush()


def _remember(case: Case, suggestion: Suggestion) -> None:
    case.suggested_department_id = suggestion.target.department_id
    case.suggested_unit_id = suggestion.target.unit_id
    case.suggestion_reason = suggestion.reason.value
    case.suggestion_rule_id = suggestion.rule_id


def reopen_until(case: Case, settings: Settings) -> datetime | None:
    """Until when the reporter may say a closed case is not fixed (None while it is open)."""
    if case.closed_at is None:
        return None
    return case.closed_at + timedelta(days=settings.reopen_window_days)


def standing_of(case: Case, now: datetime, settings: Settings) -> CaseStanding:
    """The facts the workflow table decides on."""
    until = reopen_until(case, settings)
    window_open = until is not None and now <= until
    return CaseStanding(
        state=State(case.state),
        pending=Pending(case.pending) if case.pending else None,
        reopen_window_open=window_open,
        in_grid=case.grid_id is not None,
    )


async def allowed_for(
    session: AsyncSession, actor: Actor, case: Case, now: datetime, settings: Settings
) -> list[Action]:
    """The actions the actor may take on the case now."""
    from wenming.cases.workflow import allowed_actions

    held = await capacities(session, actor, case)
    return allowed_actions(standing_of(case, now, settings), held)


async def _resolve_target(session: AsyncSession, case: Case, body: TargetIn) -> Target:
    if (body.department_code is None) == (body.unit_code is None):
        raise InvalidInput(
            "Name exactly one responsible unit: a department_code or a unit_code.", field="target"
        )
    org = SessionLookups(session)
    territory = await org.depths(case.unit_id)
    if body.department_code is not None:
        department = await session.scalar(
            select(Department).where(Department.code == body.department_code)
        )
        if department is None or department.unit_id not in territory:
            raise InvalidInput(
                f"Department {body.department_code} does not serve the case's place.",
                field="target.department_code",
            )
        return Target(department_id=department.id)
    code = body.unit_code or ""
    unit = (await SessionLookups(session).units_by_code([code])).get(code)
    if unit is None or unit.level not in (4, 5):
        raise InvalidInput(
            f"Unit {body.unit_code} is not a street/town or community/village.",
            field="target.unit_code",
        )
    district = await session.scalar(
        select(AdminUnit.id).where(AdminUnit.id.in_(list(territory)), AdminUnit.level == 3)
    )
    if district is None or district not in await org.depths(unit.id):
        raise InvalidInput(
            f"Unit {body.unit_code} lies outside the case's district.", field="target.unit_code"
        )
    return Target(unit_id=unit.id)


def _refusal(error: ActionRefused) -> Conflict:
    allowed = [a.value for a in error.allowed]
    hint = ", ".join(allowed) if allowed else "nothing at this moment"
    return Conflict(
        f"You cannot '{error.action.value}' a case that is {error.standing.state.value}"
        + (
            f" with a pending {error.standing.pending.value} request"
            if error.standing.pending
            else ""
        )
        + f". You may: {hint}.",
        state=error.standing.state.value,
        allowed_actions=allowed,
    )


async def act(
    session: AsyncSession,
    actor: Actor,
    code: str,
    action: Action,
    body: ActionIn,
    *,
    now: datetime,
    settings: Settings,
) -> Case:
    """Take one workflow action on a case, with its effects and its event, in one transaction."""
    case = await case_by_code(session, actor, code)
    if body.version is not None and body.version != case.version:
        raise Conflict(
            f"Case {code} changed since you loaded it (now version {case.version}); "
            "reload it and try again.",
            current_version=case.version,
        )
    held = await capacities(session, actor, case)
    return await take(session, actor, case, action, body, held, now=now, settings=settings)


async def take(
    session: AsyncSession,
    actor: Actor,
    case: Case,
    action: Action,
    body: ActionIn,
    held: frozenset[Capacity],
    *,
    now: datetime,
    settings: Settings,
    label: str | None = None,
    via: str | None = None,
) -> Case:
    """Take one workflow action on a case already found, in the capacities ``held``: its effects
    and its event in one transaction. ``label`` and ``via`` name on the event an actor without an
    account (a reporter proven by the secret their device keeps)."""
    code = case.code  # for the refusal below, after a failed flush has expired the case
    standing = standing_of(case, now, settings)
    try:
        move, to = decide(standing, action, held)
    except ActionRefused as error:
        raise _refusal(error) from error
    if move.needs_reason and not body.note:
        raise InvalidInput(f"Say why ('{action.value}' needs a note).", field="note")
    if move.needs_photo and not body.attachments:
        raise InvalidInput(
            f"Attach at least one photo taken on site ('{action.value}' needs one).",
            field="attachments",
        )
    book = await rulebook(session, settings)
    from_state = State(case.state)
    data: dict[str, Any] = {} if via is None else {"via": via}
    try:
        with session.no_autoflush:
            await _effects(session, book, actor, case, action, move, to, body, now, data)
            case.updated_at = now
            event = await _append(
                session, case, action.value, from_state, actor, now, body.note, data
            )
            if label is not None:
                event.actor_label = label
        await session.flush()
        await _attach_for(session, book, case, action, body, event)
        await session.flush()
    except StaleDataError as error:
        # Another transaction changed the case after we read it (the version check failed).
        raise Conflict(
            f"Someone else acted on case {code} at the same moment; reload it and try again."
        ) from error
    await notices.after_action(session, case, action, event, now=now, settings=settings)
    return case


async def _attach_for(
    session: AsyncSession,
    book: Rulebook,
    case: Case,
    action: Action,
    body: ActionIn,
    event: CaseEvent,
) -> None:
    if action is Action.HANDLE:
        if book.category(case.category_id).after_photo and not body.attachments:
            raise InvalidInput(
                "This category needs a photo of the fixed place (after-photo).",
                field="attachments",
            )
        await _link_attachments(
            session, case, body.before_attachments, Purpose.BEFORE, event, "before_attachments"
        )
        await _link_attachments(
            session, case, body.attachments, Purpose.AFTER, event, "attachments"
        )
        return
    if body.before_attachments:
        raise InvalidInput("Before-photos belong to the handle action.", field="before_attachments")
    purpose = Purpose.CHECK if action in ON_SITE_ACTIONS else Purpose.REPORT
    await _link_attachments(session, case, body.attachments, purpose, event, "attachments")


async def _effects(
    session: AsyncSession,
    book: Rulebook,
    actor: Actor,
    case: Case,
    action: Action,
    move: Move,
    to: State,
    body: ActionIn,
    now: datetime,
    data: dict[str, Any],
) -> None:
    """Everything an action changes besides the state and the event."""
    if action is Action.RESUME:
        to = State(case.resume_state or State.FILED.value)
        case.resume_state = None
        case.state = to.value
        await deadlines.resume_clock(session, book, case, now)
        return
    if action in (Action.APPROVE_SUSPENSION, Action.SUSPEND):
        case.resume_state = case.state
        case.pending = None
        case.pending_due_at = None
        case.state = to.value
        await deadlines.pause_clock(session, book, case, now)
        return
    case.state = to.value
    if action is Action.MERGE:
        await _merge(session, actor, case, body, now, data)
    elif action is Action.DISPATCH:
        await _dispatch(session, case, body, data)
    elif action is Action.RETURN:
        data["returned_by"] = {
            "department_id": case.responsible_department_id,
            "unit_id": case.responsible_unit_id,
        }
        case.responsible_department_id = None
        case.responsible_unit_id = None
    elif action is Action.REQUEST_EXTENSION:
        if body.until is None:
            raise InvalidInput("Say until when the extension should run.", field="until")
        if case.due_at is not None and body.until <= case.due_at:
            raise InvalidInput("An extension must end after the current due time.", field="until")
        case.pending = Pending.EXTENSION.value
        case.pending_due_at = body.until
        data["until"] = body.until.isoformat()
    elif action is Action.APPROVE_EXTENSION:
        until = body.until or case.pending_due_at
        if until is None or until <= now:
            raise InvalidInput("The new due time must lie in the future.", field="until")
        await deadlines.extend_clock(session, case, until)
        case.extension_count += 1
        case.pending = None
        case.pending_due_at = None
        data["until"] = until.isoformat()
    elif action in (Action.DENY_EXTENSION, Action.DENY_SUSPENSION):
        case.pending = None
        case.pending_due_at = None
    elif action is Action.REQUEST_SUSPENSION:
        case.pending = Pending.SUSPENSION.value
    if move.rework:
        case.rework_count += 1
    if action is Action.REOPEN:
        case.reopen_count += 1
        case.closed_at = None
    if action is Action.CLOSE:
        case.closed_at = now
    if to in OPEN_STATES and to is not State.SUSPENDED:
        step = STEP_OF_STATE[to]
        running = await deadlines.open_clock(session, case)
        if running is None or running.step != step.value or move.rework or action is Action.REOPEN:
            clock = await deadlines.start_clock(session, book, case, step, now)
            data["due_at"] = clock.due_at.isoformat()
    elif to not in OPEN_STATES:
        await deadlines.finish_clock(session, case, now)


async def _dispatch(
    session: AsyncSession, case: Case, body: ActionIn, data: dict[str, Any]
) -> None:
    suggested: Target | None = None
    if case.suggested_department_id is not None or case.suggested_unit_id is not None:
        suggested = Target(
            department_id=case.suggested_department_id, unit_id=case.suggested_unit_id
        )
    if body.target is not None:
        target = await _resolve_target(session, case, body.target)
    elif suggested is not None:
        target = suggested
    else:
        raise InvalidInput("Name the responsible unit.", field="target")
    case.responsible_department_id = target.department_id
    case.responsible_unit_id = target.unit_id
    data["target"] = {"department_id": target.department_id, "unit_id": target.unit_id}
    data["suggested"] = (
        {"department_id": suggested.department_id, "unit_id": suggested.unit_id}
        if suggested
        else None
    )
    data["suggestion_reason"] = case.suggestion_reason
    data["override"] = suggested is not None and target != suggested


async def _merge(
    session: AsyncSession,
    actor: Actor,
    case: Case,
    body: ActionIn,
    now: datetime,
    data: dict[str, Any],
) -> None:
    if body.merge_into is None:
        raise InvalidInput("Name the case this one duplicates.", field="merge_into")
    if body.merge_into == case.code:
        raise InvalidInput("A case cannot be merged into itself.", field="merge_into")
    survivor = await session.scalar(
        select(Case).where(Case.code == body.merge_into, readable(actor))
    )
    if survivor is None:
        raise InvalidInput(f"No case {body.merge_into} within your reach.", field="merge_into")
    if State(survivor.state) not in OPEN_STATES:
        raise InvalidInput(
            f"Case {survivor.code} is {survivor.state}; merge into an open case.",
            field="merge_into",
        )
    case.merged_into_id = survivor.id
    await session.execute(
        update(CaseFollower)
        .where(CaseFollower.case_id == case.id)
        .values(case_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    if case.reporter_user_id or case.reporter_phone or case.reporter_name:
        session.add(
            CaseFollower(
                case_id=survivor.id,
                user_id=case.reporter_user_id,
                name=case.reporter_name,
                phone=case.reporter_phone,
                via="merge",
                from_case_id=case.id,
                created_at=now,
            )
        )
    survivor.supporters += 1 + case.supporters
    survivor.updated_at = now
    data["merged_into"] = survivor.code
    await _append(
        session,
        survivor,
        "merge_in",
        State(survivor.state),
        actor,
        now,
        f"{case.code}",
        {"merged_from": case.code},
    )


async def support(
    session: AsyncSession, actor: Actor, code: str, body: SupportIn, *, now: datetime
) -> Case:
    """A "me too" (+1) on an open, public case instead of a second report; once per person."""
    case = await session.scalar(
        select(Case).where(Case.code == code, or_(Case.public.is_(True), readable(actor)))
    )
    if case is None:
        raise NotFound(f"No case {code}.")
    if State(case.state) not in OPEN_STATES:
        raise Conflict(f"Case {code} is {case.state}; report the problem anew if it is back.")
    if actor.user_id is not None:
        if case.reporter_user_id == actor.user_id:
            raise Conflict("You reported this case yourself.")
        already = await session.scalar(
            select(func.count())
            .select_from(CaseFollower)
            .where(CaseFollower.case_id == case.id, CaseFollower.user_id == actor.user_id)
        )
        if already:
            raise Conflict("You already follow this case.")
    session.add(
        CaseFollower(
            case_id=case.id,
            user_id=actor.user_id,
            name=body.name,
            phone=body.phone,
            via="me_too",
            created_at=now,
        )
    )
    case.supporters += 1
    case.updated_at = now
    await _append(session, case, "support", State(case.state), actor, now)
    return case


__all__ = [
    "Capacity",
    "Reason",
    "Reported",
    "act",
    "allowed_for",
    "case_by_code",
    "likely_duplicates",
    "report",
    "support",
    "visible_to",
]
