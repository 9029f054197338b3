"""Open311 GeoReport v2 endpoints: discovery at ``/open311/discovery.{json,xml}``, the resources
under ``/open311/v2/``, and the FixMyStreet ``servicerequestupdates`` extension.

Parameters are read by hand rather than declared, so that every refusal, malformed input
included, leaves in the standard's error format (``[{"code": 400, "description": ...}]`` or
``<errors>``) with 400, 403 or 404 — never problem+json — and an empty optional parameter counts
as absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from wenming.attachments.api import media_store
from wenming.attachments.service import store_upload
from wenming.cases.public import Status
from wenming.cases.rulebook import Rulebook, rulebook
from wenming.core.deps import AppClock, AppSettings, DbSession
from wenming.core.errors import WenmingError
from wenming.i18n import supported
from wenming.open311 import service
from wenming.open311.wire import Many, Node, Open311Error, format_of, format_of_path, render

router = APIRouter(tags=["open311"])
V2 = "/open311/v2"
ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]+)\](\[\])?$")
CODE = re.compile(r"^[A-Z0-9]{4,16}$")
CJK = re.compile(r"[\u3400-\u9fff]")
MAX_IDS = 1000
MAX_FORM_FIELDS = 40

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a key of your choosing; a retried POST with the same key returns the same "
        "request instead of a second one",
    ),
]


def _language(request: Request, default: str) -> str:
    """The request's language from ``Accept-Language`` (zh unless English comes first)."""
    header = request.headers.get("accept-language", "")
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return supported(first.split("-", 1)[0] or None, default)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _given(params: Mapping[str, str], name: str) -> str | None:
    """A parameter's value; an empty or blank one counts as absent."""
    value = params.get(name)
    return value.strip() if value is not None and value.strip() else None


def _check_jurisdiction(params: Mapping[str, str]) -> None:
    jurisdiction = _given(params, "jurisdiction_id")
    if jurisdiction is not None and jurisdiction != service.JURISDICTION_ID:
        raise Open311Error(404, f"Unknown jurisdiction_id '{jurisdiction}'.")


def _int(params: Mapping[str, str], name: str, default: int, high: int, errors: list[str]) -> int:
    raw = _given(params, name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        errors.append(f"{name} must be a whole number from 1 to {high}.")
        return default
    return int(raw)


@router.get("/open311/discovery.{fmt}", summary="Open311 service discovery")
async def discovery(fmt: str, request: Request, settings: AppSettings) -> Response:
    """Where the GeoReport v2 endpoint is and which formats it speaks."""
    chosen = format_of(fmt)
    return render(chosen, "discovery", service.discovery(_base_url(request), settings))


@router.get(V2 + "/services.{fmt}", summary="Open311 services")
async def services(
    fmt: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """The categories the public may report, grouped by campaign area."""
    chosen = format_of(fmt)
    _check_jurisdiction(request.query_params)
    book = await rulebook(session, settings)
    language = _language(request, settings.default_language)
    return render(chosen, "services", service.services(book, language))


@router.get(V2 + "/services/{code}.{fmt}", summary="Open311 service definition")
async def service_definition(
    code: str, fmt: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """The attributes a request for this service may carry."""
    chosen = format_of(fmt)
    _check_jurisdiction(request.query_params)
    book = await rulebook(session, settings)
    category = service.category_for(book, code)
    language = _language(request, settings.default_language)
    return render(chosen, "service_definition", service.definition(category, language))


def _request_query(params: Mapping[str, str], book: Rulebook) -> service.RequestQuery:
    errors: list[str] = []
    raw_ids = (_given(params, "service_request_id") or "").split(",")
    codes = tuple(dict.fromkeys(c.strip() for c in raw_ids if c.strip()))
    if len(codes) > MAX_IDS:
        errors.append(f"Ask for at most {MAX_IDS} service_request_id values at once.")
    categories = []
    for text in (_given(params, "service_code") or "").split(","):
        if text.strip():
            category = service.category_for(book, text.strip())
            categories.append((category.kind, category.code))
    statuses = []
    for text in (_given(params, "status") or "").split(","):
        if not text.strip():
            continue
        try:
            statuses.append(Status(text.strip().lower()))
        except ValueError:
            errors.append(f"status must be open or closed, not '{text.strip()}'.")
    dates = {}
    for name in ("start_date", "end_date"):
        raw = _given(params, name)
        if raw is not None:
            try:
                dates[name] = service.parse_datetime(name, raw)
            except Open311Error as error:
                errors.extend(error.descriptions)
    page = _int(params, "page", 1, 2_147_483_647 // service.MAX_REQUESTS, errors)
    page_size = _int(params, "page_size", service.MAX_REQUESTS, service.MAX_REQUESTS, errors)
    if errors:
        raise Open311Error(400, *errors)
    return service.RequestQuery(
        codes=codes,
        categories=tuple(categories),
        statuses=tuple(statuses),
        start=dates.get("start_date"),
        end=dates.get("end_date"),
        page=page,
        page_size=page_size,
    )


@router.get(V2 + "/requests.{fmt}", summary="Open311 service requests")
async def list_requests(
    fmt: str, request: Request, session: DbSession, clock: AppClock, settings: AppSettings
) -> Response:
    """Public requests, newest first: by ``service_request_id`` (comma list; overrides the other
    filters) or by ``service_code``, ``status``, ``start_date``/``end_date`` (the last 90 days
    by default, at most 90 days apart); at most 1000 per ``page`` (``page_size``)."""
    chosen = format_of(fmt)
    _check_jurisdiction(request.query_params)
    book = await rulebook(session, settings)
    query = _request_query(request.query_params, book)
    found = await service.list_requests(session, query, now=clock.now(), settings=settings)
    language = _language(request, settings.default_language)
    base = _base_url(request)
    items = [service.request_node(case, language, base) for case in found]
    return render(chosen, "service_requests", Many("request", items))


@router.get(V2 + "/requests/{code}.{fmt}", summary="One Open311 service request")
async def one_request(
    code: str, fmt: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """One public request by its id (the case's tracking code), as a list of one."""
    chosen = format_of(fmt)
    _check_jurisdiction(request.query_params)
    if not CODE.match(code):
        raise Open311Error(404, f"Unknown service_request_id '{code}'.")
    found = await service.one_request(session, code, settings=settings)
    language = _language(request, settings.default_language)
    node = service.request_node(found, language, _base_url(request))
    return render(chosen, "service_requests", Many("request", [node]))


@router.get(V2 + "/tokens/{token}.{fmt}", summary="Open311 token lookup")
async def token(
    token: str, fmt: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """Requests are created at once, so POST answers with ``service_request_id`` and no token;
    for clients that always poll, a request's tracking code also serves as its token."""
    chosen = format_of(fmt)
    _check_jurisdiction(request.query_params)
    if not CODE.match(token):
        raise Open311Error(404, f"Unknown token '{token}'.")
    try:
        found = await service.one_request(session, token, settings=settings)
    except Open311Error:
        raise Open311Error(404, f"Unknown token '{token}'.") from None
    node: Node = {"service_request_id": found.code, "token": token}
    return render(chosen, "service_requests", Many("request", [node]))


@router.get(V2 + "/servicerequestupdates.{fmt}", summary="Open311 request updates")
async def request_updates(
    fmt: str, request: Request, session: DbSession, clock: AppClock, settings: AppSettings
) -> Response:
    """FixMyStreet's extension: public updates of public requests between ``start_date`` and
    ``end_date`` (the last two hours by default), oldest first."""
    chosen = format_of(fmt)
    params = request.query_params
    _check_jurisdiction(params)
    errors: list[str] = []
    dates = {}
    for name in ("start_date", "end_date"):
        raw = _given(params, name)
        if raw is not None:
            try:
                dates[name] = service.parse_datetime(name, raw)
            except Open311Error as error:
                errors.extend(error.descriptions)
    if errors:
        raise Open311Error(400, *errors)
    found = await service.updates(
        session, dates.get("start_date"), dates.get("end_date"), now=clock.now()
    )
    language = _language(request, settings.default_language)
    base = _base_url(request)
    items = [service.update_node(update, language, base) for update in found]
    return render(chosen, "service_request_updates", Many("request_update", items))


def _float(params: Mapping[str, str], name: str, errors: list[str]) -> float | None:
    raw = _given(params, name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        errors.append(f"{name} must be a decimal number (WGS-84 degrees).")
        return None


def _reporter_name(first: str | None, last: str | None) -> str | None:
    if first and last:
        return f"{last}{first}" if CJK.search(first + last) else f"{first} {last}"
    return first or last


def _new_request(
    params: Mapping[str, str], book: Rulebook, attachments: list[str]
) -> service.NewRequest:
    errors: list[str] = []
    code = _given(params, "service_code")
    if code is None:
        raise Open311Error(400, "service_code is required.")
    category = service.category_for(book, code)
    lat, lon = _float(params, "lat", errors), _float(params, "long", errors)
    if lat is None and lon is None and not errors:
        if _given(params, "address_string") or _given(params, "address_id"):
            errors.append(
                "lat and long are required: this endpoint cannot place address_string or "
                "address_id on the map yet. Send the WGS-84 coordinates of the problem."
            )
        else:
            errors.append("Say where the problem is: lat and long (WGS-84) are required.")
    elif (lat is None) != (lon is None) and not errors:
        errors.append("Send both lat and long.")
    description = _given(params, "description") or ""
    if len(description) > service.DESCRIPTION_MAX:
        errors.append(f"description is longer than {service.DESCRIPTION_MAX} characters.")
    attributes: dict[str, str] = {}
    allowed = {"urgency"} | ({"component_code"} if category.kind.value == "component" else set())
    for key, value in params.items():
        match = ATTRIBUTE.match(key)
        if match is None or not value.strip():
            continue
        if match.group(1) not in allowed:
            errors.append(
                f"Unknown attribute '{match.group(1)}' for service {code}; "
                f"see services/{code}.json."
            )
        else:
            attributes[match.group(1)] = value.strip()
    if media_url := _given(params, "media_url"):
        try:
            attachments.append(service.attachment_key(media_url))
        except Open311Error as error:
            errors.extend(error.descriptions)
    if errors:
        raise Open311Error(400, *errors)
    assert lat is not None and lon is not None
    return service.NewRequest(
        category=category,
        lat=lat,
        lon=lon,
        address=_given(params, "address_string") or "",
        description=description,
        name=_reporter_name(_given(params, "first_name"), _given(params, "last_name")),
        phone=_given(params, "phone"),
        attributes=attributes,
        attachments=attachments,
    )


@router.post(V2 + "/requests.{fmt}", summary="Create an Open311 service request")
async def create_request(
    fmt: str,
    request: Request,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new request from a client holding an API key (``api_key`` in the query or the body).

    The request becomes a case through the same workflow as every other report; its answer is
    the ``service_request_id`` (the tracking code). Name, phone and email are the reporter's
    contact, never returned by any GET. A photo is sent as the multipart field ``media`` or as a
    ``media_url`` of a photo uploaded to this server.
    """
    chosen = format_of(fmt)
    now = clock.now()
    try:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except StarletteHTTPException as error:
        raise Open311Error(400, f"The request body cannot be read: {error.detail}") from None
    try:
        params: dict[str, str] = dict(request.query_params)
        media: UploadFile | None = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key == "media":
                    media = value
            else:
                params[key] = value
        _check_jurisdiction(params)
        actor = await service.actor_for_key(session, _given(params, "api_key"), now)
        book = await rulebook(session, settings)
        attachments: list[str] = []
        if media is not None:
            try:
                upload = await store_upload(
                    session,
                    await media_store(request),
                    await media.read(),
                    uploader_id=actor.user_id,
                    now=now,
                    settings=settings,
                )
            except WenmingError as error:
                raise Open311Error(400, f"media: {error.detail}") from None
            attachments.append(upload.attachment.key)
        new = _new_request(params, book, attachments)
        reported = await service.create_request(
            session, actor, new, now=now, settings=settings, idempotency_key=idempotency_key
        )
    finally:
        await form.close()
    language = _language(request, settings.default_language)
    notice = (
        f"Received. Quote tracking code {reported.case.code} when asking about it."
        if language == "en"
        else f"已受理登记，查询请提供跟踪码 {reported.case.code}。"
    )
    node: Node = {
        "service_request_id": reported.case.code,
        "service_notice": notice,
        "account_id": None,
    }
    status = 201 if reported.created else 200
    return render(chosen, "service_requests", Many("request", [node]), status_code=status)


@router.api_route(
    "/open311/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown(rest: str, request: Request) -> Response:
    """Anything else under /open311 is an unknown resource, in the standard's error format."""
    raise Open311Error(404, f"No Open311 resource answers {request.method} {request.url.path}.")


async def _open311_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)
    return exc.response(format_of_path(request.url.path))


def _problem_as_open311(
    request: Request, problem: dict[str, Any], headers: dict[str, str] | None
) -> Response:
    """Any other error under /open311 (a conflict, a server error) in the standard's format: the
    standard knows 400, 403 and 404, so other client errors are answered as 400."""
    status = int(problem["status"])
    if 400 <= status < 500 and status not in (403, 404):
        status = 400
    detail = str(problem.get("detail") or problem.get("title") or "The request failed.")
    response = Open311Error(status, detail).response(format_of_path(request.url.path))
    if headers:
        response.headers.update(headers)
    return response


def install(app: FastAPI) -> None:
    """Mount the endpoints and answer their refusals, and any other error under /open311, in the
    standard's format."""
    app.include_router(router)
    app.add_exception_handler(Open311Error, _open311_error)
    formats = list(getattr(app.state, "error_formats", []))
    app.state.error_formats = [*formats, ("/open311/", _problem_as_open311)]


__all__ = ["install", "router"]
