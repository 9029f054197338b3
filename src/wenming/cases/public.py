"""The one definition of what the public may see of a case, shared by Open311 and the phone app's
public map, list and timeline.

A case is public when its category is public and its own ``public`` flag is set; a voided case
(entered in error) never is. What the public sees of it: tracking code, category, state, the
description with phone-like numbers masked, an address, the point, the request/update/due times,
the responsible agency's name, the photos staff approved (``cases/publication.py``) and a timeline
of state changes. Never a reporter's or a staff member's name, never a phone, never an internal
note: only the events in ``PUBLIC_EVENTS`` appear, and only those marked there carry their note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments.models import Attachment
from wenming.attachments.schemas import attachment_url
from wenming.cases.models import Case, CaseAttachment, CaseEvent, Category
from wenming.cases.rulebook import CategoryInfo, rulebook
from wenming.cases.views import Names
from wenming.cases.vocab import AREA_LABELS, Area, Kind, Purpose
from wenming.cases.workflow import FINAL_STATES, OPEN_STATES, State
from wenming.core.config import Settings
from wenming.core.security import mask_phone

# Reports older than this (by their last update) are "old" and hidden unless asked for.
DEFAULT_OLD_AFTER_DAYS = 90
MAX_PAGE_SIZE = 1000

# The event kinds the public timeline shows, and whether their note is shown with them. A note
# is shown only where it is written for the public: the reason a report is not taken up, the
# handler's account of the fix and the closing note. Every other note (dispatch instructions,
# returns, rework reasons, extension and suspension requests, escalations, a reopening
# citizen's words) stays with staff, and events not listed here (``void``, ``return``,
# ``request_extension``, ``deny_extension``, ``request_suspension``, ``deny_suspension``,
# ``escalate``...) do not appear at all.
PUBLIC_EVENTS: dict[str, bool] = {
    "report": False,
    "file": False,
    "reject": True,
    "merge": False,
    "dispatch": False,
    "accept": False,
    "handle": True,
    "verify_pass": False,
    "verify_fail": False,
    "close": True,
    "reopen": False,
    "suspend": False,
    "approve_suspension": False,
    "resume": False,
    "approve_extension": False,
    "support": False,
}

# Runs of digits long enough to be a phone number (with optional +, spaces or dashes inside).
_PHONE_LIKE = re.compile(r"\+?\d[\d\- ]{5,}\d")


class Status(StrEnum):
    """The Open311 view of a state: open until the case reached a final state."""

    OPEN = "open"
    CLOSED = "closed"


def status_of(state: State) -> Status:
    """``closed`` for closed, rejected and merged cases; ``open`` otherwise."""
    return Status.CLOSED if state in FINAL_STATES else Status.OPEN


def scrub(text: str) -> str:
    """Text for the public: phone-like digit runs masked (``138****5678``)."""

    def _mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) < 7:
            return match.group(0)
        return mask_phone(digits) or ""

    return _PHONE_LIKE.sub(_mask, text)


@dataclass(frozen=True)
class PublicCategory:
    """A category as the public sees it."""

    kind: Kind
    code: str
    name_zh: str
    name_en: str
    area: Area
    area_zh: str
    area_en: str
    icon: str

    def name(self, language: str) -> str:
        """The category's name in a language (Chinese unless English is asked for)."""
        return self.name_en if language == "en" else self.name_zh

    def area_name(self, language: str) -> str:
        """The campaign area's name in a language."""
        return self.area_en if language == "en" else self.area_zh


@dataclass(frozen=True)
class PublicPhoto:
    """A photo staff approved for the public."""

    key: str
    purpose: Purpose
    url: str
    thumb_url: str
    published_at: datetime


@dataclass(frozen=True)
class PublicEvent:
    """One entry of the public timeline: what happened, when, the state after it, a public note."""

    id: int
    action: str
    state: State
    status: Status
    at: datetime
    note: str
    photos: tuple[PublicPhoto, ...] = ()


@dataclass(frozen=True)
class PublicCase:
    """A case as anyone may see it: no personal data, approved photos only."""

    code: str
    category: PublicCategory
    state: State
    status: Status
    description: str
    address: str
    lat: float | None
    lon: float | None
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime | None
    agency: str | None
    supporters: int
    photos: tuple[PublicPhoto, ...]
    timeline: tuple[PublicEvent, ...]

    @property
    def status_notes(self) -> str:
        """The latest public note of the timeline (empty when there is none)."""
        for event in reversed(self.timeline):
            if event.note:
                return event.note
        return ""


@dataclass(frozen=True)
class PublicFilter:
    """What to list. Closed (final) and old reports are hidden unless asked for.

    ``since``/``until`` bound the request time; ``bbox`` is (min lon, min lat, max lon, max lat)
    in WGS-84; ``old_after_days`` says when a report not updated since counts as old.
    """

    codes: tuple[str, ...] = ()
    categories: tuple[tuple[Kind, str], ...] = ()
    states: tuple[State, ...] = ()
    statuses: tuple[Status, ...] = ()
    areas: tuple[Area, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    include_closed: bool = False
    include_old: bool = False
    old_after_days: int = DEFAULT_OLD_AFTER_DAYS
    updated_since: datetime | None = None


_OPEN = [s.value for s in OPEN_STATES]
_FINAL = [s.value for s in FINAL_STATES]


def public_clause() -> ColumnElement[bool]:
    """The cases the public may see at all (to be used with a join on ``Category``)."""
    return and_(
        Case.public.is_(True),
        Category.public.is_(True),
        Case.state != State.VOIDED.value,
    )


def _where(wanted: PublicFilter, now: datetime) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [public_clause()]
    if wanted.codes:
        clauses.append(Case.code.in_(wanted.codes))
    if wanted.categories:
        clauses.append(
            or_(
                *(
                    and_(Category.kind == kind.value, Category.code == code)
                    for kind, code in wanted.categories
                )
            )
        )
    if wanted.states:
        clauses.append(Case.state.in_([s.value for s in wanted.states]))
    if wanted.statuses:
        states: list[str] = []
        if Status.OPEN in wanted.statuses:
            states += _OPEN
        if Status.CLOSED in wanted.statuses:
            states += _FINAL
        clauses.append(Case.state.in_(states))
    if wanted.areas:
        clauses.append(Category.area.in_([a.value for a in wanted.areas]))
    if wanted.since is not None:
        clauses.append(Case.created_at >= wanted.since)
    if wanted.until is not None:
        clauses.append(Case.created_at <= wanted.until)
    if wanted.updated_since is not None:
        clauses.append(Case.updated_at >= wanted.updated_since)
    if wanted.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = wanted.bbox
        clauses.append(Case.lon.between(min_lon, max_lon))
        clauses.append(Case.lat.between(min_lat, max_lat))
    if not wanted.include_closed:
        clauses.append(Case.state.in_(_OPEN))
    if not wanted.include_old:
        clauses.append(Case.updated_at >= now - timedelta(days=wanted.old_after_days))
    return clauses


def _query(wanted: PublicFilter, now: datetime) -> Select[Case]:
    return select(Case).join(Category, Category.id == Case.category_id).where(*_where(wanted, now))


async def count_public_cases(session: AsyncSession, wanted: PublicFilter, *, now: datetime) -> int:
    """How many public cases match (for paging)."""
    query = (
        select(func.count())
        .select_from(Case)
        .join(Category, Category.id == Case.category_id)
        .where(*_where(wanted, now))
    )
    return int(await session.scalar(query) or 0)


async def public_cases(
    session: AsyncSession,
    wanted: PublicFilter,
    *,
    now: datetime,
    settings: Settings,
    page: int = 1,
    page_size: int = 50,
) -> list[PublicCase]:
    """The public cases matching the filter, newest first, one page of them."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    query = (
        _query(wanted, now)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(page_size)
        .offset((max(page, 1) - 1) * page_size)
    )
    cases = (await session.scalars(query)).all()
    return await _shape(session, cases, settings)


async def public_case(session: AsyncSession, code: str, *, settings: Settings) -> PublicCase | None:
    """One public case by tracking code, whatever its state or age; None if not public."""
    case = await session.scalar(
        select(Case)
        .join(Category, Category.id == Case.category_id)
        .where(Case.code == code, public_clause())
    )
    if case is None:
        return None
    return (await _shape(session, [case], settings))[0]


def public_category(category: CategoryInfo) -> PublicCategory:
    """A category's public face."""
    area_zh, area_en = AREA_LABELS[category.area]
    return PublicCategory(
        kind=category.kind,
        code=category.code,
        name_zh=category.name_zh,
        name_en=category.name_en,
        area=category.area,
        area_zh=area_zh,
        area_en=area_en,
        icon=category.icon,
    )


async def _published_photos(
    session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[tuple[int | None, PublicPhoto]]]:
    rows = (
        await session.execute(
            select(
                CaseAttachment.case_id,
                CaseAttachment.event_id,
                CaseAttachment.purpose,
                CaseAttachment.published_at,
                Attachment.key,
            )
            .join(Attachment, Attachment.id == CaseAttachment.attachment_id)
            .where(CaseAttachment.case_id.in_(case_ids), CaseAttachment.published_at.is_not(None))
            .order_by(CaseAttachment.case_id, CaseAttachment.event_id, CaseAttachment.position)
        )
    ).all()
    found: dict[int, list[tuple[int | None, PublicPhoto]]] = {}
    for case_id, event_id, purpose, published_at, key in rows:
        assert published_at is not None  # selected by it
        found.setdefault(case_id, []).append(
            (
                event_id,
                PublicPhoto(
                    key=key,
                    purpose=Purpose(purpose),
                    url=attachment_url(key),
                    thumb_url=f"{attachment_url(key)}/thumb",
                    published_at=published_at,
                ),
            )
        )
    return found


async def public_events(
    session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[CaseEvent]]:
    """The events of these cases the public may see, per case, oldest first."""
    rows = (
        await session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(case_ids), CaseEvent.action.in_(list(PUBLIC_EVENTS)))
            .order_by(CaseEvent.case_id, CaseEvent.id)
        )
    ).all()
    found: dict[int, list[CaseEvent]] = {}
    for event in rows:
        found.setdefault(event.case_id, []).append(event)
    return found


def _address(case: Case, names: Names) -> str:
    if case.address.strip():
        return case.address.strip()
    parts = [
        place.name
        for place in (names.unit(case.street_id), names.unit(case.unit_id))
        if place is not None
    ]
    return "".join(dict.fromkeys(parts)) or case.code


def public_note(event: CaseEvent) -> str:
    """An event's note as the public sees it: only where ``PUBLIC_EVENTS`` allows, scrubbed."""
    if not PUBLIC_EVENTS.get(event.action, False):
        return ""
    return scrub(event.note.strip())


async def _shape(
    session: AsyncSession, cases: Sequence[Case], settings: Settings
) -> list[PublicCase]:
    if not cases:
        return []
    book = await rulebook(session, settings)
    names = await Names.load(session, cases)
    ids = [case.id for case in cases]
    photos = await _published_photos(session, ids)
    events = await public_events(session, ids)
    shaped: list[PublicCase] = []
    for case in cases:
        case_photos = photos.get(case.id, [])
        by_event: dict[int | None, list[PublicPhoto]] = {}
        for event_id, photo in case_photos:
            by_event.setdefault(event_id, []).append(photo)
        agency = names.department(case.responsible_department_id) or names.unit(
            case.responsible_unit_id
        )
        state = State(case.state)
        shaped.append(
            PublicCase(
                code=case.code,
                category=public_category(book.category(case.category_id)),
                state=state,
                status=status_of(state),
                description=scrub(case.description),
                address=_address(case, names),
                lat=case.lat,
                lon=case.lon,
                requested_at=case.created_at,
                updated_at=case.updated_at,
                expected_at=case.due_at if state in OPEN_STATES else None,
                agency=agency.name if agency is not None else None,
                supporters=case.supporters,
                photos=tuple(photo for _event, photo in case_photos),
                timeline=tuple(
                    PublicEvent(
                        id=event.id,
                        action=event.action,
                        state=State(event.to_state),
                        status=status_of(State(event.to_state)),
                        at=event.at,
                        note=public_note(event),
                        photos=tuple(by_event.get(event.id, [])),
                    )
                    for event in events.get(case.id, [])
                ),
            )
        )
    return shaped


# Public events that are not updates of the request itself: the report is the request, and a
# "me too" changes nothing about it.
NOT_UPDATES = frozenset({"report", "support"})


@dataclass(frozen=True)
class PublicUpdate:
    """A public timeline event with the tracking code of its case (for update feeds)."""

    code: str
    event: PublicEvent


async def public_updates(
    session: AsyncSession, *, since: datetime, until: datetime, limit: int = MAX_PAGE_SIZE
) -> list[PublicUpdate]:
    """The public updates (state changes and public notes) of public cases in a time window,
    oldest first. The report itself and "me too" events are not updates."""
    kinds = [kind for kind in PUBLIC_EVENTS if kind not in NOT_UPDATES]
    rows = (
        await session.execute(
            select(Case.code, CaseEvent)
            .join(Case, Case.id == CaseEvent.case_id)
            .join(Category, Category.id == Case.category_id)
            .where(
                public_clause(),
                CaseEvent.action.in_(kinds),
                CaseEvent.at >= since,
                CaseEvent.at <= until,
            )
            .order_by(CaseEvent.at, CaseEvent.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return []
    photos = await _published_photos(session, list({event.case_id for _code, event in rows}))
    by_event: dict[int | None, list[PublicPhoto]] = {}
    for case_photos in photos.values():
        for event_id, photo in case_photos:
            by_event.setdefault(event_id, []).append(photo)
    return [
        PublicUpdate(
            code=code,
            event=PublicEvent(
                id=event.id,
                action=event.action,
                state=State(event.to_state),
                status=status_of(State(event.to_state)),
                at=event.at,
                note=public_note(event),
                photos=tuple(by_event.get(event.id, [])),
            ),
        )
        for code, event in rows
    ]


__all__ = [
    "DEFAULT_OLD_AFTER_DAYS",
    "PUBLIC_EVENTS",
    "PublicCase",
    "PublicCategory",
    "PublicEvent",
    "PublicFilter",
    "PublicPhoto",
    "PublicUpdate",
    "Status",
    "count_public_cases",
    "public_case",
    "public_cases",
    "public_events",
    "public_note",
    "public_updates",
    "status_of",
]
