"""Verify before filing: the verification rule table.

The new case states (``verifying``, ``confirmed``) and the ``confirm`` step fit the existing
string columns; only the rules are new.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 09:05:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_verify_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("verify", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["case_category.id"],
            name=op.f("fk_case_verify_rule_category_id_case_category"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_verify_rule")),
    )
    op.create_index(
        op.f("ix_case_verify_rule_category_id"), "case_verify_rule", ["category_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_verify_rule_category_id"), table_name="case_verify_rule")
    op.drop_table("case_verify_rule")
