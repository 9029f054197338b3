"""Wire shapes of the notifications API (pydantic), kept apart from the ORM models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationOut(BaseModel):
    """One notification of the caller's inbox; unread while ``read_at`` is null."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    link: str | None
    case_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    """One page of the caller's notifications, newest first, with the number of matches."""

    items: list[NotificationOut]
    total: int
    page: int
    page_size: int


class UnreadCount(BaseModel):
    """How many of the caller's notifications are unread."""

    unread: int


class MarkedRead(BaseModel):
    """How many notifications this request marked read, and how many are still unread."""

    marked: int
    unread: int
