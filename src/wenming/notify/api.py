"""Notifications API: the caller's own inbox, never anyone else's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from wenming.auth.deps import SignedInActor
from wenming.core.deps import MAX_ROW_ID, AppClock, DbSession, RowId
from wenming.notify import service
from wenming.notify.schemas import MarkedRead, NotificationOut, NotificationPage, UnreadCount
from wenming.org.scope import Actor

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


def _user_id(actor: Actor) -> int:
    """The signed-in caller's user id (SignedInActor has already refused the anonymous)."""
    assert actor.user_id is not None
    return actor.user_id


@router.get("", response_model=NotificationPage, summary="Your notifications")
async def list_notifications(
    session: DbSession,
    actor: SignedInActor,
    page: Annotated[int, Query(ge=1, le=MAX_ROW_ID, description="page number, from 1")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=service.MAX_PAGE_SIZE, description="notifications per page")
    ] = service.DEFAULT_PAGE_SIZE,
    unread_only: Annotated[bool, Query(description="only the unread ones")] = False,
) -> NotificationPage:
    """Your notifications, newest first, a page at a time."""
    items, total = await service.list_for_user(
        session, _user_id(actor), page=page, page_size=page_size, unread_only=unread_only
    )
    return NotificationPage(
        items=[NotificationOut.model_validate(item) for item in items],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/unread-count", response_model=UnreadCount, summary="Your unread count")
async def unread_count(session: DbSession, actor: SignedInActor) -> UnreadCount:
    """How many of your notifications are unread."""
    return UnreadCount(unread=await service.unread_count(session, _user_id(actor)))


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark one read")
async def mark_one_read(
    notification_id: RowId, session: DbSession, clock: AppClock, actor: SignedInActor
) -> NotificationOut:
    """Mark one of your notifications read (again: it keeps its first read time); 404 for an id
    that is not in your inbox."""
    user_id = _user_id(actor)
    await service.mark_read(session, user_id, [notification_id], now=clock.now())
    return NotificationOut.model_validate(
        await service.get_for_user(session, user_id, notification_id)
    )


@router.post("/read-all", response_model=MarkedRead, summary="Mark all read")
async def mark_all_read(session: DbSession, clock: AppClock, actor: SignedInActor) -> MarkedRead:
    """Mark every one of your notifications read."""
    user_id = _user_id(actor)
    marked = await service.mark_read(session, user_id, service.ALL, now=clock.now())
    return MarkedRead(marked=marked, unread=await service.unread_count(session, user_id))
