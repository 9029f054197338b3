"""Indexes for the hotline desk's caller history: the reporter's and the followers' phones.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 12:10:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_case_record_reporter_phone",
        "case_record",
        ["reporter_phone"],
        sqlite_where=sa.text("reporter_phone IS NOT NULL"),
        postgresql_where=sa.text("reporter_phone IS NOT NULL"),
    )
    op.create_index(
        "ix_case_follower_phone",
        "case_follower",
        ["phone"],
        sqlite_where=sa.text("phone IS NOT NULL"),
        postgresql_where=sa.text("phone IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_follower_phone", table_name="case_follower")
    op.drop_index("ix_case_record_reporter_phone", table_name="case_record")
