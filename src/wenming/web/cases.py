"""Case pages: the command-centre queue, one case (timeline, map, photos with their publication,
routing suggestion and exactly the actions the viewer may take), the overdue board, and a staff
intake form.

Everything is read and written through the case services, views and repository; a refused
action is shown next to the form that sent it, with the service's status (409 or 422), and the
case stays as it was.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import zip_longest
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from wenming.attachments.api import Media
from wenming.attachments.service import store_upload
from wenming.attachments.storage import MediaStore
from wenming.cases import publication, repository, service, views
from wenming.cases.repository import CaseFilter
from wenming.cases.rulebook import CategoryInfo, rulebook
from wenming.cases.schemas import ActionIn, AttachmentOut, CaseCreate, CaseOut, CaseSummary
from wenming.cases.service import SOURCE_ROLES
from wenming.cases.vocab import AREA_LABELS, Area, Kind, Purpose, Source, Urgency
from wenming.cases.workflow import OPEN_STATES, TRANSITIONS, Action, State
from wenming.core.clock import as_utc
from wenming.core.config import Settings
from wenming.core.deps import AppClock, AppSettings, DbSession
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound, WenmingError
from wenming.geo.crs import Crs, from_wgs84
from wenming.i18n import N_
from wenming.org import repository as org_repository
from wenming.org.roles import Role
from wenming.org.scope import Actor
from wenming.web.deps import PageActor
from wenming.web.forms import CsrfForm, field
from wenming.web.map import (
    LEAFLET_PREFIX,
    content_security_policy,
    display_crs,
    leaflet_version,
    usable_tile_source,
)
from wenming.web.rendering import render, request_language, translator

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
MAX_PHOTOS = 9  # as many as an action or a report may carry
# Room for the form fields and multipart framing around the photos of one post.
FORM_OVERHEAD = 256 * 1024
CODE_PATTERN = r"^[A-Z0-9]{4,16}$"
CodePath = Annotated[str, Path(pattern=CODE_PATTERN)]

STATE_LABELS: dict[State, str] = {
    State.REPORTED: N_("Reported"),
    State.VERIFYING: N_("Verifying on site"),
    State.CONFIRMED: N_("Confirmed on site"),
    State.FILED: N_("Filed"),
    State.REJECTED: N_("Rejected"),
    State.VOIDED: N_("Voided"),
    State.MERGED: N_("Merged"),
    State.DISPATCHED: N_("Dispatched"),
    State.ACCEPTED: N_("In hand"),
    State.HANDLED: N_("Handled"),
    State.VERIFIED: N_("Verified"),
    State.CLOSED: N_("Closed"),
    State.SUSPENDED: N_("Suspended"),
}
ACTION_LABELS: dict[Action, str] = {
    Action.SEND_TO_VERIFY: N_("Send for on-site verification"),
    Action.CONFIRM: N_("Confirm: found on site"),
    Action.NOT_FOUND: N_("Not found on site"),
    Action.FILE: N_("File"),
    Action.REJECT: N_("Reject"),
    Action.VOID: N_("Void"),
    Action.MERGE: N_("Merge as a duplicate"),
    Action.DISPATCH: N_("Dispatch"),
    Action.ACCEPT: N_("Accept"),
    Action.RETURN: N_("Return to the dispatcher"),
    Action.HANDLE: N_("Report as fixed"),
    Action.VERIFY_PASS: N_("Check passed"),
    Action.VERIFY_FAIL: N_("Check failed: rework"),
    Action.CLOSE: N_("Close"),
    Action.REQUEST_SUSPENSION: N_("Ask to suspend"),
    Action.APPROVE_SUSPENSION: N_("Approve the suspension"),
    Action.DENY_SUSPENSION: N_("Deny the suspension"),
    Action.SUSPEND: N_("Suspend"),
    Action.RESUME: N_("Resume"),
    Action.REQUEST_EXTENSION: N_("Ask for more time"),
    Action.APPROVE_EXTENSION: N_("Approve the extension"),
    Action.DENY_EXTENSION: N_("Deny the extension"),
    Action.REOPEN: N_("Reopen"),
}
# What each entry of the timeline says happened (msgids), by the event's action.
EVENT_LABELS: dict[str, str] = {
    "report": N_("Reported"),
    Action.SEND_TO_VERIFY.value: N_("Sent for on-site verification"),
    Action.CONFIRM.value: N_("Confirmed on site"),
    Action.NOT_FOUND.value: N_("Not found on site: rejected"),
    Action.FILE.value: N_("Filed"),
    Action.REJECT.value: N_("Rejected"),
    Action.VOID.value: N_("Voided"),
    Action.MERGE.value: N_("Merged into another case"),
    "merge_in": N_("A duplicate was merged in"),
    Action.DISPATCH.value: N_("Dispatched"),
    Action.ACCEPT.value: N_("Accepted"),
    Action.RETURN.value: N_("Returned"),
    Action.HANDLE.value: N_("Fixed and reported back"),
    Action.VERIFY_PASS.value: N_("Check passed"),
    Action.VERIFY_FAIL.value: N_("Check failed, sent back for rework"),
    Action.CLOSE.value: N_("Closed"),
    Action.REQUEST_SUSPENSION.value: N_("Suspension requested"),
    Action.APPROVE_SUSPENSION.value: N_("Suspension approved"),
    Action.DENY_SUSPENSION.value: N_("Suspension denied"),
    Action.SUSPEND.value: N_("Suspended"),
    Action.RESUME.value: N_("Resumed"),
    Action.REQUEST_EXTENSION.value: N_("Extension requested"),
    Action.APPROVE_EXTENSION.value: N_("Extension approved"),
    Action.DENY_EXTENSION.value: N_("Extension denied"),
    Action.REOPEN.value: N_("Reopened"),
    "support": N_("Someone else reported it too"),
    "escalate": N_("Overdue: escalated"),
}
SOURCE_LABELS: dict[Source, str] = {
    Source.CITIZEN: N_("Citizen"),
    Source.GRID_WORKER: N_("Grid worker"),
    Source.HOTLINE: N_("12345 hotline"),
    Source.INSPECTION: N_("Inspection"),
    Source.EVALUATION: N_("Evaluation"),
    Source.VIDEO: N_("Video surveillance"),
    Source.LEADERSHIP: N_("Leadership instruction"),
}
URGENCY_LABELS: dict[Urgency, str] = {
    Urgency.NORMAL: N_("Normal"),
    Urgency.URGENT: N_("Urgent"),
    Urgency.EMERGENCY: N_("Emergency"),
}
REASON_LABELS: dict[str, str] = {
    "rule": N_("a routing rule matched"),
    "component": N_("the component's maintainer"),
    "category": N_("the category's line department"),
    "territory": N_("the street or town that owns the place (territorial fallback)"),
}
PENDING_LABELS: dict[str, str] = {
    "extension": N_("Extension requested"),
    "suspension": N_("Suspension requested"),
}
KIND_LABELS: dict[Kind, str] = {Kind.COMPONENT: N_("Component"), Kind.EVENT: N_("Event")}
# Actions that move the case forward get the primary button; refusals and undoing ones a warning.
PRIMARY_ACTIONS = frozenset(
    {
        Action.CONFIRM,
        Action.FILE,
        Action.DISPATCH,
        Action.ACCEPT,
        Action.HANDLE,
        Action.VERIFY_PASS,
        Action.CLOSE,
        Action.APPROVE_EXTENSION,
        Action.APPROVE_SUSPENSION,
        Action.RESUME,
    }
)
WARNING_ACTIONS = frozenset(
    {
        Action.NOT_FOUND,
        Action.REJECT,
        Action.VOID,
        Action.RETURN,
        Action.VERIFY_FAIL,
        Action.DENY_EXTENSION,
        Action.DENY_SUSPENSION,
    }
)
PHOTO_ACTIONS = frozenset(
    {Action.CONFIRM, Action.NOT_FOUND, Action.HANDLE, Action.VERIFY_PASS, Action.VERIFY_FAIL}
)
# Actions with a panel of their own on the case page rather than a form in the action list.
PANEL_ACTIONS = frozenset({Action.DISPATCH})


# --- small helpers ------------------------------------------------------------------------------


def _choice(kind: type[Any], raw: str) -> Any:
    """The member of an enum named by a query value, or None for anything else."""
    try:
        return kind(raw)
    except ValueError:
        return None


def _area_label(area: Area | str, language: str) -> str:
    zh, en = AREA_LABELS[Area(area)]
    return zh if language == "zh" else en


def relative_due(due: datetime, now: datetime, _: Callable[[str], str]) -> str:
    """How long until a due time, or how long past it, in words of the page's language."""
    seconds = (as_utc(due) - as_utc(now)).total_seconds()
    span = abs(seconds)
    if span < 3600:
        amount = _("%(count)s min") % {"count": max(1, round(span / 60))}
    elif span < 48 * 3600:
        amount = _("%(count)s h") % {"count": round(span / 3600)}
    else:
        amount = _("%(count)s d") % {"count": round(span / 86400)}
    if seconds < 0:
        return _("%(time)s overdue") % {"time": amount}
    return _("%(time)s left") % {"time": amount}


def _local_input(value: datetime | None, settings: Settings) -> str:
    """A stored time as the value of a ``datetime-local`` field in the configured zone."""
    if value is None:
        return ""
    return as_utc(value).astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%dT%H:%M")


def _parse_local(raw: str, settings: Settings) -> datetime | None:
    """A ``datetime-local`` value (configured zone) as an aware time; None when unreadable."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(settings.timezone))
    return as_utc(value)


def uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files posted under a field name; the empty part of an unused file input is skipped."""
    return [
        item
        for item in form.getlist(name)
        if isinstance(item, UploadFile) and (item.filename or item.size)
    ]


async def limit_form_size(request: Request) -> None:
    """Refuse a post whose declared size exceeds what its photos may add up to, before it is
    read (the attachments service checks each photo's own limit)."""
    settings: Settings = request.app.state.settings
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PHOTOS * settings.attachment_max_bytes + (
        FORM_OVERHEAD
    ):
        raise InvalidInput(
            f"The form is larger than accepted: at most {MAX_PHOTOS} photos of "
            f"{settings.attachment_max_bytes:,} bytes each.",
            field="file",
        )


FormSizeLimit = Annotated[None, Depends(limit_form_size)]


async def _store_photos(
    session: DbSession,
    store: MediaStore,
    files: Sequence[UploadFile],
    actor: Actor,
    now: datetime,
    settings: Settings,
) -> list[str]:
    """Store uploaded photos through the attachments service and return their keys."""
    keys: list[str] = []
    for upload in files:
        data = await upload.read()
        stored = await store_upload(
            session, store, data, uploader_id=actor.user_id, now=now, settings=settings
        )
        keys.append(stored.attachment.key)
    return keys


def reporting_sources(actor: Actor) -> list[Source]:
    """The sources this person may enter staff reports from (the citizen app is separate)."""
    return [
        source
        for source in Source
        if source is not Source.CITIZEN and actor.has_role(*SOURCE_ROLES[source])
    ]


# --- the queue and the overdue board -----------------------------------------------------------


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as the GET form sends them; unknown values count as no filter."""

    state: str = ""
    category: str = ""
    area: str = ""
    street: str = ""
    source: str = ""
    urgency: str = ""
    overdue: str = ""
    mine: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def clean(cls, **raw: Any) -> QueueQuery:
        """Keep the values that name something; drop the rest."""
        state = raw["state"] if raw["state"] == "open" or _choice(State, raw["state"]) else ""
        kind, _, code = raw["category"].partition("-")
        category = raw["category"] if _choice(Kind, kind) and code.isdigit() else ""
        street = raw["street"] if raw["street"].isdigit() and len(raw["street"]) == 12 else ""
        return cls(
            state=state,
            category=category,
            area=raw["area"] if _choice(Area, raw["area"]) else "",
            street=street,
            source=raw["source"] if _choice(Source, raw["source"]) else "",
            urgency=raw["urgency"] if _choice(Urgency, raw["urgency"]) else "",
            overdue=raw["overdue"] if raw["overdue"] in ("1", "0") else "",
            mine=raw["mine"] == "1",
            q=raw["q"].strip(),
            page=raw["page"],
        )

    def to_filter(self) -> CaseFilter:
        """The repository's filter for these values."""
        states: Sequence[State] = ()
        if self.state == "open":
            states = sorted(OPEN_STATES)
        elif self.state:
            states = (State(self.state),)
        kind, _, code = self.category.partition("-")
        return CaseFilter(
            states=states,
            category_kind=Kind(kind) if self.category else None,
            category_code=code or None,
            area=Area(self.area) if self.area else None,
            street_code=self.street or None,
            source=Source(self.source) if self.source else None,
            urgency=Urgency(self.urgency) if self.urgency else None,
            overdue={"1": True, "0": False}.get(self.overdue),
            mine=self.mine,
            text=self.q or None,
        )

    @property
    def filtered(self) -> bool:
        """Whether any filter besides "mine" is set."""
        return any(
            (
                self.state,
                self.category,
                self.area,
                self.street,
                self.source,
                self.urgency,
                self.overdue,
                self.q,
            )
        )

    def url(self, **changes: Any) -> str:
        """The queue's address with these filters (and changes), leaving out empty ones."""
        values = replace(self, **changes)
        pairs = [
            (name, value)
            for name, value in (
                ("mine", "1" if values.mine else ""),
                ("state", values.state),
                ("category", values.category),
                ("area", values.area),
                ("street", values.street),
                ("source", values.source),
                ("urgency", values.urgency),
                ("overdue", values.overdue),
                ("q", values.q),
                ("page", str(values.page) if values.page > 1 else ""),
            )
            if value
        ]
        return "/cases" + ("?" + urlencode(pairs) if pairs else "")


def category_groups(
    categories: Iterable[CategoryInfo], language: str, *, active_only: bool
) -> list[tuple[str, list[CategoryInfo]]]:
    """Categories grouped by campaign area (in the areas' order), each group by kind and code."""
    chosen = [c for c in categories if c.active or not active_only]
    return [
        (
            _area_label(area, language),
            sorted((c for c in chosen if c.area is area), key=lambda c: (c.kind.value, c.code)),
        )
        for area in Area
        if any(c.area is area for c in chosen)
    ]


def _table_helpers(request: Request, now: datetime) -> dict[str, Any]:
    """What the case tables and the case page use to show values in the page's language."""
    language = request_language(request)
    _ = translator(request)
    return {
        "state_label": lambda state: _(STATE_LABELS[State(state)]),
        "source_label": lambda source: _(SOURCE_LABELS[Source(source)]),
        "urgency_label": lambda urgency: _(URGENCY_LABELS[Urgency(urgency)]),
        "kind_name": lambda kind: _(KIND_LABELS[Kind(kind)]),
        "area_label": lambda area: _area_label(area, language),
        "category_name": lambda category: (
            category.name_en if language == "en" else category.name_zh
        ),
        "pending_label": lambda pending: _(PENDING_LABELS.get(str(pending), str(pending))),
        "due_text": lambda due: relative_due(due, now, _),
        "is_past": lambda due: as_utc(due) < as_utc(now),
        "open_states": {state.value for state in OPEN_STATES},
    }


async def _street_options(session: DbSession, actor: Actor) -> list[tuple[str, str]]:
    """(code, name) of the streets and towns the person may see, for the street filter."""
    units = await org_repository.list_units(session, actor)
    return [(unit.code, unit.name) for unit in units if unit.level == 4]


@router.get("/cases", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    state: Annotated[str, Query(max_length=20)] = "",
    category: Annotated[str, Query(max_length=20)] = "",
    area: Annotated[str, Query(max_length=20)] = "",
    street: Annotated[str, Query(max_length=20)] = "",
    source: Annotated[str, Query(max_length=20)] = "",
    urgency: Annotated[str, Query(max_length=20)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "",
    mine: Annotated[str, Query(max_length=5)] = "",
    q: Annotated[str, Query(max_length=50)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    done: Annotated[str, Query(max_length=30)] = "",
    case: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """The cases the person may see, newest first, narrowed by the filters; "mine" keeps the
    ones their unit or department is responsible for."""
    query = QueueQuery.clean(
        state=state,
        category=category,
        area=area,
        street=street,
        source=source,
        urgency=urgency,
        overdue=overdue,
        mine=mine,
        q=q,
        page=page,
    )
    cases, total = await repository.list_cases(
        session, actor, query.to_filter(), page=query.page, page_size=PAGE_SIZE
    )
    rows = await views.summaries(session, cases, settings)
    book = await rulebook(session, settings)
    language = request_language(request)
    _ = translator(request)
    notice = ""
    done_action = _choice(Action, done)
    if done_action is not None and case.isalnum():
        notice = _(
            "Case %(code)s: “%(action)s” is done. The case has left the cases you can see."
        ) % {"code": case, "action": _(ACTION_LABELS[done_action])}
    offset = (query.page - 1) * PAGE_SIZE
    context: dict[str, Any] = {
        "query": query,
        "rows": rows,
        "total": total,
        "page": query.page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "page_url": lambda number: query.url(page=number),
        "notice": notice,
        "is_handler": actor.has_role(Role.HANDLER),
        "is_grid_worker": actor.has_role(Role.GRID_WORKER),
        "may_report": bool(reporting_sources(actor)),
        "states": list(State),
        "category_groups": category_groups(book.categories.values(), language, active_only=False),
        "areas": list(Area),
        "streets": await _street_options(session, actor),
        "sources": list(Source),
        "urgencies": list(Urgency),
        **_table_helpers(request, clock.now()),
    }
    return render(request, "cases/queue.html", context, actor=actor)


@router.get("/cases/overdue", response_class=HTMLResponse)
async def overdue_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    """The overdue board (督办): overdue open cases, most escalated and longest overdue first."""
    cases, total = await repository.list_cases(
        session,
        actor,
        CaseFilter(overdue=True),
        page=page,
        page_size=PAGE_SIZE,
        overdue_first=True,
    )
    rows = await views.summaries(session, cases, settings)
    offset = (page - 1) * PAGE_SIZE
    context: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "page_url": lambda number: "/cases/overdue" + (f"?page={number}" if number > 1 else ""),
        **_table_helpers(request, clock.now()),
    }
    return render(request, "cases/overdue.html", context, actor=actor)


# --- staff intake -------------------------------------------------------------------------------

REPORT_FIELDS = (
    "category",
    "description",
    "lon",
    "lat",
    "unit_code",
    "address",
    "urgency",
    "source",
    "reporter_name",
    "reporter_phone",
)
# What to say about a report field the checks refused (msgids).
REPORT_FIELD_ERRORS: dict[str, str] = {
    "category": N_("Choose a category from the list."),
    "description": N_("Describe the problem in at most 2,000 characters."),
    "lon": N_("Give the longitude and latitude in decimal degrees, e.g. 122.08 and 40.99."),
    "unit_code": N_("Choose a street, town, community or village from the list."),
    "address": N_("Give the address in at most 200 characters."),
    "urgency": N_("Choose an urgency from the list."),
    "source": N_("Choose a source from the list."),
    "reporter_name": N_("Give the name in at most 50 characters."),
    "reporter_phone": N_("Use 5 to 15 digits, with an optional leading +."),
    "photos": N_("Each photo must be a JPEG, PNG or WebP image within the size limit."),
}
# Where the pydantic location of an error points on the form.
REPORT_ERROR_FIELDS: dict[str, str] = {
    "category_kind": "category",
    "category_code": "category",
    "lat": "lon",
    "attachments": "photos",
    "file": "photos",
}


def _report_error_field(name: str) -> str:
    """The form field a report's refused value belongs to."""
    field_name = REPORT_ERROR_FIELDS.get(name, name)
    return field_name if field_name in REPORT_FIELD_ERRORS else ""


async def _location_units(session: DbSession, actor: Actor) -> list[tuple[str, str, int]]:
    """(code, name, level) of the streets, towns, communities and villages the person may see."""
    units = await org_repository.list_units(session, actor)
    return [(unit.code, unit.name, unit.level) for unit in units if unit.level in (4, 5)]


async def _report_form(
    request: Request,
    session: DbSession,
    actor: Actor,
    settings: Settings,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form_error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The staff intake form, filled with what was sent and the refusals next to their fields."""
    sources = reporting_sources(actor)
    book = await rulebook(session, settings)
    language = request_language(request)
    defaults = {name: "" for name in REPORT_FIELDS} | {
        "urgency": Urgency.NORMAL.value,
        "source": (Source.HOTLINE if Source.HOTLINE in sources else sources[0]).value,
        "form_key": secrets.token_urlsafe(24),
    }
    context: dict[str, Any] = {
        "values": defaults | (values or {}),
        "errors": errors or {},
        "form_error": form_error,
        "category_groups": category_groups(book.categories.values(), language, active_only=True),
        "units": await _location_units(session, actor),
        "sources": sources,
        "urgencies": list(Urgency),
        "source_label": lambda source: translator(request)(SOURCE_LABELS[Source(source)]),
        "urgency_label": lambda urgency: translator(request)(URGENCY_LABELS[Urgency(urgency)]),
        "kind_name": lambda kind: translator(request)(KIND_LABELS[Kind(kind)]),
        "category_name": lambda category: category.name(language),
        "max_photos": MAX_PHOTOS,
    }
    return render(request, "cases/new.html", context, actor=actor, status_code=status_code)


def _require_reporter(actor: Actor) -> None:
    """Refuse the intake form to people who enter no staff reports."""
    if not reporting_sources(actor):
        raise Forbidden("Your roles do not enter reports here; citizens report from the phone app.")


@router.get("/cases/new", response_class=HTMLResponse)
async def new_case_page(
    request: Request, session: DbSession, actor: PageActor, settings: AppSettings
) -> HTMLResponse:
    """The form the command centre fills in for a hotline call, an instruction or an inspection."""
    _require_reporter(actor)
    return await _report_form(request, session, actor, settings)


def _report_values(form: FormData) -> dict[str, Any]:
    """The report body a form describes, before the checks."""
    values = {name: field(form, name) for name in REPORT_FIELDS}
    kind, _, code = values["category"].partition("-")
    body: dict[str, Any] = {
        "category_kind": kind,
        "category_code": code,
        "description": values["description"],
        "source": values["source"],
        "address": values["address"],
    }
    if values["urgency"]:
        body["urgency"] = values["urgency"]
    if values["lon"] or values["lat"]:
        body["lon"] = values["lon"] or None
        body["lat"] = values["lat"] or None
    if values["unit_code"]:
        body["unit_code"] = values["unit_code"]
    for name in ("reporter_name", "reporter_phone"):
        if values[name]:
            body[name] = values[name]
    return body


@router.post("/cases/new", response_model=None)
async def create_case(
    request: Request,
    size: FormSizeLimit,
    form: CsrfForm,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    store: Media,
) -> Response:
    """Enter a staff report; every refusal is shown next to its field and nothing is saved."""
    _require_reporter(actor)
    _ = translator(request)
    values = {name: field(form, name) for name in REPORT_FIELDS}
    values["form_key"] = field(form, "form_key")
    errors: dict[str, str] = {}
    photos = uploads(form, "photos")
    if values["source"] not in {s.value for s in reporting_sources(actor)}:
        errors["source"] = _(REPORT_FIELD_ERRORS["source"])
    if not (values["lon"] or values["lat"]) and not values["unit_code"]:
        errors["lon"] = _("Give a point (longitude and latitude) or choose a unit and an address.")
    if len(photos) > MAX_PHOTOS:
        errors["photos"] = _("Attach at most %(count)s photos.") % {"count": MAX_PHOTOS}
    body: CaseCreate | None = None
    try:
        body = CaseCreate.model_validate(_report_values(form))
    except ValidationError as exc:
        for error in exc.errors():
            name = _report_error_field(str(error["loc"][0]) if error["loc"] else "")
            if name and name not in errors:
                errors[name] = _(REPORT_FIELD_ERRORS[name])
        if not errors:
            errors["description"] = _(REPORT_FIELD_ERRORS["description"])
    if errors or body is None:
        return await _report_form(
            request, session, actor, settings, values=values, errors=errors, status_code=422
        )
    key = values["form_key"] if valid_form_key(values["form_key"]) else None
    now = clock.now()
    try:
        async with session.begin_nested():
            keys = await _store_photos(session, store, photos, actor, now, settings)
            outcome = await service.report(
                session,
                actor,
                body.model_copy(update={"attachments": keys}),
                now=now,
                settings=settings,
                idempotency_key=key,
            )
    except WenmingError as exc:
        name, message = _report_refusal(exc, _)
        return await _report_form(
            request,
            session,
            actor,
            settings,
            values=values,
            errors={name: message} if name else {},
            form_error="" if name else message,
            status_code=exc.status,
        )
    return RedirectResponse(f"/cases/{outcome.case.code}?done=report", status_code=303)


def valid_form_key(value: str) -> bool:
    """Whether a posted form key looks like one this page handed out."""
    return 16 <= len(value) <= 64 and all(ch.isalnum() or ch in "-_" for ch in value)


def _report_refusal(exc: WenmingError, _: Callable[[str], str]) -> tuple[str, str]:
    """The form field a refused report belongs to and what to do about it."""
    name = _report_error_field(getattr(exc, "field", None) or "")
    if isinstance(exc, Forbidden):
        return "source", _("Your roles may not enter reports from this source.")
    if isinstance(exc, Conflict):
        return "", _(
            "This form was already sent with other content. Reload the page to enter a new report."
        )
    if name == "lon":
        return "lon", _(
            "No grid of the district covers this point. Check the coordinates, or choose a "
            "unit and give an address instead."
        )
    if name == "address":
        return "address", _("A report placed by unit needs an address.")
    if name:
        return name, _(REPORT_FIELD_ERRORS[name])
    return "", exc.detail


# --- one case -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionForm:
    """One action the viewer may take, with the fields its form needs."""

    action: Action
    label: str
    needs_reason: bool
    photos: bool
    photos_required: bool  # the action needs a photo taken on site (not found)
    before_photos: bool
    until: bool
    until_required: bool
    merge_into: bool
    primary: bool  # moves the case forward: shown open; the others are folded under their name
    style: str


def action_forms(case: CaseOut) -> list[ActionForm]:
    """The forms for exactly the actions the viewer may take now."""
    forms: list[ActionForm] = []
    for action in case.allowed_actions:
        move = TRANSITIONS[(case.state, action)]
        forms.append(
            ActionForm(
                action=action,
                label=ACTION_LABELS[action],
                needs_reason=move.needs_reason,
                photos=action in PHOTO_ACTIONS,
                photos_required=move.needs_photo,
                before_photos=action is Action.HANDLE,
                until=action in (Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION),
                until_required=action is Action.REQUEST_EXTENSION,
                merge_into=action is Action.MERGE,
                primary=action in PRIMARY_ACTIONS,
                style=(
                    "btn-primary"
                    if action in PRIMARY_ACTIONS
                    else "btn-danger"
                    if action in WARNING_ACTIONS
                    else ""
                ),
            )
        )
    # What moves the case forward first, the rest in the workflow's order.
    return sorted(forms, key=lambda form: not form.primary)


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the case's history as the page shows it."""

    label: str
    from_state: State | None
    to_state: State
    actor: str
    at: datetime
    note: str
    details: list[str]
    photos: list[AttachmentOut]


async def timeline(
    session: DbSession,
    case: CaseOut,
    _: Callable[[str], str],
    local: Callable[[datetime | None], str],
) -> list[TimelineEntry]:
    """The case's events, each with what it changed spelled out (targets named, times local)."""
    unit_ids: set[int] = set()
    department_ids: set[int] = set()
    for event in case.events:
        for key in ("target", "returned_by"):
            place = event.data.get(key)
            if isinstance(place, dict):
                if isinstance(place.get("unit_id"), int):
                    unit_ids.add(place["unit_id"])
                if isinstance(place.get("department_id"), int):
                    department_ids.add(place["department_id"])
    units, departments = await repository.place_names(session, unit_ids, department_ids)

    def place_name(place: object) -> str:
        """The name of the unit or department an event names."""
        if not isinstance(place, dict):
            return ""
        found = departments.get(place.get("department_id") or 0) or units.get(
            place.get("unit_id") or 0
        )
        return found[1] if found else ""

    entries: list[TimelineEntry] = []
    for event in case.events:
        details: list[str] = []
        data = event.data
        if name := place_name(data.get("target")):
            details.append(_("To: %(unit)s") % {"unit": name})
        if data.get("override"):
            details.append(_("The dispatcher chose another unit than the suggestion."))
        if name := place_name(data.get("returned_by")):
            details.append(_("Returned by: %(unit)s") % {"unit": name})
        if isinstance(data.get("until"), str):
            until = datetime.fromisoformat(str(data["until"]))
            details.append(_("Until: %(time)s") % {"time": local(until)})
        if isinstance(data.get("due_at"), str):
            due = datetime.fromisoformat(str(data["due_at"]))
            details.append(_("Due: %(time)s") % {"time": local(due)})
        if isinstance(data.get("merged_into"), str):
            details.append(_("Into case %(code)s") % {"code": data["merged_into"]})
        if isinstance(data.get("merged_from"), str):
            details.append(_("From case %(code)s") % {"code": data["merged_from"]})
        if isinstance(data.get("level"), int):
            details.append(_("Escalation level %(level)s") % {"level": data["level"]})
        entries.append(
            TimelineEntry(
                label=EVENT_LABELS.get(event.action, event.action),
                from_state=event.from_state,
                to_state=event.to_state,
                actor=_("System") if event.actor == "system" else event.actor,
                at=event.at,
                note=event.note if event.action not in ("merge_in",) else "",
                details=details,
                photos=event.attachments,
            )
        )
    return entries


@dataclass(frozen=True)
class PhotoGroups:
    """A case's photos as the page groups them."""

    reported: list[AttachmentOut]
    pairs: list[tuple[AttachmentOut | None, AttachmentOut | None]]
    before_is_report: bool
    after_alone: list[AttachmentOut]
    checks: list[AttachmentOut]


def photo_groups(photos: Sequence[AttachmentOut]) -> PhotoGroups:
    """The reporter's photos; before and after side by side (the reporter's photos stand in for
    the before side when the handler took none); after-photos alone when there is nothing to
    compare them with; the checker's photos."""
    by_purpose: dict[Purpose, list[AttachmentOut]] = {purpose: [] for purpose in Purpose}
    for photo in photos:
        by_purpose[photo.purpose].append(photo)
    after = by_purpose[Purpose.AFTER]
    before = by_purpose[Purpose.BEFORE] or by_purpose[Purpose.REPORT]
    compared = bool(after and before)
    return PhotoGroups(
        reported=by_purpose[Purpose.REPORT],
        pairs=list(zip_longest(before, after)) if compared else [],
        before_is_report=not by_purpose[Purpose.BEFORE],
        after_alone=[] if compared else after,
        checks=by_purpose[Purpose.CHECK],
    )


@dataclass(frozen=True)
class TargetOption:
    """A unit a dispatcher may send the case to: ``department:CODE`` or ``unit:CODE``."""

    value: str
    label: str


async def dispatch_targets(
    session: DbSession, actor: Actor, case: CaseOut
) -> tuple[list[tuple[str, list[TargetOption]]], str]:
    """The departments and the streets/communities the dispatcher may choose from, grouped, and
    the value of the suggested one (added when it lies outside what the dispatcher sees)."""
    departments = await org_repository.list_departments(session, actor)
    units = await org_repository.list_units(session, actor)
    groups: list[tuple[str, list[TargetOption]]] = [
        (
            N_("Departments"),
            [TargetOption(f"department:{d.code}", f"{d.name} · {d.code}") for d in departments],
        ),
        (
            N_("Streets and towns"),
            [TargetOption(f"unit:{u.code}", f"{u.name} · {u.code}") for u in units if u.level == 4],
        ),
        (
            N_("Communities and villages"),
            [TargetOption(f"unit:{u.code}", f"{u.name} · {u.code}") for u in units if u.level == 5],
        ),
    ]
    suggestion = case.suggestion
    place = None
    suggested = ""
    if suggestion is not None and suggestion.department is not None:
        place, suggested = suggestion.department, f"department:{suggestion.department.code}"
    elif suggestion is not None and suggestion.unit is not None:
        place, suggested = suggestion.unit, f"unit:{suggestion.unit.code}"
    listed = {option.value for _label, options in groups for option in options}
    if place is not None and suggested not in listed:
        groups.insert(
            0, (N_("Suggested"), [TargetOption(suggested, f"{place.name} · {place.code}")])
        )
    return [(label, options) for label, options in groups if options], suggested


@dataclass(frozen=True)
class Refusal:
    """An action the service refused, the message to show next to its form and what was sent."""

    action: Action
    message: str
    values: dict[str, str]


def map_context(request: Request, case: CaseOut) -> tuple[dict[str, Any], dict[str, str]]:
    """What the case map needs (its point in the tile source's system, the tiles) and the page's
    Content-Security-Policy header when tiles come from elsewhere."""
    settings: Settings = request.app.state.settings
    source = usable_tile_source(settings)
    if case.lon is None or case.lat is None:
        return {"point": None}, {}
    crs = display_crs(settings, source)
    lon, lat = (case.lon, case.lat) if crs is Crs.WGS84 else from_wgs84(case.lon, case.lat, crs)
    context = {
        "point": (round(lon, 7), round(lat, 7)),
        "tiles": source,
        "leaflet": lambda name: f"{LEAFLET_PREFIX}/{name}?v={leaflet_version()}",
    }
    return context, {"Content-Security-Policy": content_security_policy(source)}


async def _case_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    now: datetime,
    settings: Settings,
    code: str,
    *,
    refusal: Refusal | None = None,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The case page as this person may see it; a refusal is shown next to its form, any
    other error at the top."""
    record = await service.case_by_code(session, actor, code)
    case = await views.detail(session, actor, record, now=now, settings=settings)
    duplicates: list[CaseSummary] = []
    if case.state in OPEN_STATES:
        found = await service.likely_duplicates(session, actor, record, now, settings)
        duplicates = await views.summaries(session, found, settings)
    _ = translator(request)
    helpers = _table_helpers(request, now)
    local: Callable[[datetime | None], str] = _local_time_of(settings)
    targets: list[tuple[str, list[TargetOption]]] = []
    suggested = ""
    if Action.DISPATCH in case.allowed_actions:
        targets, suggested = await dispatch_targets(session, actor, case)
    forms = action_forms(case)
    map_values, headers = map_context(request, case)
    may_publish = await publication.may_publish(session, actor, record)
    context: dict[str, Any] = {
        "case": case,
        "category_label": helpers["category_name"](case.category),
        "timeline": await timeline(session, case, _, local),
        "photos": photo_groups(case.attachments),
        "forms": [form for form in forms if form.action not in PANEL_ACTIONS],
        "dispatch_form": next((f for f in forms if f.action is Action.DISPATCH), None),
        "targets": targets,
        "suggested": suggested,
        "reason_label": lambda reason: _(REASON_LABELS.get(str(reason), str(reason))),
        "duplicates": duplicates,
        "may_merge": Action.MERGE in case.allowed_actions,
        "refusal": refusal,
        "notice": notice,
        "error": error,
        "pending_until": _local_input(case.pending_due_at, settings),
        "paused": case.state is State.SUSPENDED,
        "may_publish": may_publish,
        "published": await publication.published_keys(session, record),
        **map_values,
        **helpers,
    }
    return render(
        request,
        "cases/case.html",
        context,
        actor=actor,
        status_code=status_code,
        headers=headers,
    )


def _local_time_of(settings: Settings) -> Callable[[datetime | None], str]:
    """A formatter of stored times in the configured zone, to the minute."""
    zone = ZoneInfo(settings.timezone)

    def local(value: datetime | None) -> str:
        """The time in the configured zone."""
        return "" if value is None else as_utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return local


@router.get("/cases/{code}", response_class=HTMLResponse)
async def case_page(
    request: Request,
    code: CodePath,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    done: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    """One case: summary, map, photos, timeline, routing suggestion, likely duplicates and the
    forms of exactly the actions the person may take now."""
    _ = translator(request)
    notice = ""
    if done == "report":
        notice = _("The report is recorded as case %(code)s.") % {"code": code}
    elif done in PUBLICATION_NOTICES:
        notice = _(PUBLICATION_NOTICES[done])
    elif (done_action := _choice(Action, done)) is not None:
        notice = _("“%(action)s” is done.") % {"action": _(ACTION_LABELS[done_action])}
    return await _case_page(request, session, actor, clock.now(), settings, code, notice=notice)


# What the case page says after a photo was published or withdrawn (msgids), by ``done``.
PUBLICATION_NOTICES: dict[str, str] = {
    "publish": N_("The photo is now public."),
    "unpublish": N_("The photo is no longer public."),
}
PhotoKeyPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
PublicationPath = Annotated[str, Path(pattern=r"^(publish|unpublish)$")]


@router.post("/cases/{code}/photos/{key}/{change}", response_model=None)
async def publish_photo(
    request: Request,
    code: CodePath,
    key: PhotoKeyPath,
    change: PublicationPath,
    form: CsrfForm,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
) -> Response:
    """Publish a photo of the case for the public, or withdraw it (the command centre of the
    case's territory); anyone else sees the case page again with the refusal (403 or 404)."""
    now = clock.now()
    try:
        await publication.set_published(
            session, actor, code, key, published=change == "publish", now=now
        )
    except Forbidden as exc:
        _ = translator(request)
        message = _("Only the command centre of the case's territory publishes its photos.")
        return await _case_page(
            request,
            session,
            actor,
            now,
            settings,
            code,
            notice="",
            status_code=exc.status,
            error=message,
        )
    except NotFound:
        if not await _readable(session, actor, code):
            raise
        _ = translator(request)
        return await _case_page(
            request,
            session,
            actor,
            now,
            settings,
            code,
            status_code=404,
            error=_("This case has no such photo."),
        )
    return RedirectResponse(f"/cases/{code}?done={change}#photos-heading", status_code=303)


async def _readable(session: DbSession, actor: Actor, code: str) -> bool:
    """Whether the person may read the case (its existence is not revealed otherwise)."""
    try:
        await service.case_by_code(session, actor, code)
    except NotFound:
        return False
    return True


ACTION_FIELDS = ("note", "target", "merge_into", "until", "version")


def _action_body(form: FormData, action: Action, settings: Settings) -> ActionIn:
    """The action's body from its form; raises InvalidInput or ValidationError when unusable."""
    values = {name: field(form, name) for name in ACTION_FIELDS}
    body: dict[str, Any] = {"note": values["note"]}
    if values["version"].isdigit() and len(values["version"]) <= 10:
        body["version"] = int(values["version"])
    if action is Action.DISPATCH and values["target"]:
        kind, _, code = values["target"].partition(":")
        if kind not in ("department", "unit") or not code:
            raise InvalidInput("Choose the responsible unit from the list.", field="target")
        body["target"] = {f"{kind}_code": code}
    if action is Action.MERGE:
        body["merge_into"] = values["merge_into"].upper() or None
    if action in (Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION) and values["until"]:
        until = _parse_local(values["until"], settings)
        if until is None:
            raise InvalidInput("Give the new due time as a date and a time.", field="until")
        body["until"] = until
    return ActionIn.model_validate(body)


# What to say about an action's refused field (msgids), by the field the service names.
ACTION_FIELD_ERRORS: dict[str, str] = {
    "note": N_("Say why: this action needs a note (at most 2,000 characters)."),
    "until": N_("Give a new due time after the current one."),
    "target": N_("Choose one responsible unit that serves the case's place."),
    "target.department_code": N_("Choose one responsible unit that serves the case's place."),
    "target.unit_code": N_("Choose one responsible unit that serves the case's place."),
    "merge_into": N_("Name an open case you can see, other than this one, as the original."),
    "attachments": N_("This category needs a photo of the fixed place."),
    "before_attachments": N_("Each photo must be a JPEG, PNG or WebP image within the size limit."),
    "file": N_("Each photo must be a JPEG, PNG or WebP image within the size limit."),
    "photos": N_("Each photo must be a JPEG, PNG or WebP image within the size limit."),
}


# Messages for a refused field that depend on the action (msgids).
ACTION_SPECIFIC_ERRORS: dict[tuple[Action, str], str] = {
    (Action.NOT_FOUND, "attachments"): N_("Attach a photo of the place as you found it."),
}


def action_refusal(exc: WenmingError, _: Callable[[str], str], action: Action | None = None) -> str:
    """What to tell the person about an action the service refused."""
    if isinstance(exc, Conflict):
        allowed = exc.extensions.get("allowed_actions")
        state = _choice(State, str(exc.extensions.get("state", "")))
        if not isinstance(allowed, list) or state is None:
            # A version check or a concurrent transition: the page the person saw is stale.
            return _("Someone else acted on this case meanwhile. Reload the page and try again.")
        names = [_(ACTION_LABELS[a]) for a in (_choice(Action, str(v)) for v in allowed) if a]
        return _("This is not possible while the case is “%(state)s”. You may: %(actions)s.") % {
            "state": _(STATE_LABELS[state]),
            "actions": _(", ").join(names) if names else _("nothing at this moment"),
        }
    name = getattr(exc, "field", None) or ""
    if action is not None and (action, name) in ACTION_SPECIFIC_ERRORS:
        return _(ACTION_SPECIFIC_ERRORS[(action, name)])
    if name in ACTION_FIELD_ERRORS:
        return _(ACTION_FIELD_ERRORS[name])
    return exc.detail


@router.post("/cases/{code}/actions/{action}", response_model=None)
async def take_action(
    request: Request,
    code: CodePath,
    action: Action,
    size: FormSizeLimit,
    form: CsrfForm,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    store: Media,
) -> Response:
    """Take one workflow action from the case page, uploading its photos first; a refusal
    re-renders the case page with the message next to the form (409 or 422), unchanged."""
    _ = translator(request)
    now = clock.now()
    photos = uploads(form, "photos")
    before = uploads(form, "before_photos")
    sent = {name: field(form, name) for name in ACTION_FIELDS}
    try:
        if len(photos) > MAX_PHOTOS or len(before) > MAX_PHOTOS:
            raise InvalidInput(f"Attach at most {MAX_PHOTOS} photos.", field="photos")
        body = _action_body(form, action, settings)
        async with session.begin_nested():
            after_keys = await _store_photos(session, store, photos, actor, now, settings)
            before_keys = await _store_photos(session, store, before, actor, now, settings)
            case = await service.act(
                session,
                actor,
                code,
                action,
                body.model_copy(
                    update={"attachments": after_keys, "before_attachments": before_keys}
                ),
                now=now,
                settings=settings,
            )
    except ValidationError as exc:
        names = [str(error["loc"][0]) for error in exc.errors() if error["loc"]]
        name = names[0] if names else "note"
        message = _(ACTION_FIELD_ERRORS.get(name, ACTION_FIELD_ERRORS["note"]))
        refusal = Refusal(action, message, sent)
        return await _case_page(
            request, session, actor, now, settings, code, refusal=refusal, status_code=422
        )
    except (InvalidInput, Conflict) as exc:
        refusal = Refusal(action, action_refusal(exc, _, action), sent)
        return await _case_page(
            request, session, actor, now, settings, code, refusal=refusal, status_code=exc.status
        )
    if not await service.visible_to(session, actor, [case]):
        target = "/cases?" + urlencode({"done": action.value, "case": case.code})
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"/cases/{case.code}?done={action.value}", status_code=303)


__all__ = ["router"]
