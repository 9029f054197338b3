"""Gazetteer tables: roads (道路/街巷), door plates (门牌), named places, and the name list that the
database's trigram index searches.

Geometries are WGS-84 longitude/latitude like the other geography layers: a road's line as WKB with
its bounding box beside it, door plates and places as a point (``lon``, ``lat``). The grid of a
plate or place is not stored: answers read it from the grid index, so they follow every change of
the grid layer at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from wenming.core.db import Base
from wenming.core.types import UTCDateTime
from wenming.geo.models import BoxMixin


class Road(BoxMixin, Base):
    """A named road, street or lane; ``aliases`` holds other names separated by ``|``."""

    __tablename__ = "gaz_road"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[str] = mapped_column(String(500), default="")
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    length_m: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DoorPlate(Base):
    """A door plate: a number on a road (odd and even sides), optionally a building, a unit
    (entrance) and a room; ``unit_id`` is the community it lies in."""

    __tablename__ = "gaz_door_plate"
    __table_args__ = (Index("ix_gaz_door_plate_road_id_number", "road_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    road_id: Mapped[int] = mapped_column(ForeignKey("gaz_road.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    suffix: Mapped[str] = mapped_column(String(8), default="")
    building: Mapped[str | None] = mapped_column(String(20))
    entrance: Mapped[str | None] = mapped_column(String(20))
    room: Mapped[str | None] = mapped_column(String(20))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NamedPlace(Base):
    """A named place people give as an address: a market, school, compound, hospital, ..."""

    __tablename__ = "gaz_place"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    place_type: Mapped[str] = mapped_column(String(20))
    aliases: Mapped[str] = mapped_column(String(500), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GazetteerName(Base):
    """One searchable name (a name or an alias) of a road, a place or an inspection point.

    ``search_text`` is the normalised name the trigram index covers (SQLite FTS5 ``trigram``
    table ``gaz_name_fts``, PostgreSQL ``pg_trgm`` GIN index). Road and place rows are written by
    the gazetteer import; inspection point rows by database triggers on ``geo_point``.
    """

    __tablename__ = "gaz_name"
    __table_args__ = (
        Index("ix_gaz_name_kind_ref_id", "kind", "ref_id"),
        Index(
            "ix_gaz_name_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            # Each new name goes into the index at once: with the default pending list, names
            # imported since the last vacuum would be searched sequentially.
            postgresql_with={"fastupdate": "off"},
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    ref_id: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    alias: Mapped[bool] = mapped_column(Boolean, default=False)
    search_text: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str | None] = mapped_column(String(12))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
