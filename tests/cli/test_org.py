"""``wenming org import``: the example imports into the demo; bad files are refused whole."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli
from wenming.core.config import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "org-units.csv"
ORG_TABLES = ("admin_unit", "unit_closure", "department", "department_closure")


def org_counts(cli: Cli) -> tuple[int, ...]:
    """Rows of the organisation tables."""
    return tuple(cli.count(table) for table in ORG_TABLES)


def test_the_example_imports_into_the_demo_and_again_unchanged(cli_any: Cli) -> None:
    assert cli_any("demo", "--no-serve").exit_code == 0
    first = cli_any("org", "import", str(EXAMPLE))
    assert (first.exit_code, first.stderr) == (0, "")
    assert first.stdout == (
        "Imported org-units.csv: created 4 units, 2 departments; "
        "0 rows already present unchanged.\n"
    )
    assert (cli_any.count("admin_unit"), cli_any.count("department")) == (61, 10)
    parent = cli_any.scalar(
        "SELECT p.code FROM department d JOIN department p ON p.id = d.parent_id "
        "WHERE d.code = '211104-SWJ-PS'"
    )
    assert parent == "211104-SWJ"
    after_first = org_counts(cli_any)
    second = cli_any("org", "import", str(EXAMPLE))
    assert (second.exit_code, second.stdout) == (
        0,
        "Imported org-units.csv: created 0 units, 0 departments; "
        "6 rows already present unchanged.\n",
    )
    assert org_counts(cli_any) == after_first


def test_a_dry_run_reports_and_writes_nothing(demo_cli: Cli) -> None:
    before = org_counts(demo_cli)
    result = demo_cli("org", "import", str(EXAMPLE), "--dry-run")
    assert (result.exit_code, result.stdout) == (
        0,
        "Checked org-units.csv (dry run, nothing written): would create 4 units, "
        "2 departments; 0 rows already present unchanged.\n",
    )
    assert org_counts(demo_cli) == before


def test_every_problem_is_listed_and_nothing_is_imported(demo_cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,kind,parent_code\n"
        "211104099000,示例新城街道,street,211104000000\n"  # 2: fine on its own
        "21110409900,短代码,community,211104099000\n"  # 3
        "211104099002,,community,211104099000\n"  # 4
        "211104099003,未知上级,community,211104098000\n"  # 5
        "211104099004,层级错,community,211104000000\n"  # 6
        "211104099005,类型错,hamlet,211104099000\n"  # 7
        "211104-CGJ,城管局,department,211104000000\n",  # 8: taken with another name
        encoding="utf-8",
    )
    before = org_counts(demo_cli)
    result = demo_cli("org", "import", str(bad))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "bad.csv line 3, code: code '21110409900' must be exactly 12 digits (it has 11 "
        "characters), e.g. 211104004000",
        "bad.csv line 4, name: name must not be empty",
        "bad.csv line 5, parent_code: no unit with code 211104098000 in this file or in the "
        "database",
        "bad.csv line 6, kind: a community must sit directly under a unit of level 4, not "
        "under a district",
        "bad.csv line 7, kind: unknown kind 'hamlet'; use one of: province, city, district, "
        "street, town, community, village, department",
        "bad.csv line 8, code: department 211104-CGJ already exists as 城管局（综合执法局） under "
        "211104000000; this row says 城管局 under 211104000000. Use a new code, or make the "
        "row match the existing department",
        "Nothing was imported: 6 problems. Fix them and run the import again.",
    ]
    assert org_counts(demo_cli) == before


def test_a_file_that_is_not_utf8_is_refused(demo_cli: Cli, tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("code,name,kind,parent_code\n211104099000,新城街道,street,211104000000\n"
                    .encode("gbk"))  # fmt: skip
    result = demo_cli("org", "import", str(gbk))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "gbk.csv line 2, file: the file is not UTF-8 text; save it as “CSV UTF-8” (Excel files "
        "saved as plain CSV on Chinese Windows are GBK)",
        "Nothing was imported: 1 problem. Fix them and run the import again.",
    ]


def test_import_needs_a_migrated_database_and_an_existing_file(cli: Cli) -> None:
    unmigrated = cli("org", "import", str(EXAMPLE))
    assert (unmigrated.exit_code, unmigrated.stderr) == (
        2,
        f"Error: the database at sqlite:///{Settings().sqlite_path} has no Wenming schema "
        "yet; run `wenming db upgrade` first (or `wenming demo` for the demo district)\n",
    )
    missing = cli("org", "import", "no-such-file.csv")
    assert missing.exit_code == 2
    assert "'no-such-file.csv' does not exist" in missing.stderr
