"""Charts drawn on the server as SVG text (pure): the totals of a bulletin as bars grouped by
category, and a radar of the six areas for one participant against its category's average.
Only presentation attributes are used (no ``style``), so the pages keep a strict CSP."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#b22222", "#1f5f8b", "#2e7d32", "#8e5a00", "#6a1b9a", "#00695c", "#455a64")
AVERAGE_COLOUR = "#1f5f8b"
PARTICIPANT_COLOUR = "#b22222"


def _num(value: float) -> str:
    return f"{value:.1f}"


def bars(groups: Sequence[tuple[str, Sequence[tuple[str, Decimal]]]], *, title: str) -> Markup:
    """Horizontal bars, one per participant, grouped under their category's name; every bar is
    labelled with its total so that the chart reads without colour."""
    label_w, bar_w, row_h, head_h = 190, 360, 22, 26
    top = max((v for _, rows in groups for _, v in rows), default=Decimal(0))
    scale = float(top) if top > 0 else 1.0
    height = sum(head_h + row_h * len(rows) for _, rows in groups) + 10
    width = label_w + bar_w + 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-bars" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    y = 0
    for index, (category, rows) in enumerate(groups):
        colour = PALETTE[index % len(PALETTE)]
        y += head_h
        parts.append(
            f'<text x="0" y="{y - 8}" font-size="14" font-weight="bold" fill="#222">'
            f"{escape(category)}</text>"
        )
        for name, value in rows:
            length = bar_w * float(value) / scale
            parts.append(
                f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end" '
                f'fill="#222">{escape(name)}</text>'
                f'<rect x="{label_w}" y="{y + 3}" width="{_num(length)}" height="{row_h - 6}" '
                f'fill="{colour}"><title>{escape(name)}: {value}</title></rect>'
                f'<text x="{_num(label_w + length + 4)}" y="{y + 15}" font-size="12" '
                f'fill="#222">{value}</text>'
            )
            y += row_h
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped


def _polygon(values: Sequence[float], cx: float, cy: float, radius: float) -> str:
    count = len(values)
    corners = []
    for i, value in enumerate(values):
        angle = -math.pi / 2 + 2 * math.pi * i / count
        r = radius * max(0.0, min(100.0, value)) / 100
        corners.append(f"{_num(cx + r * math.cos(angle))},{_num(cy + r * math.sin(angle))}")
    return " ".join(corners)


def radar(
    axes: Sequence[str],
    participant: Sequence[float],
    average: Sequence[float],
    *,
    title: str,
    participant_label: str,
    average_label: str,
) -> Markup:
    """A radar (0–100 % of each area's maximum): the participant against the category average."""
    size, radius = 420, 140
    cx, cy = size / 2, size / 2 + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-radar" role="img" '
        f'viewBox="0 0 {size} {size + 40}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    count = len(axes)
    if count:
        for ring in (25, 50, 75, 100):
            parts.append(
                f'<polygon points="{_polygon([ring] * count, cx, cy, radius)}" fill="none" '
                f'stroke="#ccc" stroke-width="1"/>'
            )
        for i, axis in enumerate(axes):
            angle = -math.pi / 2 + 2 * math.pi * i / count
            x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            lx, ly = cx + (radius + 22) * math.cos(angle), cy + (radius + 22) * math.sin(angle)
            anchor = "middle" if abs(lx - cx) < 5 else ("start" if lx > cx else "end")
            parts.append(
                f'<line x1="{_num(cx)}" y1="{_num(cy)}" x2="{_num(x)}" y2="{_num(y)}" '
                f'stroke="#ccc" stroke-width="1"/>'
                f'<text x="{_num(lx)}" y="{_num(ly + 4)}" font-size="13" '
                f'text-anchor="{anchor}" fill="#222">{escape(axis)}</text>'
            )
        parts.append(
            f'<polygon points="{_polygon(average, cx, cy, radius)}" fill="{AVERAGE_COLOUR}" '
            f'fill-opacity="0.15" stroke="{AVERAGE_COLOUR}" stroke-width="2" '
            f'stroke-dasharray="6 4" data-series="average"/>'
            f'<polygon points="{_polygon(participant, cx, cy, radius)}" '
            f'fill="{PARTICIPANT_COLOUR}" fill-opacity="0.2" stroke="{PARTICIPANT_COLOUR}" '
            f'stroke-width="2" data-series="participant"/>'
        )
    legend_y = size + 25
    parts.append(
        f'<rect x="20" y="{legend_y - 10}" width="14" height="10" fill="{PARTICIPANT_COLOUR}"/>'
        f'<text x="40" y="{legend_y}" font-size="13" fill="#222">{escape(participant_label)}'
        f"</text>"
        f'<rect x="220" y="{legend_y - 10}" width="14" height="10" fill="{AVERAGE_COLOUR}"/>'
        f'<text x="240" y="{legend_y}" font-size="13" fill="#222">{escape(average_label)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped
