"""The attachment table: one row per upload, naming a content-addressed file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime

KEY_LENGTH = 22  # secrets.token_urlsafe(16): 128 random bits
KEY_MAX_LENGTH = 43  # room for up to 256 bits without a migration


class Attachment(Base):
    """An uploaded image: its unguessable public key and the stored, metadata-free copy it names.

    Two uploads of the same picture are two rows (each with its own key and uploader) naming one
    file; ``sha256`` is the digest of the stored original, not of the bytes sent.
    """

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="content_type"
        ),
    )
