"""The signed-in person's own API keys: list, create (the key is shown once) and revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenming.auth import service as auth_service
from wenming.core.deps import MAX_ROW_ID, AppClock, DbSession, RowId
from wenming.core.errors import InvalidInput
from wenming.org.models import User
from wenming.org.scope import Actor
from wenming.web.deps import PageActor
from wenming.web.forms import CsrfForm, field
from wenming.web.rendering import render, translator

router = APIRouter(include_in_schema=False)

KEY_NAME_MAX = 100


async def _keys_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    *,
    new_key: str = "",
    new_key_name: str = "",
    name: str = "",
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The list of the person's keys with the form to create one."""
    assert actor.user_id is not None
    keys = list(reversed(await auth_service.list_api_keys(session, actor.user_id)))
    context: dict[str, Any] = {
        "keys": keys,
        "new_key": new_key,
        "new_key_name": new_key_name,
        "name": name,
        "errors": errors or {},
        "notice": notice,
        "name_max": KEY_NAME_MAX,
    }
    return render(request, "account/api_keys.html", context, actor=actor, status_code=status_code)


@router.get("/account/api-keys", response_class=HTMLResponse)
async def api_keys_page(
    request: Request,
    session: DbSession,
    actor: PageActor,
    revoked: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> HTMLResponse:
    """The person's API keys."""
    _ = translator(request)
    notice = _("The key was revoked.") if revoked else ""
    return await _keys_page(request, session, actor, notice=notice)


@router.post("/account/api-keys", response_class=HTMLResponse)
async def create_api_key(
    form: CsrfForm,
    request: Request,
    session: DbSession,
    clock: AppClock,
    actor: PageActor,
) -> HTMLResponse:
    """Create a key and show its value this one time."""
    _ = translator(request)
    name = field(form, "name")
    if not name:
        errors = {"name": _("Give the key a name that says which program uses it.")}
        return await _keys_page(request, session, actor, errors=errors, status_code=422)
    if len(name) > KEY_NAME_MAX:
        errors = {"name": _("Use at most %(count)s characters.") % {"count": KEY_NAME_MAX}}
        return await _keys_page(request, session, actor, name=name, errors=errors, status_code=422)
    user = await session.get(User, actor.user_id)
    assert user is not None
    try:
        row, key = await auth_service.create_api_key(session, user, name, clock.now())
    except InvalidInput:
        errors = {"name": _("Use one line of text without control characters.")}
        return await _keys_page(request, session, actor, name=name, errors=errors, status_code=422)
    return await _keys_page(
        request, session, actor, new_key=key, new_key_name=row.name, status_code=201
    )


@router.post("/account/api-keys/{key_id}/revoke", response_model=None)
async def revoke_api_key(
    key_id: RowId,
    form: CsrfForm,
    session: DbSession,
    clock: AppClock,
    actor: PageActor,
) -> Response:
    """Revoke one of the person's keys; programs using it are refused from now on."""
    assert actor.user_id is not None
    await auth_service.revoke_api_key(session, actor.user_id, key_id, clock.now())
    return RedirectResponse(f"/account/api-keys?revoked={key_id}", status_code=303)
