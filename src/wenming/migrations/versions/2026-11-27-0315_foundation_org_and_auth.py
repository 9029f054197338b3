"""Foundation: units and departments (with closure tables), users, roles, sign-in state.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 03:15:33.037765+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name=op.f("ck_admin_unit_level_range")),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["admin_unit.id"],
            name=op.f("fk_admin_unit_parent_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_unit")),
        sa.UniqueConstraint("code", name=op.f("uq_admin_unit_code")),
    )
    with op.batch_alter_table("admin_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_unit_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_api_key_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_api_key_key_digest")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_user_id"), ["user_id"], unique=False)

    op.create_table(
        "auth_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", wenming.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_auth_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_auth_session_token_digest")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["department.id"],
            name=op.f("fk_department_parent_id_department"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_department_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("code", name=op.f("uq_department_code")),
    )
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_department_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_department_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "unit_closure",
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ancestor_id"],
            ["admin_unit.id"],
            name=op.f("fk_unit_closure_ancestor_id_admin_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["descendant_id"],
            ["admin_unit.id"],
            name=op.f("fk_unit_closure_descendant_id_admin_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id", name=op.f("pk_unit_closure")),
    )
    with op.batch_alter_table("unit_closure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_unit_closure_descendant", ["descendant_id", "ancestor_id"], unique=False
        )

    op.create_table(
        "department_closure",
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ancestor_id"],
            ["department.id"],
            name=op.f("fk_department_closure_ancestor_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["descendant_id"],
            ["department.id"],
            name=op.f("fk_department_closure_descendant_id_department"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id", name=op.f("pk_department_closure")),
    )
    with op.batch_alter_table("department_closure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_department_closure_descendant", ["descendant_id", "ancestor_id"], unique=False
        )

    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "unit_id IS NULL OR department_id IS NULL", name=op.f("ck_role_assignment_one_binding")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_role_assignment_department_id_department"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_role_assignment_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_role_assignment_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignment")),
        sa.UniqueConstraint(
            "user_id",
            "role",
            "unit_id",
            "department_id",
            name=op.f("uq_role_assignment_user_id_role_unit_id_department_id"),
        ),
    )
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_role_assignment_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_role_assignment_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_role_assignment_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_assignment_user_id"))
        batch_op.drop_index(batch_op.f("ix_role_assignment_unit_id"))
        batch_op.drop_index(batch_op.f("ix_role_assignment_department_id"))

    op.drop_table("role_assignment")
    with op.batch_alter_table("department_closure", schema=None) as batch_op:
        batch_op.drop_index("ix_department_closure_descendant")

    op.drop_table("department_closure")
    with op.batch_alter_table("unit_closure", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_closure_descendant")

    op.drop_table("unit_closure")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_unit_id"))
        batch_op.drop_index(batch_op.f("ix_department_parent_id"))

    op.drop_table("department")
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_session_user_id"))

    op.drop_table("auth_session")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_user_id"))

    op.drop_table("api_key")
    op.drop_table("login_throttle")
    op.drop_table("app_user")
    with op.batch_alter_table("admin_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_unit_parent_id"))

    op.drop_table("admin_unit")
