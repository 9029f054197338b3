"""Evaluation: index systems, years and rounds, participants, scores, sampling, checklists.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:01:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eval_category",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=50), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("sort_order", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_eval_category")),
    )
    op.create_table(
        "eval_cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_cycle")),
        sa.UniqueConstraint("code", name=op.f("uq_eval_cycle_code")),
    )
    op.create_table(
        "eval_index_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("example", sa.Boolean(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_index_version")),
        sa.UniqueConstraint("code", name=op.f("uq_eval_index_version_code")),
    )
    op.create_table(
        "eval_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["eval_category.code"],
            name=op.f("fk_eval_participant_category_code_eval_category"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_eval_participant_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_participant")),
        sa.UniqueConstraint("code", name=op.f("uq_eval_participant_code")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_eval_participant_unit_id")),
    )
    with op.batch_alter_table("eval_participant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eval_participant_category_code"), ["category_code"], unique=False
        )

    op.create_table(
        "eval_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["eval_index_version.id"],
            name=op.f("fk_eval_project_version_id_eval_index_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_project")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_eval_project_version_id_code")),
    )
    with op.batch_alter_table("eval_project", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eval_project_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "eval_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("combine", sa.String(length=10), nullable=False),
        sa.Column("tie_breaks", sa.JSON(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "combine IN ('sum', 'weighted')", name=op.f("ck_eval_year_combine_rule")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["eval_index_version.id"],
            name=op.f("fk_eval_year_version_id_eval_index_version"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_year")),
        sa.UniqueConstraint("year", name=op.f("uq_eval_year_year")),
    )
    with op.batch_alter_table("eval_year", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_year_version_id"), ["version_id"], unique=False)

    op.create_table(
        "eval_content",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["eval_project.id"],
            name=op.f("fk_eval_content_project_id_eval_project"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["eval_index_version.id"],
            name=op.f("fk_eval_content_version_id_eval_index_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_content")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_eval_content_version_id_code")),
    )
    with op.batch_alter_table("eval_content", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eval_content_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eval_content_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "eval_cycle_year",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("year_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["eval_cycle.id"],
            name=op.f("fk_eval_cycle_year_cycle_id_eval_cycle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["year_id"],
            ["eval_year.id"],
            name=op.f("fk_eval_cycle_year_year_id_eval_year"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cycle_id", "year_id", name=op.f("pk_eval_cycle_year")),
    )
    op.create_table(
        "eval_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("year_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.SmallInteger(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["year_id"],
            ["eval_year.id"],
            name=op.f("fk_eval_round_year_id_eval_year"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_round")),
        sa.UniqueConstraint("code", name=op.f("uq_eval_round_code")),
    )
    with op.batch_alter_table("eval_round", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_round_year_id"), ["year_id"], unique=False)

    op.create_table(
        "eval_absent_type",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("location_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_type"],
            ["geo_location_type.code"],
            name=op.f("fk_eval_absent_type_location_type_geo_location_type"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_absent_type_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_absent_type_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "participant_id", "location_type", name=op.f("pk_eval_absent_type")
        ),
    )
    op.create_table(
        "eval_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("max_points", sa.Integer(), nullable=False),
        sa.Column("per_finding", sa.Integer(), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.CheckConstraint("max_points > 0", name=op.f("ck_eval_item_positive_max")),
        sa.CheckConstraint(
            "per_finding IS NULL OR per_finding > 0", name=op.f("ck_eval_item_positive_per_finding")
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["eval_content.id"],
            name=op.f("fk_eval_item_content_id_eval_content"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["eval_index_version.id"],
            name=op.f("fk_eval_item_version_id_eval_index_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_item")),
        sa.UniqueConstraint("version_id", "code", name=op.f("uq_eval_item_version_id_code")),
    )
    with op.batch_alter_table("eval_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_item_content_id"), ["content_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eval_item_version_id"), ["version_id"], unique=False)

    op.create_table(
        "eval_method_weight",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_method_weight_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "method", name=op.f("pk_eval_method_weight")),
    )
    op.create_table(
        "eval_round_total",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("computed_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_round_total_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_round_total_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "participant_id", name=op.f("pk_eval_round_total")),
    )
    op.create_table(
        "eval_sampling_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("per_type", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
            name=op.f("fk_eval_sampling_plan_created_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_sampling_plan_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_sampling_plan_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_sampling_plan")),
        sa.UniqueConstraint(
            "round_id", "participant_id", name=op.f("uq_eval_sampling_plan_round_id_participant_id")
        ),
    )
    with op.batch_alter_table("eval_sampling_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eval_sampling_plan_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eval_sampling_plan_round_id"), ["round_id"], unique=False
        )

    op.create_table(
        "eval_item_location_type",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("location_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_item_location_type_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_type"],
            ["geo_location_type.code"],
            name=op.f("fk_eval_item_location_type_location_type_geo_location_type"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "item_id", "location_type", name=op.f("pk_eval_item_location_type")
        ),
    )
    op.create_table(
        "eval_sampled_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("location_type", sa.String(length=32), nullable=False),
        sa.Column("draw_order", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["evaluator_id"],
            ["app_user.id"],
            name=op.f("fk_eval_sampled_point_evaluator_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["eval_sampling_plan.id"],
            name=op.f("fk_eval_sampled_point_plan_id_eval_sampling_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["geo_point.id"],
            name=op.f("fk_eval_sampled_point_point_id_geo_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_sampled_point")),
        sa.UniqueConstraint(
            "plan_id", "point_id", name=op.f("uq_eval_sampled_point_plan_id_point_id")
        ),
    )
    with op.batch_alter_table("eval_sampled_point", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eval_sampled_point_evaluator_id"), ["evaluator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eval_sampled_point_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "eval_score",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_eval_score_non_negative")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_score_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_score_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_score_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "participant_id", "item_id", name=op.f("pk_eval_score")
        ),
    )
    with op.batch_alter_table("eval_score", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eval_score_item_id"), ["item_id"], unique=False)

    op.create_table(
        "eval_survey_result",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Integer(), nullable=False),
        sa.Column("imported_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rate BETWEEN 0 AND 10000", name=op.f("ck_eval_survey_result_rate_range")
        ),
        sa.CheckConstraint(
            "respondents > 0", name=op.f("ck_eval_survey_result_positive_respondents")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_survey_result_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_survey_result_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_survey_result_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "participant_id", "item_id", name=op.f("pk_eval_survey_result")
        ),
    )
    op.create_table(
        "eval_check_result",
        sa.Column("sampled_point_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("attachment_key", sa.String(length=64), nullable=True),
        sa.Column("checked_by", sa.Integer(), nullable=True),
        sa.Column("checked_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "findings >= 0", name=op.f("ck_eval_check_result_non_negative_findings")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by"],
            ["app_user.id"],
            name=op.f("fk_eval_check_result_checked_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_check_result_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sampled_point_id"],
            ["eval_sampled_point.id"],
            name=op.f("fk_eval_check_result_sampled_point_id_eval_sampled_point"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sampled_point_id", "item_id", name=op.f("pk_eval_check_result")),
    )
    category = sa.table(
        "eval_category",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("sort_order", sa.SmallInteger),
    )
    # The starting ranking categories; admins add others as configuration data.
    op.bulk_insert(
        category,
        [
            {
                "code": "provincial_capital",
                "name_zh": "省会城市",
                "name_en": "Provincial capitals",
                "sort_order": 10,
            },
            {
                "code": "prefecture_city",
                "name_zh": "地级市",
                "name_en": "Prefecture-level cities",
                "sort_order": 20,
            },
            {
                "code": "county_city",
                "name_zh": "县级市",
                "name_en": "County-level cities",
                "sort_order": 30,
            },
            {
                "code": "central_district",
                "name_zh": "中心城区",
                "name_en": "Central districts",
                "sort_order": 40,
            },
            {
                "code": "other_district",
                "name_zh": "其他城区类",
                "name_en": "Other districts",
                "sort_order": 50,
            },
        ],
    )


def downgrade() -> None:
    op.drop_table("eval_check_result")
    op.drop_table("eval_survey_result")
    with op.batch_alter_table("eval_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_score_item_id"))

    op.drop_table("eval_score")
    with op.batch_alter_table("eval_sampled_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_sampled_point_plan_id"))
        batch_op.drop_index(batch_op.f("ix_eval_sampled_point_evaluator_id"))

    op.drop_table("eval_sampled_point")
    op.drop_table("eval_item_location_type")
    with op.batch_alter_table("eval_sampling_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_sampling_plan_round_id"))
        batch_op.drop_index(batch_op.f("ix_eval_sampling_plan_participant_id"))

    op.drop_table("eval_sampling_plan")
    op.drop_table("eval_round_total")
    op.drop_table("eval_method_weight")
    with op.batch_alter_table("eval_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_item_version_id"))
        batch_op.drop_index(batch_op.f("ix_eval_item_content_id"))

    op.drop_table("eval_item")
    op.drop_table("eval_absent_type")
    with op.batch_alter_table("eval_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_round_year_id"))

    op.drop_table("eval_round")
    op.drop_table("eval_cycle_year")
    with op.batch_alter_table("eval_content", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_content_version_id"))
        batch_op.drop_index(batch_op.f("ix_eval_content_project_id"))

    op.drop_table("eval_content")
    with op.batch_alter_table("eval_year", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_year_version_id"))

    op.drop_table("eval_year")
    with op.batch_alter_table("eval_project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_project_version_id"))

    op.drop_table("eval_project")
    with op.batch_alter_table("eval_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eval_participant_category_code"))

    op.drop_table("eval_participant")
    op.drop_table("eval_index_version")
    op.drop_table("eval_cycle")
    op.drop_table("eval_category")
