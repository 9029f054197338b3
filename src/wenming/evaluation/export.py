"""A ranking as CSV, JSON or an Excel workbook (pure): the columns are fixed and documented."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from openpyxl import Workbook

from wenming.evaluation.schemas import RankingOut


def header(table: RankingOut) -> list[str]:
    """``rank,participant_code,participant_name,category,<one column per round>,total``."""
    return ["rank", "participant_code", "participant_name", "category", *table.columns, "total"]


def _cell(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def rows(table: RankingOut) -> list[list[str]]:
    """The data rows as text, scores with 2 decimals, in the table's order (category, rank)."""
    return [
        [
            str(row.rank),
            row.participant_code,
            row.participant_name,
            row.category_name,
            *(_cell(row.rounds.get(code)) for code in table.columns),
            _cell(row.total),
        ]
        for row in table.rows
    ]


def to_csv(table: RankingOut) -> str:
    """One header row, then one row per participant (RFC 4180, ``\\r\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(table))
    writer.writerows(rows(table))
    return buffer.getvalue()


def to_json(table: RankingOut) -> str:
    """The ranking as JSON; scores are 2-decimal strings so that nothing is lost to floats."""
    return json.dumps(table.model_dump(mode="json"), ensure_ascii=False, indent=2)


def to_xlsx(table: RankingOut) -> bytes:
    """The ranking as a one-sheet workbook with the CSV's columns (scores as numbers)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"ranking {table.period}"
    sheet.append(header(table))
    for row in table.rows:
        sheet.append(
            [
                row.rank,
                row.participant_code,
                row.participant_name,
                row.category_name,
                *(
                    float(v) if (v := row.rounds.get(code)) is not None else None
                    for code in table.columns
                ),
                float(row.total),
            ]
        )
    for line in sheet.iter_rows(min_row=2):
        for cell in line[4:]:
            cell.number_format = "0.00"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
