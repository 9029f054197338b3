"""Who is calling: bearer token, API key or browser session (with CSRF for cookie writes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wenming.auth import csrf
from wenming.auth.service import (
    API_KEY_PREFIX,
    SESSION_KIND_BEARER,
    SESSION_KIND_WEB,
    load_actor,
    user_for_api_key,
    user_for_session,
)
from wenming.core.deps import (
    SESSION_COOKIE,
    AppClock,
    DbSession,
    OpenSession,
    bearer_token,
    is_write_request,
    require_authenticated,
)
from wenming.core.errors import NotAuthenticated
from wenming.org.scope import Actor


async def current_actor(request: Request, session: DbSession, clock: AppClock) -> Actor:
    """The actor behind the request, or the anonymous public when no credentials are sent.

    Credentials that are sent but invalid are an error, not a silent fall back to anonymous.
    """
    now = clock.now()
    write = is_write_request(request)
    token = bearer_token(request)
    api_key = request.headers.get("x-api-key")
    if token and token.startswith(API_KEY_PREFIX):
        api_key, token = token, None
    user_id: int | None = None
    if api_key:
        user_id = await user_for_api_key(session, api_key, now, record_use=write)
        if user_id is None:
            raise NotAuthenticated("The API key is unknown or revoked; ask an admin for a new one.")
    elif token:
        user_id = await user_for_session(session, token, SESSION_KIND_BEARER, now)
        if user_id is None:
            raise NotAuthenticated(
                "The bearer token is invalid or expired; get a new one at POST /api/v1/auth/token."
            )
    elif cookie := request.cookies.get(SESSION_COOKIE):
        user_id = await user_for_session(session, cookie, SESSION_KIND_WEB, now)
        if user_id is not None and write:
            csrf.verify(request)
    if user_id is None:
        return Actor.anonymous()
    actor = await load_actor(session, user_id)
    if actor is None:
        raise NotAuthenticated("This account is disabled or no longer exists.")
    request.state.actor = actor
    return actor


def sends_credentials(request: Request) -> bool:
    """Whether a request carries a token, an API key or a session cookie."""
    return bool(
        bearer_token(request)
        or request.headers.get("x-api-key")
        or request.cookies.get(SESSION_COOKIE)
    )


async def actor_outside_unit_of_work(
    request: Request, open_session: OpenSession, clock: AppClock
) -> Actor:
    """``current_actor`` for endpoints that open their own units of work (case intake): the
    anonymous public costs no database access, and credentials are checked in a short unit of
    work of their own, so the request's later writes do not hold it."""
    if not sends_credentials(request):
        return Actor.anonymous()
    async with open_session() as session:
        return await current_actor(request, session, clock)


async def signed_in_actor(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    """The actor, who must be signed in (401 otherwise)."""
    require_authenticated(actor.user_id)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
ActorOutsideUnitOfWork = Annotated[Actor, Depends(actor_outside_unit_of_work)]
SignedInActor = Annotated[Actor, Depends(signed_in_actor)]
