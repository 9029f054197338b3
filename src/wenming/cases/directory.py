"""The parts of the organisation tree that case intake reads: units by code with their ancestors,
and departments by code, with names for the answer.

Two implementations of one interface: ``SessionLookups`` queries the database (services that
already hold a unit of work), ``Directory`` answers from a snapshot of the whole tree that a
process re-reads at most once per configured bound (the intake's hot path, ``cases.intake``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.org.models import AdminUnit, Department, UnitClosure

DISTRICT_LEVEL = 3


@dataclass(frozen=True)
class UnitEntry:
    """An administrative unit as intake needs it."""

    id: int
    code: str
    name: str
    level: int
    parent_id: int | None


@dataclass(frozen=True)
class DepartmentEntry:
    """A department as intake needs it."""

    id: int
    code: str
    name: str


class OrgLookups(Protocol):
    """What intake asks of the organisation tree."""

    async def units_by_code(self, codes: Sequence[str]) -> dict[str, UnitEntry]:
        """The units with these codes (unknown codes are left out)."""
        ...

    async def depths(self, unit_id: int) -> dict[int, int]:
        """The unit and its ancestors, each with its distance from the unit (0 for itself)."""
        ...

    async def department_by_code(self, code: str) -> DepartmentEntry | None:
        """The department with this code, if any."""
        ...

    async def district_code(self, unit_id: int) -> str | None:
        """The code of the district (level 3) the unit lies in, or is."""
        ...


def _unit(row: AdminUnit) -> UnitEntry:
    return UnitEntry(row.id, row.code, row.name, row.level, row.parent_id)


class SessionLookups:
    """The organisation tree read through a session, query by query."""

    def __init__(self, session: AsyncSession) -> None:
        """Queries run in ``session``'s unit of work."""
        self.session = session

    async def units_by_code(self, codes: Sequence[str]) -> dict[str, UnitEntry]:
        """The units with these codes."""
        rows = await self.session.scalars(select(AdminUnit).where(AdminUnit.code.in_(codes)))
        return {unit.code: _unit(unit) for unit in rows.all()}

    async def depths(self, unit_id: int) -> dict[int, int]:
        """The unit and its ancestors with their distances."""
        rows = await self.session.execute(
            select(UnitClosure.ancestor_id, UnitClosure.depth).where(
                UnitClosure.descendant_id == unit_id
            )
        )
        return {ancestor: depth for ancestor, depth in rows}

    async def department_by_code(self, code: str) -> DepartmentEntry | None:
        """The department with this code."""
        row = await self.session.scalar(select(Department).where(Department.code == code))
        return DepartmentEntry(row.id, row.code, row.name) if row is not None else None

    async def district_code(self, unit_id: int) -> str | None:
        """The code of the unit's district."""
        return await self.session.scalar(
            select(AdminUnit.code)
            .join(UnitClosure, UnitClosure.ancestor_id == AdminUnit.id)
            .where(UnitClosure.descendant_id == unit_id, AdminUnit.level == DISTRICT_LEVEL)
        )


@dataclass(frozen=True)
class Directory:
    """The whole unit tree and every department at one moment (a few hundred rows for a district,
    tens of thousands for a province)."""

    units: dict[int, UnitEntry]
    unit_ids: dict[str, int]
    ancestry: dict[int, dict[int, int]]
    departments: dict[int, DepartmentEntry]
    department_ids: dict[str, int]

    async def units_by_code(self, codes: Sequence[str]) -> dict[str, UnitEntry]:
        """The units with these codes."""
        return {code: self.units[self.unit_ids[code]] for code in codes if code in self.unit_ids}

    async def depths(self, unit_id: int) -> dict[int, int]:
        """The unit and its ancestors with their distances."""
        return dict(self.ancestry.get(unit_id, {}))

    async def department_by_code(self, code: str) -> DepartmentEntry | None:
        """The department with this code."""
        department_id = self.department_ids.get(code)
        return self.departments[department_id] if department_id is not None else None

    async def district_code(self, unit_id: int) -> str | None:
        """The code of the unit's district."""
        for ancestor in self.ancestry.get(unit_id, {}):
            unit = self.units.get(ancestor)
            if unit is not None and unit.level == DISTRICT_LEVEL:
                return unit.code
        return None


async def read_directory(session: AsyncSession) -> Directory:
    """The directory as the session's transaction sees it (three queries)."""
    units = {
        row.id: UnitEntry(row.id, row.code, row.name, row.level, row.parent_id)
        for row in (
            await session.execute(
                select(
                    AdminUnit.id,
                    AdminUnit.code,
                    AdminUnit.name,
                    AdminUnit.level,
                    AdminUnit.parent_id,
                )
            )
        ).all()
    }
    ancestry: dict[int, dict[int, int]] = {}
    for descendant, ancestor, depth in await session.execute(
        select(UnitClosure.descendant_id, UnitClosure.ancestor_id, UnitClosure.depth)
    ):
        ancestry.setdefault(descendant, {})[ancestor] = depth
    departments = {
        row.id: DepartmentEntry(row.id, row.code, row.name)
        for row in (
            await session.execute(select(Department.id, Department.code, Department.name))
        ).all()
    }
    return Directory(
        units=units,
        unit_ids={unit.code: unit.id for unit in units.values()},
        ancestry=ancestry,
        departments=departments,
        department_ids={d.code: d.id for d in departments.values()},
    )
