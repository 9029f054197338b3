"""Server-drawn SVG charts: text is escaped, bars scale to the largest total, the radar puts
100 % on the outer ring, and nothing needs a style attribute (strict CSP)."""

from __future__ import annotations

import re
from decimal import Decimal

from wenming.evaluation import charts


def test_bars_scale_to_the_largest_total_and_escape_names() -> None:
    svg = charts.bars(
        [("其他城区类", [("大洼区", Decimal("90.00")), ("<b>x</b>", Decimal("45.00"))])],
        title="各类别总分",
    )
    widths = re.findall(r'<rect x="190" y="[\d.]+" width="([\d.]+)"', svg)
    assert widths == ["360.0", "180.0"]
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>" not in svg
    assert "style=" not in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_the_radar_puts_full_marks_on_the_outer_ring() -> None:
    svg = charts.radar(
        ["A", "B", "C", "D"],
        [100.0, 50.0, 0.0, 150.0],
        [50.0, 50.0, 50.0, 50.0],
        title="t",
        participant_label="甲",
        average_label="平均",
    )
    found = re.search(r'<polygon points="([^"]+)"[^>]*data-series="participant"', svg)
    assert found is not None
    corners = [tuple(map(float, p.split(","))) for p in found.group(1).split()]
    # Centre (210, 220), radius 140: A up at full, B right at half, C at the centre, D capped.
    assert corners == [(210.0, 80.0), (280.0, 220.0), (210.0, 220.0), (70.0, 220.0)]
    assert 'data-series="average"' in svg
    assert "style=" not in svg
