"""The phone app: patrols with GPS tracks, and reporter ratings.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 09:07:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrol",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("started_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["geo_grid.id"],
            name=op.f("fk_patrol_grid_id_geo_grid"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_patrol_unit_id_admin_unit"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_patrol_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol")),
    )
    op.create_index(op.f("ix_patrol_grid_id"), "patrol", ["grid_id"], unique=False)
    op.create_index(op.f("ix_patrol_unit_id"), "patrol", ["unit_id"], unique=False)
    op.create_index(op.f("ix_patrol_user_id"), "patrol", ["user_id"], unique=False)
    op.create_table(
        "patrol_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrol.id"],
            name=op.f("fk_patrol_point_patrol_id_patrol"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_point")),
        sa.UniqueConstraint("patrol_id", "seq", name=op.f("uq_patrol_point_patrol_id_seq")),
    )
    op.create_table(
        "case_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["app_user.id"],
            name=op.f("fk_case_rating_by_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_rating_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_rating")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_rating_case_id")),
    )
    op.create_index(op.f("ix_case_rating_by_user_id"), "case_rating", ["by_user_id"], unique=False)
    op.create_table(
        "case_reporter_key",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_reporter_key_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_reporter_key")),
    )


def downgrade() -> None:
    op.drop_table("case_reporter_key")
    op.drop_index(op.f("ix_case_rating_by_user_id"), table_name="case_rating")
    op.drop_table("case_rating")
    op.drop_table("patrol_point")
    op.drop_index(op.f("ix_patrol_user_id"), table_name="patrol")
    op.drop_index(op.f("ix_patrol_unit_id"), table_name="patrol")
    op.drop_index(op.f("ix_patrol_grid_id"), table_name="patrol")
    op.drop_table("patrol")
