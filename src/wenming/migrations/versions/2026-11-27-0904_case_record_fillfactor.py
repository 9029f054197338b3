"""Leave a fifth of each case_record page free on PostgreSQL.

The overdue sweep marks tens of thousands of cases at once (``overdue``, ``escalation_level``,
neither indexed). With room on the page PostgreSQL rewrites such a row in place (a heap-only
update) instead of adding an entry to each of the table's indexes. SQLite has no such setting.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-27 09:04:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE case_record SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE case_record RESET (fillfactor)")
