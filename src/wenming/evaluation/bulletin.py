"""The bulletin (通报) of a year or of a round: the ranking table of each category, the totals
and a six-area profile per participant, and its exports (Excel, PDF). Reads through the
evaluation services; ranks are always over every participant, scope only hides rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import Conflict
from wenming.evaluation import repository, service
from wenming.evaluation.access import Viewer, require_reader
from wenming.evaluation.models import Participant, Round, ScoreTotal, Year
from wenming.evaluation.rules import Entry, ScoringError, points, rank, rounded, score_round


@dataclass(frozen=True)
class Row:
    """One participant's line: rank in its category, the columns, the total."""

    rank: int
    code: str
    name: str
    values: tuple[Decimal | None, ...]
    total: Decimal


@dataclass
class Table:
    """The ranking of one category."""

    code: str
    name_zh: str
    name_en: str
    rows: list[Row] = field(default_factory=list)

    @property
    def average(self) -> Decimal | None:
        """The mean total of the rows shown (2 decimals), or None for an empty table."""
        if not self.rows:
            return None
        return rounded(Fraction(sum(r.total for r in self.rows)) / len(self.rows))


@dataclass
class Bulletin:
    """A year's or a round's bulletin."""

    year: int
    title: str
    round_code: str | None
    columns: list[str]
    tables: list[Table]
    rounds: list[Round]

    @property
    def participants(self) -> list[tuple[str, str]]:
        """(code, name) of every row, in table order."""
        return [(r.code, r.name) for t in self.tables for r in t.rows]


async def _categories(session: AsyncSession) -> dict[str, Table]:
    return {
        c.code: Table(c.code, c.name_zh, c.name_en) for c in await repository.categories(session)
    }


async def year_bulletin(session: AsyncSession, viewer: Viewer, year_number: int) -> Bulletin:
    """The year's ranking by category (the rounds and the year total as columns)."""
    table = await service.ranking(session, viewer, year_number)
    year = await repository.year_by_number(session, year_number)
    tables = await _categories(session)
    for row in table.rows:
        tables[row.category].rows.append(
            Row(
                row.rank,
                row.participant_code,
                row.participant_name,
                tuple(row.rounds.get(c) for c in table.columns),
                row.total,
            )
        )
    return Bulletin(
        year.year,
        year.name,
        None,
        list(table.columns),
        [t for t in tables.values() if t.rows],
        await repository.rounds_of(session, year.id),
    )


async def round_bulletin(
    session: AsyncSession, viewer: Viewer, year_number: int, round_code: str
) -> Bulletin:
    """One round's ranking by category (the methods and the round total as columns)."""
    require_reader(viewer)
    year = await repository.year_by_number(session, year_number)
    round_ = await repository.round_by_code(session, round_code)
    if round_.year_id != year.id:
        raise Conflict(f"Round {round_.code} is not a round of {year.year}.")
    methods = sorted(
        (await repository.method_weights(session, [round_.id])).get(round_.id, {}),
        key=lambda m: m.value,
    )
    items = await repository.load_items(session, year.version_id)
    columns = [m.value for m in methods] or sorted({i.method.value for i in items})
    rows = await session.execute(
        select(Participant, ScoreTotal.total, ScoreTotal.methods)
        .join(ScoreTotal, ScoreTotal.participant_id == Participant.id)
        .where(ScoreTotal.round_id == round_.id)
    )
    found = rows.all()
    tables = await _categories(session)
    readable = {p.code for p in await repository.participants(session, viewer)}
    by_code = {p.code: (p, total, methods_) for p, total, methods_ in found}
    ranked = rank(
        [Entry(p.code, p.category_code, points(total)) for p, total, _ in found], list(tables)
    )
    for line in ranked:
        if line.entry.code not in readable:
            continue
        participant, total, figures = by_code[line.entry.code]
        tables[participant.category_code].rows.append(
            Row(
                line.rank,
                participant.code,
                participant.name,
                tuple(points(figures[c]) if c in figures else None for c in columns),
                points(total),
            )
        )
    return Bulletin(
        year.year,
        f"{year.name} · {round_.name}",
        round_.code,
        columns,
        [t for t in tables.values() if t.rows],
        await repository.rounds_of(session, year.id),
    )


@dataclass(frozen=True)
class Profile:
    """Six-area (project) profile: each project's share of its maximum, in percent."""

    axes: list[str]
    participant: list[float]
    average: list[float]


async def profile(
    session: AsyncSession,
    viewer: Viewer,
    year_number: int,
    participant_code: str,
    round_code: str | None = None,
) -> Profile:
    """A participant's percent of each project's maximum against its category's average,
    over the year's counted rounds (or one round)."""
    require_reader(viewer)
    year = await repository.year_by_number(session, year_number)
    participant = await repository.participant_by_code(session, viewer, participant_code)
    rounds = [
        r
        for r in await repository.rounds_of(session, year.id)
        if (r.code == round_code if round_code else not r.mock)
    ]
    members = await session.scalars(
        select(Participant.id).where(Participant.category_code == participant.category_code)
    )
    member_ids = list(members)
    items = await repository.load_items(session, year.version_id)
    rule_items = [i.rule_item() for i in items]
    code_of = {i.id: i.code for i in items}
    names = {i.project_code: i.project_name for i in items}
    round_ids = [r.id for r in rounds]
    weights = await repository.method_weights(session, round_ids)
    absent = await repository.absent_types(session, round_ids)
    raw = await repository.scores_for(session, round_ids, member_ids)
    earned: dict[int, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    worth: dict[int, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    full = {i.code: i.max_points for i in items}
    for (round_id, participant_id), found in raw.items():
        obtained = {code_of[i]: v for i, v in found.items() if i in code_of}
        missing = absent.get((round_id, participant_id), set())
        try:
            scored = score_round(
                rule_items, obtained, weights=weights.get(round_id), absent_types=missing
            )
            perfect = score_round(
                rule_items,
                full,
                weights=weights.get(round_id),
                absent_types=missing,
            )
        except ScoringError as exc:
            raise Conflict(f"A round of {year.year} cannot be scored: {exc}") from None
        for project, value in scored.by_project().items():
            earned[participant_id][project] += value
        for project, value in perfect.by_project().items():
            worth[participant_id][project] += value

    def percent(participant_id: int, project: str) -> float:
        top = worth[participant_id][project]
        return 0.0 if top == 0 else float(100 * earned[participant_id][project] / top)

    scored_ids = [p for p in member_ids if p in worth]
    axes = list(names)
    mean = [
        sum(percent(p, a) for p in scored_ids) / len(scored_ids) if scored_ids else 0.0
        for a in axes
    ]
    return Profile([names[a] for a in axes], [percent(participant.id, a) for a in axes], mean)


async def years(session: AsyncSession) -> list[Year]:
    """Every evaluation year, latest first."""
    return list(await session.scalars(select(Year).order_by(Year.year.desc())))
