"""A ranking as CSV, JSON or an Excel workbook, a bulletin as a workbook or a PDF (pure): the
columns are fixed and documented."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook

from wenming.evaluation.bulletin import Bulletin
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


def _bulletin_header(bulletin: Bulletin) -> list[str]:
    return ["rank", "participant_code", "participant_name", *bulletin.columns, "total"]


def bulletin_xlsx(bulletin: Bulletin) -> bytes:
    """A bulletin as a workbook: one sheet per category (named by its code) with the table's
    columns, scores as numbers with 2 decimals."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for table in bulletin.tables:
        sheet = book.create_sheet(table.code[:31])
        sheet.append([f"{bulletin.title} · {table.name_zh}"])
        sheet.append(_bulletin_header(bulletin))
        for row in table.rows:
            sheet.append(
                [
                    row.rank,
                    row.code,
                    row.name,
                    *(float(v) if v is not None else None for v in row.values),
                    float(row.total),
                ]
            )
        for line in sheet.iter_rows(min_row=3):
            for cell in line[3:]:
                cell.number_format = "0.00"
    if not bulletin.tables:
        book.create_sheet("empty").append([bulletin.title])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PDF_FONT = "STSong-Light"  # reportlab's built-in CJK font (Adobe-GB1): no font file needed


def bulletin_pdf(bulletin: Bulletin) -> bytes:
    """A bulletin as an A4 PDF: the title, then each category's ranking table."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=16, leading=22)
    subheading = ParagraphStyle("subheading", fontName=PDF_FONT, fontSize=12, leading=18)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=bulletin.title,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    story: list[Any] = [Paragraph(f"{escape(bulletin.title)} 测评结果通报", heading)]
    for table in bulletin.tables:
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(f"{escape(table.name_zh)}（{escape(table.name_en)}）", subheading))
        data: list[list[str]] = [["名次", "代码", "名称", *bulletin.columns, "总分"]]
        data.extend(
            [
                str(row.rank),
                row.code,
                row.name,
                *(_cell(v) for v in row.values),
                _cell(row.total),
            ]
            for row in table.rows
        )
        grid = PdfTable(data, repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1e4e4")),
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
                ]
            )
        )
        story.append(grid)
    document.build(story)
    return buffer.getvalue()
