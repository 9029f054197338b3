"""The scoring maths of an evaluation (测评), pure: no I/O, no clock, exact arithmetic.

Points enter and leave as exact hundredths (an ``int`` of 0.01 points, e.g. 12.5 points is 1250),
so sums of item points are exact integer sums. Where a ratio is needed (re-weighting, method
weights, weighted year or cycle combinations) the value is kept as an exact ``Fraction`` and
rounded only once, on output, to 2 decimals with ROUND_HALF_UP (四舍五入). A round total is
published rounded; year and cycle totals are computed from the published round (year) totals, so
every published table adds up. See docs/evaluation.md for the formulas and a worked example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

HUNDREDTH = Decimal("0.01")
MAX_POINTS = 10_000_00  # no item, method or weight is worth more than 10,000 points
K = TypeVar("K")


class Method(StrEnum):
    """How an item is assessed."""

    FIELD = "field"  # 实地考察
    SURVEY = "survey"  # 问卷调查
    MATERIAL = "material"  # 材料审核
    DATA = "data"  # 数据指标


class Combine(StrEnum):
    """How the round totals of a year (or the year totals of a cycle) combine."""

    SUM = "sum"  # Liaoning: the two half-year scores are added
    WEIGHTED = "weighted"  # Σ weight × total / Σ weight (e.g. years 15/25/60 over a cycle)


class ScoringError(ValueError):
    """Input the maths cannot score; the message says what to fix."""


def parse_points(value: str | int | Decimal) -> int:
    """Points as exact hundredths; refuses more than 2 decimals, NaN and infinities."""
    text = str(value).strip()
    try:
        number = value if isinstance(value, Decimal) else Decimal(text)
    except InvalidOperation:
        raise ScoringError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ScoringError(f"{text!r} is not a finite number")
    scaled = number * 100
    if scaled != scaled.to_integral_value():
        raise ScoringError(f"{text!r} has more than 2 decimals")
    return int(scaled)


def points(hundredths: int) -> Decimal:
    """Exact hundredths as a 2-decimal Decimal (1250 → Decimal('12.50'))."""
    return (Decimal(hundredths) / 100).quantize(HUNDREDTH)


def rounded(value: Fraction | int) -> Decimal:
    """An exact value in points rounded half away from zero to 2 decimals (ROUND_HALF_UP)."""
    exact = Fraction(value) * 100
    magnitude = abs(exact)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return points(whole if exact >= 0 else -whole)


def to_fraction(value: Decimal) -> Fraction:
    """A Decimal as an exact Fraction."""
    return Fraction(value)


def quantized(value: Decimal) -> Decimal:
    """A Decimal rounded half-up to 2 decimals."""
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


# --- items ----------------------------------------------------------------------------------


def deduction(max_points: int, per_finding: int, findings: int) -> int:
    """Points lost for ``findings`` findings at ``per_finding`` each, never more than the max."""
    if findings < 0:
        raise ScoringError("the number of findings cannot be negative")
    if per_finding < 0 or max_points < 0:
        raise ScoringError("points cannot be negative")
    return min(max_points, per_finding * findings)


def item_points(max_points: int, per_finding: int, findings: int) -> int:
    """Points an item keeps after its deductions (hundredths)."""
    return max_points - deduction(max_points, per_finding, findings)


def survey_points(max_points: int, rate: int) -> int:
    """A survey item's points from the favourable rate of its question.

    ``rate`` is a percentage in hundredths (87.5 % is 8750); points = max × rate / 100, rounded
    half-up to 0.01 points.
    """
    if not 0 <= rate <= 100_00:
        raise ScoringError("a rate lies between 0 and 100 percent")
    exact = Fraction(max_points * rate, 100_00)
    whole = int(exact)
    if exact - whole >= Fraction(1, 2):
        whole += 1
    return whole


@dataclass(frozen=True)
class Item:
    """A leaf item (测评标准) as the maths sees it; points in hundredths."""

    code: str
    method: Method
    max_points: int
    project: str = ""
    content: str = ""
    location_types: frozenset[str] = frozenset()

    def applies(self, absent_types: frozenset[str]) -> bool:
        """Whether the item is assessed in a participant lacking ``absent_types``.

        A field item applies unless every location type it names is absent there.
        """
        if self.method is not Method.FIELD or not self.location_types:
            return True
        return not self.location_types <= absent_types


# --- a round --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodResult:
    """One method's part of a round total.

    ``scale`` turns earned hundredths of points into the method's score: the method's worth
    (its weight, or without weights its nominal maximum) over the maximum of its applicable items.
    """

    method: Method
    nominal_max: int
    applicable_max: int
    earned: int
    worth: Fraction
    scale: Fraction

    @property
    def score(self) -> Fraction:
        """The method's exact score in points."""
        return self.earned * self.scale / 100


@dataclass(frozen=True)
class RoundResult:
    """A participant's exact round total and how it is made up."""

    methods: dict[Method, MethodResult]
    obtained: dict[str, int]
    not_applicable: frozenset[str]
    items: tuple[Item, ...] = field(repr=False)

    @property
    def total(self) -> Fraction:
        """The exact round total in points."""
        return sum((m.score for m in self.methods.values()), Fraction(0))

    @property
    def published(self) -> Decimal:
        """The round total as published: rounded to 2 decimals."""
        return rounded(self.total)

    def item_score(self, code: str) -> Fraction | None:
        """An item's contribution to the total after re-weighting; None where not applicable."""
        if code in self.not_applicable:
            return None
        item = next(i for i in self.items if i.code == code)
        return self.obtained.get(code, 0) * self.methods[item.method].scale / 100

    def by_project(self) -> dict[str, Fraction]:
        """Exact contributions summed per project (测评项目), in index order."""
        return self._grouped(lambda i: i.project)

    def by_content(self) -> dict[tuple[str, str], Fraction]:
        """Exact contributions summed per (project, content) (测评内容), in index order."""
        return self._grouped(lambda i: (i.project, i.content))

    def _grouped(self, key: Callable[[Item], K]) -> dict[K, Fraction]:
        totals: dict[K, Fraction] = {}
        for item in self.items:
            share = Fraction(0)
            if item.code not in self.not_applicable:
                share = self.obtained.get(item.code, 0) * self.methods[item.method].scale / 100
            totals[key(item)] = totals.get(key(item), Fraction(0)) + share
        return totals


def score_round(
    items: Sequence[Item],
    obtained: Mapping[str, int],
    *,
    weights: Mapping[Method, int] | None = None,
    absent_types: Iterable[str] = (),
) -> RoundResult:
    """Score one participant's round: item → content → project → method → total.

    ``obtained`` maps item codes to points kept (hundredths); an item without a score earns 0.
    Items that do not apply (location types absent in the participant) drop out and their points
    are spread over the method's other items in proportion to their maxima. With ``weights``
    (hundredths of points per method) a method is worth its weight; without, its nominal maximum.
    """
    absent = frozenset(absent_types)
    nominal: dict[Method, int] = {}
    applicable: dict[Method, int] = {}
    earned: dict[Method, int] = {}
    skipped: set[str] = set()
    for item in items:
        nominal[item.method] = nominal.get(item.method, 0) + item.max_points
        got = obtained.get(item.code, 0)
        if got < 0 or got > item.max_points:
            raise ScoringError(
                f"item {item.code}: {points(got)} points lie outside 0 to {points(item.max_points)}"
            )
        if not item.applies(absent):
            skipped.add(item.code)
            continue
        applicable[item.method] = applicable.get(item.method, 0) + item.max_points
        earned[item.method] = earned.get(item.method, 0) + got
    if weights is not None:
        unweighted = sorted(m.value for m in nominal if m not in weights)
        if unweighted:
            raise ScoringError(f"no weight for method(s) {', '.join(unweighted)} of the index")
        idle = sorted(m.value for m, w in weights.items() if m not in nominal and w)
        if idle:
            raise ScoringError(f"weight given for method(s) {', '.join(idle)} without items")
    methods: dict[Method, MethodResult] = {}
    for method in Method:
        if method not in nominal:
            continue
        if not applicable.get(method):
            raise ScoringError(f"method {method.value} has no applicable item to score")
        worth = Fraction(weights[method] if weights is not None else nominal[method])
        methods[method] = MethodResult(
            method=method,
            nominal_max=nominal[method],
            applicable_max=applicable[method],
            earned=earned[method],
            worth=worth,
            scale=worth / applicable[method],
        )
    return RoundResult(
        methods=methods,
        obtained=dict(obtained),
        not_applicable=frozenset(skipped),
        items=tuple(items),
    )


# --- years and cycles -----------------------------------------------------------------------


def combine(
    totals: Mapping[str, Decimal],
    rule: Combine,
    weights: Mapping[str, Decimal] | None = None,
) -> Decimal:
    """Combine published totals (rounds into a year, or years into a cycle), rounded to 0.01.

    ``sum`` adds them. ``weighted`` is Σ weight × total / Σ weight over the weights given, so
    15/25/60 and 0.15/0.25/0.6 mean the same; a part without a total counts as 0.
    """
    if rule is Combine.SUM:
        return quantized(sum(totals.values(), Decimal(0)))
    if not weights:
        raise ScoringError("a weighted combination needs a weight per part")
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ScoringError("weights must be non-negative and not all zero")
    strays = sorted(set(totals) - set(weights))
    if strays:
        raise ScoringError(f"no weight for {', '.join(strays)}")
    exact = sum(
        (to_fraction(w) * to_fraction(totals.get(k, Decimal(0))) for k, w in weights.items()),
        Fraction(0),
    )
    return rounded(exact / to_fraction(sum(weights.values(), Decimal(0))))


# --- ranking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A participant to rank: its category, its total and its tie-break values (higher wins)."""

    code: str
    category: str
    total: Decimal
    tie_values: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class Ranked:
    """An entry with its standard competition rank inside its category."""

    rank: int
    entry: Entry


def rank(entries: Iterable[Entry], category_order: Sequence[str] = ()) -> list[Ranked]:
    """Rank within each category, highest first, with standard competition ranking (1, 2, 2, 4).

    Entries tie when their total and every tie-break value are equal; tied entries share a rank
    and are listed by code. Categories come in ``category_order``, unknown ones after, by name.
    """
    position = {name: i for i, name in enumerate(category_order)}
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.category, []).append(entry)
    ordered = sorted(groups, key=lambda c: (position.get(c, len(position)), c))
    result: list[Ranked] = []
    for category in ordered:
        members = sorted(
            groups[category],
            key=lambda e: (tuple(-v for v in (e.total, *e.tie_values)), e.code),
        )
        previous: tuple[Decimal, ...] | None = None
        current = 0
        for index, entry in enumerate(members, start=1):
            key = (entry.total, *entry.tie_values)
            if key != previous:
                current = index
                previous = key
            result.append(Ranked(current, entry))
    return result


class TieBreakKind(StrEnum):
    """What breaks a tie on the total, in the configured order."""

    ROUND = "round"  # the higher total of one named round
    METHOD = "method"  # the higher year score of one method (summed over the rounds)
    LATEST = "latest"  # the higher total of the year's last round


@dataclass(frozen=True)
class TieBreak:
    """One configured tie-break, e.g. ``round:2022H2``, ``method:field`` or ``latest``."""

    kind: TieBreakKind
    argument: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.argument}" if self.argument else self.kind.value


def parse_tie_break(text: str) -> TieBreak:
    """A tie-break from its text form; refuses unknown kinds and missing arguments."""
    kind_text, _, argument = text.strip().partition(":")
    try:
        kind = TieBreakKind(kind_text)
    except ValueError:
        raise ScoringError(
            f"unknown tie-break {text!r}; use round:<code>, method:<method> or latest"
        ) from None
    if kind is TieBreakKind.LATEST:
        if argument:
            raise ScoringError("the tie-break 'latest' takes no argument")
        return TieBreak(kind)
    if not argument:
        raise ScoringError(f"the tie-break {kind.value!r} needs an argument, e.g. {kind.value}:X")
    if kind is TieBreakKind.METHOD and argument not in {m.value for m in Method}:
        raise ScoringError(f"unknown method {argument!r} in tie-break {text!r}")
    return TieBreak(kind, argument)


# --- a whole year ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundPlan:
    """A round as the year's ranking needs it: its code, method weights and year weight."""

    code: str
    weights: Mapping[Method, int] | None = None
    weight: Decimal | None = None


@dataclass(frozen=True)
class YearTable:
    """Published round totals (None: no score at all in that round), year totals and ranks."""

    rounds: tuple[str, ...]
    round_totals: dict[str, dict[str, Decimal | None]]
    totals: dict[str, Decimal]
    ranked: list[Ranked]


@dataclass(frozen=True)
class RoundTotal:
    """A participant's published round total and its published method scores."""

    total: Decimal
    methods: Mapping[str, Decimal]


def round_total(result: RoundResult) -> RoundTotal:
    """The published figures of a scored round."""
    return RoundTotal(
        result.published, {m.value: rounded(part.score) for m, part in result.methods.items()}
    )


def rank_totals(
    rounds: Sequence[RoundPlan],
    participants: Sequence[tuple[str, str]],
    totals: Mapping[tuple[str, str], RoundTotal],
    *,
    rule: Combine = Combine.SUM,
    tie_breaks: Sequence[TieBreak] = (),
    category_order: Sequence[str] = (),
) -> YearTable:
    """Combine published round totals into the year and rank by category.

    ``participants`` are (code, category); ``totals`` are keyed by (round code, participant
    code). A round without a total for a participant shows None and counts 0.
    """
    round_weights = (
        {r.code: r.weight or Decimal(0) for r in rounds} if rule is Combine.WEIGHTED else None
    )
    round_totals: dict[str, dict[str, Decimal | None]] = {}
    method_totals: dict[str, dict[str, Decimal]] = {}
    year_totals: dict[str, Decimal] = {}
    for code, _category in participants:
        per_round: dict[str, Decimal | None] = {}
        per_method: dict[str, Decimal] = {}
        for plan in rounds:
            found = totals.get((plan.code, code))
            per_round[plan.code] = found.total if found is not None else None
            if found is not None:
                for method, value in found.methods.items():
                    per_method[method] = per_method.get(method, Decimal(0)) + value
        round_totals[code] = per_round
        method_totals[code] = per_method
        present = {k: v for k, v in per_round.items() if v is not None}
        year_totals[code] = combine(present, rule, round_weights)
    last = rounds[-1].code if rounds else ""

    def tie_value(code: str, tie: TieBreak) -> Decimal:
        if tie.kind is TieBreakKind.METHOD:
            return method_totals[code].get(tie.argument, Decimal(0))
        wanted = last if tie.kind is TieBreakKind.LATEST else tie.argument
        return round_totals[code].get(wanted) or Decimal(0)

    entries = [
        Entry(code, category, year_totals[code], tuple(tie_value(code, t) for t in tie_breaks))
        for code, category in participants
    ]
    return YearTable(
        rounds=tuple(r.code for r in rounds),
        round_totals=round_totals,
        totals=year_totals,
        ranked=rank(entries, category_order),
    )


def rank_year(
    items: Sequence[Item],
    rounds: Sequence[RoundPlan],
    participants: Sequence[tuple[str, str]],
    scores: Mapping[tuple[str, str], Mapping[str, int]],
    *,
    absent: Mapping[tuple[str, str], Iterable[str]] | None = None,
    rule: Combine = Combine.SUM,
    tie_breaks: Sequence[TieBreak] = (),
    category_order: Sequence[str] = (),
) -> YearTable:
    """Score every (round, participant) from its item scores, then ``rank_totals``.

    ``scores`` and ``absent`` are keyed by (round code, participant code); a pair without any
    score has no round total.
    """
    absent = absent or {}
    weights = {r.code: r.weights for r in rounds}
    totals = {
        key: round_total(
            score_round(items, obtained, weights=weights[key[0]], absent_types=absent.get(key, ()))
        )
        for key, obtained in scores.items()
        if obtained and key[0] in weights
    }
    return rank_totals(
        rounds,
        participants,
        totals,
        rule=rule,
        tie_breaks=tie_breaks,
        category_order=category_order,
    )
