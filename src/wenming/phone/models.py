"""Tables of the phone app: the reporter's key to a report, ratings, patrols and their tracks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime


class ReporterKey(Base):
    """Proof that a device made a report: the digest of a secret the device chose and keeps.

    Citizens report without an account; whoever holds the secret is recognised as the reporter
    (to rate the result or say it is not fixed). Only the SHA-256 digest is stored.
    """

    __tablename__ = "case_reporter_key"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), primary_key=True
    )
    secret_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseRating(Base):
    """The reporter's verdict on a closed case (满意 / 基本满意 / 不满意); one per case."""

    __tablename__ = "case_rating"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Patrol(Base):
    """One patrol (巡查) of a grid worker: when it ran, how far and how long."""

    __tablename__ = "patrol"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_grid.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    point_count: Mapped[int] = mapped_column(Integer, default=0)


class PatrolPoint(Base):
    """One GPS fix of a patrol's track (WGS-84), in the order the device took them."""

    __tablename__ = "patrol_point"
    __table_args__ = (UniqueConstraint("patrol_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrol.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
