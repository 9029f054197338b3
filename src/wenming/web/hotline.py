"""The hotline desk (12345 受理): one page on which an intake clerk or a dispatcher takes a call.

The caller's number shows their earlier cases; the address is found in the gazetteer as it is
typed (``/api/v1/geo/search``) or by a click on the map (``/api/v1/geo/reverse``); the case is
created with source ``hotline_12345`` through ``cases.service.report``, like the staff intake form,
and the page then shows the tracking code to read out to the caller. The common path needs no
mouse (the keys are in ``static/hotline.js``); without JavaScript the same form still posts, given
a point.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases import callers, service
from wenming.cases.callers import CallerHistory
from wenming.cases.models import Case
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import CaseCreate
from wenming.cases.service import SOURCE_ROLES
from wenming.cases.vocab import Kind, Source, Urgency
from wenming.cases.workflow import State
from wenming.core.config import Settings
from wenming.core.deps import AppClock, AppSettings, DbSession
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound, WenmingError
from wenming.geo.crs import Crs
from wenming.i18n import N_
from wenming.org.scope import Actor
from wenming.web.cases import (
    KIND_LABELS,
    REPORT_FIELD_ERRORS,
    STATE_LABELS,
    URGENCY_LABELS,
    category_groups,
    valid_form_key,
)
from wenming.web.deps import PageActor
from wenming.web.forms import CsrfForm, field
from wenming.web.map import (
    API_LAYERS_URL,
    CONVERTED_LAYERS_URL,
    LEAFLET_PREFIX,
    content_security_policy,
    display_crs,
    leaflet_version,
    usable_tile_source,
)
from wenming.web.rendering import render, request_language, translator

router = APIRouter(include_in_schema=False)

SEARCH_URL = "/api/v1/geo/search"
REVERSE_URL = "/api/v1/geo/reverse"
CALLER_URL = "/hotline/caller"
SUGGESTIONS = 8
HOTLINE_FIELDS = (
    "reporter_phone",
    "address",
    "lon",
    "lat",
    "category",
    "description",
    "urgency",
    "reporter_name",
)
# What to say about a refused field of the desk (msgids); the others are the intake form's.
NO_POINT = N_("Choose an address from the suggestions, or click the place on the map.")
OUTSIDE = N_(
    "No grid of the district covers this place. Choose another address, or click inside the "
    "district on the map."
)
# Words the desk's script shows (msgids), translated into the page's language.
DESK_TEXT: dict[str, str] = {
    "searching": N_("Searching the gazetteer…"),
    "no_match": N_("No address matches. Keep typing, or click the place on the map."),
    "search_failed": N_("The address search failed. Try again, or click the place on the map."),
    "suggestions": N_("%(count)s suggestions: ↑ and ↓ to choose, Enter to take one."),
    "chosen": N_("Point chosen: %(label)s (grid %(grid)s)."),
    "chosen_no_grid": N_("Point chosen: %(label)s."),
    "interpolated": N_("estimated between door plates"),
    "address": N_("Door plate"),
    "road": N_("Road"),
    "place": N_("Place"),
    "point": N_("Inspection point"),
    "grid": N_("Grid"),
    "map_point": N_("the point clicked on the map"),
    "reverse_failed": N_("No address is known near this point; type one."),
    "no_category": N_("No category matches. Try fewer characters."),
    "caller_failed": N_("The caller's earlier cases could not be loaded."),
}


def require_desk(actor: Actor) -> None:
    """The desk is for the intake clerks and dispatchers who take hotline calls."""
    if not actor.has_role(*SOURCE_ROLES[Source.HOTLINE]):
        raise Forbidden("The hotline desk is for intake clerks and dispatchers.")


def _desk_map(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The map's settings for the page's script, and the page's Content-Security-Policy."""
    settings: Settings = request.app.state.settings
    source = usable_tile_source(settings)
    crs = display_crs(settings, source)
    config = {
        "crs": crs.value,
        "tiles": source.template if source else "",
        "subdomains": source.subdomains if source else "",
        "layers_url": (CONVERTED_LAYERS_URL if crs is not Crs.WGS84 else API_LAYERS_URL).format(
            layer="street"
        ),
    }
    return config, {"Content-Security-Policy": content_security_policy(source)}


def _history_helpers(request: Request) -> dict[str, Any]:
    """What the caller-history fragment uses to show values in the page's language."""
    language = request_language(request)
    _ = translator(request)
    return {
        "state_label": lambda state: _(STATE_LABELS[State(state)]),
        "category_name": lambda category: category.name(language),
    }


async def _history(
    session: AsyncSession, actor: Actor, phone: str, settings: Settings
) -> tuple[CallerHistory | None, str]:
    """A caller's earlier cases, or why the number cannot be looked up."""
    if not phone:
        return None, ""
    try:
        return await callers.earlier_cases(session, actor, phone, settings=settings), ""
    except InvalidInput:
        return None, REPORT_FIELD_ERRORS["reporter_phone"]


async def _desk(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form_error: str = "",
    created: Case | None = None,
    duplicates: Sequence[Case] = (),
    status_code: int = 200,
) -> HTMLResponse:
    """The desk, filled with what was sent and the refusals next to their fields."""
    _ = translator(request)
    language = request_language(request)
    book = await rulebook(session, settings)
    filled = {name: "" for name in HOTLINE_FIELDS} | {
        "urgency": Urgency.NORMAL.value,
        "form_key": secrets.token_urlsafe(24),
    }
    filled |= values or {}
    history, history_error = await _history(session, actor, filled["reporter_phone"], settings)
    map_config, headers = _desk_map(request)
    config = {
        **map_config,
        "search_url": SEARCH_URL,
        "reverse_url": REVERSE_URL,
        "caller_url": CALLER_URL,
        "limit": SUGGESTIONS,
        "text": {key: _(message) for key, message in DESK_TEXT.items()},
    }
    context: dict[str, Any] = {
        "values": filled,
        "errors": errors or {},
        "form_error": form_error,
        "created": created,
        "created_category": book.category(created.category_id) if created else None,
        "duplicates": [(case, book.category(case.category_id)) for case in duplicates],
        "history": history,
        "history_error": _(history_error) if history_error else "",
        "category_groups": category_groups(book.categories.values(), language, active_only=True),
        "urgencies": list(Urgency),
        "urgency_label": lambda urgency: _(URGENCY_LABELS[Urgency(urgency)]),
        "kind_name": lambda kind: _(KIND_LABELS[Kind(kind)]),
        "desk_config": config,
        "leaflet": lambda name: f"{LEAFLET_PREFIX}/{name}?v={leaflet_version()}",
        **_history_helpers(request),
    }
    return render(
        request,
        "hotline/desk.html",
        context,
        actor=actor,
        status_code=status_code,
        headers=headers,
    )


@router.get("/hotline", response_class=HTMLResponse)
async def desk_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    phone: str = Query("", max_length=30),
    created: str = Query("", max_length=16),
) -> HTMLResponse:
    """The desk; ``phone`` shows that caller's earlier cases, ``created`` the case just entered
    with the open cases of its category nearby (perhaps the same problem, reported before)."""
    require_desk(actor)
    case: Case | None = None
    duplicates: list[Case] = []
    if created:
        try:
            case = await service.case_by_code(session, actor, created.upper())
        except NotFound:
            case = None
    if case is not None:
        duplicates = await service.likely_duplicates(session, actor, case, clock.now(), settings)
    return await _desk(
        request,
        session,
        actor,
        settings,
        values={"reporter_phone": phone.strip()},
        created=case,
        duplicates=duplicates,
    )


@router.get("/hotline/caller", response_class=HTMLResponse)
async def caller_fragment(
    request: Request,
    session: DbSession,
    actor: PageActor,
    settings: AppSettings,
    phone: str = Query("", max_length=30),
) -> HTMLResponse:
    """The caller's earlier cases as a piece of the desk, fetched by its script as the number is
    typed."""
    require_desk(actor)
    history, error = await _history(session, actor, phone.strip(), settings)
    context = {
        "history": history,
        "history_error": translator(request)(error) if error else "",
        **_history_helpers(request),
    }
    return render(request, "hotline/_history.html", context, actor=actor)


def _point(values: dict[str, str]) -> tuple[float, float] | None:
    """The point the form carries (WGS-84), or None when there is none or it is not a number."""
    try:
        lon, lat = float(values["lon"]), float(values["lat"])
    except ValueError:
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return lon, lat


def _body(values: dict[str, str], point: tuple[float, float]) -> dict[str, Any]:
    """The report body the desk's form describes, before the checks."""
    kind, _, code = values["category"].partition("-")
    body: dict[str, Any] = {
        "category_kind": kind,
        "category_code": code,
        "description": values["description"],
        "source": Source.HOTLINE.value,
        "lon": point[0],
        "lat": point[1],
        "crs": Crs.WGS84.value,
        "address": values["address"],
        "urgency": values["urgency"] or Urgency.NORMAL.value,
    }
    for name in ("reporter_name", "reporter_phone"):
        if values[name]:
            body[name] = values[name]
    return body


# Where each refused field of the report body is shown on the desk, and what to say (msgids).
BODY_FIELDS: dict[str, tuple[str, str]] = {
    "category_kind": ("category", REPORT_FIELD_ERRORS["category"]),
    "category_code": ("category", REPORT_FIELD_ERRORS["category"]),
    "description": ("description", REPORT_FIELD_ERRORS["description"]),
    "lon": ("address", NO_POINT),
    "lat": ("address", NO_POINT),
    "address": ("address", REPORT_FIELD_ERRORS["address"]),
    "urgency": ("urgency", REPORT_FIELD_ERRORS["urgency"]),
    "reporter_name": ("reporter_name", REPORT_FIELD_ERRORS["reporter_name"]),
    "reporter_phone": ("reporter_phone", REPORT_FIELD_ERRORS["reporter_phone"]),
}


def _check(
    values: dict[str, str], _: Callable[[str], str]
) -> tuple[CaseCreate | None, dict[str, str]]:
    """The report the form describes, or the message for each refused field."""
    errors: dict[str, str] = {}
    if values["reporter_phone"]:
        try:
            values["reporter_phone"] = callers.normalise_phone(values["reporter_phone"])
        except InvalidInput:
            errors["reporter_phone"] = _(REPORT_FIELD_ERRORS["reporter_phone"])
    point = _point(values)
    if point is None:
        errors["address"] = _(NO_POINT)
        point = (0.0, 0.0)  # a stand-in, so that the other fields are still checked below
    try:
        body = CaseCreate.model_validate(_body(values, point))
    except ValidationError as exc:
        for error in exc.errors():
            loc = str(error["loc"][0]) if error["loc"] else ""
            name, message = BODY_FIELDS.get(loc, BODY_FIELDS["description"])
            errors.setdefault(name, _(message))
        return None, errors
    return (None, errors) if errors else (body, errors)


def _refusal(exc: WenmingError, _: Callable[[str], str]) -> tuple[str, str]:
    """The field a report refused by the service belongs to, and what to do about it."""
    name = getattr(exc, "field", None) or ""
    if isinstance(exc, Forbidden):
        return "", _("Your roles may not enter reports from this source.")
    if isinstance(exc, Conflict):
        return "", _(
            "This form was already sent with other content. Reload the page to enter a new report."
        )
    if name in ("lon", "lat"):
        return "address", _(OUTSIDE)
    if name in BODY_FIELDS:
        target, message = BODY_FIELDS[name]
        return target, _(message)
    return "", exc.detail


@router.post("/hotline", response_model=None)
async def take_call(
    request: Request,
    form: CsrfForm,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
) -> Response:
    """Record a hotline call as a case; a refusal is shown next to its field and nothing is
    saved. On success the desk shows the tracking code (post, redirect, get)."""
    require_desk(actor)
    _ = translator(request)
    values = {name: field(form, name) for name in HOTLINE_FIELDS}
    values["form_key"] = field(form, "form_key")
    body, errors = _check(values, _)
    if body is None:
        return await _desk(
            request, session, actor, settings, values=values, errors=errors, status_code=422
        )
    key = values["form_key"] if valid_form_key(values["form_key"]) else None
    try:
        async with session.begin_nested():
            outcome = await service.report(
                session, actor, body, now=clock.now(), settings=settings, idempotency_key=key
            )
    except WenmingError as exc:
        name, message = _refusal(exc, _)
        return await _desk(
            request,
            session,
            actor,
            settings,
            values=values,
            errors={name: message} if name else {},
            form_error="" if name else message,
            status_code=exc.status,
        )
    return RedirectResponse(f"/hotline?created={outcome.case.code}", status_code=303)
