"""The "指尖" phone app under /m/: report a problem, my reports, the public map and list.

The pages are an installable web app: a web manifest with icons drawn here (``/m/icons/``), and
a service worker (``/m/sw.js``, scope ``/m/``) that caches the app shell so the report form opens
without network; a report made offline waits on the device (IndexedDB) and is sent with its
Idempotency-Key when the network returns. Everything is served by this site under the strict
Content-Security-Policy (no inline script, nothing from a CDN); the map uses the installed Leaflet
and the configured tile source, if any.

The public map and list show what ``cases.public`` lets anyone see: no personal data, approved
photos only, closed and old reports hidden unless asked for.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from PIL import Image, ImageDraw

from wenming import __version__, i18n
from wenming.auth import csrf
from wenming.auth.deps import CurrentActor
from wenming.cases import views
from wenming.cases.api import CodePath
from wenming.cases.public import PublicFilter, public_case, public_cases
from wenming.cases.rulebook import rulebook
from wenming.cases.vocab import AREA_LABELS, Area, Source
from wenming.cases.workflow import FINAL_STATES, OPEN_STATES, State
from wenming.core.config import Settings
from wenming.core.deps import AppClock, DbSession
from wenming.core.errors import Forbidden, NotFound
from wenming.i18n import N_
from wenming.org.roles import Permission, Role
from wenming.phone import patrols
from wenming.phone import service as phone_service
from wenming.phone.api import public_filter
from wenming.web.deps import PageActor
from wenming.web.map import (
    LEAFLET_PREFIX,
    content_security_policy,
    display_crs,
    leaflet_version,
    usable_tile_source,
)
from wenming.web.rendering import (
    STATIC_DIR,
    STATIC_PREFIX,
    render,
    request_language,
    translator,
)

router = APIRouter(include_in_schema=False)

PREFIX = "/m"
APP_STATIC = STATIC_DIR / "app"
ICON_SIZES = (192, 512)
THEME_COLOUR = "#b8231f"
BACKGROUND_COLOUR = "#f2f4f7"
# The files the service worker keeps for offline use (besides the pages themselves).
SHELL_ASSETS = (
    "gcj02.js",
    "app/app.css",
    "app/app.js",
    "app/report.js",
    "app/mine.js",
    "app/pubmap.js",
    "app/worker.js",
)
SHELL_PAGES = (f"{PREFIX}/", f"{PREFIX}/report", f"{PREFIX}/mine")
PAGE_SIZE = 50

STATE_LABELS: dict[str, str] = {
    State.REPORTED.value: N_("Received"),
    State.VERIFYING.value: N_("Being checked on site"),
    State.CONFIRMED.value: N_("Confirmed on site"),
    State.VERIFYING.value: N_("Being checked on site"),
    State.CONFIRMED.value: N_("Confirmed on site"),
    State.FILED.value: N_("Accepted for handling"),
    State.DISPATCHED.value: N_("Sent to the responsible unit"),
    State.ACCEPTED.value: N_("Being handled"),
    State.HANDLED.value: N_("Handled, awaiting check"),
    State.VERIFIED.value: N_("Checked on site"),
    State.CLOSED.value: N_("Closed"),
    State.REJECTED.value: N_("Not taken up"),
    State.VOIDED.value: N_("Withdrawn"),
    State.MERGED.value: N_("Merged with an earlier report"),
    State.SUSPENDED.value: N_("On hold"),
}
EVENT_LABELS: dict[str, str] = {
    "report": N_("Reported"),
    "send_to_verify": N_("Sent for on-site verification"),
    "confirm": N_("Confirmed on site"),
    "not_found": N_("Not found on site: rejected"),
    "file": N_("Accepted for handling"),
    "reject": N_("Not taken up"),
    "merge": N_("Merged with an earlier report"),
    "dispatch": N_("Sent to the responsible unit"),
    "accept": N_("The unit took it on"),
    "handle": N_("The unit reports it fixed"),
    "verify_pass": N_("Fix confirmed on site"),
    "verify_fail": N_("Fix not confirmed; sent back"),
    "close": N_("Closed"),
    "reopen": N_("Reopened: not fixed"),
    "suspend": N_("On hold"),
    "approve_suspension": N_("On hold"),
    "resume": N_("Resumed"),
    "approve_extension": N_("More time granted"),
    "support": N_("Someone else saw it too"),
}
RATING_LABELS: dict[str, str] = {
    "satisfied": N_("Satisfied"),
    "basically_satisfied": N_("Basically satisfied"),
    "dissatisfied": N_("Dissatisfied"),
}
# Words the scripts show (msgids), translated into the page's language.
SCRIPT_TEXT: dict[str, str] = {
    "locating": N_("Finding your location…"),
    "located": N_("Location set from your device (accuracy about %(metres)s m)."),
    "locate_failed": N_("Your location could not be found. Tap the map to set it."),
    "tapped": N_("Location set on the map."),
    "photo_gps": N_("Location taken from the photo."),
    "uploading": N_("Uploading photos…"),
    "upload_failed": N_("A photo could not be uploaded: %(reason)s"),
    "need_location": N_("Set the location: use your device's position or tap the map."),
    "need_category": N_("Choose what kind of problem it is."),
    "need_description": N_("Describe the problem in a few words."),
    "need_consent": N_("Agree to the terms before sending."),
    "sending": N_("Sending…"),
    "send_failed": N_("The report could not be sent: %(reason)s"),
    "queued": N_(
        "You are offline. The report is kept on this device and will be sent when the "
        "network returns."
    ),
    "queued_count": N_("Waiting to be sent: %(count)s"),
    "delivered": N_("A report kept on this device has been sent: %(code)s"),
    "duplicates_found": N_("Reported nearby already — say “me too” instead of a new report?"),
    "me_too": N_("Me too"),
    "me_too_done": N_("Thank you. Your “me too” was added to %(code)s."),
    "distance": N_("%(metres)s m away"),
    "supporters": N_("%(count)s people saw this too"),
    "remove_photo": N_("Remove photo"),
    "discard": N_("Discard"),
    "forget_contact": N_("Remove my name and number from this report"),
    "no_reports": N_("No reports on this device yet."),
    "rate": N_("Rate the result"),
    "rated": N_("Your rating: %(rating)s"),
    "not_fixed": N_("Still not fixed"),
    "not_fixed_reason": N_("What is still wrong?"),
    "reopen_until": N_("You can say it is not fixed until %(date)s."),
    "comment": N_("Comment (optional)"),
    "send": N_("Send"),
    "no_public": N_("No reports match."),
    "details": N_("Details"),
    "loading": N_("Loading…"),
    "error": N_("Something went wrong: %(reason)s"),
    "offline": N_("You are offline."),
    "pending": N_("Waiting to be sent"),
    "tracking_code": N_("Tracking code"),
    "search_none": N_("No category matches."),
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _map_context(
    request: Request, session: DbSession
) -> tuple[dict[str, Any], dict[str, str]]:
    """What a page with a map needs (tiles, drawing system, where to open, Leaflet) and its
    policy header."""
    settings = _settings(request)
    source = usable_tile_source(settings)
    crs = display_crs(settings, source)
    context = {
        "tiles": source,
        "crs": crs.value,
        "extent": json.dumps(await phone_service.map_extent(session, crs)),
        "leaflet": lambda name: f"{LEAFLET_PREFIX}/{name}?v={leaflet_version()}",
    }
    return context, {"Content-Security-Policy": content_security_policy(source)}


def _text(request: Request) -> dict[str, str]:
    translate = translator(request)
    return {key: translate(message) for key, message in SCRIPT_TEXT.items()}


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    actor: CurrentActor,
    headers: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    translate = translator(request)

    def state_label(state: str) -> str:
        """A state's name for citizens."""
        return translate(STATE_LABELS.get(state, state))

    def event_label(action: str) -> str:
        """A timeline step's name for citizens."""
        return translate(EVENT_LABELS.get(action, action))

    values = {
        "app_static": lambda name: f"{STATIC_PREFIX}/app/{name}?v={__version__}",
        "state_label": state_label,
        "event_label": event_label,
        "is_worker": Role.GRID_WORKER in actor.roles,
        "sees_patrols": bool(actor.grants_with(Permission.READ_PEOPLE)),
        "signed_in": actor.is_authenticated,
        "app_config": {
            "text": _text(request),
            "states": {k: translate(v) for k, v in STATE_LABELS.items()},
            "events": {k: translate(v) for k, v in EVENT_LABELS.items()},
            "ratings": {k: translate(v) for k, v in RATING_LABELS.items()},
            "signed_in": actor.is_authenticated,
        },
        **context,
    }
    return render(request, template, values, actor=actor, headers=headers, status_code=status_code)


async def _category_groups(request: Request, session: DbSession) -> list[dict[str, Any]]:
    """The categories the public may report, grouped by campaign area, in the page's language."""
    language = request_language(request)
    book = await rulebook(session, _settings(request))
    groups: dict[Area, list[dict[str, Any]]] = {area: [] for area in Area}
    for category in sorted(book.categories.values(), key=lambda c: (c.kind.value, c.code)):
        if not category.public or not category.active:
            continue
        groups[category.area].append(
            {
                "value": f"{category.kind.value}:{category.code}",
                "name": category.name_en if language == "en" else category.name_zh,
                "other_name": category.name_zh if language == "en" else category.name_en,
                "icon": category.icon,
            }
        )
    return [
        {
            "area": area.value,
            "name": AREA_LABELS[area][1 if language == "en" else 0],
            "items": items,
        }
        for area, items in groups.items()
        if items
    ]


@router.get(f"{PREFIX}", include_in_schema=False)
async def app_root() -> Response:
    """The app lives at /m/."""
    return Response(status_code=308, headers={"Location": f"{PREFIX}/"})


@router.get(f"{PREFIX}/", response_class=HTMLResponse)
async def app_home(request: Request, actor: CurrentActor) -> HTMLResponse:
    """The app's start screen: report, my reports, map and list."""
    return _page(request, "app/home.html", {"active": "home"}, actor)


@router.get(f"{PREFIX}/report", response_class=HTMLResponse)
async def report_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    source: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """Report a problem: photos, place, category, description, contact and consent."""
    map_context, headers = await _map_context(request, session)
    context = {
        "active": "report",
        "as_worker": source == Source.GRID_WORKER.value and Role.GRID_WORKER in actor.roles,
        "groups": await _category_groups(request, session),
        **map_context,
    }
    return _page(request, "app/report.html", context, actor, headers)


@router.get(f"{PREFIX}/worker", response_class=HTMLResponse)
async def worker_page(
    request: Request, session: DbSession, actor: PageActor, clock: AppClock
) -> HTMLResponse:
    """The grid worker's desk: my grids on a map, the patrol, quick report, checks to make."""
    patrols.require_worker(actor)
    map_context, headers = await _map_context(request, session)
    settings = _settings(request)
    groups = []
    for state, title in (
        (State.VERIFYING, N_("Reports to verify on site")),
        (State.HANDLED, N_("Fixes to check on site")),
    ):
        tasks = [
            await views.detail(session, actor, case, now=clock.now(), settings=settings)
            for case in await patrols.verification_tasks(session, actor, state)
        ]
        groups.append({"state": state.value, "title": title, "tasks": tasks})
    context = {"active": "worker", "task_groups": groups, **map_context}
    return _page(request, "app/worker.html", context, actor, headers)


@router.get(f"{PREFIX}/patrols", response_class=HTMLResponse)
async def patrols_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """Patrols of the grid workers in the territory (street admins and above), newest first."""
    if not actor.grants_with(Permission.READ_PEOPLE) and Role.GRID_WORKER not in actor.roles:
        raise Forbidden("Patrols are shown to grid workers and to the admins of their territory.")
    rows = await patrols.visible(session, actor)
    return _page(request, "app/patrols.html", {"active": "patrols", "rows": rows}, actor)


@router.get(f"{PREFIX}/mine", response_class=HTMLResponse)
async def mine_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    """My reports: those this device sent, and those of the signed-in citizen."""
    return _page(request, "app/mine.html", {"active": "mine"}, actor)


@router.get(f"{PREFIX}/map", response_class=HTMLResponse)
async def public_map_page(
    request: Request, session: DbSession, actor: CurrentActor
) -> HTMLResponse:
    """The public map of open reports, with filters."""
    map_context, headers = await _map_context(request, session)
    context = {
        "active": "map",
        "groups": await _category_groups(request, session),
        "state_choices": [s.value for s in (*OPEN_STATES, *FINAL_STATES)],
        **map_context,
    }
    return _page(request, "app/map.html", context, actor, headers)


@router.get(f"{PREFIX}/list", response_class=HTMLResponse)
async def public_list_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    clock: AppClock,
    category: Annotated[str, Query(max_length=20)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
    include_closed: bool = False,
    include_old: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """The public list of reports: no personal data, fixed and old ones hidden by default."""
    states = [State(state)] if state in {s.value for s in State} else []
    wanted: PublicFilter = public_filter(
        [category] if category else None, states, None, include_closed, include_old
    )
    found = await public_cases(
        session,
        wanted,
        now=clock.now(),
        settings=_settings(request),
        page=page,
        page_size=PAGE_SIZE + 1,
    )
    context = {
        "active": "list",
        "cases": found[:PAGE_SIZE],
        "more": len(found) > PAGE_SIZE,
        "page": page,
        "groups": await _category_groups(request, session),
        "state_choices": [s.value for s in (*OPEN_STATES, *FINAL_STATES)],
        "chosen": {
            "category": category,
            "state": state,
            "include_closed": include_closed,
            "include_old": include_old,
        },
    }
    return _page(request, "app/list.html", context, actor)


@router.get(f"{PREFIX}/r/{{code}}", response_class=HTMLResponse)
async def public_case_page(
    request: Request, code: CodePath, session: DbSession, actor: CurrentActor
) -> HTMLResponse:
    """One report as the public sees it, with its timeline and approved photos."""
    found = await public_case(session, code, settings=_settings(request))
    if found is None:
        raise NotFound(f"No public report {code}.")
    return _page(request, "app/case.html", {"active": "list", "case": found}, actor)


@router.get(f"{PREFIX}/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    """The web app manifest: name, start page, colours and icons (installable)."""
    translate = translator(request)
    body = {
        "name": translate(N_("Wenming at your fingertips")),
        "short_name": translate(N_("Fingertip")),
        "description": translate(N_("Report problems in your neighbourhood and follow the fix.")),
        "lang": i18n.HTML_LANG[request_language(request)],
        "start_url": f"{PREFIX}/",
        "scope": f"{PREFIX}/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND_COLOUR,
        "theme_color": THEME_COLOUR,
        "icons": [
            {
                "src": f"{PREFIX}/icons/{size}.png",
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in ICON_SIZES
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@lru_cache(maxsize=len(ICON_SIZES))
def icon_png(size: int) -> bytes:
    """The app icon drawn at a size: a white map pin with a red dot on the campaign red.

    Drawn with Pillow, so the repository holds no image file; the safe zone of a maskable icon
    (the inner 80 %) holds the whole pin.
    """
    scale = 4
    big = size * scale
    image = Image.new("RGB", (big, big), THEME_COLOUR)
    draw = ImageDraw.Draw(image)
    cx, top, radius = big / 2, big * 0.24, big * 0.2
    draw.ellipse((cx - radius, top, cx + radius, top + 2 * radius), fill="#ffffff")
    draw.polygon(
        [(cx - radius * 0.82, top + radius * 1.5), (cx + radius * 0.82, top + radius * 1.5),
         (cx, big * 0.78)],
        fill="#ffffff",
    )  # fmt: skip
    inner = radius * 0.45
    draw.ellipse(
        (cx - inner, top + radius - inner, cx + inner, top + radius + inner), fill=THEME_COLOUR
    )
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


@router.get(f"{PREFIX}/icons/{{size}}.png")
async def icon(size: int) -> Response:
    """One of the app's icons."""
    if size not in ICON_SIZES:
        raise NotFound(f"No icon of {size} px; there are {', '.join(map(str, ICON_SIZES))}.")
    return Response(
        icon_png(size), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@lru_cache(maxsize=1)
def _worker_source() -> str:
    return (APP_STATIC / "sw.js").read_text(encoding="utf-8")


def shell_urls() -> list[str]:
    """What the service worker stores when it is installed: the pages and versioned assets."""
    assets = [f"{STATIC_PREFIX}/{name}?v={__version__}" for name in SHELL_ASSETS]
    leaflet = [f"{LEAFLET_PREFIX}/{name}?v={leaflet_version()}" for name in ("leaflet.js",
               "leaflet.css")]  # fmt: skip
    icons = [f"{PREFIX}/icons/{size}.png" for size in ICON_SIZES]
    return [*SHELL_PAGES, *assets, *leaflet, *icons, f"{PREFIX}/manifest.webmanifest"]


@router.get(f"{PREFIX}/sw.js")
async def service_worker() -> Response:
    """The service worker, served from /m/ so that it controls the app's pages."""
    source = (
        _worker_source()
        .replace("/*SHELL*/[]", json.dumps(shell_urls()), 1)
        .replace("__VERSION__", __version__, 1)
    )
    return Response(
        source,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": f"{PREFIX}/"},
    )


@router.get(f"{PREFIX}/csrf")
async def csrf_token(request: Request) -> JSONResponse:
    """A fresh CSRF token for a page that came from the offline cache (its own may be stale)."""
    response = JSONResponse(
        {"token": csrf.token_for(request)}, headers={"Cache-Control": "no-store"}
    )
    csrf.set_cookie_if_new(request, response)
    return response


def install(app: FastAPI) -> None:
    """Add the app's pages."""
    app.include_router(router)
