"""Geography: boundaries, unit grids and their workers, location types, points, components.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:03:17.248745+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import wenming.core.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "geo_location_type",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=50), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("sort_order", sa.SmallInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_geo_location_type")),
    )
    op.create_table(
        "geo_spatial_version",
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("layer", name=op.f("pk_geo_spatial_version")),
    )
    op.create_table(
        "geo_boundary",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_geo_boundary_unit_id_admin_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_geo_boundary")),
    )
    op.create_table(
        "geo_grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("land_use", sa.String(length=50), nullable=True),
        sa.Column("management_grade", sa.String(length=20), nullable=True),
        sa.Column("responsible_party", sa.String(length=100), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("created_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["admin_unit.id"],
            name=op.f("fk_geo_grid_community_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_grid")),
        sa.UniqueConstraint("code", name=op.f("uq_geo_grid_code")),
    )
    with op.batch_alter_table("geo_grid", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_geo_grid_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "geo_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("class_code", sa.String(length=2), nullable=False),
        sa.Column("subclass_code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=True),
        sa.Column("maintainer_department_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["geo_grid.id"],
            name=op.f("fk_geo_component_grid_id_geo_grid"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["maintainer_department_id"],
            ["department.id"],
            name=op.f("fk_geo_component_maintainer_department_id_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_department_id"],
            ["department.id"],
            name=op.f("fk_geo_component_owner_department_id_department"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_geo_component_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_component")),
        sa.UniqueConstraint("code", name=op.f("uq_geo_component_code")),
    )
    with op.batch_alter_table("geo_component", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_geo_component_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_geo_component_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_geo_component_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "geo_grid_worker",
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["geo_grid.id"],
            name=op.f("fk_geo_grid_worker_grid_id_geo_grid"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_geo_grid_worker_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grid_id", "user_id", name=op.f("pk_geo_grid_worker")),
    )
    with op.batch_alter_table("geo_grid_worker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_geo_grid_worker_user_id"), ["user_id"], unique=False)

    op.create_table(
        "geo_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("location_type", sa.String(length=32), nullable=False),
        sa.Column("geometry", sa.LargeBinary(), nullable=False),
        sa.Column("geometry_type", sa.String(length=16), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wenming.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["geo_grid.id"],
            name=op.f("fk_geo_point_grid_id_geo_grid"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_type"],
            ["geo_location_type.code"],
            name=op.f("fk_geo_point_location_type_geo_location_type"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_unit.id"],
            name=op.f("fk_geo_point_unit_id_admin_unit"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geo_point")),
        sa.UniqueConstraint("code", name=op.f("uq_geo_point_code")),
    )
    with op.batch_alter_table("geo_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_geo_point_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_geo_point_location_type"), ["location_type"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_geo_point_unit_id"), ["unit_id"], unique=False)
    location_type = sa.table(
        "geo_location_type",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("sort_order", sa.SmallInteger),
        sa.column("active", sa.Boolean),
    )
    # The starting list of location types, after the evaluation's site-visit categories; admins
    # extend or retire entries as configuration data.
    op.bulk_insert(
        location_type,
        [
            {
                "code": "main_road",
                "name_zh": "主次干道",
                "name_en": "Main and secondary roads",
                "sort_order": 10,
                "active": True,
            },
            {
                "code": "commercial_street",
                "name_zh": "商业大街",
                "name_en": "Commercial streets",
                "sort_order": 20,
                "active": True,
            },
            {
                "code": "back_lane",
                "name_zh": "背街小巷",
                "name_en": "Back lanes",
                "sort_order": 30,
                "active": True,
            },
            {
                "code": "square",
                "name_zh": "广场",
                "name_en": "Squares",
                "sort_order": 40,
                "active": True,
            },
            {
                "code": "park",
                "name_zh": "公园",
                "name_en": "Parks",
                "sort_order": 50,
                "active": True,
            },
            {
                "code": "residential_compound",
                "name_zh": "居民小区",
                "name_en": "Residential compounds",
                "sort_order": 60,
                "active": True,
            },
            {
                "code": "old_compound",
                "name_zh": "老旧小区",
                "name_en": "Old residential compounds",
                "sort_order": 70,
                "active": True,
            },
            {
                "code": "construction_site",
                "name_zh": "建筑工地",
                "name_en": "Building sites",
                "sort_order": 80,
                "active": True,
            },
            {
                "code": "school_surroundings",
                "name_zh": "中小学校及周边",
                "name_en": "Schools and surroundings",
                "sort_order": 90,
                "active": True,
            },
            {
                "code": "market",
                "name_zh": "农贸/集贸市场",
                "name_en": "Farmers' markets",
                "sort_order": 100,
                "active": True,
            },
            {
                "code": "mall_supermarket",
                "name_zh": "商场超市",
                "name_en": "Malls and supermarkets",
                "sort_order": 110,
                "active": True,
            },
            {
                "code": "hospital",
                "name_zh": "医院",
                "name_en": "Hospitals",
                "sort_order": 120,
                "active": True,
            },
            {
                "code": "station",
                "name_zh": "汽车站/火车站",
                "name_en": "Bus and rail stations",
                "sort_order": 130,
                "active": True,
            },
            {
                "code": "service_hall",
                "name_zh": "政务服务大厅",
                "name_en": "Government service halls",
                "sort_order": 140,
                "active": True,
            },
            {
                "code": "hotel_restaurant",
                "name_zh": "宾馆饭店",
                "name_en": "Hotels and restaurants",
                "sort_order": 150,
                "active": True,
            },
            {
                "code": "cultural_venue",
                "name_zh": "文化场馆",
                "name_en": "Cultural venues",
                "sort_order": 160,
                "active": True,
            },
            {
                "code": "practice_centre",
                "name_zh": "新时代文明实践中心/所/站",
                "name_en": "Civilization practice centres/institutes/stations",
                "sort_order": 170,
                "active": True,
            },
            {
                "code": "community",
                "name_zh": "社区",
                "name_en": "Communities",
                "sort_order": 180,
                "active": True,
            },
            {
                "code": "patriotic_base",
                "name_zh": "爱国主义教育基地",
                "name_en": "Patriotic education bases",
                "sort_order": 190,
                "active": True,
            },
            {
                "code": "youth_centre",
                "name_zh": "青少年活动中心",
                "name_en": "Youth activity centres",
                "sort_order": 200,
                "active": True,
            },
            {
                "code": "bus",
                "name_zh": "公交",
                "name_en": "Buses and bus stops",
                "sort_order": 210,
                "active": True,
            },
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("geo_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geo_point_unit_id"))
        batch_op.drop_index(batch_op.f("ix_geo_point_location_type"))
        batch_op.drop_index(batch_op.f("ix_geo_point_grid_id"))

    op.drop_table("geo_point")
    with op.batch_alter_table("geo_grid_worker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geo_grid_worker_user_id"))

    op.drop_table("geo_grid_worker")
    with op.batch_alter_table("geo_component", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geo_component_unit_id"))
        batch_op.drop_index(batch_op.f("ix_geo_component_status"))
        batch_op.drop_index(batch_op.f("ix_geo_component_grid_id"))

    op.drop_table("geo_component")
    with op.batch_alter_table("geo_grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geo_grid_community_id"))

    op.drop_table("geo_grid")
    op.drop_table("geo_boundary")
    op.drop_table("geo_spatial_version")
    op.drop_table("geo_location_type")
