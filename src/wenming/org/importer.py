"""Import administrative units and departments from a CSV file, all or nothing.

The work is split in three: ``parse_csv`` turns text into rows (pure), ``plan_import`` checks
every row against the file and a snapshot of the database (pure) and reports every problem at
once, and ``import_org`` loads the snapshot, plans, and creates the new rows through
``org.service`` in parent-first order. Nothing is written unless every row is valid; the caller's
transaction makes the whole import one unit of work. The format is described in
docs/org-import.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from wenming.core.errors import Conflict, InvalidInput, WenmingError
from wenming.org import service
from wenming.org.codes import (
    SIGNIFICANT_DIGITS,
    UNIT_CODE_LENGTH,
    UNIT_LEVEL,
    UnitKind,
    department_code_problem,
    hierarchy_problem,
    unit_code_problem,
)
from wenming.org.models import AdminUnit, Department

COLUMNS = ("code", "name", "kind", "parent_code")
HEADER = ",".join(COLUMNS)
DEPARTMENT_KIND = "department"
NAME_MAX_LENGTH = 100
LOOKUP_CHUNK = 500
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# Chinese labels accepted in the kind column next to the English names.
KIND_ALIASES: dict[str, str] = {
    "省": "province",
    "市": "city",
    "区": "district",
    "县": "district",
    "区县": "district",
    "街道": "street",
    "镇": "town",
    "社区": "community",
    "村": "village",
    "部门": DEPARTMENT_KIND,
}
VALID_KINDS = (*(kind.value for kind in UnitKind), DEPARTMENT_KIND)


@dataclass(frozen=True)
class ImportRow:
    """One data row of the file, its cells stripped, with the line it starts on (header = 1)."""

    line: int
    code: str
    name: str
    kind: str
    parent_code: str


@dataclass(frozen=True)
class RowProblem:
    """Why one cell of the file cannot be imported; ``line`` 1 is the header."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        """A line a person can act on, e.g. ``line 4, parent_code: ...``."""
        return f"line {self.line}, {self.column}: {self.message}"


class ImportRefused(InvalidInput):
    """The file has problems; every one is listed and nothing was imported."""

    slug = "import-refused"
    title = "Import refused"

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the file; nothing was imported",
            errors=[{"line": p.line, "field": p.column, "message": p.message} for p in problems],
        )
        self.problems = list(problems)


@dataclass(frozen=True)
class ExistingUnit:
    """A unit already in the database, as the importer compares it."""

    code: str
    name: str
    kind: UnitKind
    parent_code: str | None


@dataclass(frozen=True)
class ExistingDepartment:
    """A department already in the database: its owning unit and parent department, by code."""

    code: str
    name: str
    unit_code: str
    parent_code: str | None

    @property
    def listed_parent(self) -> str:
        """The parent as the import format writes it: the parent department, else the unit."""
        return self.parent_code or self.unit_code


@dataclass
class Snapshot:
    """What the database already holds of the codes a file mentions."""

    units: dict[str, ExistingUnit] = field(default_factory=dict)
    departments: dict[str, ExistingDepartment] = field(default_factory=dict)
    has_units: bool = False


@dataclass(frozen=True)
class PlannedUnit:
    """A unit the import will create."""

    row: ImportRow
    kind: UnitKind


@dataclass(frozen=True)
class PlannedDepartment:
    """A department the import will create; its parent is a unit or a department, by code."""

    row: ImportRow
    parent_is_unit: bool


@dataclass
class ImportPlan:
    """The outcome of checking a file: what to create (parents first) and what already exists."""

    create: list[PlannedUnit | PlannedDepartment] = field(default_factory=list)
    unchanged: list[ImportRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    units_created: int
    departments_created: int
    unchanged: int
    dry_run: bool

    def summary(self) -> str:
        """One sentence for the command line."""
        verb = "would create" if self.dry_run else "created"
        return (
            f"{verb} {self.units_created} unit{'s' if self.units_created != 1 else ''}, "
            f"{self.departments_created} "
            f"department{'s' if self.departments_created != 1 else ''}; "
            f"{self.unchanged} row{'s' if self.unchanged != 1 else ''} already present unchanged"
        )


def decode(data: bytes) -> str:
    """The text of a file that must be UTF-8, with or without a byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            [
                RowProblem(
                    line=data[: exc.start].count(b"\n") + 1,
                    column="file",
                    message="the file is not UTF-8 text; save it as “CSV UTF-8” "
                    "(Excel files saved as plain CSV on Chinese Windows are GBK)",
                )
            ]
        ) from None


def read_file(path: Path) -> str:
    """The text of an import file."""
    return decode(path.read_bytes())


def parse_csv(text: str) -> tuple[list[ImportRow], list[RowProblem]]:
    """The rows of a CSV text and the problems of its shape (header, number of cells)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[RowProblem] = []
    try:
        header = next(reader)
    except StopIteration:
        empty = RowProblem(1, "header", f"the file is empty; its first line must be {HEADER}")
        return [], [empty]
    names = [cell.strip().lower() for cell in header]
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n for n in names if n not in COLUMNS]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if missing or unknown or repeated:
        details = []
        if missing:
            details.append(f"missing {', '.join(missing)}")
        if unknown:
            details.append(f"unknown {', '.join(repr(n) for n in unknown)}")
        if repeated:
            details.append(f"repeated {', '.join(repeated)}")
        problems.append(
            RowProblem(
                1,
                "header",
                f"the first line must name the columns {HEADER} ({'; '.join(details)})",
            )
        )
        return [], problems
    position = {name: names.index(name) for name in COLUMNS}
    rows: list[ImportRow] = []
    next_line = reader.line_num + 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(names):
                problems.append(
                    RowProblem(
                        line,
                        "row",
                        f"has {len(cells)} cells; every row needs {len(names)} ({HEADER})",
                    )
                )
                continue
            rows.append(ImportRow(line, *(cells[position[c]].strip() for c in COLUMNS)))
    except csv.Error as exc:
        problems.append(RowProblem(next_line, "row", f"is not valid CSV: {exc}"))
    return rows, problems


def _kind_of(value: str) -> str | None:
    """The canonical kind name of a cell, or None when it names no kind."""
    key = value.strip()
    key = KIND_ALIASES.get(key, key.lower())
    return key if key in VALID_KINDS else None


def _unit_code_hint(code: str) -> str:
    """A fix for a short statistical code: pad it with zeros to 12 digits."""
    if code.isdigit() and len(code) in SIGNIFICANT_DIGITS.values() and len(code) < 12:
        return f"; pad it with zeros: {code.ljust(UNIT_CODE_LENGTH, '0')}"
    return ""


def plan_import(rows: Sequence[ImportRow], existing: Snapshot) -> ImportPlan:
    """Check every row against the others and the database; list all problems, or the work.

    Pure: the database is represented by ``existing``. An existing row whose name, kind and
    parent are identical is counted as unchanged; any difference is a problem.
    """
    plan = ImportPlan()
    problems = plan.problems
    kinds: dict[int, str] = {}
    by_code: dict[str, ImportRow] = {}
    for row in rows:
        kind = _kind_of(row.kind)
        if kind is None:
            problems.append(
                RowProblem(
                    row.line,
                    "kind",
                    f"unknown kind {row.kind!r}; use one of: {', '.join(VALID_KINDS)}",
                )
            )
        else:
            kinds[row.line] = kind
        if not row.name:
            problems.append(RowProblem(row.line, "name", "name must not be empty"))
        elif len(row.name) > NAME_MAX_LENGTH:
            problems.append(
                RowProblem(
                    row.line,
                    "name",
                    f"name has {len(row.name)} characters; at most {NAME_MAX_LENGTH} fit",
                )
            )
        elif _CONTROL_CHARACTERS.search(row.name):
            problems.append(
                RowProblem(row.line, "name", "name must be one line without control characters")
            )
        if not row.code:
            problems.append(RowProblem(row.line, "code", "code must not be empty"))
        elif row.code in by_code:
            problems.append(
                RowProblem(
                    row.line,
                    "code",
                    f"code {row.code} appears twice in the file (first on line "
                    f"{by_code[row.code].line})",
                )
            )
        else:
            by_code[row.code] = row

    first_root = next(
        (r for r in rows if not r.parent_code and kinds.get(r.line) not in (None, DEPARTMENT_KIND)),
        None,
    )
    candidates: list[PlannedUnit | PlannedDepartment] = []
    for row in rows:
        kind = kinds.get(row.line)
        if kind is None or not row.code or by_code.get(row.code) is not row:
            continue
        if kind == DEPARTMENT_KIND:
            planned_department = _check_department(row, by_code, kinds, existing, plan)
            if planned_department is not None:
                candidates.append(planned_department)
        else:
            planned_unit = _check_unit(
                row, UnitKind(kind), by_code, kinds, existing, plan, row is first_root
            )
            if planned_unit is not None:
                candidates.append(planned_unit)
    ordered = _parents_first(candidates, plan)
    plan.create = [] if problems else ordered
    problems.sort(key=lambda p: (p.line, p.column))
    return plan


def _check_unit(
    row: ImportRow,
    kind: UnitKind,
    by_code: dict[str, ImportRow],
    kinds: dict[int, str],
    existing: Snapshot,
    plan: ImportPlan,
    is_first_root: bool,
) -> PlannedUnit | None:
    """Check a unit row; returns what to create, or None when it exists or has problems."""
    problems = plan.problems
    if problem := unit_code_problem(row.code):
        problems.append(RowProblem(row.line, "code", problem + _unit_code_hint(row.code)))
        return None
    parent_kind: UnitKind | None = None
    if row.parent_code:
        if row.parent_code == row.code:
            problems.append(RowProblem(row.line, "parent_code", "a unit cannot be its own parent"))
            return None
        parent_row = by_code.get(row.parent_code)
        parent_label = kinds.get(parent_row.line) if parent_row else None
        if parent_row is not None and parent_label is None:
            return None  # the parent row's own problem is reported; do not repeat it here
        if parent_label == DEPARTMENT_KIND or (
            parent_row is None and row.parent_code in existing.departments
        ):
            problems.append(
                RowProblem(
                    row.line,
                    "parent_code",
                    f"{row.parent_code} is a department; the parent of a unit must be a unit",
                )
            )
            return None
        if parent_label is not None:
            parent_kind = UnitKind(parent_label)
        elif row.parent_code in existing.units:
            parent_kind = existing.units[row.parent_code].kind
        else:
            problems.append(
                RowProblem(
                    row.line,
                    "parent_code",
                    f"no unit with code {row.parent_code} in this file or in the database",
                )
            )
            return None
    elif UNIT_LEVEL[kind] != 1 and (existing.has_units or not is_first_root):
        problems.append(
            RowProblem(
                row.line,
                "parent_code",
                f"a {kind.value} needs the code of its parent unit; only a province, or the "
                "top unit of an empty database, may have none",
            )
        )
        return None
    if problem := hierarchy_problem(row.code, kind, row.parent_code or None, parent_kind):
        column = "kind" if "must sit directly under" in problem else "code"
        problems.append(RowProblem(row.line, column, problem))
        return None
    if row.code in existing.units:
        current = existing.units[row.code]
        if (current.name, current.kind, current.parent_code or "") == (
            row.name,
            kind,
            row.parent_code,
        ):
            plan.unchanged.append(row)
            return None
        problems.append(
            RowProblem(
                row.line,
                "code",
                f"unit {row.code} already exists as {current.name} ({current.kind.value}, "
                f"parent {current.parent_code or 'none'}); this row says {row.name} "
                f"({kind.value}, parent {row.parent_code or 'none'}). Use a new code, or make "
                "the row match the existing unit",
            )
        )
        return None
    if row.code in existing.departments:
        problems.append(
            RowProblem(row.line, "code", f"code {row.code} is already used by a department")
        )
        return None
    return PlannedUnit(row, kind)


def _check_department(
    row: ImportRow,
    by_code: dict[str, ImportRow],
    kinds: dict[int, str],
    existing: Snapshot,
    plan: ImportPlan,
) -> PlannedDepartment | None:
    """Check a department row; returns what to create, or None when it exists or has problems."""
    problems = plan.problems
    if problem := department_code_problem(row.code):
        problems.append(RowProblem(row.line, "code", problem))
        return None
    if not row.parent_code:
        problems.append(
            RowProblem(
                row.line,
                "parent_code",
                "a department needs parent_code: the 12-digit code of the unit that owns it, "
                "or the code of its parent department",
            )
        )
        return None
    if row.parent_code == row.code:
        problems.append(
            RowProblem(row.line, "parent_code", "a department cannot be its own parent")
        )
        return None
    parent_row = by_code.get(row.parent_code)
    parent_kind = kinds.get(parent_row.line) if parent_row else None
    if parent_row is not None and parent_kind is not None:
        parent_is_unit = parent_kind != DEPARTMENT_KIND
    elif row.parent_code in existing.units:
        parent_is_unit = True
    elif row.parent_code in existing.departments:
        parent_is_unit = False
    elif parent_row is not None:
        return None  # the parent row's own problem is reported; do not repeat it here
    else:
        problems.append(
            RowProblem(
                row.line,
                "parent_code",
                f"no unit or department with code {row.parent_code} in this file or in the "
                "database",
            )
        )
        return None
    if row.code in existing.departments:
        current = existing.departments[row.code]
        if (current.name, current.listed_parent) == (row.name, row.parent_code):
            plan.unchanged.append(row)
            return None
        problems.append(
            RowProblem(
                row.line,
                "code",
                f"department {row.code} already exists as {current.name} under "
                f"{current.listed_parent}; this row says {row.name} under {row.parent_code}. "
                "Use a new code, or make the row match the existing department",
            )
        )
        return None
    if row.code in existing.units:
        problems.append(RowProblem(row.line, "code", f"code {row.code} is already used by a unit"))
        return None
    return PlannedDepartment(row, parent_is_unit)


def _parents_first(
    candidates: list[PlannedUnit | PlannedDepartment], plan: ImportPlan
) -> list[PlannedUnit | PlannedDepartment]:
    """The new rows ordered so that each comes after its parent (file order otherwise).

    Rows left over form a cycle (departments naming each other as parents) and are reported.
    """
    pending = {item.row.code: item for item in candidates}
    ordered: list[PlannedUnit | PlannedDepartment] = []
    progress = True
    while pending and progress:
        progress = False
        for code, item in list(pending.items()):
            parent = item.row.parent_code
            if not parent or parent not in pending:
                ordered.append(item)
                del pending[code]
                progress = True
    for item in pending.values():
        plan.problems.append(
            RowProblem(
                item.row.line,
                "parent_code",
                f"parent {item.row.parent_code} leads back to {item.row.code}: "
                "the departments form a cycle",
            )
        )
    return ordered if not pending else []


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == LOOKUP_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def load_snapshot(session: AsyncSession, codes: Iterable[str]) -> Snapshot:
    """The units and departments of the database whose codes a file mentions."""
    wanted = sorted({c for c in codes if c})
    snapshot = Snapshot(has_units=await session.scalar(select(AdminUnit.id).limit(1)) is not None)
    parent_unit = aliased(AdminUnit)
    owner_unit = aliased(AdminUnit)
    parent_department = aliased(Department)
    for batch in _chunks(wanted):
        unit_rows = await session.execute(
            select(AdminUnit.code, AdminUnit.name, AdminUnit.kind, parent_unit.code)
            .outerjoin(parent_unit, AdminUnit.parent_id == parent_unit.id)
            .where(AdminUnit.code.in_(batch))
        )
        for code, name, kind, parent_code in unit_rows:
            snapshot.units[code] = ExistingUnit(code, name, UnitKind(kind), parent_code)
        department_rows = await session.execute(
            select(Department.code, Department.name, owner_unit.code, parent_department.code)
            .join(owner_unit, Department.unit_id == owner_unit.id)
            .outerjoin(parent_department, Department.parent_id == parent_department.id)
            .where(Department.code.in_(batch))
        )
        for code, name, unit_code, parent_code in department_rows:
            snapshot.departments[code] = ExistingDepartment(code, name, unit_code, parent_code)
    return snapshot


async def import_org(
    session: AsyncSession, text: str, now: datetime, *, dry_run: bool = False
) -> ImportReport:
    """Check a CSV text and, unless ``dry_run``, create its new units and departments.

    Raises ``ImportRefused`` listing every problem when any row is invalid; nothing is written
    then. Flushes only: the caller commits (or, for a dry run, need not).
    """
    rows, problems = parse_csv(text)
    if problems:
        raise ImportRefused(problems)
    snapshot = await load_snapshot(
        session, [code for row in rows for code in (row.code, row.parent_code)]
    )
    plan = plan_import(rows, snapshot)
    if plan.problems:
        raise ImportRefused(plan.problems)
    units_planned = [item for item in plan.create if isinstance(item, PlannedUnit)]
    report = ImportReport(
        units_created=len(units_planned),
        departments_created=len(plan.create) - len(units_planned),
        unchanged=len(plan.unchanged),
        dry_run=dry_run,
    )
    if not dry_run:
        await _create(session, plan.create, now)
    return report


class _Creator:
    """Creates planned rows through the organisation service, remembering parents by code."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self.units: dict[str, AdminUnit] = {}
        self.departments: dict[str, Department] = {}

    async def unit(self, code: str) -> AdminUnit:
        """A unit created by this import or already in the database."""
        if code not in self.units:
            found = await service.unit_by_code(self.session, code)
            if found is None:
                raise Conflict(f"unit {code} was removed while the import ran; run it again")
            self.units[code] = found
        return self.units[code]

    async def department(self, code: str) -> Department:
        """A department created by this import or already in the database."""
        if code not in self.departments:
            found = await service.department_by_code(self.session, code)
            if found is None:
                raise Conflict(f"department {code} was removed while the import ran; run it again")
            self.departments[code] = found
        return self.departments[code]

    async def create(self, item: PlannedUnit | PlannedDepartment) -> None:
        """Create one planned row; its parent exists already (the plan orders parents first)."""
        row = item.row
        if isinstance(item, PlannedUnit):
            parent = await self.unit(row.parent_code) if row.parent_code else None
            self.units[row.code] = await service.create_unit(
                self.session,
                code=row.code,
                name=row.name,
                kind=item.kind,
                parent=parent,
                now=self.now,
            )
            return
        if item.parent_is_unit:
            owner, parent_department = await self.unit(row.parent_code), None
        else:
            parent_department = await self.department(row.parent_code)
            found_owner = await self.session.get(AdminUnit, parent_department.unit_id)
            if found_owner is None:
                raise Conflict(f"the unit owning {row.parent_code} was removed; run it again")
            owner = found_owner
        self.departments[row.code] = await service.create_department(
            self.session,
            code=row.code,
            name=row.name,
            unit=owner,
            parent=parent_department,
            now=self.now,
        )


async def _create(
    session: AsyncSession, items: list[PlannedUnit | PlannedDepartment], now: datetime
) -> None:
    """Create the planned rows in order; a rule the service refuses is reported by line."""
    creator = _Creator(session, now)
    for item in items:
        try:
            await creator.create(item)
        except WenmingError as exc:
            field = getattr(exc, "field", None) or exc.extensions.get("field") or "row"
            raise ImportRefused([RowProblem(item.row.line, str(field), exc.detail)]) from exc
