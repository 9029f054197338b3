"""Evaluation review: rectification cases filed from field deductions, material evidence and
its review, and self-evaluation (mock) rounds.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 09:06:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("eval_round", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mock", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "eval_rectification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sampled_point_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_eval_rectification_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_rectification_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_rectification_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_rectification_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sampled_point_id"],
            ["eval_sampled_point.id"],
            name=op.f("fk_eval_rectification_sampled_point_id_eval_sampled_point"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_rectification")),
        sa.UniqueConstraint("case_id", name=op.f("uq_eval_rectification_case_id")),
        sa.UniqueConstraint(
            "sampled_point_id",
            "item_id",
            name=op.f("uq_eval_rectification_sampled_point_id_item_id"),
        ),
    )
    op.create_index(
        op.f("ix_eval_rectification_participant_id"),
        "eval_rectification",
        ["participant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_eval_rectification_round_id"), "eval_rectification", ["round_id"], unique=False
    )
    op.create_table(
        "eval_material_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("attachment_key", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_material_evidence_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_material_evidence_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_material_evidence_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["app_user.id"],
            name=op.f("fk_eval_material_evidence_uploaded_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_material_evidence")),
    )
    op.create_index(
        op.f("ix_eval_material_evidence_participant_id"),
        "eval_material_evidence",
        ["participant_id"],
        unique=False,
    )
    op.create_table(
        "eval_material_review",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_eval_material_review_non_negative")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["eval_item.id"],
            name=op.f("fk_eval_material_review_item_id_eval_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["eval_participant.id"],
            name=op.f("fk_eval_material_review_participant_id_eval_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["app_user.id"],
            name=op.f("fk_eval_material_review_reviewed_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["eval_round.id"],
            name=op.f("fk_eval_material_review_round_id_eval_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "round_id", "participant_id", "item_id", name=op.f("pk_eval_material_review")
        ),
    )


def downgrade() -> None:
    op.drop_table("eval_material_review")
    op.drop_index(
        op.f("ix_eval_material_evidence_participant_id"), table_name="eval_material_evidence"
    )
    op.drop_table("eval_material_evidence")
    op.drop_index(op.f("ix_eval_rectification_round_id"), table_name="eval_rectification")
    op.drop_index(op.f("ix_eval_rectification_participant_id"), table_name="eval_rectification")
    op.drop_table("eval_rectification")
    with op.batch_alter_table("eval_round", schema=None) as batch_op:
        batch_op.drop_column("mock")
