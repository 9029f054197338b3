"""Spatial tables. Geometries are stored as WKB in WGS-84 lon/lat on both databases (no spatial
extension needed); bounding boxes are kept beside them for coarse filtering in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime


class BoxMixin:
    """The WGS-84 bounding box of a stored geometry."""

    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)


class Boundary(BoxMixin, Base):
    """The polygon of a street/town or community/village, one per administrative unit."""

    __tablename__ = "geo_boundary"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="CASCADE"), primary_key=True
    )
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    area_m2: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Grid(BoxMixin, Base):
    """A unit grid (单元网格) of about 10,000 m² inside one community."""

    __tablename__ = "geo_grid"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    area_m2: Mapped[float] = mapped_column(Float)
    land_use: Mapped[str | None] = mapped_column(String(50))
    management_grade: Mapped[str | None] = mapped_column(String(20))
    responsible_party: Mapped[str | None] = mapped_column(String(100))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GridWorker(Base):
    """A grid worker assigned to patrol a grid."""

    __tablename__ = "geo_grid_worker"

    grid_id: Mapped[int] = mapped_column(
        ForeignKey("geo_grid.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LocationType(Base):
    """A kind of inspection point (主次干道, 背街小巷, 农贸市场, ...): configuration data."""

    __tablename__ = "geo_location_type"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80))
    sort_order: Mapped[int] = mapped_column(SmallInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InspectionPoint(BoxMixin, Base):
    """An inspection point (点位): a place of a location type with point, line or polygon shape."""

    __tablename__ = "geo_point"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    location_type: Mapped[str] = mapped_column(
        ForeignKey("geo_location_type.code", ondelete="RESTRICT"), index=True
    )
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    geometry_type: Mapped[str] = mapped_column(String(16))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_grid.id", ondelete="SET NULL"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Component(Base):
    """A managed component (部件); its 16-digit ID is 6 county + 2 class + 2 subclass + 6 serial."""

    __tablename__ = "geo_component"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    class_code: Mapped[str] = mapped_column(String(2))
    subclass_code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    owner_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    maintainer_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_id: Mapped[int | None] = mapped_column(
        ForeignKey("geo_grid.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SpatialVersion(Base):
    """A counter per layer, bumped in the same transaction as any change to that layer, so every
    process can tell whether its in-memory spatial index is stale."""

    __tablename__ = "geo_spatial_version"

    layer: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
