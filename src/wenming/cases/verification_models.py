"""The verification rule table (核实规则): which reports are confirmed on site before filing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime


class VerifyRule(Base):
    """Whether reports of a source (None: any) and category (None: any) are verified on site."""

    __tablename__ = "case_verify_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str | None] = mapped_column(String(20))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_category.id", ondelete="CASCADE"), index=True
    )
    verify: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
