"""Dependencies of page routes: the signed-in actor, or a redirect to the sign-in page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.auth.deps import CurrentActor
from wenming.auth.service import SESSION_KIND_WEB, load_actor, user_for_session
from wenming.core.deps import SESSION_COOKIE, DbSession
from wenming.core.errors import NotAuthenticated
from wenming.notify import service as notify_service
from wenming.org.scope import Actor


class SignInRequired(NotAuthenticated):
    """A page was asked for without a live session; the browser is sent to the sign-in page."""

    slug = "sign-in-required"
    title = "Sign in required"


async def page_actor(actor: CurrentActor, request: Request, session: DbSession) -> Actor:
    """The signed-in actor of a page request; anonymous visitors are redirected to sign in.

    Also counts the person's unread notifications (one indexed COUNT) for the page header.
    """
    if not actor.is_authenticated or actor.user_id is None:
        raise SignInRequired("Sign in to see this page.")
    request.state.unread_notifications = await notify_service.unread_count(session, actor.user_id)
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


async def live_web_actor(request: Request, session: AsyncSession, now: datetime) -> Actor | None:
    """The active user behind the browser's session cookie, or None; never raises.

    The sign-in page uses it so that a stale cookie or a disabled account simply shows the form.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user_id = await user_for_session(session, token, SESSION_KIND_WEB, now)
    if user_id is None:
        return None
    return await load_actor(session, user_id)
