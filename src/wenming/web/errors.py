"""Error pages for browsers, and the redirect of signed-out visitors to the sign-in page."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from wenming.i18n import N_
from wenming.web.deps import SignInRequired
from wenming.web.rendering import current_path, login_url, render

# What a person sees for each status (msgids): a title and what they can do about it.
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: (N_("Bad request"), N_("The request could not be understood. Check what you entered.")),
    403: (
        N_("Not allowed"),
        N_("Your roles do not allow this, or it lies outside your territory."),
    ),
    404: (
        N_("Not found"),
        N_("Nothing is here, or it lies outside what you may see. Check the link."),
    ),
    405: (N_("Not possible here"), N_("This page does not accept that kind of request.")),
    409: (N_("Conflict"), N_("This clashes with the current data. Reload the page and try again.")),
    422: (N_("Invalid input"), N_("Some of what was sent is not valid. Correct it and try again.")),
    429: (N_("Too many attempts"), N_("Wait a little, then try again.")),
    500: (
        N_("Something went wrong"),
        N_("The server failed; nothing was saved. The error has been logged for the admins."),
    ),
}
CSRF_TEXT = (
    N_("The form expired"),
    N_("The form's security token is missing or expired. Go back, reload the page and try again."),
)
DEFAULT_TEXT = (N_("Request failed"), N_("The request could not be completed."))


def render_error_page(request: Request, body: dict[str, Any]) -> Response:
    """The HTML page for a problem body; a page that needs a sign-in redirects to the form."""
    status = int(body.get("status", 500))
    if status == 401:
        target = current_path(request) if request.method == "GET" else None
        return RedirectResponse(login_url(target), status_code=303)
    detail = body.get("detail")
    if body.get("type") == "/problems/csrf-failed":
        (title, advice), detail = CSRF_TEXT, None
    else:
        title, advice = STATUS_TEXT.get(status, DEFAULT_TEXT)
    context = {"status": status, "title": title, "advice": advice, "detail": detail}
    return render(request, "error.html", context, status_code=status)


def install_error_pages(app: FastAPI) -> None:
    """Register the error page renderer and the sign-in redirect on an app."""
    app.state.render_error_page = render_error_page

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        """Send a signed-out visitor to the sign-in form, remembering the page."""
        target = current_path(request) if request.method == "GET" else None
        return RedirectResponse(login_url(target), status_code=303)
