"""Wire shapes of the organisation API (pydantic), kept apart from the ORM models."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from wenming.org.codes import UnitKind
from wenming.org.roles import Role

T = TypeVar("T")


class UnitOut(BaseModel):
    """An administrative unit as the API shows it."""

    code: str
    name: str
    kind: UnitKind
    level: int
    parent_code: str | None
    synthetic: bool


class DepartmentOut(BaseModel):
    """A department as the API shows it."""

    code: str
    name: str
    unit_code: str
    parent_code: str | None
    synthetic: bool


class RoleOut(BaseModel):
    """One role of a user and where it applies."""

    role: Role
    unit_code: str | None = None
    department_code: str | None = None


class AssignmentOut(BaseModel):
    """One of a person's roles with the name and code of the place it applies to."""

    role: Role
    place_name: str | None
    place_code: str | None
    unit_kind: UnitKind | None
    is_department: bool


class UserOut(BaseModel):
    """A user as the API shows it; the phone is masked unless the viewer may see contacts."""

    id: int
    username: str
    display_name: str
    phone: str | None
    is_active: bool
    roles: list[RoleOut]


class UserCreate(BaseModel):
    """An admin creates a user holding one role in one place."""

    model_config = ConfigDict(str_strip_whitespace=True)

    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=256)
    role: Role
    unit_code: str | None = Field(default=None, max_length=12)
    department_code: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)


class UnitRename(BaseModel):
    """A new name for a unit."""

    name: str = Field(min_length=1, max_length=100)


class DepartmentRename(BaseModel):
    """A new name for a department."""

    name: str = Field(min_length=1, max_length=100)


class Page(BaseModel, Generic[T]):
    """One page of a listing with the total count."""

    items: list[T]
    total: int
    offset: int
    limit: int
