"""``wenming eval``: index import/export, set-up, score import with refusals, the ranking CSV."""

from __future__ import annotations

import io
import json
from pathlib import Path

from openpyxl import load_workbook

from tests.cli.conftest import Cli
from wenming.evaluation import indexfile

EXAMPLE_INDEX = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "wenming"
    / "data"
    / "evaluation"
    / "example-index.yaml"
)
SETUP = """
years:
  - year: 2022
    name: 2022年度
    index: example-2026
    tie_breaks: [latest]
    rounds:
      - {code: 2022H1, name: 2022 上半年}
      - {code: 2022H2, name: 2022 下半年}
participants:
  - {code: A, name: 甲区, category: other_district}
  - {code: B, name: 乙区, category: other_district}
  - {code: C, name: 丙市, category: prefecture_city}
"""


def prepared(cli: Cli, tmp_path: Path) -> None:
    """A migrated database with the example index and the 2022 set-up."""
    assert cli("db", "upgrade").exit_code == 0
    imported = cli("eval", "import-index", str(EXAMPLE_INDEX))
    assert (imported.exit_code, imported.stdout) == (
        0,
        "imported index version example-2026: 24 items\n",
    )
    setup = tmp_path / "setup.yaml"
    setup.write_text(SETUP, encoding="utf-8")
    done = cli("eval", "setup", str(setup))
    assert (done.exit_code, done.stdout) == (
        0,
        "categories: 0, years: 1, rounds: 2, participants: 3, absent_location_types: 0, "
        "cycles: 0\n",
    )


def full_scores(participant: str, round_code: str, lose: float) -> list[str]:
    """One row per item: every item at its max except JC0101, which loses ``lose`` points."""
    spec = indexfile.parse_yaml(EXAMPLE_INDEX.read_text(encoding="utf-8"))
    rows = []
    for _, _, item in spec.items():
        points = item.max_points / 100 - (lose if item.code == "JC0101" else 0)
        rows.append(f"{round_code},{participant},{item.code},{points:g}")
    return rows


def test_scores_import_and_rank_as_csv(cli_any: Cli, tmp_path: Path) -> None:
    prepared(cli_any, tmp_path)
    rows = [
        *full_scores("A", "2022H1", 1),
        *full_scores("B", "2022H1", 0.5),
        *full_scores("C", "2022H1", 0),
        *full_scores("A", "2022H2", 0),
        *full_scores("B", "2022H2", 0.5),
    ]
    scores = tmp_path / "scores.csv"
    scores.write_text("round,participant_code,item_code,score\n" + "\n".join(rows) + "\n")
    result = cli_any("eval", "import-scores", str(scores))
    assert (result.exit_code, result.stdout) == (0, "imported 120 scores\n")
    assert cli_any.count("eval_score") == 120
    ranked = cli_any("eval", "rank", "--year", "2022")
    assert ranked.exit_code == 0, ranked.output
    # 93 points in all; A and B tie on 185.00, the latest round (2022H2) breaks the tie.
    assert ranked.stdout.splitlines() == [
        "rank,participant_code,participant_name,category,2022H1,2022H2,total",
        "1,C,丙市,地级市,93.00,,93.00",
        "1,A,甲区,其他城区类,92.00,93.00,185.00",
        "2,B,乙区,其他城区类,92.50,92.50,185.00",
    ]
    one = cli_any("eval", "rank", "--year", "2022", "--category", "其他城区类", "--format", "json")
    assert [r["participant_code"] for r in json.loads(one.stdout)["rows"]] == ["A", "B"]
    out = tmp_path / "ranking.xlsx"
    xlsx = cli_any("eval", "rank", "--year", "2022", "--format", "xlsx", "--output", str(out))
    assert xlsx.exit_code == 0
    sheet = load_workbook(io.BytesIO(out.read_bytes())).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == [
        "rank",
        "participant_code",
        "participant_name",
        "category",
        "2022H1",
        "2022H2",
        "total",
    ]
    no_file = cli_any("eval", "rank", "--year", "2022", "--format", "xlsx")
    assert (no_file.exit_code, no_file.stderr) == (
        2,
        "Error: --output: an Excel workbook must be written to a file\n",
    )


def test_bad_score_rows_are_all_named_and_nothing_is_imported(cli_any: Cli, tmp_path: Path) -> None:
    prepared(cli_any, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "round,participant_code,item_code,score\n"
        "2022H1,A,JC0101,3\n"
        "2023H1,A,JC0101,3\n"
        "2022H1,Z,JC0101,3\n"
        "2022H1,A,XX,3\n"
        "2022H1,A,JC0102,-0.5\n"
        "2022H1,A,JC0201,3.5\n"
        "2022H1,A,JC0101,2\n",
        encoding="utf-8",
    )
    result = cli_any("eval", "import-scores", str(bad))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "bad.csv: line 3, round: unknown round '2023H1'",
        "bad.csv: line 4, participant_code: unknown participant 'Z'",
        "bad.csv: line 5, item_code: unknown item 'XX' in the index of round 2022H1",
        "bad.csv: line 6, score: -0.5 is below 0",
        "bad.csv: line 7, score: 3.5 is above the max of item JC0201 (3.00)",
        "bad.csv: line 8: duplicate of line 2 (2022H1, A, JC0101)",
        "Nothing was imported: 6 problems. Fix them and run the import again.",
    ]
    assert cli_any.count("eval_score") == 0


def test_export_then_import_round_trips_in_both_formats(cli: Cli, tmp_path: Path) -> None:
    prepared(cli, tmp_path)
    yaml_out = tmp_path / "out.yaml"
    assert cli("eval", "export-index", "example-2026", "-o", str(yaml_out)).exit_code == 0
    original = indexfile.parse_yaml(EXAMPLE_INDEX.read_text(encoding="utf-8"))
    assert indexfile.parse_yaml(yaml_out.read_text(encoding="utf-8")) == original
    xlsx_out = tmp_path / "out.xlsx"
    exported = cli("eval", "export-index", "example-2026", "--format", "xlsx", "-o", str(xlsx_out))
    assert exported.exit_code == 0
    assert indexfile.parse_xlsx(xlsx_out.read_bytes()) == original
    again = cli("eval", "import-index", str(xlsx_out))
    assert again.exit_code == 2
    assert "example-2026" in again.stderr and "already exists" in again.stderr


def test_a_bad_index_file_is_refused_with_its_places(cli: Cli, tmp_path: Path) -> None:
    assert cli("db", "upgrade").exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE_INDEX.read_text(encoding="utf-8")
        .replace("max_points: 4\n            per_finding: 0.5\n            location_types: "
                 "[main_road, commercial_street, back_lane]",
                 "max_points: 4\n            location_types: [main_road, moon]")
        .replace("code: example-2026", "code: bad"),
        encoding="utf-8",
    )  # fmt: skip
    result = cli("eval", "import-index", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "bad.yaml: projects[0].contents[0].items[0].per_finding: is required",
        "Nothing was imported: 1 problem. Fix them and run the import again.",
    ]
    fixed = bad.read_text(encoding="utf-8").replace(
        "max_points: 4\n            location_types: [main_road, moon]",
        "max_points: 4\n            per_finding: 1\n            location_types: [main_road, moon]",
    )
    bad.write_text(fixed, encoding="utf-8")
    result = cli("eval", "import-index", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(
        "bad.yaml: item JC0101, location_types: unknown location type 'moon'; use one of: "
    )
    assert cli.count("eval_index_version") == 0


def test_draw_refuses_an_external_participant_and_an_unknown_round(
    cli: Cli, tmp_path: Path
) -> None:
    prepared(cli, tmp_path)
    external = cli("eval", "draw", "--round", "2022H1", "--participant", "A", "--per-type", "2")
    assert external.exit_code == 2
    assert external.stderr == (
        "Error: Participant A is external: it has no inspection points here to "
        "draw from. Import its scores instead.\n"
    )
    unknown = cli("eval", "draw", "--round", "2031H1", "--participant", "A", "--per-type", "2")
    assert (unknown.exit_code, unknown.stderr) == (2, "Error: No round '2031H1'.\n")
    assert cli.count("eval_sampling_plan") == 0
    neither = cli("eval", "rank")
    assert (neither.exit_code, neither.stderr) == (
        2,
        "Error: give either --year YEAR or --cycle CODE\n",
    )
    no_cycle = cli("eval", "rank", "--cycle", "c9")
    assert no_cycle.stderr.startswith("Error: No cycle 'c9'")
