"""Index files: every problem is named by its place; YAML and Excel read back what they wrote."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.evaluation.support import SMALL_INDEX
from wenming.evaluation import indexfile
from wenming.evaluation.indexfile import FileRefused
from wenming.evaluation.rules import Method


def problems_of(text: str) -> list[str]:
    with pytest.raises(FileRefused) as refused:
        indexfile.parse_yaml(text)
    return [str(p) for p in refused.value.problems]


def test_small_index_reads_with_exact_points() -> None:
    spec = indexfile.parse_yaml(SMALL_INDEX)
    assert spec.code == "test-2022"
    f3 = spec.items()[2][2]
    assert (f3.code, f3.method, f3.max_points, f3.per_finding, f3.location_types) == (
        "F3",
        Method.FIELD,
        400,
        50,
        ("park", "square"),
    )
    assert [i.code for _, _, i in spec.items()] == ["F1", "F2", "F3", "S1", "M1"]


def test_yaml_problems_name_their_path() -> None:
    text = """
code: v1
name: test
projects:
  - code: P
    name: p
    contents:
      - code: C
        name: c
        items:
          - code: A
            text: a
            method: field
            max_points: 0
            location_types: []
          - code: A
            text: b
            method: vibes
            max_points: 1.234
          - code: B
            text: c
            method: survey
            max_points: 2
            per_finding: 1
            location_types: [park]
            colour: red
"""
    assert problems_of(text) == [
        "projects[0].contents[0].items[0].max_points: must be more than 0 points",
        "projects[0].contents[0].items[0].per_finding: is required",
        "projects[0].contents[0].items[0].location_types: a field item needs at least one "
        "location type",
        "projects[0].contents[0].items[1].code: item code 'A' is already used at "
        "projects[0].contents[0].items[0].code",
        "projects[0].contents[0].items[1].method: unknown method 'vibes'; use field, survey, "
        "material, data",
        "projects[0].contents[0].items[1].max_points: '1.234' has more than 2 decimals; give "
        "points with at most 2 decimals",
        "projects[0].contents[0].items[2].colour: unknown field; use code, location_types, "
        "max_points, method, per_finding, text",
        "projects[0].contents[0].items[2].location_types: only field items name location types",
        "projects[0].contents[0].items[2].per_finding: only field items deduct per finding",
    ]


def test_broken_yaml_and_missing_parts() -> None:
    assert problems_of("code: [unclosed") == ["line 1, column 16: is not valid YAML"]
    assert problems_of("code: v\nname: n\nprojects: []\n") == ["projects: must be a non-empty list"]
    assert problems_of("- a list\n") == [
        "file: must be a mapping of fields",
        "code: is required",
        "name: is required",
        "projects: must be a non-empty list",
    ]


def test_yaml_round_trip() -> None:
    spec = indexfile.parse_yaml(SMALL_INDEX)
    assert indexfile.parse_yaml(indexfile.to_yaml(spec)) == spec


def test_xlsx_round_trip_and_row_problems() -> None:
    spec = indexfile.parse_yaml(SMALL_INDEX)
    data = indexfile.to_xlsx(spec)
    assert indexfile.parse_xlsx(data) == spec
    book = load_workbook(io.BytesIO(data))
    sheet = book["items"]
    sheet["H3"] = "-2"  # row 3 is F2's max_points
    sheet["G4"] = "vibes"  # row 4 is F3's method
    sheet["B5"] = "另一个名字"  # S1, the first row of project SZ; M1 (row 6) disagrees
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(FileRefused) as refused:
        indexfile.parse_xlsx(buffer.getvalue())
    assert [str(p) for p in refused.value.problems] == [
        "items row 3, max_points: must be more than 0 points",
        "items row 4, method: unknown method 'vibes'; use field, survey, material, data",
        "items row 6, project_name: project SZ is named '另一个名字' above",
    ]


def test_a_workbook_without_the_sheets_or_not_a_workbook_is_refused() -> None:
    book = Workbook()
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(FileRefused) as refused:
        indexfile.parse_xlsx(buffer.getvalue())
    assert [str(p) for p in refused.value.problems] == [
        "sheet version: is missing from the workbook",
        "sheet items: is missing from the workbook",
    ]
    with pytest.raises(FileRefused, match="1 problem"):
        indexfile.parse_xlsx(b"not a zip")


def test_a_yaml_code_written_as_a_number_must_be_quoted() -> None:
    text = SMALL_INDEX.replace("code: F1", "code: 0101")
    assert problems_of(text) == [
        "projects[0].contents[0].items[0].code: reads as the number 65 in YAML; write codes in "
        "quotes (e.g. code: '0101') so that they stay as written"
    ]
