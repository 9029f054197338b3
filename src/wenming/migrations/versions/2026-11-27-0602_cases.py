"""Cases: categories, routing, calendar, cases, events, deadlines.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 06:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_calendar_day")),
    )
    op.create_table(
        "case_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("class_code", sa.String(length=2), nullable=False),
        sa.Column("name_zh", sa.String(length=50), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("department_key", sa.String(length=20), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("after_photo", sa.Boolean(), nullable=False),
        sa.Column("duplicate_radius_m", sa.Integer(), nullable=False),
        sa.Column("icon", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_category")),
        sa.UniqueConstraint("kind", "code", name=op.f("uq_case_category_kind_code")),
    )
    op.create_table(
        "case_category_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name_zh", sa.String(length=50), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_category_class")),
        sa.UniqueConstraint("kind", "code", name=op.f("uq_case_category_class_kind_code")),
    )
    op.create_table(
        "case_reference_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reference_version")),
    )
    op.create_table(
        "case_sweep_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("now", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_sweep_run")),
    )
    op.create_table(
        "case_time_limit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("urgency", sa.String(length=10), nullable=True),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_case_time_limit_positive_amount")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["case_category.id"],
            name=op.f("fk_case_time_limit_category_id_case_category"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_time_limit")),
        sa.UniqueConstraint(
            "category_id",
            "urgency",
            "step",
            name=op.f("uq_case_time_limit_category_id_urgency_step"),
        ),
    )
    op.create_table(
        "case_routing_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("area_unit_id", sa.Integer(), nullable=True),
        sa.Column("component_owner_id", sa.Integer(), nullable=True),
        sa.Column("target_department_id", sa.Integer(), nullable=True),
        sa.Column("target_unit_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(target_department_id IS NULL) <> (target_unit_id IS NULL)",
            name=op.f("ck_case_routing_rule_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["area_unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_case_routing_rule_area_unit_id_admin_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["case_category.id"],
            name=op.f("fk_case_routing_rule_category_id_case_category"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["component_owner_id"],
            ["department.id"],
            name=op.f("fk_case_routing_rule_component_owner_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_department_id"],
            ["department.id"],
            name=op.f("fk_case_routing_rule_target_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_case_routing_rule_target_unit_id_admin_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_routing_rule")),
    )
    with op.batch_alter_table("case_routing_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_routing_rule_category_id"), ["category_id"], unique=False
        )

    op.create_table(
        "case_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("component_id", sa.Integer(), nullable=True),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=50), nullable=True),
        sa.Column("reporter_phone", sa.String(length=20), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("resume_state", sa.String(length=12), nullable=True),
        sa.Column("pending", sa.String(length=12), nullable=True),
        sa.Column("pending_due_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("responsible_unit_id", sa.Integer(), nullable=True),
        sa.Column("responsible_department_id", sa.Integer(), nullable=True),
        sa.Column("suggested_department_id", sa.Integer(), nullable=True),
        sa.Column("suggested_unit_id", sa.Integer(), nullable=True),
        sa.Column("suggestion_reason", sa.String(length=10), nullable=True),
        sa.Column("suggestion_rule_id", sa.Integer(), nullable=True),
        sa.Column("due_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalation_level", sa.SmallInteger(), nullable=False),
        sa.Column("rework_count", sa.SmallInteger(), nullable=False),
        sa.Column("extension_count", sa.SmallInteger(), nullable=False),
        sa.Column("reopen_count", sa.SmallInteger(), nullable=False),
        sa.Column("supporters", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["case_category.id"],
            name=op.f("fk_case_record_category_id_case_category"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["geo_component.id"],
            name=op.f("fk_case_record_component_id_geo_component"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["geo_grid.id"],
            name=op.f("fk_case_record_grid_id_geo_grid"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["case_record.id"],
            name=op.f("fk_case_record_merged_into_id_case_record"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"],
            ["app_user.id"],
            name=op.f("fk_case_record_reporter_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_department_id"],
            ["department.id"],
            name=op.f("fk_case_record_responsible_department_id_department"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_case_record_responsible_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["street_id"],
            ["admin_unit.id"],
            name=op.f("fk_case_record_street_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["suggested_department_id"],
            ["department.id"],
            name=op.f("fk_case_record_suggested_department_id_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["suggested_unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_case_record_suggested_unit_id_admin_unit"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_rule_id"],
            ["case_routing_rule.id"],
            name=op.f("fk_case_record_suggestion_rule_id_case_routing_rule"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_case_record_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_record")),
        sa.UniqueConstraint("code", name=op.f("uq_case_record_code")),
    )
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_record_category_created", ["category_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_record_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_record_reporter_user_id"), ["reporter_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_case_record_resp_dept_state", ["responsible_department_id", "state"], unique=False
        )
        batch_op.create_index(
            "ix_case_record_resp_unit_state", ["responsible_unit_id", "state"], unique=False
        )
        batch_op.create_index("ix_case_record_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_case_record_unit_state", ["unit_id", "state"], unique=False)

    op.create_table(
        "case_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("started_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paused_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remaining_seconds", sa.Integer(), nullable=True),
        sa.Column("finished_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.SmallInteger(), nullable=False),
        sa.Column("next_escalation_at", sa.Integer(), nullable=True),
        sa.Column("escalation_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("escalated_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_deadline_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["escalated_run_id"],
            ["case_sweep_run.id"],
            name=op.f("fk_case_deadline_escalated_run_id_case_sweep_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_deadline")),
    )
    with op.batch_alter_table("case_deadline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_deadline_case_step", ["case_id", "finished_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_deadline_escalated_run_id"), ["escalated_run_id"], unique=False
        )
        batch_op.create_index(
            "ix_case_deadline_next_escalation", ["next_escalation_at"], unique=False
        )

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=True),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_case_event_actor_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_event_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_follower",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("from_case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_follower_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_case_id"],
            ["case_record.id"],
            name=op.f("fk_case_follower_from_case_id_case_record"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_case_follower_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_follower")),
    )
    with op.batch_alter_table("case_follower", schema=None) as batch_op:
        batch_op.create_index("ix_case_follower_case", ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_follower_user_id"), ["user_id"], unique=False)

    op.create_table(
        "case_idempotency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_idempotency_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_idempotency")),
        sa.UniqueConstraint("owner", "key", name=op.f("uq_case_idempotency_owner_key")),
    )
    op.create_table(
        "case_attachment",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachment.id"],
            name=op.f("fk_case_attachment_attachment_id_attachment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_attachment_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["case_event.id"],
            name=op.f("fk_case_attachment_event_id_case_event"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("case_id", "attachment_id", name=op.f("pk_case_attachment")),
    )


def downgrade() -> None:
    op.drop_table("case_attachment")
    op.drop_table("case_idempotency")
    with op.batch_alter_table("case_follower", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_follower_user_id"))
        batch_op.drop_index("ix_case_follower_case")

    op.drop_table("case_follower")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_case_id"))

    op.drop_table("case_event")
    with op.batch_alter_table("case_deadline", schema=None) as batch_op:
        batch_op.drop_index("ix_case_deadline_next_escalation")
        batch_op.drop_index(batch_op.f("ix_case_deadline_escalated_run_id"))
        batch_op.drop_index("ix_case_deadline_case_step")

    op.drop_table("case_deadline")
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_index("ix_case_record_unit_state")
        batch_op.drop_index("ix_case_record_state_due")
        batch_op.drop_index("ix_case_record_resp_unit_state")
        batch_op.drop_index("ix_case_record_resp_dept_state")
        batch_op.drop_index(batch_op.f("ix_case_record_reporter_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_record_grid_id"))
        batch_op.drop_index("ix_case_record_category_created")

    op.drop_table("case_record")
    with op.batch_alter_table("case_routing_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_routing_rule_category_id"))

    op.drop_table("case_routing_rule")
    op.drop_table("case_time_limit")
    op.drop_table("case_sweep_run")
    op.drop_table("case_reference_version")
    op.drop_table("case_category_class")
    op.drop_table("case_category")
    op.drop_table("case_calendar_day")
