"""Case tables: the category table, time limits and the working calendar, routing rules, cases,
their append-only events, their deadlines (one row per step) and what hangs off a case."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime


class CategoryClass(Base):
    """A top-level class (大类) of components or events, e.g. event 01 市容环境."""

    __tablename__ = "case_category_class"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(2))
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))


class Category(Base):
    """A subclass (小类) cases are filed under, keyed by (kind, code); retired, never deleted."""

    __tablename__ = "case_category"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(4))
    class_code: Mapped[str] = mapped_column(String(2))
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))
    area: Mapped[str] = mapped_column(String(20))
    # Default line department as a key: the department coded "<district code>-<key>" in the
    # case's district. None means territorial (the street/town that owns the grid).
    department_key: Mapped[str | None] = mapped_column(String(20))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    after_photo: Mapped[bool] = mapped_column(Boolean, default=True)
    duplicate_radius_m: Mapped[int] = mapped_column(Integer, default=50)
    icon: Mapped[str] = mapped_column(String(20), default="other")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TimeLimit(Base):
    """How long a step may take, for a category (None: any) and an urgency (None: any)."""

    __tablename__ = "case_time_limit"
    __table_args__ = (
        UniqueConstraint("category_id", "urgency", "step"),
        CheckConstraint("amount > 0", name="positive_amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_category.id", ondelete="CASCADE")
    )
    urgency: Mapped[str | None] = mapped_column(String(10))
    step: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(12))


class CalendarDay(Base):
    """An exception to the Monday-to-Friday week: a holiday, or a make-up working day (调休)."""

    __tablename__ = "case_calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50))


class RoutingRule(Base):
    """A routing rule: which unit is responsible for the cases it matches (most specific wins)."""

    __tablename__ = "case_routing_rule"
    __table_args__ = (
        CheckConstraint(
            "(target_department_id IS NULL) <> (target_unit_id IS NULL)", name="one_target"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_category.id", ondelete="CASCADE"), index=True
    )
    area_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="CASCADE")
    )
    component_owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE")
    )
    target_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE")
    )
    target_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="CASCADE")
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(Base):
    """A problem moving through the loop. ``version`` guards against concurrent transitions."""

    __tablename__ = "case_record"
    __table_args__ = (
        Index("ix_case_record_unit_state", "unit_id", "state"),
        Index("ix_case_record_category_created", "category_id", "created_at"),
        Index("ix_case_record_resp_dept_state", "responsible_department_id", "state"),
        Index("ix_case_record_resp_unit_state", "responsible_unit_id", "state"),
        Index("ix_case_record_state_due", "state", "due_at"),
        # The hotline desk's caller history; most reports carry no phone, so only those that do.
        Index(
            "ix_case_record_reporter_phone",
            "reporter_phone",
            sqlite_where=text("reporter_phone IS NOT NULL"),
            postgresql_where=text("reporter_phone IS NOT NULL"),
        ),
        # Room on each page for the sweep's in-place updates (migration 0010).
        {"postgresql_with": {"fillfactor": 80}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    category_id: Mapped[int] = mapped_column(ForeignKey("case_category.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200), default="")
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_grid.id", ondelete="SET NULL"), index=True
    )
    # The lowest unit the place lies in (community/village, or the street when none is known).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id", ondelete="RESTRICT"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id", ondelete="RESTRICT"))
    component_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_component.id", ondelete="SET NULL")
    )
    urgency: Mapped[str] = mapped_column(String(10))
    reporter_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    reporter_name: Mapped[str | None] = mapped_column(String(50))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(12))
    resume_state: Mapped[str | None] = mapped_column(String(12))
    pending: Mapped[str | None] = mapped_column(String(12))
    pending_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responsible_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT")
    )
    responsible_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT")
    )
    # What routing suggested at intake, shown to the dispatcher with its reason.
    suggested_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    suggested_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="SET NULL")
    )
    suggestion_reason: Mapped[str | None] = mapped_column(String(10))
    suggestion_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_routing_rule.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    rework_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    extension_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    reopen_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API


class CaseEvent(Base):
    """One transition or note in a case's history; appended, never changed."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    actor_label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text, default="{}")


class CaseAttachment(Base):
    """A photo of a case: what the reporter saw, or the handler's before/after evidence."""

    __tablename__ = "case_attachment"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), primary_key=True
    )
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id", ondelete="SET NULL"))
    purpose: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Set when command-centre staff approve the photo for the public map and Open311; only
    # published photos ever leave the staff views (see cases/publication.py).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )


class CaseDeadline(Base):
    """The clock of one step of one case. The sweep reads ``next_escalation_at`` only."""

    __tablename__ = "case_deadline"
    __table_args__ = (
        Index("ix_case_deadline_case_step", "case_id", "finished_at"),
        Index("ix_case_deadline_next_escalation", "next_escalation_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remaining_seconds: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    # When the sweep should next escalate this clock, in Unix seconds (integer arithmetic is the
    # same on both databases); None while paused or finished.
    next_escalation_at: Mapped[int | None] = mapped_column(Integer)
    # Seconds between two escalations of the same overdue clock (the limit's length in wall time).
    escalation_interval_seconds: Mapped[int] = mapped_column(Integer)
    # The sweep run that last escalated this clock; its follow-up statements select by it.
    escalated_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_sweep_run.id", ondelete="SET NULL"), index=True
    )


class SweepRun(Base):
    """One run of the overdue sweep: the moment it judged by and what it escalated."""

    __tablename__ = "case_sweep_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    now: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated: Mapped[int] = mapped_column(Integer, default=0)
    notified: Mapped[int] = mapped_column(Integer, default=0)


class CaseFollower(Base):
    """Someone who wants to hear about a case: its reporter, a merged duplicate's reporter, or a
    citizen who said "me too"."""

    __tablename__ = "case_follower"
    __table_args__ = (
        Index("ix_case_follower_case", "case_id"),
        Index(
            "ix_case_follower_phone",
            "phone",
            sqlite_where=text("phone IS NOT NULL"),
            postgresql_where=text("phone IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    via: Mapped[str] = mapped_column(String(10))
    from_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReferenceVersion(Base):
    """One counter bumped whenever categories, limits, the calendar or routing rules change, so
    every process knows when its cached copy is stale."""

    __tablename__ = "case_reference_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """A submitted ``Idempotency-Key`` and the case it created, so a retry gets the same case."""

    __tablename__ = "case_idempotency"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
