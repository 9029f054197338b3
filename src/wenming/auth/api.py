"""Authentication API: OAuth2 password flow for bearer tokens, sign-out, and API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response

from wenming.auth import service
from wenming.auth.deps import SignedInActor
from wenming.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, MeOut, TokenOut
from wenming.core.deps import AppClock, AppSettings, DbSession, RowId, bearer_token
from wenming.core.problems import problem_response
from wenming.org import repository as org_repository
from wenming.org.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Get a bearer token (OAuth2 password flow)",
    responses={401: {"description": "Wrong username or password"}, 429: {"description": "Wait"}},
)
async def token(
    request: Request,
    session: DbSession,
    clock: AppClock,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=service.USERNAME_MAX_LENGTH)],
    password: Annotated[str, Form(max_length=service.PASSWORD_MAX_LENGTH)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenOut | Response:
    """Exchange a username and password for a bearer token.

    Repeated failures are slowed down (HTTP 429 with Retry-After) and then locked for a while.
    A refused sign-in is answered, not raised: raising would roll back the unit of work and with
    it the failure just counted, and the slow-down would never engage.
    """
    now = clock.now()
    try:
        user = await service.authenticate(session, username, password, now, settings)
    except service.LoginRefused as refused:
        return problem_response(request, refused.problem(), {"WWW-Authenticate": "Bearer"})
    lifetime = timedelta(hours=settings.bearer_token_hours)
    issued = await service.issue_session(
        session, user.id, service.SESSION_KIND_BEARER, now, lifetime
    )
    return TokenOut(access_token=issued.token, expires_in=int(lifetime.total_seconds()))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke this bearer token")
async def logout(
    request: Request, session: DbSession, clock: AppClock, actor: SignedInActor
) -> None:
    """Invalidate the bearer token this request was made with."""
    value = bearer_token(request)
    if value:
        await service.revoke_session(session, value, clock.now())


@router.get("/me", response_model=MeOut, summary="Who am I")
async def me(session: DbSession, actor: SignedInActor) -> MeOut:
    """The signed-in user and their roles."""
    assert actor.user_id is not None
    user = await org_repository.get_user(session, actor, actor.user_id)
    return MeOut(
        id=user.id, username=user.username, display_name=user.display_name, roles=user.roles
    )


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key for a machine client acting as you",
)
async def create_api_key(
    body: ApiKeyCreate, session: DbSession, clock: AppClock, actor: SignedInActor
) -> ApiKeyCreated:
    """A new key; its value is shown only in this answer."""
    user = await session.get(User, actor.user_id)
    assert user is not None
    now = clock.now()
    row, key = await service.create_api_key(session, user, body.name, now)
    return ApiKeyCreated(id=row.id, name=row.name, key=key, prefix=row.prefix, created_at=now)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List your API keys")
async def list_api_keys(session: DbSession, actor: SignedInActor) -> list[ApiKeyOut]:
    """Your keys, without their secrets."""
    assert actor.user_id is not None
    rows = await service.list_api_keys(session, actor.user_id)
    return [
        ApiKeyOut(
            id=r.id,
            name=r.name,
            prefix=r.prefix,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            revoked=r.revoked_at is not None,
        )
        for r in rows
    ]


@router.delete(
    "/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key"
)
async def revoke_api_key(
    key_id: RowId, session: DbSession, clock: AppClock, actor: SignedInActor
) -> None:
    """Revoke one of your keys; clients using it are refused from now on."""
    assert actor.user_id is not None
    await service.revoke_api_key(session, actor.user_id, key_id, clock.now())
