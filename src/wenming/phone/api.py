"""The phone app's API under /api/v1/app: report with a reporter key, nearby open reports,
"my reports", rate, "not fixed", and citizen accounts by mobile number and password."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from wenming.auth import csrf
from wenming.auth import service as auth_service
from wenming.auth.deps import CurrentActor, SignedInActor
from wenming.cases.api import CodePath, IdempotencyKeyHeader
from wenming.cases.public import PublicFilter, public_cases
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import CategoryCode, Latitude, Longitude
from wenming.cases.views import category_out
from wenming.cases.vocab import Area, Kind
from wenming.cases.workflow import FINAL_STATES, State
from wenming.core.config import Settings
from wenming.core.deps import (
    MAX_ROW_ID,
    SESSION_COOKIE,
    AppClock,
    AppSettings,
    DbSession,
    RowId,
)
from wenming.core.errors import Conflict, InvalidInput
from wenming.core.problems import problem_response
from wenming.geo.api import GEOJSON_MEDIA_TYPE
from wenming.geo.crs import Crs, from_wgs84, to_wgs84
from wenming.org import service as org_service
from wenming.org.models import User
from wenming.org.roles import Role
from wenming.phone import patrols, service
from wenming.phone.models import Patrol
from wenming.phone.schemas import (
    AppReportIn,
    CitizenIn,
    CitizenOut,
    FixesIn,
    MineIn,
    NearbyOut,
    NotFixedIn,
    PatrolOut,
    PatrolStartIn,
    PublicCaseOut,
    RatingIn,
    ReceiptOut,
    ReporterIn,
    ReportStatusOut,
)
from wenming.web.map import converted

router = APIRouter(prefix="/api/v1/app", tags=["phone app"])


@router.post(
    "/reports",
    response_model=ReceiptOut,
    status_code=status.HTTP_201_CREATED,
    summary="Report from the phone app",
    responses={200: {"description": "a retry with a known Idempotency-Key: the same case"}},
)
async def report(
    body: AppReportIn,
    response: Response,
    session: DbSession,
    actor: CurrentActor,
    clock: AppClock,
    settings: AppSettings,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ReceiptOut:
    """A citizen's report, as ``POST /api/v1/cases``, plus ``reporter_secret``: a secret the
    device drew and keeps, which later proves it made the report (to rate it or reopen it)."""
    outcome = await service.report(
        session,
        actor,
        body,
        now=clock.now(),
        settings=settings,
        idempotency_key=idempotency_key,
    )
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    case = outcome.case
    book = await rulebook(session, settings)
    return ReceiptOut(
        code=case.code,
        state=State(case.state),
        created=outcome.created,
        category=category_out(book.category(case.category_id)),
        address=case.address,
        created_at=case.created_at,
    )


@router.get("/nearby", response_model=list[NearbyOut], summary="Open reports nearby")
async def nearby(
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
    kind: Kind,
    code: Annotated[CategoryCode, Query(description="4-digit category code")],
    lon: Annotated[Longitude, Query()],
    lat: Annotated[Latitude, Query()],
    crs: Crs = Crs.WGS84,
) -> list[NearbyOut]:
    """Open public reports of the category within its duplicate radius, nearest first: say
    "me too" (``POST /api/v1/cases/{code}/support``) instead of reporting again. Points are
    answered in the system they were asked in."""
    found = await service.nearby(
        session, kind, code, lon, lat, crs, now=clock.now(), settings=settings
    )
    return [
        NearbyOut(**PublicCaseOut.of(item, crs).model_dump(), distance_m=d) for d, item in found
    ]


@router.get("/public", response_model=list[PublicCaseOut], summary="Public reports")
async def public_reports(
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
    category: Annotated[
        list[str] | None,
        Query(description="kind:code, e.g. event:0102; repeat for several"),
    ] = None,
    state: Annotated[list[State] | None, Query(description="any of these states")] = None,
    area: Annotated[list[Area] | None, Query(description="any of these campaign areas")] = None,
    include_closed: bool = False,
    include_old: bool = False,
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat in the crs given")
    ] = None,
    crs: Crs = Crs.WGS84,
    page: Annotated[int, Query(ge=1, le=MAX_ROW_ID)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[PublicCaseOut]:
    """Reports as the public sees them (no personal data, approved photos only), newest first.
    Closed and old reports are hidden unless asked for."""
    wanted = public_filter(category, state, area, include_closed, include_old, bbox, crs)
    found = await public_cases(
        session, wanted, now=clock.now(), settings=settings, page=page, page_size=page_size
    )
    return [PublicCaseOut.of(item, crs) for item in found]


def public_filter(
    category: list[str] | None,
    state: list[State] | None,
    area: list[Area] | None,
    include_closed: bool,
    include_old: bool,
    bbox: str | None = None,
    crs: Crs = Crs.WGS84,
) -> PublicFilter:
    """The public filter of query parameters; malformed values are errors naming the field."""
    categories: list[tuple[Kind, str]] = []
    for value in category or []:
        kind, _, code = value.partition(":")
        if kind not in {k.value for k in Kind} or not re.fullmatch(r"[0-9]{4}", code):
            raise InvalidInput(
                f"category {value!r} must be kind:code, e.g. event:0102", field="category"
            )
        categories.append((Kind(kind), code))
    box: tuple[float, float, float, float] | None = None
    if bbox:
        try:
            numbers = [float(part) for part in bbox.split(",")]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
            raise InvalidInput(
                "bbox must be min_lon,min_lat,max_lon,max_lat with min below max", field="bbox"
            )
        west, south = to_wgs84(numbers[0], numbers[1], crs)
        east, north = to_wgs84(numbers[2], numbers[3], crs)
        box = (west, south, east, north)
    return PublicFilter(
        categories=tuple(categories),
        states=tuple(state or ()),
        areas=tuple(area or ()),
        bbox=box,
        include_closed=include_closed or any(s in FINAL_STATES for s in state or ()),
        include_old=include_old,
    )


@router.post("/mine", response_model=list[ReportStatusOut], summary="My reports")
async def mine(
    body: MineIn, session: DbSession, actor: CurrentActor, clock: AppClock, settings: AppSettings
) -> list[ReportStatusOut]:
    """The reports whose tracking codes this device keeps (with their secrets), followed by
    the signed-in citizen's own reports. Codes of someone else's private report are left out."""
    device = await service.kept_on_device(
        session, actor, [(item.code, item.secret) for item in body.items]
    )
    seen = {k.case.id for k in device}
    account = [k for k in await service.of_account(session, actor) if k.case.id not in seen]
    return await service.statuses(
        session, actor, device + account, now=clock.now(), settings=settings
    )


async def _status(
    session: DbSession,
    actor: CurrentActor,
    code: str,
    secret: str | None,
    settings: Settings,
    clock: AppClock,
) -> ReportStatusOut:
    found = await service.known(session, actor, code, secret)
    assert found is not None
    return (await service.statuses(session, actor, [found], now=clock.now(), settings=settings))[0]


@router.post("/reports/{code}/rating", response_model=ReportStatusOut, summary="Rate the result")
async def rate(
    code: CodePath,
    body: RatingIn,
    session: DbSession,
    actor: CurrentActor,
    clock: AppClock,
    settings: AppSettings,
) -> ReportStatusOut:
    """The reporter rates a closed report once: satisfied, basically satisfied, dissatisfied."""
    await service.rate(
        session, actor, code, body.secret, body.rating, body.comment, now=clock.now()
    )
    return await _status(session, actor, code, body.secret, settings, clock)


@router.post("/reports/{code}/not-fixed", response_model=ReportStatusOut, summary="Still not fixed")
async def not_fixed(
    code: CodePath,
    body: NotFixedIn,
    session: DbSession,
    actor: CurrentActor,
    clock: AppClock,
    settings: AppSettings,
) -> ReportStatusOut:
    """The reporter says a closed report is not fixed: it is reopened within the window."""
    await service.not_fixed(
        session, actor, code, body.secret, body.note, now=clock.now(), settings=settings
    )
    return await _status(session, actor, code, body.secret, settings, clock)


@router.post(
    "/reports/{code}/forget-contact",
    response_model=ReportStatusOut,
    summary="Remove my name and number",
)
async def forget_contact(
    code: CodePath,
    body: ReporterIn,
    session: DbSession,
    actor: CurrentActor,
    clock: AppClock,
    settings: AppSettings,
) -> ReportStatusOut:
    """The reporter removes the name and mobile number they left on the report."""
    await service.forget_contact(session, actor, code, body.secret, now=clock.now())
    return await _status(session, actor, code, body.secret, settings, clock)


def _signed_in(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def _check_csrf(request: Request) -> None:
    """Signing in from the app page needs the page's token, so no other site can sign a
    browser into an account of its choosing."""
    if not csrf.check(request, request.headers.get(csrf.CSRF_HEADER)):
        raise csrf.CsrfFailed("The security token is missing or expired. Reload the page.")


@router.post(
    "/citizens",
    response_model=CitizenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Open a citizen account",
)
async def register(
    body: CitizenIn,
    request: Request,
    response: Response,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
) -> CitizenOut:
    """A citizen account with a mobile number and a password; the browser is signed in.

    The number is the sign-in name and is not verified by SMS (no SMS gateway is configured);
    staff treat it as given, as with a number typed into a report.
    """
    _check_csrf(request)
    now = clock.now()
    try:
        user = await org_service.create_user(
            session,
            username=body.phone,
            display_name=body.display_name,
            password=body.password,
            now=now,
            phone=body.phone,
        )
    except Conflict as error:
        raise Conflict(
            "This mobile number already has an account; sign in instead.", field="phone"
        ) from error
    await org_service.assign_role(session, user, Role.CITIZEN, now=now)
    issued = await auth_service.issue_session(
        session,
        user.id,
        auth_service.SESSION_KIND_WEB,
        now,
        timedelta(hours=settings.session_hours),
    )
    _signed_in(response, issued.token, settings)
    return CitizenOut(phone=body.phone, display_name=user.display_name)


@router.post("/session", response_model=CitizenOut, summary="Sign in with a mobile number")
async def sign_in(
    body: CitizenIn,
    request: Request,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
) -> CitizenOut | Response:
    """Sign the browser in with the account's mobile number and password (slowed down and
    locked after repeated failures, as every sign-in)."""
    _check_csrf(request)
    now = clock.now()
    try:
        user = await auth_service.authenticate(session, body.phone, body.password, now, settings)
    except auth_service.LoginRefused as refused:
        return problem_response(request, refused.problem())
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await auth_service.revoke_session(session, previous, now)
    issued = await auth_service.issue_session(
        session,
        user.id,
        auth_service.SESSION_KIND_WEB,
        now,
        timedelta(hours=settings.session_hours),
    )
    out = CitizenOut(phone=user.phone or user.username, display_name=user.display_name)
    answer = Response(out.model_dump_json(), media_type="application/json")
    _signed_in(answer, issued.token, settings)
    return answer


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out")
async def sign_out(
    request: Request,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
    actor: SignedInActor,
) -> Response:
    """End this browser's session; the tracking codes kept on the device stay."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth_service.revoke_session(session, token, clock.now())
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    answer.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )
    return answer


@router.get("/me", response_model=CitizenOut, summary="The signed-in citizen")
async def me(session: DbSession, actor: SignedInActor) -> CitizenOut:
    """Who is signed in on this device."""
    user = await session.get(User, actor.user_id)
    assert user is not None
    return CitizenOut(phone=user.phone or user.username, display_name=user.display_name)


def _patrol_out(patrol: Patrol, worker: str, grid_code: str | None) -> PatrolOut:
    return PatrolOut(
        id=patrol.id,
        worker=worker,
        grid_code=grid_code,
        started_at=patrol.started_at,
        ended_at=patrol.ended_at,
        distance_m=patrol.distance_m,
        duration_s=patrol.duration_s,
        point_count=patrol.point_count,
    )


async def _shown(session: DbSession, actor: SignedInActor, patrol: Patrol) -> PatrolOut:
    for row, worker, grid_code in await patrols.visible(session, actor):
        if row.id == patrol.id:
            return _patrol_out(row, worker, grid_code)
    return _patrol_out(patrol, actor.display_name or actor.username, None)


@router.get("/worker/grids", summary="My grids (grid workers)")
async def worker_grids(session: DbSession, actor: SignedInActor, crs: Crs = Crs.WGS84) -> Response:
    """The grids I patrol as GeoJSON, in the coordinate system asked for (the map's)."""
    collection = await patrols.my_grids(session, actor)
    if crs is not Crs.WGS84:
        collection = converted(collection, crs)
    return Response(
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")),
        media_type=GEOJSON_MEDIA_TYPE,
    )


@router.post(
    "/patrols", response_model=PatrolOut, status_code=status.HTTP_201_CREATED, summary="Start"
)
async def start_patrol(
    body: PatrolStartIn, session: DbSession, actor: SignedInActor, clock: AppClock
) -> PatrolOut:
    """A grid worker starts a patrol (409 while another one runs)."""
    patrol = await patrols.start(session, actor, body.grid_code, clock.now())
    return await _shown(session, actor, patrol)


@router.get("/patrols", response_model=list[PatrolOut], summary="Patrols")
async def list_patrols(session: DbSession, actor: SignedInActor) -> list[PatrolOut]:
    """My patrols, and those of the grid workers in my territory (street admins and above)."""
    return [_patrol_out(p, w, g) for p, w, g in await patrols.visible(session, actor)]


@router.get("/patrols/current", response_model=PatrolOut | None, summary="My running patrol")
async def current_patrol(session: DbSession, actor: SignedInActor) -> PatrolOut | None:
    """The patrol I have not stopped yet, or null."""
    patrol = await patrols.running(session, patrols.require_worker(actor))
    return await _shown(session, actor, patrol) if patrol is not None else None


@router.post("/patrols/{patrol_id}/points", response_model=PatrolOut, summary="Add GPS fixes")
async def add_points(
    patrol_id: RowId, body: FixesIn, session: DbSession, actor: SignedInActor, clock: AppClock
) -> PatrolOut:
    """Fixes taken while the page is open; the distance is recomputed from the whole track."""
    fixes = [patrols.Fix(p.lon, p.lat, p.at, p.accuracy_m) for p in body.points]
    patrol = await patrols.add_fixes(session, actor, patrol_id, fixes, clock.now())
    return await _shown(session, actor, patrol)


@router.post("/patrols/{patrol_id}/stop", response_model=PatrolOut, summary="Stop")
async def stop_patrol(
    patrol_id: RowId, session: DbSession, actor: SignedInActor, clock: AppClock
) -> PatrolOut:
    """Stop the patrol; stopping it again changes nothing."""
    patrol = await patrols.stop(session, actor, patrol_id, clock.now())
    return await _shown(session, actor, patrol)


@router.get("/patrols/{patrol_id}/track", summary="A patrol's track")
async def patrol_track(
    patrol_id: RowId, session: DbSession, actor: SignedInActor, crs: Crs = Crs.WGS84
) -> list[list[float]]:
    """The track as [lon, lat] pairs in the order taken, in the system asked for."""
    return [
        list(from_wgs84(f.lon, f.lat, crs)) for f in await patrols.track(session, actor, patrol_id)
    ]
