"""Index systems as files: YAML and Excel workbooks in, the same out (pure, no database).

Reading checks the whole file and lists every problem with the place it sits (a YAML path such
as ``projects[0].contents[1].items[2].max_points`` or a sheet row such as ``items row 5,
max_points``); nothing is returned half-read. The format is documented in docs/evaluation.md.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from wenming.core.errors import InvalidInput
from wenming.evaluation.rules import Method, ScoringError, parse_points, points

CODE_MAX = 32
ITEM_COLUMNS = (
    "project_code",
    "project_name",
    "content_code",
    "content_name",
    "item_code",
    "text",
    "method",
    "max_points",
    "per_finding",
    "location_types",
)
VERSION_KEYS = ("code", "name", "example", "note")


@dataclass(frozen=True)
class ItemSpec:
    """A leaf item as written in a file; points in hundredths."""

    code: str
    text: str
    method: Method
    max_points: int
    per_finding: int | None = None
    location_types: tuple[str, ...] = ()  # sorted by code, so files compare equal


@dataclass(frozen=True)
class ContentSpec:
    """A content (测评内容) and its items."""

    code: str
    name: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class ProjectSpec:
    """A project (测评项目) and its contents."""

    code: str
    name: str
    contents: tuple[ContentSpec, ...]


@dataclass(frozen=True)
class IndexSpec:
    """A whole index system version."""

    code: str
    name: str
    projects: tuple[ProjectSpec, ...]
    example: bool = False
    note: str = ""

    def items(self) -> list[tuple[ProjectSpec, ContentSpec, ItemSpec]]:
        """Every leaf item with its project and content, in file order."""
        return [(p, c, i) for p in self.projects for c in p.contents for i in c.items]


@dataclass(frozen=True)
class FileProblem:
    """Why one place of an index file cannot be imported."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class FileRefused(InvalidInput):
    """A file has problems; every one is listed (with its place) and nothing was imported."""

    slug = "import-refused"
    title = "Import refused"

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the file; nothing was imported",
            errors=[{"field": p.where, "message": p.message} for p in problems],
        )
        self.problems = list(problems)


@dataclass
class _Checker:
    """Collects problems while reading; every reader shares the same item rules."""

    problems: list[FileProblem] = field(default_factory=list)
    seen: dict[str, dict[str, str]] = field(default_factory=dict)
    # YAML reads 0101 as a number (and 0o101 as octal): codes there must be written as text.
    text_codes: bool = False

    def problem(self, where: str, message: str) -> None:
        self.problems.append(FileProblem(where, message))

    def text(self, value: Any, where: str, *, required: bool = True, limit: int = 200) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(where, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(where, "must be text")
            return ""
        result = str(value).strip()
        if len(result) > limit:
            self.problem(where, f"is longer than {limit} characters")
        return result

    def code(self, value: Any, where: str, kind: str) -> str:
        if self.text_codes and isinstance(value, int | float) and not isinstance(value, bool):
            self.problem(
                where,
                f"reads as the number {value} in YAML; write codes in quotes "
                "(e.g. code: '0101') so that they stay as written",
            )
            return ""
        result = self.text(value, where, limit=CODE_MAX)
        if result and any(ch.isspace() for ch in result):
            self.problem(where, f"code {result!r} must not contain spaces")
        if result:
            first = self.seen.setdefault(kind, {}).get(result)
            if first is not None:
                self.problem(where, f"{kind} code {result!r} is already used at {first}")
            else:
                self.seen[kind][result] = where
        return result

    def amount(self, value: Any, where: str, *, required: bool) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(where, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            self.problem(where, "must be a number of points")
            return None
        try:
            hundredths = parse_points(Decimal(str(value)) if isinstance(value, float) else value)
        except ScoringError as exc:
            self.problem(where, f"{exc}; give points with at most 2 decimals")
            return None
        if hundredths <= 0:
            self.problem(where, "must be more than 0 points")
            return None
        return hundredths

    def item(self, raw: dict[str, Any], where: str) -> ItemSpec | None:
        """Check one item's fields; ``where`` prefixes each field name."""
        before = len(self.problems)
        code = self.code(raw.get("code"), f"{where}code", "item")
        text = self.text(raw.get("text"), f"{where}text", limit=2000)
        method: Method | None = None
        method_text = self.text(raw.get("method"), f"{where}method")
        if method_text:
            try:
                method = Method(method_text)
            except ValueError:
                choices = ", ".join(m.value for m in Method)
                self.problem(f"{where}method", f"unknown method {method_text!r}; use {choices}")
        max_points = self.amount(raw.get("max_points"), f"{where}max_points", required=True)
        per_finding = self.amount(
            raw.get("per_finding"), f"{where}per_finding", required=method is Method.FIELD
        )
        types = self.types(raw.get("location_types"), f"{where}location_types")
        if method is Method.FIELD and not types:
            self.problem(f"{where}location_types", "a field item needs at least one location type")
        if method is not None and method is not Method.FIELD:
            if types:
                self.problem(f"{where}location_types", "only field items name location types")
            if per_finding is not None:
                self.problem(f"{where}per_finding", "only field items deduct per finding")
        if len(self.problems) > before or method is None or max_points is None:
            return None
        return ItemSpec(code, text, method, max_points, per_finding, types)

    def types(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", ",").split(",")]
        elif isinstance(value, list):
            parts = [str(p).strip() for p in value]
        else:
            self.problem(where, "must be a list of location type codes")
            return ()
        found = tuple(sorted(set(p for p in parts if p)))
        if len(found) != len([p for p in parts if p]):
            self.problem(where, "lists a location type twice")
        return found


# --- YAML -----------------------------------------------------------------------------------


def _mapping(check: _Checker, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        check.problem(where, "must be a mapping of fields")
        return {}
    return {str(k): v for k, v in value.items()}


def _list(check: _Checker, value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        check.problem(where, "must be a non-empty list")
        return []
    return value


def _unknown(check: _Checker, raw: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in sorted(set(raw) - allowed):
        check.problem(f"{where}{key}", f"unknown field; use {', '.join(sorted(allowed))}")


def parse_yaml(text: str) -> IndexSpec:
    """An index from YAML text, or FileRefused listing every problem by path."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise FileRefused([FileProblem(where, "is not valid YAML")]) from None
    check = _Checker(text_codes=True)
    root = _mapping(check, data, "file")
    _unknown(check, root, {*VERSION_KEYS, "projects"}, "")
    code = check.code(root.get("code"), "code", "version")
    name = check.text(root.get("name"), "name")
    note = check.text(root.get("note"), "note", required=False, limit=2000)
    example = root.get("example", False)
    if not isinstance(example, bool):
        check.problem("example", "must be true or false")
        example = False
    projects: list[ProjectSpec] = []
    for p, raw_project in enumerate(_list(check, root.get("projects"), "projects")):
        pw = f"projects[{p}]."
        project = _mapping(check, raw_project, pw.rstrip("."))
        _unknown(check, project, {"code", "name", "contents"}, pw)
        contents: list[ContentSpec] = []
        for c, raw_content in enumerate(_list(check, project.get("contents"), f"{pw}contents")):
            cw = f"{pw}contents[{c}]."
            content = _mapping(check, raw_content, cw.rstrip("."))
            _unknown(check, content, {"code", "name", "items"}, cw)
            items: list[ItemSpec] = []
            for i, raw_item in enumerate(_list(check, content.get("items"), f"{cw}items")):
                iw = f"{cw}items[{i}]."
                item_fields = _mapping(check, raw_item, iw.rstrip("."))
                _unknown(
                    check,
                    item_fields,
                    {"code", "text", "method", "max_points", "per_finding", "location_types"},
                    iw,
                )
                item = check.item(item_fields, iw)
                if item is not None:
                    items.append(item)
            contents.append(
                ContentSpec(
                    check.code(content.get("code"), f"{cw}code", "content"),
                    check.text(content.get("name"), f"{cw}name"),
                    tuple(items),
                )
            )
        projects.append(
            ProjectSpec(
                check.code(project.get("code"), f"{pw}code", "project"),
                check.text(project.get("name"), f"{pw}name"),
                tuple(contents),
            )
        )
    if check.problems:
        raise FileRefused(check.problems)
    return IndexSpec(code, name, tuple(projects), example, note)


def _points_value(hundredths: int) -> int | float:
    value = points(hundredths)
    return int(value) if value == value.to_integral_value() else float(value)


def to_yaml(spec: IndexSpec) -> str:
    """An index as YAML in the documented layout (readable Chinese, points as numbers)."""
    projects: list[dict[str, Any]] = []
    for project in spec.projects:
        contents: list[dict[str, Any]] = []
        for content in project.contents:
            items: list[dict[str, Any]] = []
            for item in content.items:
                entry: dict[str, Any] = {
                    "code": item.code,
                    "text": item.text,
                    "method": item.method.value,
                    "max_points": _points_value(item.max_points),
                }
                if item.per_finding is not None:
                    entry["per_finding"] = _points_value(item.per_finding)
                if item.location_types:
                    entry["location_types"] = list(item.location_types)
                items.append(entry)
            contents.append({"code": content.code, "name": content.name, "items": items})
        projects.append({"code": project.code, "name": project.name, "contents": contents})
    document: dict[str, Any] = {"code": spec.code, "name": spec.name, "example": spec.example}
    if spec.note:
        document["note"] = spec.note
    document["projects"] = projects
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


# --- Excel ----------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def parse_xlsx(data: bytes) -> IndexSpec:
    """An index from a workbook with sheets ``version`` (key, value) and ``items`` (one row per
    item, ITEM_COLUMNS); problems name the sheet, row and column."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError):
        raise FileRefused([FileProblem("file", "is not an Excel workbook (.xlsx)")]) from None
    check = _Checker()
    missing = [name for name in ("version", "items") if name not in book.sheetnames]
    if missing:
        raise FileRefused(
            [FileProblem(f"sheet {name}", "is missing from the workbook") for name in missing]
        )
    meta: dict[str, Any] = {}
    for number, row in enumerate(book["version"].iter_rows(values_only=True), start=1):
        if number == 1 or not row or row[0] is None:
            continue
        key = str(row[0]).strip()
        if key not in VERSION_KEYS:
            check.problem(f"version row {number}", f"unknown key {key!r}")
        meta[key] = _cell(row[1]) if len(row) > 1 else None
    code = check.code(meta.get("code"), "version code", "version")
    name = check.text(meta.get("name"), "version name")
    note = check.text(meta.get("note"), "version note", required=False, limit=2000)
    example_value = meta.get("example")
    example = example_value in (True, 1, "true", "TRUE", "True", "yes")
    if example_value not in (None, "", True, False, 1, 0, "true", "false", "TRUE", "FALSE"):
        check.problem("version example", "must be true or false")
    rows = list(book["items"].iter_rows(values_only=True))
    header = tuple(str(c).strip() if c is not None else "" for c in (rows[0] if rows else ()))
    if header[: len(ITEM_COLUMNS)] != ITEM_COLUMNS:
        raise FileRefused(
            [FileProblem("items row 1", f"the header must be {','.join(ITEM_COLUMNS)}")]
        )
    projects: dict[str, tuple[str, dict[str, tuple[str, list[ItemSpec]]]]] = {}
    for number, row in enumerate(rows[1:], start=2):
        values = {k: _cell(v) for k, v in zip(ITEM_COLUMNS, row, strict=False)}
        if all(v in (None, "") for v in values.values()):
            continue
        where = f"items row {number}, "
        p_code = check.text(values.get("project_code"), f"{where}project_code", limit=CODE_MAX)
        p_name = check.text(values.get("project_name"), f"{where}project_name")
        c_code = check.text(values.get("content_code"), f"{where}content_code", limit=CODE_MAX)
        c_name = check.text(values.get("content_name"), f"{where}content_name")
        project = projects.get(p_code)
        if project is None:
            project = projects[p_code] = (p_name, {})
        elif project[0] != p_name:
            check.problem(f"{where}project_name", f"project {p_code} is named {project[0]!r} above")
        content = project[1].get(c_code)
        if content is None:
            owner = next((k for k, v in projects.items() if c_code in v[1]), None)
            if owner is not None:
                check.problem(f"{where}content_code", f"content {c_code} belongs to {owner} above")
            content = project[1][c_code] = (c_name, [])
        elif content[0] != c_name:
            check.problem(f"{where}content_name", f"content {c_code} is named {content[0]!r} above")
        item = check.item({**values, "code": values.get("item_code")}, where)
        if item is not None:
            content[1].append(item)
    if not projects:
        check.problem("items", "has no item rows")
    if check.problems:
        raise FileRefused(check.problems)
    return IndexSpec(
        code,
        name,
        tuple(
            ProjectSpec(
                p_code,
                p_name,
                tuple(
                    ContentSpec(c_code, c_name, tuple(items))
                    for c_code, (c_name, items) in cs.items()
                ),
            )
            for p_code, (p_name, cs) in projects.items()
        ),
        example,
        note,
    )


def to_xlsx(spec: IndexSpec) -> bytes:
    """An index as a workbook that ``parse_xlsx`` reads back unchanged."""
    book = Workbook()
    version = book.active
    assert version is not None
    version.title = "version"
    version.append(["key", "value"])
    version.append(["code", spec.code])
    version.append(["name", spec.name])
    version.append(["example", "true" if spec.example else "false"])
    version.append(["note", spec.note])
    sheet = book.create_sheet("items")
    sheet.append(list(ITEM_COLUMNS))
    for project, content, item in spec.items():
        sheet.append(
            [
                project.code,
                project.name,
                content.code,
                content.name,
                item.code,
                item.text,
                item.method.value,
                str(points(item.max_points)),
                str(points(item.per_finding)) if item.per_finding is not None else "",
                ",".join(item.location_types),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
