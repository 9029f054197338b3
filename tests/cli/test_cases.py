"""``wenming cases``: the sweep by hand, and a year's calendar imported whole or not at all."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli

CALENDAR_2027 = (
    "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节\n2027-10-01,holiday,国庆节\n"
)


def test_the_sweep_reports_what_it_did_and_is_idempotent(cli_any: Cli) -> None:
    assert cli_any("db", "upgrade").exit_code == 0
    first = cli_any("cases", "sweep", "--now", "2026-11-30T09:00:00+08:00")
    assert (first.exit_code, first.stdout) == (0, "escalated: 0, people notified: 0\n")
    assert cli_any.count("case_sweep_run") == 1
    bad = cli_any("cases", "sweep", "--now", "next monday")
    assert bad.exit_code == 2
    assert "is not an ISO 8601 time" in bad.output


def test_the_sweep_refuses_an_outdated_schema(cli: Cli) -> None:
    result = cli("cases", "sweep")
    assert result.exit_code == 2
    assert "wenming db upgrade" in result.output


def test_a_calendar_year_is_imported_shown_and_replaced(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "upgrade").exit_code == 0
    file = tmp_path / "2027.csv"
    file.write_text(CALENDAR_2027, encoding="utf-8")
    imported = cli("cases", "calendar", "import", str(file))
    assert (imported.exit_code, imported.stdout) == (
        0,
        "Calendar 2027: 3 days stored (holidays and make-up working days).\n",
    )
    shown = cli("cases", "calendar", "show", "2027")
    assert shown.stdout.splitlines()[2:] == [
        "2027-01-01  holiday  元旦",
        "2027-02-20  workday  春节",
        "2027-10-01  holiday  国庆节",
    ]
    file.write_text("date,kind,name\n2027-05-01,holiday,劳动节\n", encoding="utf-8")
    assert cli("cases", "calendar", "import", str(file)).exit_code == 0
    assert cli.count("case_calendar_day WHERE day >= '2027-01-01'") == 1
    # The packaged 2026 rows are untouched.
    assert cli.scalar("SELECT kind FROM case_calendar_day WHERE day = '2026-10-01'") == "holiday"


def test_a_bad_calendar_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "upgrade").exit_code == 0
    file = tmp_path / "bad.csv"
    file.write_text(CALENDAR_2027, encoding="utf-8")
    assert cli("cases", "calendar", "import", str(file)).exit_code == 0
    file.write_text(
        "date,kind,name\n2027-03-01,holiday,x\n2027-03-02,vacation,y\n", encoding="utf-8"
    )
    refused = cli("cases", "calendar", "import", str(file))
    assert refused.exit_code == 2
    assert "line 3" in refused.output
    two_years = tmp_path / "two.csv"
    two_years.write_text(
        "date,kind,name\n2027-03-01,holiday,x\n2028-03-01,holiday,y\n", encoding="utf-8"
    )
    refused_years = cli("cases", "calendar", "import", str(two_years))
    assert refused_years.exit_code == 2
    assert "exactly one year; found 2027, 2028" in refused_years.output
    assert cli.count("case_calendar_day WHERE day >= '2027-01-01'") == 3
