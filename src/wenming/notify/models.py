"""Inbox rows (one per person and event) and outbox rows (one per message to send elsewhere)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime

KIND_MAX = 64
TITLE_MAX = 200
LINK_MAX = 500
ERROR_MAX = 500


class Notification(Base):
    """One message in one person's inbox; unread while ``read_at`` is empty."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(KIND_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(LINK_MAX))
    # The case this is about, if any. Deliberately no foreign key: the cases domain owns that
    # table, and an inbox entry stays readable history whatever happens to the case.
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_notification_user_read_created", "user_id", "read_at", "created_at"),
    )


class OutboxStatus(StrEnum):
    """The states of an outbox row: waiting (or being retried), delivered, given up."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


WEBHOOK_CHANNEL = "webhook"


class NotificationOutbox(Base):
    """A message waiting to leave through a channel, written in the transaction that caused it.

    The delivery worker sends only committed rows, so nothing goes out for a rolled-back change.
    """

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dead')", name="status_known"),
        Index("ix_notification_outbox_status_next", "status", "next_attempt_at"),
    )
