"""Open311 GeoReport v2 on top of the case loop: services are the public categories, requests are
public cases (``cases/public.py``), and a posted request is a report through ``cases.service``.

This module turns parsed parameters into the standard's element trees; ``api.py`` parses the
HTTP request and renders the answer. Nothing here builds a query of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.auth.service import load_actor, user_for_api_key
from wenming.cases import service as cases
from wenming.cases.public import (
    PublicCase,
    PublicEvent,
    PublicFilter,
    PublicUpdate,
    Status,
    public_case,
    public_cases,
    public_updates,
)
from wenming.cases.rulebook import CategoryInfo, Rulebook
from wenming.cases.schemas import CaseCreate
from wenming.cases.vocab import AREA_LABELS, Kind, Source, Urgency
from wenming.cases.workflow import State
from wenming.core.config import Environment, Settings
from wenming.core.errors import WenmingError
from wenming.open311.wire import Many, Node, Open311Error
from wenming.org.roles import Role
from wenming.org.scope import Actor

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint's behaviour last changed (discovery's changeset).
CHANGESET = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
# The one jurisdiction this endpoint serves; any other ``jurisdiction_id`` is unknown (404).
JURISDICTION_ID = "wenming"
WINDOW = timedelta(days=90)
UPDATES_WINDOW = timedelta(hours=2)
MAX_REQUESTS = 1000
DESCRIPTION_MAX = 2000
SERVICE_CODE = re.compile(r"^(component|event)-([0-9]{4})$")
ATTACHMENT_URL = re.compile(r"(?:^|/)api/v1/attachments/([A-Za-z0-9_-]{16,64})/?$")

# The extended (FixMyStreet) status of each state, lower case as on GET; ``external_status_code``
# carries the state itself.
EXTENDED_STATUS: dict[State, str] = {
    State.REPORTED: "open",
    State.VERIFYING: "investigating",
    State.CONFIRMED: "investigating",
    State.FILED: "investigating",
    State.DISPATCHED: "action_scheduled",
    State.ACCEPTED: "in_progress",
    State.HANDLED: "in_progress",
    State.VERIFIED: "fixed",
    State.CLOSED: "fixed",
    State.REJECTED: "no_further_action",
    State.MERGED: "duplicate",
    State.VOIDED: "cancelled",
    State.SUSPENDED: "planned",
}
STATE_LABELS: dict[State, tuple[str, str]] = {
    State.REPORTED: ("已上报，等待受理", "Reported, waiting for intake"),
    State.VERIFYING: ("现场核实中", "Being checked on site"),
    State.CONFIRMED: ("现场核实属实，等待立案", "Confirmed on site, waiting to be filed"),
    State.FILED: ("已立案", "Accepted for action"),
    State.DISPATCHED: ("已派遣至责任单位", "Sent to the responsible unit"),
    State.ACCEPTED: ("责任单位处置中", "Being fixed by the responsible unit"),
    State.HANDLED: ("已处置，等待核查", "Fixed, waiting for the on-site check"),
    State.VERIFIED: ("核查通过", "Fix confirmed on site"),
    State.CLOSED: ("已结案", "Closed"),
    State.REJECTED: ("不予立案", "Not taken up"),
    State.MERGED: ("已合并至相同问题", "Merged into a report of the same problem"),
    State.VOIDED: ("已作废", "Voided"),
    State.SUSPENDED: ("暂缓处置", "On hold"),
}
URGENCY_LABELS: dict[Urgency, tuple[str, str]] = {
    Urgency.NORMAL: ("一般", "Normal"),
    Urgency.URGENT: ("紧急", "Urgent"),
    Urgency.EMERGENCY: ("特急", "Emergency"),
}
KIND_LABELS: dict[Kind, tuple[str, str]] = {
    Kind.COMPONENT: ("部件", "component"),
    Kind.EVENT: ("事件", "event"),
}


def _pick(labels: tuple[str, str], language: str) -> str:
    return labels[1] if language == "en" else labels[0]


def service_code(kind: Kind, code: str) -> str:
    """The stable Open311 code of a category: ``event-0102``, ``component-0113``."""
    return f"{kind.value}-{code}"


def parse_service_code(text: str) -> tuple[Kind, str] | None:
    """The (kind, code) a service code names, or None when it is not of the scheme."""
    match = SERVICE_CODE.match(text)
    return (Kind(match.group(1)), match.group(2)) if match else None


def offered(book: Rulebook) -> list[CategoryInfo]:
    """The categories the public may report: public and active, by kind and code."""
    chosen = [c for c in book.categories.values() if c.public and c.active]
    chosen.sort(key=lambda c: (c.kind.value, c.code))
    return chosen


def category_for(book: Rulebook, text: str) -> CategoryInfo:
    """The offered category of a service code; 404 when there is none."""
    parsed = parse_service_code(text)
    category_id = book.by_code.get(parsed) if parsed is not None else None
    category = book.categories.get(category_id) if category_id is not None else None
    if category is None or not (category.public and category.active):
        raise Open311Error(404, f"Unknown service_code '{text}'.")
    return category


def discovery(base_url: str, settings: Settings) -> Node:
    """The discovery document: one endpoint, both formats."""
    kind = "production" if settings.env is Environment.PRODUCTION else "test"
    return {
        "changeset": CHANGESET,
        "contact": "Wenming digital city-management command centre (数字城管指挥中心)",
        "key_service": "API keys are issued by the system administrators "
        "(wenming user apikey USER --label 'open311 client').",
        "endpoints": Many(
            "endpoint",
            [
                {
                    "specification": SPECIFICATION,
                    "url": f"{base_url}/open311/v2",
                    "changeset": CHANGESET,
                    "type": kind,
                    "formats": Many("format", ["text/xml", "application/json"]),
                }
            ],
        ),
    }


def service_node(category: CategoryInfo, language: str) -> Node:
    """One ``<service>``: every category has attributes (urgency), so metadata is true."""
    kind = _pick(KIND_LABELS[category.kind], language)
    return {
        "service_code": service_code(category.kind, category.code),
        "service_name": category.name(language),
        "description": f"{category.name(language)} ({kind} {category.code})",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(dict.fromkeys([category.name_zh, category.name_en, category.code])),
        "group": _pick(AREA_LABELS[category.area], language),
    }


def services(book: Rulebook, language: str) -> Many:
    """The service list."""
    return Many("service", [service_node(c, language) for c in offered(book)])


def definition(category: CategoryInfo, language: str) -> Node:
    """A service definition: ``urgency`` for every category, ``component_code`` for components.
    Only list attributes carry ``values`` (validators refuse empty elements)."""
    en = language == "en"
    attributes: list[Node] = [
        {
            "variable": True,
            "code": "urgency",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "normal unless told otherwise" if en else "不填则为一般",
            "order": 1,
            "description": "How urgent the problem is" if en else "紧急程度",
            "values": Many(
                "value",
                [
                    {"key": urgency.value, "name": _pick(URGENCY_LABELS[urgency], language)}
                    for urgency in Urgency
                ],
            ),
        }
    ]
    if category.kind is Kind.COMPONENT:
        attributes.append(
            {
                "variable": True,
                "code": "component_code",
                "datatype": "string",
                "required": False,
                "datatype_description": "the 16-digit code on the component's label"
                if en
                else "部件标识牌上的16位编码",
                "order": 2,
                "description": "Which component is broken" if en else "损坏部件的编码",
            }
        )
    return {
        "service_code": service_code(category.kind, category.code),
        "attributes": Many("attribute", attributes),
    }


def _media_url(case_or_event: PublicCase | PublicEvent, base_url: str) -> str | None:
    photos = case_or_event.photos
    return f"{base_url}{photos[0].url}" if photos else None


def request_node(case: PublicCase, language: str, base_url: str) -> Node:
    """One ``<request>`` of GET requests: public data only, never the reporter's contact."""
    return {
        "service_request_id": case.code,
        "status": case.status.value,
        "status_notes": case.status_notes or None,
        "service_name": case.category.name(language),
        "service_code": service_code(case.category.kind, case.category.code),
        "description": case.description,
        "agency_responsible": case.agency,
        "service_notice": _pick(STATE_LABELS[case.state], language),
        "requested_datetime": case.requested_at,
        "updated_datetime": case.updated_at,
        "expected_datetime": case.expected_at,
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": _media_url(case, base_url),
    }


def update_node(update: PublicUpdate, language: str, base_url: str) -> Node:
    """One ``<request_update>`` of the FixMyStreet update feed."""
    event = update.event
    status = "reopen" if event.action == "reopen" else EXTENDED_STATUS[event.state]
    return {
        "update_id": str(event.id),
        "service_request_id": update.code,
        "status": status,
        "updated_datetime": event.at,
        "description": event.note or _pick(STATE_LABELS[event.state], language),
        "media_url": _media_url(event, base_url),
        "external_status_code": event.state.value,
    }


def parse_datetime(name: str, raw: str) -> datetime:
    """An ISO 8601 datetime with a zone (``Z`` or ``+08:00``), as UTC."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(
            400, f"{name} must be an ISO 8601 datetime such as 2026-11-27T08:15:30Z."
        ) from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone, e.g. 2026-11-27T08:15:30Z or +08:00.")
    return value.astimezone(UTC)


def window(
    start: datetime | None, end: datetime | None, now: datetime, span: timedelta
) -> tuple[datetime, datetime]:
    """The requested window: both ends given, one end plus the span, or the span up to now."""
    if start is None and end is None:
        return now - span, now
    if start is None:
        assert end is not None
        return end - span, end
    if end is None:
        return start, start + span
    if end < start:
        raise Open311Error(400, "end_date must not be before start_date.")
    if end - start > span:
        days = span.days
        raise Open311Error(400, f"start_date and end_date may not be more than {days} days apart.")
    return start, end


@dataclass(frozen=True)
class RequestQuery:
    """The parsed filters of GET requests."""

    codes: tuple[str, ...]
    categories: tuple[tuple[Kind, str], ...]
    statuses: tuple[Status, ...]
    start: datetime | None
    end: datetime | None
    page: int
    page_size: int


async def list_requests(
    session: AsyncSession,
    query: RequestQuery,
    *,
    now: datetime,
    settings: Settings,
) -> list[PublicCase]:
    """GET requests: by id (overrides everything else), or by the filters within the 90-day
    window, newest first, at most 1000 per page."""
    if query.codes:
        wanted = PublicFilter(codes=query.codes, include_closed=True, include_old=True)
    else:
        since, until = window(query.start, query.end, now, WINDOW)
        wanted = PublicFilter(
            categories=query.categories,
            statuses=query.statuses,
            since=since,
            until=until,
            include_closed=True,
            include_old=True,
        )
    return await public_cases(
        session, wanted, now=now, settings=settings, page=query.page, page_size=query.page_size
    )


async def one_request(session: AsyncSession, code: str, *, settings: Settings) -> PublicCase:
    """GET requests/{id}: a public case by tracking code; 404 otherwise."""
    found = await public_case(session, code, settings=settings)
    if found is None:
        raise Open311Error(404, f"Unknown service_request_id '{code}'.")
    return found


async def updates(
    session: AsyncSession, start: datetime | None, end: datetime | None, *, now: datetime
) -> list[PublicUpdate]:
    """The update feed: public updates from ``start`` (two hours before ``end`` by default) to
    ``end`` (now by default); the window may not exceed 90 days."""
    until = end or now
    since = start or until - UPDATES_WINDOW
    if until < since:
        raise Open311Error(400, "end_date must not be before start_date.")
    if until - since > WINDOW:
        raise Open311Error(400, f"The update window may not exceed {WINDOW.days} days.")
    return await public_updates(session, since=since, until=until, limit=MAX_REQUESTS)


async def actor_for_key(session: AsyncSession, api_key: str | None, now: datetime) -> Actor:
    """The user an API key acts as; 403 for a missing, unknown or revoked key."""
    if not api_key:
        raise Open311Error(403, "api_key is required to create a request.")
    user_id = await user_for_api_key(session, api_key, now, record_use=True)
    actor = await load_actor(session, user_id) if user_id is not None else None
    if actor is None:
        raise Open311Error(403, "The api_key is unknown, revoked or its user disabled.")
    return actor


def source_for(actor: Actor) -> Source:
    """A grid worker's key reports as ``grid_worker``; every other key as ``citizen`` (the key's
    user is the reporter, the request's own name and phone are the contact)."""
    return Source.GRID_WORKER if actor.has_role(Role.GRID_WORKER) else Source.CITIZEN


@dataclass(frozen=True)
class NewRequest:
    """The parsed parameters of POST requests."""

    category: CategoryInfo
    lat: float
    lon: float
    address: str
    description: str
    name: str | None
    phone: str | None
    attributes: Mapping[str, str]
    attachments: Sequence[str]


def attachment_key(media_url: str) -> str:
    """The key of a photo uploaded to this server, from its URL; other URLs are refused (the
    server fetches nothing from elsewhere)."""
    match = ATTACHMENT_URL.search(media_url.split("?", 1)[0])
    if match is None:
        raise Open311Error(
            400,
            "media_url must be the URL of a photo uploaded to this server "
            "(POST /api/v1/attachments), or send the photo as the multipart field 'media'.",
        )
    return match.group(1)


def _validation_errors(error: ValidationError) -> list[str]:
    names = {
        "reporter_name": "first_name/last_name",
        "reporter_phone": "phone",
        "lon": "long",
        "urgency": "attribute[urgency]",
        "component_code": "attribute[component_code]",
    }
    found = []
    for item in error.errors():
        field = ".".join(str(p) for p in item.get("loc", ()))
        found.append(f"{names.get(field, field)}: {item.get('msg', 'invalid')}")
    return found


async def create_request(
    session: AsyncSession,
    actor: Actor,
    new: NewRequest,
    *,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None,
) -> cases.Reported:
    """Report through the same workflow as every other report. Refusals of the case service
    become Open311 errors: 403 stays 403, 404 stays 404, everything else is 400."""
    values: dict[str, object] = {
        "category_kind": new.category.kind,
        "category_code": new.category.code,
        "description": new.description or new.category.name_zh,
        "source": source_for(actor),
        "lon": new.lon,
        "lat": new.lat,
        "address": new.address,
        "reporter_name": new.name,
        "reporter_phone": new.phone,
        "anonymous": True,
        "public": True,
        "attachments": list(new.attachments),
    }
    for code, value in new.attributes.items():
        values[code] = value
    try:
        body = CaseCreate.model_validate(values)
    except ValidationError as error:
        raise Open311Error(400, *_validation_errors(error)) from None
    try:
        return await cases.report(
            session, actor, body, now=now, settings=settings, idempotency_key=idempotency_key
        )
    except WenmingError as error:
        status = error.status if error.status in (403, 404) else 400
        raise Open311Error(status, error.detail) from None
