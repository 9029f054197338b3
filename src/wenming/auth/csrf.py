"""CSRF protection for cookie-authenticated writes: a double-submit token bound by HMAC.

The browser holds a random ``wm_csrf`` cookie; pages embed ``HMAC(secret, cookie)`` in forms
(field ``csrf_token``) and in a meta tag for scripts (header ``X-CSRF-Token``). Another site can
neither read the cookie nor compute the token, and the session cookie is also SameSite=Lax.
"""

from __future__ import annotations

from fastapi import Request, Response

from wenming.core.config import Settings
from wenming.core.errors import Forbidden
from wenming.core.security import constant_time_equal, new_token, sign

CSRF_COOKIE = "wm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfFailed(Forbidden):
    """A cookie-authenticated write without a valid CSRF token."""

    slug = "csrf-failed"
    title = "Form expired"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def ensure_cookie(request: Request) -> str:
    """The browser's CSRF nonce, minting one for this response when it has none."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", None)
    if not nonce:
        nonce = new_token(16)
        request.state.csrf_nonce = nonce
    return str(nonce)


def token_for(request: Request) -> str:
    """The token to embed in this page's forms."""
    return sign(_settings(request).secret_key, ensure_cookie(request))


def set_cookie_if_new(request: Request, response: Response) -> None:
    """Send the nonce cookie when this request minted it."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce and request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=_settings(request).cookie_secure,
            path="/",
        )


def check(request: Request, submitted: str | None) -> bool:
    """Whether a submitted token matches the browser's cookie."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not submitted:
        return False
    return constant_time_equal(sign(_settings(request).secret_key, nonce), submitted)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def verify(request: Request) -> None:
    """Check a cookie-authenticated write that is not a form post: the header must carry the token.

    Form posts to pages are checked by ``wenming.web.forms.csrf_form`` once the body is parsed;
    every page route that accepts a POST declares it (a test walks the routes to make sure). The
    API never takes that exemption: a cookie-authenticated API write always needs the header.
    """
    is_page = not request.url.path.startswith("/api/")
    if is_page and request.headers.get("content-type", "").startswith(FORM_TYPES):
        return
    if not check(request, request.headers.get(CSRF_HEADER)):
        raise CsrfFailed(
            "The security token of this request is missing or expired. Reload the page and "
            "try again."
        )
