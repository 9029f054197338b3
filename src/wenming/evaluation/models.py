"""Evaluation tables: index versions (projects → contents → items), categories, years, rounds,
method weights, participants, scores and round totals, sampling plans with their drawn points,
checklist results and survey results. Points are stored as integer hundredths (exact on both
databases)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime


class IndexVersion(Base):
    """One version of an index system (测评体系); years name the version they are scored on."""

    __tablename__ = "eval_index_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IndexProject(Base):
    """A project (测评项目), e.g. 环境卫生."""

    __tablename__ = "eval_project"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("eval_index_version.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    sort_order: Mapped[int] = mapped_column(Integer)


class IndexContent(Base):
    """A content (测评内容) inside a project."""

    __tablename__ = "eval_content"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("eval_index_version.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("eval_project.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    sort_order: Mapped[int] = mapped_column(Integer)


class IndexItem(Base):
    """A leaf item (测评标准): what is checked, how, worth how much, lost how."""

    __tablename__ = "eval_item"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint("max_points > 0", name="positive_max"),
        CheckConstraint("per_finding IS NULL OR per_finding > 0", name="positive_per_finding"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("eval_index_version.id", ondelete="CASCADE"), index=True
    )
    content_id: Mapped[int] = mapped_column(
        ForeignKey("eval_content.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(10))
    max_points: Mapped[int] = mapped_column(Integer)  # hundredths
    per_finding: Mapped[int | None] = mapped_column(Integer)  # hundredths lost per finding
    sort_order: Mapped[int] = mapped_column(Integer)


class ItemLocationType(Base):
    """A location type (the geography's configurable list) a field item is checked at."""

    __tablename__ = "eval_item_location_type"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("eval_item.id", ondelete="CASCADE"), primary_key=True
    )
    location_type: Mapped[str] = mapped_column(
        ForeignKey("geo_location_type.code", ondelete="RESTRICT"), primary_key=True
    )


class Category(Base):
    """A ranking category (省会城市, 地级市, 其他城区类, ...): configuration data."""

    __tablename__ = "eval_category"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))
    sort_order: Mapped[int] = mapped_column(SmallInteger, default=0)


class Year(Base):
    """An evaluation year: the index it uses, how its rounds combine and how ties break."""

    __tablename__ = "eval_year"
    __table_args__ = (CheckConstraint("combine IN ('sum', 'weighted')", name="combine_rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("eval_index_version.id", ondelete="RESTRICT"), index=True
    )
    combine: Mapped[str] = mapped_column(String(10), default="sum")
    tie_breaks: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Round(Base):
    """A round (e.g. 2022H1 上半年) of a year, with its weight when the year is weighted."""

    __tablename__ = "eval_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("eval_year.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(SmallInteger)
    weight: Mapped[int | None] = mapped_column(Integer)  # hundredths, for weighted years
    # A self-evaluation (模拟测评): scored and explained like any round, left out of the year.
    mock: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MethodWeight(Base):
    """What a method is worth in a round (hundredths of points); none means nominal maxima."""

    __tablename__ = "eval_method_weight"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[str] = mapped_column(String(10), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer)


class Cycle(Base):
    """A cycle of years combined by weights (e.g. 15/25/60 over three years)."""

    __tablename__ = "eval_cycle"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class CycleYear(Base):
    """A year's weight in a cycle (hundredths)."""

    __tablename__ = "eval_cycle_year"

    cycle_id: Mapped[int] = mapped_column(
        ForeignKey("eval_cycle.id", ondelete="CASCADE"), primary_key=True
    )
    year_id: Mapped[int] = mapped_column(
        ForeignKey("eval_year.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[int] = mapped_column(Integer)


class Participant(Base):
    """A district or city being evaluated: a unit of the org tree, or external (no unit)."""

    __tablename__ = "eval_participant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category_code: Mapped[str] = mapped_column(
        ForeignKey("eval_category.code", ondelete="RESTRICT"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AbsentType(Base):
    """A location type that does not exist in a participant in a round (its items re-weight)."""

    __tablename__ = "eval_absent_type"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), primary_key=True
    )
    location_type: Mapped[str] = mapped_column(
        ForeignKey("geo_location_type.code", ondelete="RESTRICT"), primary_key=True
    )


class Score(Base):
    """Points a participant kept on one item in one round (hundredths), and where they came from."""

    __tablename__ = "eval_score"
    __table_args__ = (CheckConstraint("points >= 0", name="non_negative"),)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("eval_item.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    points: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))  # import | field | survey
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoreTotal(Base):
    """A participant's published round total and method scores (hundredths), kept current by
    every change to its scores, weights or absences so that a ranking reads one row per pair."""

    __tablename__ = "eval_round_total"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), primary_key=True
    )
    total: Mapped[int] = mapped_column(Integer)
    methods: Mapped[dict[str, int]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SamplingPlan(Base):
    """One draw of inspection points for a participant in a round, reproducible from its seed."""

    __tablename__ = "eval_sampling_plan"
    __table_args__ = (UniqueConstraint("round_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), index=True
    )
    per_type: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    # What the draw saw: per location type the number of candidate points (the audit trail).
    population: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SampledPoint(Base):
    """A drawn inspection point, in draw order, and the evaluator it is assigned to."""

    __tablename__ = "eval_sampled_point"
    __table_args__ = (UniqueConstraint("plan_id", "point_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("eval_sampling_plan.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[int] = mapped_column(ForeignKey("geo_point.id", ondelete="RESTRICT"))
    location_type: Mapped[str] = mapped_column(String(32))
    draw_order: Mapped[int] = mapped_column(Integer)
    evaluator_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )


class CheckResult(Base):
    """An evaluator's verdict on one item at one drawn point: pass (0 findings) or deductions."""

    __tablename__ = "eval_check_result"
    __table_args__ = (CheckConstraint("findings >= 0", name="non_negative_findings"),)

    sampled_point_id: Mapped[int] = mapped_column(
        ForeignKey("eval_sampled_point.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("eval_item.id", ondelete="CASCADE"), primary_key=True
    )
    findings: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    attachment_key: Mapped[str | None] = mapped_column(String(64))
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyResult(Base):
    """A survey question's outcome for a participant in a round: respondents and favourable rate."""

    __tablename__ = "eval_survey_result"
    __table_args__ = (
        CheckConstraint("respondents > 0", name="positive_respondents"),
        CheckConstraint("rate BETWEEN 0 AND 10000", name="rate_range"),
    )

    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("eval_item.id", ondelete="CASCADE"), primary_key=True
    )
    respondents: Mapped[int] = mapped_column(Integer)
    rate: Mapped[int] = mapped_column(Integer)  # percent in hundredths
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rectification(Base):
    """The rectification case (以测促建) a field deduction filed: one per item at a drawn point."""

    __tablename__ = "eval_rectification"
    __table_args__ = (UniqueConstraint("sampled_point_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sampled_point_id: Mapped[int] = mapped_column(
        ForeignKey("eval_sampled_point.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("eval_item.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaterialEvidence(Base):
    """A file a participant submitted for a material item (材料审核) in a round."""

    __tablename__ = "eval_material_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("eval_round.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("eval_item.id", ondelete="CASCADE"))
    attachment_key: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaterialReview(Base):
    """A reviewer's points (hundredths, 0..max) on a material item: the item's score."""

    __tablename__ = "eval_material_review"
    __table_args__ = (CheckConstraint("points >= 0", name="non_negative"),)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("eval_round.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("eval_participant.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("eval_item.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
