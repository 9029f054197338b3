"""Organisation pages: the unit tree, departments, people, and creating a user."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from wenming.core.config import Settings
from wenming.core.deps import MAX_ROW_ID, AppClock, DbSession
from wenming.core.errors import Conflict, Forbidden, OutOfScope, WenmingError
from wenming.core.security import MIN_PASSWORD_LENGTH, constant_time_equal, sign
from wenming.i18n import N_
from wenming.org import repository
from wenming.org import service as org_service
from wenming.org.codes import UNIT_CODE_PATTERN
from wenming.org.models import User
from wenming.org.roles import ROLE_UNIT_LEVELS, Role
from wenming.org.schemas import DepartmentOut, UnitOut, UserOut
from wenming.org.scope import GRANTABLE_ROLES, Actor
from wenming.org.service import NAME_MAX_LENGTH
from wenming.web.deps import PageActor
from wenming.web.forms import CsrfForm, raw_field
from wenming.web.forms import field as form_field
from wenming.web.rendering import may_create_users, render, translator

router = APIRouter(include_in_schema=False)

PEOPLE_PAGE_SIZE = 50
# Why a unit of the wrong level cannot take a role (msgids), for the roles bound to one level.
WRONG_LEVEL: dict[Role, str] = {
    Role.STREET_ADMIN: N_("A street or town admin is bound to a street or town."),
    Role.DISTRICT_ADMIN: N_("A district admin is bound to a district."),
    Role.HANDLER: N_("A handler needs a department or a street or community unit."),
}
USER_FIELDS = ("username", "display_name", "phone", "role", "unit_code", "department_code")


class TreeItem(Protocol):
    """Anything with a code and the code of its parent."""

    code: str
    parent_code: str | None


@dataclass
class TreeNode:
    """A unit or department with the children the viewer may also see."""

    item: Any
    children: list[TreeNode] = field(default_factory=list)

    @property
    def descendants(self) -> int:
        """How many nodes lie beneath this one."""
        return sum(1 + child.descendants for child in self.children)


def build_tree(items: Iterable[TreeItem]) -> list[TreeNode]:
    """Nest items under their parents; an item whose parent is not visible becomes a root."""
    listed = list(items)
    nodes = {item.code: TreeNode(item) for item in listed}
    roots: list[TreeNode] = []
    for item in listed:
        parent = nodes.get(item.parent_code) if item.parent_code else None
        (parent.children if parent is not None else roots).append(nodes[item.code])
    return roots


def tree_levels(units: Iterable[UnitOut]) -> list[tuple[int, list[str]]]:
    """The levels below the top of a unit tree with the kinds found there, for "show down to"."""
    kinds: dict[int, list[str]] = {}
    for unit in units:
        found = kinds.setdefault(unit.level, [])
        if unit.kind.value not in found:
            found.append(unit.kind.value)
    levels = sorted(kinds)
    return [(level, kinds[level]) for level in levels[1:]]


def grantable_roles(actor: Actor) -> list[Role]:
    """The roles the actor may hand out, in the canonical order."""
    allowed: set[Role] = set()
    for grant in actor.grants:
        allowed |= GRANTABLE_ROLES.get(grant.role, frozenset())
    return [role for role in Role if role in allowed]


@router.get("/org/units", response_class=HTMLResponse)
async def units_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The administrative units the person may see, as a collapsible tree."""
    units = await repository.list_units(session, actor)
    context = {"tree": build_tree(units), "count": len(units), "levels": tree_levels(units)}
    return render(request, "org/units.html", context, actor=actor)


@router.get("/org/departments", response_class=HTMLResponse)
async def departments_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The departments the person may see, nested under their parent departments."""
    departments = await repository.list_departments(session, actor)
    units = await repository.list_units(session, actor)
    context = {
        "tree": build_tree(departments),
        "count": len(departments),
        "unit_names": {unit.code: unit.name for unit in units},
    }
    return render(request, "org/departments.html", context, actor=actor)


@router.get("/org/people", response_class=HTMLResponse)
async def people_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    unit: Annotated[str | None, Query(pattern=UNIT_CODE_PATTERN)] = None,
    created: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    """The people the person may see, a page at a time; phones masked unless they manage them."""
    offset = (page - 1) * PEOPLE_PAGE_SIZE
    people, total = await repository.list_users(
        session, actor, unit_code=unit or None, offset=offset, limit=PEOPLE_PAGE_SIZE
    )
    units = await repository.list_units(session, actor)
    departments = await repository.list_departments(session, actor)
    created_user = await _created_user(request, session, actor, created)
    unit_names = {u.code: u.name for u in units}
    pages = max(1, -(-total // PEOPLE_PAGE_SIZE))
    context = {
        "people": people,
        "total": total,
        "page": page,
        "pages": pages,
        "first": offset + 1 if people else 0,
        "last": offset + len(people),
        "unit": unit or "",
        "unit_name": unit_names.get(unit or "", unit or ""),
        "unit_names": unit_names,
        "department_names": {d.code: d.name for d in departments},
        "created_user": created_user,
        "can_create": may_create_users(actor),
    }
    return render(request, "org/people.html", context, actor=actor)


def _created_token(request: Request, actor: Actor, user_id: int) -> str:
    """A "user created" notice for the creator's next page, signed so links cannot fake one."""
    settings: Settings = request.app.state.settings
    signature = sign(settings.secret_key, f"created-user:{actor.user_id}:{user_id}")
    return f"{user_id}.{signature[:24]}"


async def _created_user(
    request: Request, session: DbSession, actor: Actor, token: str | None
) -> UserOut | None:
    """The user named by a valid "user created" notice, or None."""
    user_id_text, _, _signature = (token or "").partition(".")
    if not user_id_text.isdigit() or int(user_id_text) > MAX_ROW_ID:
        return None
    user_id = int(user_id_text)
    if not constant_time_equal(token or "", _created_token(request, actor, user_id)):
        return None
    user = await session.get(User, user_id)
    return await repository.created_user(session, actor, user) if user is not None else None


async def _user_form(
    request: Request,
    session: DbSession,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    form_error: str = "",
    status_code: int = 200,
    pickers: tuple[list[UnitOut], list[DepartmentOut]] | None = None,
) -> HTMLResponse:
    """The create-user form with the pickers limited to the actor's roles and territory."""
    units, departments = pickers or await _pickers(session, actor)
    context = {
        "roles": grantable_roles(actor),
        "units": units,
        "departments": departments,
        "values": {name: "" for name in USER_FIELDS} | (values or {}),
        "errors": errors or {},
        "form_error": form_error,
        "min_password": MIN_PASSWORD_LENGTH,
    }
    return render(request, "org/user_new.html", context, actor=actor, status_code=status_code)


async def _pickers(session: DbSession, actor: Actor) -> tuple[list[UnitOut], list[DepartmentOut]]:
    """The units and departments an admin can choose from: those inside their scope."""
    units = await repository.list_units(session, actor)
    departments = await repository.list_departments(session, actor)
    return units, departments


def _require_user_creator(actor: Actor) -> None:
    """Refuse the create-user pages to people whose roles may not create users."""
    if not may_create_users(actor):
        raise Forbidden("Your roles may not create users; ask a street, district or system admin.")


@router.get("/org/people/new", response_class=HTMLResponse)
async def new_user_page(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The form an admin fills in to add a person."""
    _require_user_creator(actor)
    return await _user_form(request, session, actor)


def _service_error(
    exc: WenmingError,
    values: dict[str, str],
    role: Role | None,
    unit_level: int | None,
    _: Callable[[str], str],
) -> tuple[str, str]:
    """The form field a refusal of the organisation service belongs to, and what to do about it."""
    name = getattr(exc, "field", None) or exc.extensions.get("field")
    if isinstance(exc, OutOfScope):
        if values["unit_code"]:
            return "unit_code", _("This unit lies outside the territory you manage.")
        return "department_code", _("This department lies outside the territory you manage.")
    if isinstance(exc, Forbidden):
        return "role", _("You may not grant this role.")
    if name == "username":
        if isinstance(exc, Conflict):
            return "username", _("This username is taken; choose another.")
        return "username", _(
            "Use 2 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if name == "display_name":
        return "display_name", _(
            "Use one line of at most %(count)s characters, without control characters."
        ) % {"count": NAME_MAX_LENGTH}
    if name == "password":
        return "password", _("The password needs at least %(count)s characters.") % {
            "count": MIN_PASSWORD_LENGTH
        }
    if name == "phone":
        return "phone", _("Use digits only; spaces, '-' and a leading '+' are allowed.")
    if name in ("unit_code", "department_code"):
        if values["unit_code"] and values["department_code"]:
            return "unit_code", _("Choose a unit or a department, not both.")
        if role in ROLE_UNIT_LEVELS and unit_level not in (None, *ROLE_UNIT_LEVELS[role]):
            wrong_level = WRONG_LEVEL.get(
                role, N_("This role cannot be bound to this kind of unit.")
            )
            return "unit_code", _(wrong_level)
        if role is Role.HANDLER:
            return "unit_code", _("A handler needs a department or a street or community unit.")
        if values["department_code"]:
            return "department_code", _("This role is bound to a unit, not a department.")
        return "unit_code", _("Choose the unit where this role applies.")
    return "", exc.detail


@router.post("/org/people", response_model=None)
async def create_user(
    form: CsrfForm,
    request: Request,
    session: DbSession,
    clock: AppClock,
    actor: PageActor,
) -> Response:
    """Create a person with one role; every refusal is shown next to the field it concerns."""
    _require_user_creator(actor)
    _ = translator(request)
    values = {name: form_field(form, name) for name in USER_FIELDS}
    password = raw_field(form, "password")
    pickers = await _pickers(session, actor)
    units, departments = pickers
    errors: dict[str, str] = {}
    if not values["username"]:
        errors["username"] = _("Enter a username.")
    if not values["display_name"]:
        errors["display_name"] = _("Enter the person's name.")
    if not password:
        errors["password"] = _("Enter an initial password.")
    role: Role | None = None
    if not values["role"]:
        errors["role"] = _("Choose a role.")
    elif values["role"] not in {r.value for r in grantable_roles(actor)}:
        errors["role"] = _("Choose one of the roles you may grant.")
    else:
        role = Role(values["role"])
    if values["unit_code"] and values["unit_code"] not in {u.code for u in units}:
        errors["unit_code"] = _("Choose a unit from the list.")
    if values["department_code"] and values["department_code"] not in {d.code for d in departments}:
        errors["department_code"] = _("Choose a department from the list.")
    if errors or role is None:
        return await _user_form(
            request,
            session,
            actor,
            values=values,
            errors=errors,
            status_code=422,
            pickers=pickers,
        )
    try:
        async with session.begin_nested():
            user = await org_service.create_user_as(
                session,
                actor,
                username=values["username"],
                display_name=values["display_name"],
                password=password,
                role=role,
                now=clock.now(),
                unit_code=values["unit_code"] or None,
                department_code=values["department_code"] or None,
                phone=values["phone"] or None,
            )
    except WenmingError as exc:
        levels = {u.code: u.level for u in units}
        name, message = _service_error(exc, values, role, levels.get(values["unit_code"]), _)
        return await _user_form(
            request,
            session,
            actor,
            values=values,
            errors={name: message} if name else {},
            form_error="" if name else message,
            status_code=exc.status,
            pickers=pickers,
        )
    except IntegrityError:
        return await _user_form(
            request,
            session,
            actor,
            values=values,
            errors={"username": _("This username is taken; choose another.")},
            status_code=409,
            pickers=pickers,
        )
    created = _created_token(request, actor, user.id)
    return RedirectResponse(f"/org/people?created={created}", status_code=303)
