"""CSV import of units and departments: every problem reported by line and column; all or none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.demo.seed import seed_demo
from wenming.org.importer import (
    ImportRefused,
    ImportReport,
    RowProblem,
    Snapshot,
    decode,
    import_org,
    parse_csv,
    plan_import,
)
from wenming.org.models import AdminUnit, Department, DepartmentClosure, UnitClosure

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "org-units.csv"
HEADER = "code,name,kind,parent_code\n"


def problems_of(text: str, existing: Snapshot | None = None) -> list[str]:
    """The problems of a file checked against an (empty by default) database, as text."""
    rows, problems = parse_csv(text)
    assert problems == []
    return [str(p) for p in plan_import(rows, existing or Snapshot()).problems]


async def counts(session: AsyncSession) -> tuple[int, int, int, int]:
    """Rows of the four organisation tables, to prove that nothing was written."""
    result = []
    for model in (AdminUnit, UnitClosure, Department, DepartmentClosure):
        result.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return (result[0], result[1], result[2], result[3])


# --- parsing (pure) ---------------------------------------------------------------------------


def test_parse_accepts_a_byte_order_mark_and_any_column_order() -> None:
    text = decode(
        "\ufeffname,code,parent_code,kind\r\n大洼街道,211104004000,211104000000,street\r\n".encode()
    )
    rows, problems = parse_csv(text)
    assert problems == []
    assert [(r.line, r.code, r.name, r.kind, r.parent_code) for r in rows] == [
        (2, "211104004000", "大洼街道", "street", "211104000000")
    ]


def test_parse_counts_lines_of_the_file_across_blank_and_multiline_rows() -> None:
    text = (
        HEADER
        + "\n,,,\n211104004000, 大洼街道 ,street,211104000000\n"
        + ('211104004001,"两行\n名字",community,211104004000\n211104004002,x,community\n')
    )
    rows, problems = parse_csv(text)
    assert [(r.line, r.name) for r in rows] == [(4, "大洼街道"), (5, "两行\n名字")]
    assert [str(p) for p in problems] == [
        "line 7, row: has 3 cells; every row needs 4 (code,name,kind,parent_code)"
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "",
            "line 1, header: the file is empty; its first line must be code,name,kind,parent_code",
        ),
        (
            "code,name,kind\n",
            "line 1, header: the first line must name the columns code,name,kind,parent_code "
            "(missing parent_code)",
        ),
        (
            "code,name,kind,parent_code,remark\n",
            "line 1, header: the first line must name the columns code,name,kind,parent_code "
            "(unknown 'remark')",
        ),
    ],
)
def test_parse_refuses_a_bad_header(header: str, message: str) -> None:
    rows, problems = parse_csv(header)
    assert rows == []
    assert [str(p) for p in problems] == [message]


def test_a_file_that_is_not_utf8_is_refused_with_how_to_fix_it() -> None:
    data = (HEADER + "211104004000,大洼街道,street,211104000000\n").encode("gbk")
    with pytest.raises(ImportRefused) as refused:
        decode(data)
    assert refused.value.problems == [
        RowProblem(
            2,
            "file",
            "the file is not UTF-8 text; save it as “CSV UTF-8” (Excel files saved as plain "
            "CSV on Chinese Windows are GBK)",
        )
    ]


# --- checking (pure) --------------------------------------------------------------------------


def test_every_kind_of_invalid_row_is_reported_by_line_and_column() -> None:
    text = HEADER + (
        "211104000000,大洼区,district,\n"  # 2: fine, the top of an empty database
        "21110400400,短代码,street,211104000000\n"  # 3: bad length
        "211104005000,,street,211104000000\n"  # 4: empty name
        "211104006000,榆树街道,hamlet,211104000000\n"  # 5: unknown kind
        "211104007001,错层社区,community,211104000000\n"  # 6: wrong level under parent
        "211104009000,于楼街道,street,211104999000\n"  # 7: unknown parent
        "211104101000,田庄台镇,town,211104000000\n"  # 8: fine
        "211104101000,田庄台镇,town,211104000000\n"  # 9: duplicate in the file
        "211104-CGJ,城管局,department,211104999000\n"  # 10: department with unknown parent
        "X,坏部门,department,211104000000\n"  # 11: bad department code
        "211104-A,甲,department,211104-B\n"  # 12: cycle
        "211104-B,乙,department,211104-A\n"  # 13: cycle
        "211104102000,镇,town,211104-ZJJ\n"  # 14: a unit under a department
        "211104-ZJJ,住建局,部门,211104000000\n"  # 15: fine (Chinese kind)
        "211104110000,无上级镇,town,\n"  # 16: a second root
    )
    assert problems_of(text) == [
        "line 3, code: code '21110400400' must be exactly 12 digits (it has 11 characters), "
        "e.g. 211104004000",
        "line 4, name: name must not be empty",
        "line 5, kind: unknown kind 'hamlet'; use one of: province, city, district, street, "
        "town, community, village, department",
        "line 6, kind: a community must sit directly under a unit of level 4, not under a district",
        "line 7, parent_code: no unit with code 211104999000 in this file or in the database",
        "line 9, code: code 211104101000 appears twice in the file (first on line 8)",
        "line 10, parent_code: no unit or department with code 211104999000 in this file or "
        "in the database",
        "line 11, code: department code 'X' must be 2-32 letters, digits, '-' or '_' and start "
        "with a letter or digit, e.g. 211104-CGJ",
        "line 12, parent_code: parent 211104-B leads back to 211104-A: the departments form a "
        "cycle",
        "line 13, parent_code: parent 211104-A leads back to 211104-B: the departments form a "
        "cycle",
        "line 14, parent_code: 211104-ZJJ is a department; the parent of a unit must be a unit",
        "line 16, parent_code: a town needs the code of its parent unit; only a province, or "
        "the top unit of an empty database, may have none",
    ]


def test_a_short_statistical_code_gets_the_padded_code_as_a_hint() -> None:
    assert problems_of(HEADER + "211104004,大洼街道,street,211104000000\n") == [
        "line 2, code: code '211104004' must be exactly 12 digits (it has 9 characters), "
        "e.g. 211104004000; pad it with zeros: 211104004000"
    ]


def test_rows_in_any_order_are_planned_parents_first() -> None:
    text = HEADER + (
        "211104-CGJ-1,一中队,department,211104-CGJ\n"
        "211104004001,一社区,community,211104004000\n"
        "211104-CGJ,城管局,department,211104000000\n"
        "211104004000,大洼街道,street,211104000000\n"
        "211104000000,大洼区,district,\n"
    )
    rows, _ = parse_csv(text)
    plan = plan_import(rows, Snapshot())
    assert plan.problems == []
    order = [item.row.code for item in plan.create]
    assert order.index("211104000000") < order.index("211104004000") < order.index("211104004001")
    assert order.index("211104000000") < order.index("211104-CGJ") < order.index("211104-CGJ-1")


# --- importing into the database (SQLite and PostgreSQL) ---------------------------------------


async def test_the_example_file_imports_cleanly_into_the_demo(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    report = await import_org(session, EXAMPLE.read_text("utf-8"), NOW)
    assert report == ImportReport(
        units_created=4, departments_created=2, unchanged=0, dry_run=False
    )
    street = await session.scalar(select(AdminUnit).where(AdminUnit.code == "211104099000"))
    community = await session.scalar(select(AdminUnit).where(AdminUnit.code == "211104099003"))
    district = await session.scalar(select(AdminUnit).where(AdminUnit.code == "211104000000"))
    assert street is not None and community is not None and district is not None
    assert (street.name, street.kind, street.parent_id) == ("示例新城街道", "street", district.id)
    assert (community.kind, community.parent_id, community.level) == (
        "community",
        street.id,
        5,
    )
    ancestors = set(
        await session.scalars(
            select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == community.id)
        )
    )
    assert district.id in ancestors and street.id in ancestors and len(ancestors) == 5
    water = await session.scalar(select(Department).where(Department.code == "211104-SWJ"))
    drainage = await session.scalar(select(Department).where(Department.code == "211104-SWJ-PS"))
    assert water is not None and drainage is not None
    assert (water.unit_id, water.parent_id) == (district.id, None)
    assert (drainage.name, drainage.unit_id, drainage.parent_id) == (
        "排水管理所（示例）",
        district.id,
        water.id,
    )


async def test_importing_the_same_file_again_changes_nothing(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    await import_org(session, EXAMPLE.read_text("utf-8"), NOW)
    before = await counts(session)
    again = await import_org(session, EXAMPLE.read_text("utf-8"), NOW)
    assert again == ImportReport(units_created=0, departments_created=0, unchanged=6, dry_run=False)
    assert await counts(session) == before


async def test_a_dry_run_writes_nothing(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    before = await counts(session)
    report = await import_org(session, EXAMPLE.read_text("utf-8"), NOW, dry_run=True)
    assert report == ImportReport(units_created=4, departments_created=2, unchanged=0, dry_run=True)
    assert report.summary() == (
        "would create 4 units, 2 departments; 0 rows already present unchanged"
    )
    assert await counts(session) == before


async def test_one_bad_row_imports_nothing(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    before = await counts(session)
    text = EXAMPLE.read_text("utf-8") + "211104099004,第四社区,community,211104098000\n"
    with pytest.raises(ImportRefused) as refused:
        await import_org(session, text, NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 8, parent_code: no unit with code 211104098000 in this file or in the database"
    ]
    assert refused.value.status == 422
    assert refused.value.extensions["errors"] == [
        {
            "line": 8,
            "field": "parent_code",
            "message": "no unit with code 211104098000 in this file or in the database",
        }
    ]
    assert await counts(session) == before


async def test_codes_taken_in_the_database_are_reported(session: AsyncSession) -> None:
    await seed_demo(session, NOW)
    before = await counts(session)
    text = HEADER + (
        "211104004000,大洼街道,street,211104000000\n"  # identical: unchanged
        "211104005000,田家街道改名,street,211104000000\n"  # same code, other name
        "211104-CGJ,城管局（综合执法局）,department,211104000000\n"  # identical: unchanged
        "211104-ZJJ,住建局,department,211104-CGJ\n"  # same code, other parent
        "211104004001,建设社区（示例）,department,211104000000\n"  # a unit's code for a department
    )
    with pytest.raises(ImportRefused) as refused:
        await import_org(session, text, NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 3, code: unit 211104005000 already exists as 田家街道 (street, parent "
        "211104000000); this row says 田家街道改名 (street, parent 211104000000). Use a new "
        "code, or make the row match the existing unit",
        "line 5, code: department 211104-ZJJ already exists as 住建局 under 211104000000; this "
        "row says 住建局 under 211104-CGJ. Use a new code, or make the row match the existing "
        "department",
        "line 6, code: code 211104004001 is already used by a unit",
    ]
    assert await counts(session) == before


async def test_parents_may_be_existing_rows_and_children_may_come_first(
    session: AsyncSession,
) -> None:
    await seed_demo(session, NOW)
    text = HEADER + (
        "211104-CGJ-ZF2,执法二中队,department,211104-CGJ\n"
        "211104-CGJ-ZF2-1,二中队一组,department,211104-CGJ-ZF2\n"
        "211104114203,新村,village,211104114000\n"
    )
    report = await import_org(session, text, NOW)
    assert (report.units_created, report.departments_created) == (1, 2)
    team = await session.scalar(select(Department).where(Department.code == "211104-CGJ-ZF2-1"))
    bureau = await session.scalar(select(Department).where(Department.code == "211104-CGJ"))
    assert team is not None and bureau is not None
    assert team.unit_id == bureau.unit_id
    ancestors = set(
        await session.scalars(
            select(DepartmentClosure.ancestor_id).where(DepartmentClosure.descendant_id == team.id)
        )
    )
    assert bureau.id in ancestors and len(ancestors) == 3


async def test_a_whole_tree_may_start_at_a_district_in_an_empty_database(
    session: AsyncSession,
) -> None:
    text = HEADER + (
        "211104004001,一社区,社区,211104004000\n"
        "211104004000,大洼街道,街道,211104000000\n"
        "211104000000,大洼区,区,\n"
    )
    report = await import_org(session, text, NOW)
    assert report == ImportReport(
        units_created=3, departments_created=0, unchanged=0, dry_run=False
    )
    again = HEADER + "211104005000,田家街道,street,\n"
    with pytest.raises(ImportRefused) as refused:
        await import_org(session, again, NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 2, parent_code: a street needs the code of its parent unit; only a province, or "
        "the top unit of an empty database, may have none"
    ]
