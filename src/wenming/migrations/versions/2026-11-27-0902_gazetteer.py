"""Gazetteer: roads, door plates, named places, address search.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:02:00+00:00

The searchable names live in ``gaz_name``. On SQLite an FTS5 table with the ``trigram`` tokenizer
(``gaz_name_fts``, external content) indexes them and is kept in step by triggers; on PostgreSQL a
``pg_trgm`` GIN index does (the extension is created here, which needs a role allowed to create
it). Triggers on ``geo_point`` keep the names of inspection points in ``gaz_name``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POINT_NAME_VALUES = """
    'point', NEW.id, NEW.code, NEW.name, {false}, lower(replace(NEW.name, ' ', '')),
    (SELECT code FROM admin_unit WHERE id = NEW.unit_id), NEW.lon, NEW.lat
"""
POINT_NAME_INSERT = (
    "INSERT INTO gaz_name (kind, ref_id, code, name, alias, search_text, unit_code, lon, lat) "
    "VALUES (" + POINT_NAME_VALUES + ");"
)
POINT_NAME_DELETE = "DELETE FROM gaz_name WHERE kind = 'point' AND ref_id = OLD.id;"
POINT_NAME_BACKFILL = """
    INSERT INTO gaz_name (kind, ref_id, code, name, alias, search_text, unit_code, lon, lat)
    SELECT 'point', p.id, p.code, p.name, {false}, lower(replace(p.name, ' ', '')), u.code,
           p.lon, p.lat
    FROM geo_point p JOIN admin_unit u ON u.id = p.unit_id
"""

SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE gaz_name_fts USING fts5("
    "search_text, content='gaz_name', content_rowid='id', tokenize='trigram')",
    """CREATE TRIGGER gaz_name_fts_insert AFTER INSERT ON gaz_name BEGIN
        INSERT INTO gaz_name_fts (rowid, search_text) VALUES (NEW.id, NEW.search_text);
    END""",
    """CREATE TRIGGER gaz_name_fts_delete AFTER DELETE ON gaz_name BEGIN
        INSERT INTO gaz_name_fts (gaz_name_fts, rowid, search_text)
        VALUES ('delete', OLD.id, OLD.search_text);
    END""",
    """CREATE TRIGGER gaz_name_fts_update AFTER UPDATE ON gaz_name BEGIN
        INSERT INTO gaz_name_fts (gaz_name_fts, rowid, search_text)
        VALUES ('delete', OLD.id, OLD.search_text);
        INSERT INTO gaz_name_fts (rowid, search_text) VALUES (NEW.id, NEW.search_text);
    END""",
    "CREATE TRIGGER gaz_point_name_insert AFTER INSERT ON geo_point BEGIN "
    + POINT_NAME_INSERT.format(false="0")
    + " END",
    "CREATE TRIGGER gaz_point_name_update AFTER UPDATE OF code, name, unit_id, lon, lat "
    "ON geo_point BEGIN " + POINT_NAME_DELETE + POINT_NAME_INSERT.format(false="0") + " END",
    "CREATE TRIGGER gaz_point_name_delete AFTER DELETE ON geo_point BEGIN "
    + POINT_NAME_DELETE
    + " END",
    POINT_NAME_BACKFILL.format(false="0"),
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS gaz_point_name_delete",
    "DROP TRIGGER IF EXISTS gaz_point_name_update",
    "DROP TRIGGER IF EXISTS gaz_point_name_insert",
    "DROP TABLE IF EXISTS gaz_name_fts",
)
POSTGRESQL_UPGRADE = (
    """CREATE FUNCTION gaz_point_name_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            """
    + POINT_NAME_DELETE
    + """
        END IF;
        IF TG_OP <> 'DELETE' THEN
            """
    + POINT_NAME_INSERT.format(false="false")
    + """
            RETURN NEW;
        END IF;
        RETURN OLD;
    END $$""",
    "CREATE TRIGGER gaz_point_name_insert_delete AFTER INSERT OR DELETE ON geo_point "
    "FOR EACH ROW EXECUTE FUNCTION gaz_point_name_sync()",
    "CREATE TRIGGER gaz_point_name_update AFTER UPDATE OF code, name, unit_id, lon, lat "
    "ON geo_point FOR EACH ROW EXECUTE FUNCTION gaz_point_name_sync()",
    POINT_NAME_BACKFILL.format(false="false"),
)
POSTGRESQL_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS gaz_point_name_update ON geo_point",
    "DROP TRIGGER IF EXISTS gaz_point_name_insert_delete ON geo_point",
    "DROP FUNCTION IF EXISTS gaz_point_name_sync()",
)


def trigram_ops() -> str:
    """The pg_trgm operator class, qualified by the schema the extension lives in: a database
    may hold it in another schema than the one this migration runs in (search_path)."""
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
        .scalar_one()
    )
    return '"' + str(schema).replace('"', '""') + '".gin_trgm_ops'


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    ops = trigram_ops() if dialect == "postgresql" else "gin_trgm_ops"
    op.create_table(
        "gaz_name",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("alias", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.String(length=100), nullable=False),
        sa.Column("unit_code", sa.String(length=12), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gaz_name")),
    )
    op.create_index("ix_gaz_name_kind_ref_id", "gaz_name", ["kind", "ref_id"], unique=False)
    op.create_index(
        "ix_gaz_name_search_text_trgm",
        "gaz_name",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": ops},
        postgresql_with={"fastupdate": "off"},
    )
    op.create_table(
        "gaz_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("place_type", sa.String(length=20), nullable=False),
        sa.Column("aliases", sa.String(length=500), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_gaz_place_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gaz_place")),
        sa.UniqueConstraint("code", name=op.f("uq_gaz_place_code")),
    )
    op.create_index(op.f("ix_gaz_place_unit_id"), "gaz_place", ["unit_id"], unique=False)
    op.create_table(
        "gaz_road",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("aliases", sa.String(length=500), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_gaz_road_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gaz_road")),
        sa.UniqueConstraint("code", name=op.f("uq_gaz_road_code")),
    )
    op.create_index(op.f("ix_gaz_road_unit_id"), "gaz_road", ["unit_id"], unique=False)
    op.create_table(
        "gaz_door_plate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("road_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("suffix", sa.String(length=8), nullable=False),
        sa.Column("building", sa.String(length=20), nullable=True),
        sa.Column("entrance", sa.String(length=20), nullable=True),
        sa.Column("room", sa.String(length=20), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["road_id"],
            ["gaz_road.id"],
            name=op.f("fk_gaz_door_plate_road_id_gaz_road"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_gaz_door_plate_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gaz_door_plate")),
        sa.UniqueConstraint("code", name=op.f("uq_gaz_door_plate_code")),
    )
    op.create_index(
        "ix_gaz_door_plate_road_id_number", "gaz_door_plate", ["road_id", "number"], unique=False
    )
    op.create_index(op.f("ix_gaz_door_plate_unit_id"), "gaz_door_plate", ["unit_id"], unique=False)
    for statement in SQLITE_UPGRADE if dialect == "sqlite" else POSTGRESQL_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWNGRADE if dialect == "sqlite" else POSTGRESQL_DOWNGRADE:
        op.execute(statement)
    op.drop_index(op.f("ix_gaz_door_plate_unit_id"), table_name="gaz_door_plate")
    op.drop_index("ix_gaz_door_plate_road_id_number", table_name="gaz_door_plate")
    op.drop_table("gaz_door_plate")
    op.drop_index(op.f("ix_gaz_road_unit_id"), table_name="gaz_road")
    op.drop_table("gaz_road")
    op.drop_index(op.f("ix_gaz_place_unit_id"), table_name="gaz_place")
    op.drop_table("gaz_place")
    op.drop_index("ix_gaz_name_search_text_trgm", table_name="gaz_name")
    op.drop_index("ix_gaz_name_kind_ref_id", table_name="gaz_name")
    op.drop_table("gaz_name")
