"""The one error handler: every failure leaves as RFC 9457 problem+json (API) or an HTML page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wenming.core.errors import TooManyAttempts, WenmingError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("wenming")


ErrorFormat = Callable[[Request, dict[str, Any], dict[str, str] | None], Response]


def wants_html(request: Request) -> bool:
    """Pages get HTML errors; the API, Open311 and scripts get problem+json."""
    path = request.url.path
    if path.startswith(("/api/", "/open311/", "/healthz", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def problem_response(
    request: Request, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """A problem body as JSON, or rendered as the error page for browsers, or in the error format
    of an interface that has its own (registered in ``app.state.error_formats`` by path prefix,
    as Open311 does)."""
    body.setdefault("instance", request.url.path)
    formats: list[tuple[str, ErrorFormat]] = getattr(request.app.state, "error_formats", [])
    for prefix, render_error in formats:
        if request.url.path.startswith(prefix):
            return render_error(request, body, headers)
    if wants_html(request):
        renderer = getattr(request.app.state, "render_error_page", None)
        if renderer is not None:
            response: Response = renderer(request, body)
            if headers:
                response.headers.update(headers)
            return response
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _validation_error(error: dict[str, Any]) -> dict[str, str]:
    """One pydantic error as ``{field, message}``; a body that is not JSON names ``body``."""
    if error.get("type") == "json_invalid":
        position = next((p for p in error.get("loc", ()) if isinstance(p, int)), None)
        where = f" (near character {position})" if position is not None else ""
        return {"field": "body", "message": f"The request body is not valid JSON{where}."}
    return {
        "field": _field_name(tuple(error.get("loc", ()))),
        "message": error.get("msg", "invalid"),
    }


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(WenmingError)
    async def _domain(request: Request, exc: WenmingError) -> Response:
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        )
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return problem_response(request, exc.problem(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [_validation_error(e) for e in exc.errors()]
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        body = {
            "type": "/problems/invalid-input",
            "title": "Invalid input",
            "status": 422,
            "detail": f"Fix these fields: {fields}."
            if fields
            else "The request body is malformed.",
            "errors": errors,
        }
        return problem_response(request, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing at {request.url.path}."
        if exc.status_code == 405:
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            allowed = headers.get("allow", "")
            detail = f"{request.method} is not allowed on {request.url.path}" + (
                f"; use {allowed}." if allowed else "."
            )
        body = {
            "type": f"/problems/http-{exc.status_code}",
            "title": titles.get(exc.status_code, "Request failed"),
            "status": exc.status_code,
            "detail": detail,
        }
        return problem_response(request, body, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.warning("integrity error on %s: %s", request.url.path, exc.orig)
        body = {
            "type": "/problems/conflict",
            "title": "Conflict",
            "status": 409,
            "detail": "The change conflicts with data stored meanwhile (a duplicate or a missing "
            "reference). Reload and try again.",
        }
        return problem_response(request, body)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        log.warning("data error on %s: %s", request.url.path, exc.orig)
        body = {
            "type": "/problems/invalid-input",
            "title": "Invalid input",
            "status": 422,
            "detail": "A value cannot be stored: it is too long, out of range or contains a "
            "character that is not allowed (such as a NUL character). Nothing was saved.",
        }
        return problem_response(request, body)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        body = {
            "type": "/problems/internal",
            "title": "Internal error",
            "status": 500,
            "detail": "Something went wrong on the server; nothing was saved. "
            "The error has been logged for the administrators.",
        }
        return problem_response(request, body)
