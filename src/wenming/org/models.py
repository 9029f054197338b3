"""Administrative units (the 块), departments (the 条), users and their role assignments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wenming.core.db import Base
from wenming.core.types import UTCDateTime


class AdminUnit(Base):
    """A province, city, district, street/town or community/village with its statistical code."""

    __tablename__ = "admin_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id], lazy="raise")

    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),)


class UnitClosure(Base):
    """Every (ancestor, descendant) pair of the unit tree, self included at depth 0.

    Subtree queries become one indexed equality join on both databases.
    """

    __tablename__ = "unit_closure"

    ancestor_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="CASCADE"), primary_key=True
    )
    descendant_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="CASCADE"), primary_key=True
    )
    depth: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (Index("ix_unit_closure_descendant", "descendant_id", "ancestor_id"),)


class Department(Base):
    """A functional department (职能部门), part of a department tree owned by one unit."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT"), index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    unit: Mapped[AdminUnit] = relationship(lazy="raise")
    parent: Mapped[Department | None] = relationship(remote_side=[id], lazy="raise")


class DepartmentClosure(Base):
    """Every (ancestor, descendant) pair of the department tree, self included at depth 0."""

    __tablename__ = "department_closure"

    ancestor_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), primary_key=True
    )
    descendant_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), primary_key=True
    )
    depth: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (Index("ix_department_closure_descendant", "descendant_id", "ancestor_id"),)


class User(Base):
    """A person who signs in: staff, grid worker, evaluator or registered citizen."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan"
    )


class RoleAssignment(Base):
    """A role held by a user, bound to one administrative unit or one department."""

    __tablename__ = "role_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_unit.id", ondelete="RESTRICT"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="roles", lazy="raise")
    unit: Mapped[AdminUnit | None] = relationship(lazy="raise")
    department: Mapped[Department | None] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint("unit_id IS NULL OR department_id IS NULL", name="one_binding"),
        UniqueConstraint("user_id", "role", "unit_id", "department_id"),
    )


class OrgVersion(Base):
    """One counter bumped whenever a unit or department is added or renamed, so that every
    process can tell whether its in-memory copy of the tree (case intake's directory, the grid
    lookup's unit names) is stale without reading the tree again."""

    __tablename__ = "org_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
