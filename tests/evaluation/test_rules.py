"""Golden tests of the scoring maths: deductions, re-weighting (the worked example of
docs/evaluation.md), method weights, year and cycle combinations, ranking ties, survey points."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from wenming.evaluation.rules import (
    Combine,
    Entry,
    Item,
    Method,
    ScoringError,
    TieBreak,
    TieBreakKind,
    combine,
    deduction,
    item_points,
    parse_points,
    parse_tie_break,
    rank,
    rounded,
    score_round,
    survey_points,
)

# The worked example of docs/evaluation.md (points in hundredths).
EXAMPLE = [
    Item("F1", Method.FIELD, 10_00, "P1", "C1", frozenset({"main_road"})),
    Item("F2", Method.FIELD, 6_00, "P1", "C2", frozenset({"market"})),
    Item("F3", Method.FIELD, 4_00, "P2", "C3", frozenset({"park", "square"})),
    Item("S1", Method.SURVEY, 10_00, "P2", "C4"),
    Item("M1", Method.MATERIAL, 10_00, "P3", "C5"),
]
EXAMPLE_SCORES = {"F1": 8_00, "F3": 3_00, "S1": 9_00, "M1": 7_00}
NO_MARKET = ["market"]


def test_parse_points_is_exact_and_refuses_more_than_two_decimals() -> None:
    assert parse_points("12.5") == 1250
    assert parse_points("0.01") == 1
    assert parse_points(" 7 ") == 700
    assert parse_points(Decimal("3.10")) == 310
    for bad in ("1.234", "abc", "NaN", "inf", ""):
        with pytest.raises(ScoringError):
            parse_points(bad)


def test_rounding_is_half_up_to_two_decimals() -> None:
    assert rounded(Fraction(12345, 1000)) == Decimal("12.35")
    assert rounded(Fraction(12344, 1000)) == Decimal("12.34")
    assert rounded(Fraction(-12345, 1000)) == Decimal("-12.35")
    assert rounded(Fraction(110, 7)) == Decimal("15.71")  # 15.714285...
    assert str(rounded(Fraction(5))) == "5.00"


def test_deduction_is_points_per_finding_capped_at_the_max() -> None:
    assert deduction(5_00, 50, 0) == 0
    assert deduction(5_00, 50, 3) == 1_50
    assert deduction(5_00, 2_00, 3) == 5_00  # 6 points capped at 5
    assert item_points(5_00, 2_00, 2) == 1_00
    assert item_points(5_00, 2_00, 9) == 0
    with pytest.raises(ScoringError):
        deduction(5_00, 50, -1)


def test_survey_points_are_max_times_rate_rounded_half_up() -> None:
    assert survey_points(10_00, 87_50) == 8_75
    assert survey_points(3_00, 33_33) == 1_00  # 0.9999 → 1.00
    assert survey_points(7_00, 12_35) == 86  # 0.8645 → 0.86
    assert survey_points(7_00, 12_36) == 87  # 0.8652 → 0.87
    assert survey_points(10_00, 100_00) == 10_00
    with pytest.raises(ScoringError):
        survey_points(10_00, 100_01)


def test_worked_example_reweights_the_missing_location_type_over_the_rest_of_its_method() -> None:
    result = score_round(EXAMPLE, EXAMPLE_SCORES, absent_types=NO_MARKET)
    field = result.methods[Method.FIELD]
    assert (field.nominal_max, field.applicable_max, field.earned) == (20_00, 14_00, 11_00)
    assert field.scale == Fraction(20, 14)
    assert field.score == Fraction(110, 7)  # 11 × 20 / 14 = 15.714285...
    assert rounded(field.score) == Decimal("15.71")
    assert result.not_applicable == frozenset({"F2"})
    assert result.item_score("F2") is None
    assert rounded(result.item_score("F1") or 0) == Decimal("11.43")  # 8 × 20 / 14
    assert rounded(result.item_score("F3") or 0) == Decimal("4.29")  # 3 × 20 / 14
    assert result.methods[Method.SURVEY].score == 9
    assert result.methods[Method.MATERIAL].score == 7
    assert result.total == Fraction(110, 7) + 16
    assert result.published == Decimal("31.71")
    assert {k: rounded(v) for k, v in result.by_project().items()} == {
        "P1": Decimal("11.43"),
        "P2": Decimal("13.29"),
        "P3": Decimal("7.00"),
    }
    assert rounded(result.by_content()[("P1", "C2")]) == Decimal("0.00")


def test_worked_example_with_method_weights_40_20_40() -> None:
    weights = {Method.FIELD: 40_00, Method.SURVEY: 20_00, Method.MATERIAL: 40_00}
    result = score_round(EXAMPLE, EXAMPLE_SCORES, weights=weights, absent_types=NO_MARKET)
    assert result.methods[Method.FIELD].score == Fraction(11 * 40, 14)  # 31.428571...
    assert result.methods[Method.SURVEY].score == 18
    assert result.methods[Method.MATERIAL].score == 28
    assert result.published == Decimal("77.43")


def test_without_absent_types_nothing_is_reweighted() -> None:
    result = score_round(EXAMPLE, EXAMPLE_SCORES)
    assert result.methods[Method.FIELD].scale == 1
    assert result.published == Decimal("27.00")  # 8 + 0 + 3 + 9 + 7


def test_an_item_with_several_types_applies_while_one_of_them_exists() -> None:
    result = score_round(EXAMPLE, EXAMPLE_SCORES, absent_types=["park"])
    assert result.not_applicable == frozenset()
    result = score_round(EXAMPLE, EXAMPLE_SCORES, absent_types=["park", "square", "market"])
    assert result.not_applicable == frozenset({"F2", "F3"})
    assert result.methods[Method.FIELD].score == 8 * Fraction(20, 10)


def test_scores_outside_the_item_range_and_missing_weights_are_refused() -> None:
    with pytest.raises(ScoringError, match="item F1"):
        score_round(EXAMPLE, {"F1": 10_01})
    with pytest.raises(ScoringError, match="material"):
        score_round(EXAMPLE, {}, weights={Method.FIELD: 50_00, Method.SURVEY: 50_00})
    with pytest.raises(ScoringError, match="data"):
        score_round(
            EXAMPLE,
            {},
            weights={Method.FIELD: 1, Method.SURVEY: 1, Method.MATERIAL: 1, Method.DATA: 1},
        )
    with pytest.raises(ScoringError, match="no applicable item"):
        score_round(EXAMPLE, {}, absent_types=["main_road", "market", "park", "square"])


def test_rounds_sum_into_the_year() -> None:
    totals = {"2022H1": Decimal("88.15"), "2022H2": Decimal("90.27")}
    assert combine(totals, Combine.SUM) == Decimal("178.42")


def test_weighted_year_and_a_15_25_60_cycle() -> None:
    halves = {"2022H1": Decimal("80.00"), "2022H2": Decimal("91.00")}
    assert combine(
        halves, Combine.WEIGHTED, {"2022H1": Decimal(1), "2022H2": Decimal(1)}
    ) == Decimal("85.50")
    years = {"2018": Decimal("80.00"), "2019": Decimal("85.00"), "2020": Decimal("90.00")}
    weights = {"2018": Decimal(15), "2019": Decimal(25), "2020": Decimal(60)}
    # 0.15 × 80 + 0.25 × 85 + 0.6 × 90 = 12 + 21.25 + 54
    assert combine(years, Combine.WEIGHTED, weights) == Decimal("87.25")
    fractions = {k: v / 100 for k, v in weights.items()}
    assert combine(years, Combine.WEIGHTED, fractions) == Decimal("87.25")
    # A year without a total counts as 0.
    assert combine({"2020": Decimal("90.00")}, Combine.WEIGHTED, weights) == Decimal("54.00")
    with pytest.raises(ScoringError, match="2021"):
        combine({**years, "2021": Decimal(1)}, Combine.WEIGHTED, weights)


def test_standard_competition_ranking_within_each_category() -> None:
    entries = [
        Entry("A", "其他城区类", Decimal("90.00")),
        Entry("B", "其他城区类", Decimal("95.50")),
        Entry("C", "其他城区类", Decimal("90.00")),
        Entry("D", "其他城区类", Decimal("80.00")),
        Entry("E", "地级市", Decimal("70.00")),
        Entry("F", "地级市", Decimal("70.00")),
    ]
    ranked = rank(entries, ["地级市", "其他城区类"])
    assert [(r.entry.category, r.rank, r.entry.code) for r in ranked] == [
        ("地级市", 1, "E"),
        ("地级市", 1, "F"),
        ("其他城区类", 1, "B"),
        ("其他城区类", 2, "A"),
        ("其他城区类", 2, "C"),
        ("其他城区类", 4, "D"),
    ]


def test_tie_breaks_split_ties_in_their_order_and_equal_ones_still_share() -> None:
    entries = [
        Entry("A", "x", Decimal("90.00"), (Decimal("44.00"), Decimal("1"))),
        Entry("B", "x", Decimal("90.00"), (Decimal("46.00"), Decimal("0"))),
        Entry("C", "x", Decimal("90.00"), (Decimal("44.00"), Decimal("1"))),
        Entry("D", "x", Decimal("90.00"), (Decimal("44.00"), Decimal("2"))),
    ]
    assert [(r.rank, r.entry.code) for r in rank(entries)] == [
        (1, "B"),
        (2, "D"),
        (3, "A"),
        (3, "C"),
    ]


def test_tie_break_texts() -> None:
    assert parse_tie_break("round:2022H2") == TieBreak(TieBreakKind.ROUND, "2022H2")
    assert parse_tie_break("method:field") == TieBreak(TieBreakKind.METHOD, "field")
    assert parse_tie_break("latest") == TieBreak(TieBreakKind.LATEST)
    assert str(parse_tie_break("round:2022H2")) == "round:2022H2"
    for bad in ("alphabet", "round", "method:vibes", "latest:x"):
        with pytest.raises(ScoringError):
            parse_tie_break(bad)
