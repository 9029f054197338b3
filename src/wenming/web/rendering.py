"""Page rendering: one Jinja environment per language, the shared page context, safe redirects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from wenming import __version__, i18n
from wenming.auth import csrf
from wenming.core.clock import as_utc
from wenming.core.config import Settings
from wenming.i18n import N_
from wenming.org.codes import UNIT_KIND_LABELS, UnitKind
from wenming.org.roles import ROLE_LABELS, Permission, Role
from wenming.org.scope import GRANTABLE_ROLES, Actor

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"
LANG_COOKIE = "wm_lang"
LANG_COOKIE_DAYS = 365

# The order in which a person's roles decide which home page they see first.
ROLE_PRIORITY: tuple[Role, ...] = (
    Role.SYS_ADMIN,
    Role.DISTRICT_ADMIN,
    Role.STREET_ADMIN,
    Role.DISPATCHER,
    Role.INTAKE,
    Role.EVALUATOR,
    Role.HANDLER,
    Role.GRID_WORKER,
    Role.CITIZEN,
)


@lru_cache(maxsize=len(i18n.LANGUAGES))
def environment(language: str) -> Environment:
    """The Jinja environment of one language, with its gettext installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def request_language(request: Request) -> str:
    """The language of this request: the ``wm_lang`` cookie, else the configured default."""
    settings: Settings = request.app.state.settings
    default = i18n.supported(settings.default_language)
    return i18n.supported(request.cookies.get(LANG_COOKIE), default)


def translator(request: Request) -> Callable[[str], str]:
    """A gettext function in the language of this request, for messages built in Python."""
    translations = i18n.translations(request_language(request))

    def translate(message: str) -> str:
        """The message in the request's language."""
        return str(translations.gettext(message))

    return translate


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: a relative path, or the default.

    Anything with a scheme, a host, a protocol-relative ``//`` start, backslashes or control
    characters is refused, so a crafted link cannot send a signed-in user elsewhere.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def current_path(request: Request) -> str:
    """This request's path with its query, for "come back here" links."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def login_url(next_path: str | None) -> str:
    """The sign-in page, remembering where to go afterwards."""
    target = safe_next(next_path, default="")
    if not target or target == "/":
        return "/login"
    return "/login?next=" + quote(target, safe="/")


def role_label(role: Role | str, language: str) -> str:
    """A role's name in a language."""
    zh, en = ROLE_LABELS[Role(role)]
    return zh if language == "zh" else en


def kind_label(kind: UnitKind | str, language: str) -> str:
    """A unit kind's name in a language."""
    zh, en = UNIT_KIND_LABELS[UnitKind(kind)]
    return zh if language == "zh" else en


def primary_role(actor: Actor) -> Role | None:
    """The role that decides the actor's home page: the broadest one they hold."""
    held = actor.roles
    return next((role for role in ROLE_PRIORITY if role in held), None)


def has_permission(actor: Actor, permission: Permission) -> bool:
    """Whether any of the actor's roles carries a permission somewhere."""
    return bool(actor.grants_with(permission))


def may_create_users(actor: Actor) -> bool:
    """Whether the actor holds a role that may create users."""
    return any(GRANTABLE_ROLES.get(grant.role) for grant in actor.grants)


def may_see_cases(actor: Actor) -> bool:
    """Whether the case queue holds work for the actor beyond their own reports: the command
    centre and admins (territory), handlers (their unit's cases), grid workers (their grids)."""
    return (
        has_permission(actor, Permission.READ_CASES)
        or has_permission(actor, Permission.HANDLE_CASES)
        or Role.GRID_WORKER in actor.roles
    )


def may_take_calls(actor: Actor) -> bool:
    """Whether the hotline desk is for this person: the command centre's clerks."""
    return actor.has_role(Role.INTAKE, Role.DISPATCHER)


def may_see_evaluation(actor: Actor) -> bool:
    """Whether the evaluation pages are for this person: evaluators and administrators."""
    return actor.has_role(Role.EVALUATOR, Role.STREET_ADMIN, Role.DISTRICT_ADMIN, Role.SYS_ADMIN)


def navigation(actor: Actor | None) -> list[tuple[str, str]]:
    """The (path, label msgid) links of the top navigation for an actor."""
    if actor is None or not actor.is_authenticated:
        return []
    links = [("/", N_("Home")), ("/inbox", N_("Inbox"))]
    if may_see_cases(actor):
        links.append(("/cases", N_("Cases")))
    if may_take_calls(actor):
        links.append(("/hotline", N_("Hotline desk")))
    if may_see_evaluation(actor):
        links.append(("/evaluation", N_("Evaluation")))
    if actor.has_role(Role.CITIZEN, Role.GRID_WORKER):
        links.append(("/m/", N_("Phone app")))
    if has_permission(actor, Permission.READ_ORG):
        links.append(("/map", N_("Map")))
        links.append(("/org/units", N_("Units")))
        links.append(("/org/departments", N_("Departments")))
    if has_permission(actor, Permission.READ_PEOPLE):
        links.append(("/org/people", N_("People")))
    if actor.roles - {Role.CITIZEN}:
        links.append(("/account/api-keys", N_("API keys")))
    return links


def local_time(request: Request, value: datetime | None) -> str:
    """A stored UTC time shown in the configured time zone, to the minute."""
    if value is None:
        return ""
    settings: Settings = request.app.state.settings
    return as_utc(value).astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")


def page_context(request: Request, actor: Actor | None) -> dict[str, Any]:
    """What every page's layout needs: language, user, navigation and the CSRF token."""
    language = request_language(request)
    signed_in = actor if actor is not None and actor.is_authenticated else None
    role = primary_role(signed_in) if signed_in is not None else None
    return {
        "request": request,
        "lang": language,
        "html_lang": i18n.HTML_LANG[language],
        "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        "here": quote(current_path(request), safe="/"),
        "csrf_token": csrf.token_for(request),
        "user": signed_in,
        "user_role": role_label(role, language) if role is not None else "",
        "user_role_count": len(signed_in.roles) if signed_in is not None else 0,
        "nav": navigation(signed_in),
        # Counted by the page_actor dependency; pages without a signed-in actor show no count.
        "unread_notifications": getattr(request.state, "unread_notifications", 0),
        "active_path": request.url.path,
        "version": __version__,
        "static": lambda name: f"{STATIC_PREFIX}/{name}?v={__version__}",
        "role_label": lambda value: role_label(value, language),
        "kind_label": lambda value: kind_label(value, language),
        "local_time": lambda value: local_time(request, value),
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the request's language and send the CSRF cookie if it is new."""
    if actor is None:
        actor = getattr(request.state, "actor", None)
    values = page_context(request, actor)
    values.update(context or {})
    html = environment(values["lang"]).get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    csrf.set_cookie_if_new(request, response)
    return response
