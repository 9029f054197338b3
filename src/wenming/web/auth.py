"""Sign-in and sign-out pages, and the language switch."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from wenming import i18n
from wenming.auth import service as auth_service
from wenming.core.config import Settings
from wenming.core.deps import SESSION_COOKIE, AppClock, AppSettings, DbSession
from wenming.core.errors import InvalidInput, NotFound, TooManyAttempts
from wenming.web.deps import live_web_actor
from wenming.web.forms import CsrfForm, field, raw_field
from wenming.web.rendering import (
    LANG_COOKIE,
    LANG_COOKIE_DAYS,
    render,
    safe_next,
    translator,
)

router = APIRouter(include_in_schema=False)

NextPath = Annotated[str | None, Query(alias="next")]


def _login_form(
    request: Request,
    *,
    username: str = "",
    next_path: str = "",
    errors: dict[str, str] | None = None,
    form_error: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in form, with the messages of a refused attempt."""
    context: dict[str, Any] = {
        "username": username,
        "next": next_path,
        "errors": errors or {},
        "form_error": form_error,
    }
    return render(request, "login.html", context, status_code=status_code, headers=headers)


async def _seconds_blocked(session: AsyncSession, username: str, now: datetime) -> int:
    """How long a username must now wait before its next attempt (0 when it need not)."""
    try:
        await auth_service.check_throttle(session, auth_service.normalize_username(username), now)
    except TooManyAttempts as exc:
        return exc.retry_after
    return 0


def _set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Hand the browser its session: script-proof, first-party only, as long as the session."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.get("/login", response_model=None)
async def login_page(
    request: Request, session: DbSession, clock: AppClock, next_path: NextPath = None
) -> Response:
    """The sign-in form; someone already signed in goes straight on."""
    target = safe_next(next_path, default="")
    if await live_web_actor(request, session, clock.now()) is not None:
        return RedirectResponse(target or "/", status_code=303)
    return _login_form(request, next_path=target)


@router.post("/login", response_model=None)
async def login(
    form: CsrfForm,
    request: Request,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
) -> Response:
    """Check the credentials, start a browser session and go to the page asked for."""
    _ = translator(request)
    username = field(form, "username")
    password = raw_field(form, "password")
    target = safe_next(field(form, "next"), default="")
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("Enter your username.")
    if not password:
        errors["password"] = _("Enter your password.")
    if errors:
        return _login_form(
            request, username=username, next_path=target, errors=errors, status_code=422
        )
    now = clock.now()
    try:
        user = await auth_service.authenticate(session, username, password, now, settings)
    except TooManyAttempts as exc:
        message = _("Too many failed sign-ins for this account. Try again in %(seconds)s seconds.")
        return _login_form(
            request,
            username=username,
            next_path=target,
            form_error=message % {"seconds": exc.retry_after},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except auth_service.LoginRefused:
        message = _("Wrong username or password.")
        wait = await _seconds_blocked(session, username, now)
        if wait:
            further = _("Further attempts are refused for %(seconds)s seconds.")
            message = f"{message} {further % {'seconds': wait}}"
        return _login_form(
            request, username=username, next_path=target, form_error=message, status_code=401
        )
    except InvalidInput:
        message = _("A username has at most %(count)s characters and no control characters.") % {
            "count": auth_service.USERNAME_MAX_LENGTH
        }
        return _login_form(
            request,
            username="",
            next_path=target,
            errors={"username": message},
            status_code=422,
        )
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
    response = RedirectResponse(target or "/", status_code=303)
    _set_session_cookie(response, issued.token, settings)
    return response


@router.post("/logout", response_model=None)
async def logout(
    form: CsrfForm,
    request: Request,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
) -> Response:
    """End the browser session: the row is revoked, so the old cookie no longer works anywhere."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth_service.revoke_session(session, token, clock.now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )
    return response


@router.get("/lang/{code}", response_model=None)
async def switch_language(code: str, settings: AppSettings, next_path: NextPath = None) -> Response:
    """Remember the chosen language in a cookie and return to the page (on this site only)."""
    if code not in i18n.LANGUAGES:
        raise NotFound(f"Unknown language {code!r}; use one of: {', '.join(i18n.LANGUAGES)}.")
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=LANG_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response
