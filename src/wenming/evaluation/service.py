"""Evaluation use cases: import and export index versions, set up years, rounds and
participants, import scores and survey results, rank a year, draw and assign sampling plans, fill
in checklists and turn them into field scores. Services flush; the edges commit.

``viewer``/``actor`` ``None`` is the operator at the command line (everything is in reach).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments.service import attachment_by_key
from wenming.core.config import Settings
from wenming.core.errors import Conflict, InvalidInput, NotFound
from wenming.evaluation import rectification, repository
from wenming.evaluation.access import Viewer, require_evaluator, require_manager, require_reader
from wenming.evaluation.indexfile import (
    ContentSpec,
    FileProblem,
    FileRefused,
    IndexSpec,
    ItemSpec,
    ProjectSpec,
)
from wenming.evaluation.models import (
    AbsentType,
    Category,
    CheckResult,
    Cycle,
    CycleYear,
    IndexContent,
    IndexItem,
    IndexProject,
    IndexVersion,
    ItemLocationType,
    MethodWeight,
    Participant,
    Round,
    SampledPoint,
    SamplingPlan,
    Score,
    ScoreTotal,
    SurveyResult,
    Year,
)
from wenming.evaluation.repository import LoadedItem
from wenming.evaluation.rules import (
    Combine,
    Entry,
    Method,
    RoundPlan,
    RoundTotal,
    ScoringError,
    YearTable,
    combine,
    deduction,
    item_points,
    parse_points,
    parse_tie_break,
    points,
    rank,
    rank_totals,
    round_total,
    rounded,
    score_round,
    survey_points,
)
from wenming.evaluation.sampling import draw, new_seed
from wenming.evaluation.schemas import (
    CheckIn,
    ChecklistItemOut,
    ChecklistPointOut,
    EvidenceOut,
    ItemScoreOut,
    PlanIn,
    PlanOut,
    RankingOut,
    RankRowOut,
    RoundScoreOut,
    SampledPointOut,
    SetupIn,
    SetupReport,
)
from wenming.geo.models import InspectionPoint, LocationType
from wenming.org.models import AdminUnit, RoleAssignment, UnitClosure, User
from wenming.org.roles import Permission, Role
from wenming.org.scope import Actor, can_on_unit

SCORE_HEADER = ("round", "participant_code", "item_code", "score")
SURVEY_HEADER = ("round", "participant_code", "item_code", "respondents", "rate")


# --- index versions -------------------------------------------------------------------------


async def location_types(session: AsyncSession) -> dict[str, bool]:
    """Every location type code of the geography's list, with whether it is active."""
    rows = await session.execute(select(LocationType.code, LocationType.active))
    return {code: bool(active) for code, active in rows.all()}


async def import_index(
    session: AsyncSession, actor: Viewer, spec: IndexSpec, *, now: datetime
) -> IndexVersion:
    """Store a new index version; versions are immutable, so a known code is a conflict."""
    require_manager(actor)
    if await session.scalar(select(IndexVersion.id).where(IndexVersion.code == spec.code)):
        raise Conflict(
            f"Index version {spec.code!r} already exists; versions never change once scores may "
            "hang on them. Import the new text under a new code.",
            field="code",
        )
    known = await location_types(session)
    active = ", ".join(sorted(c for c, a in known.items() if a))
    problems: list[FileProblem] = []
    for _project, _content, item in spec.items():
        for location_type in item.location_types:
            if location_type not in known:
                problems.append(
                    FileProblem(
                        f"item {item.code}, location_types",
                        f"unknown location type {location_type!r}; use one of: {active}",
                    )
                )
            elif not known[location_type]:
                problems.append(
                    FileProblem(
                        f"item {item.code}, location_types",
                        f"location type {location_type!r} is retired; choose another",
                    )
                )
    if problems:
        raise FileRefused(problems)
    version = IndexVersion(
        code=spec.code, name=spec.name, note=spec.note, example=spec.example, created_at=now
    )
    session.add(version)
    await session.flush()
    order = 0
    for p_order, project_spec in enumerate(spec.projects):
        project = IndexProject(
            version_id=version.id,
            code=project_spec.code,
            name=project_spec.name,
            sort_order=p_order,
        )
        session.add(project)
        await session.flush()
        for c_order, content_spec in enumerate(project_spec.contents):
            content = IndexContent(
                version_id=version.id,
                project_id=project.id,
                code=content_spec.code,
                name=content_spec.name,
                sort_order=c_order,
            )
            session.add(content)
            await session.flush()
            items = []
            for item_spec in content_spec.items:
                order += 1
                items.append(
                    IndexItem(
                        version_id=version.id,
                        content_id=content.id,
                        code=item_spec.code,
                        text=item_spec.text,
                        method=item_spec.method.value,
                        max_points=item_spec.max_points,
                        per_finding=item_spec.per_finding,
                        sort_order=order,
                    )
                )
            session.add_all(items)
            await session.flush()
            session.add_all(
                ItemLocationType(item_id=item.id, location_type=location_type)
                for item, item_spec in zip(items, content_spec.items, strict=True)
                for location_type in item_spec.location_types
            )
    await session.flush()
    return version


async def export_index(session: AsyncSession, actor: Viewer, code: str) -> IndexSpec:
    """An index version as a file specification (for YAML or Excel)."""
    require_reader(actor)
    version = await repository.version_by_code(session, code)
    items = await repository.load_items(session, version.id)
    projects: dict[str, tuple[str, dict[str, tuple[str, list[ItemSpec]]]]] = {}
    for item in items:
        project = projects.setdefault(item.project_code, (item.project_name, {}))
        content = project[1].setdefault(item.content_code, (item.content_name, []))
        content[1].append(
            ItemSpec(
                item.code,
                item.text,
                item.method,
                item.max_points,
                item.per_finding,
                item.location_types,
            )
        )
    return IndexSpec(
        version.code,
        version.name,
        tuple(
            ProjectSpec(
                p_code,
                p_name,
                tuple(
                    ContentSpec(
                        c_code,
                        c_name,
                        tuple(
                            ItemSpec(
                                i.code,
                                i.text,
                                i.method,
                                i.max_points,
                                i.per_finding,
                                tuple(sorted(i.location_types)),
                            )
                            for i in c_items
                        ),
                    )
                    for c_code, (c_name, c_items) in contents.items()
                ),
            )
            for p_code, (p_name, contents) in projects.items()
        ),
        version.example,
        version.note,
    )


async def list_versions(session: AsyncSession, actor: Viewer) -> list[tuple[IndexVersion, int]]:
    """Every index version with its number of items."""
    require_reader(actor)
    rows = await session.execute(
        select(IndexVersion, func.count(IndexItem.id))
        .outerjoin(IndexItem, IndexItem.version_id == IndexVersion.id)
        .group_by(IndexVersion.id)
        .order_by(IndexVersion.code)
    )
    return [(version, count) for version, count in rows.all()]


# --- set-up ---------------------------------------------------------------------------------


def _hundredths(value: Decimal) -> int:
    return parse_points(value)


async def apply_setup(
    session: AsyncSession, actor: Viewer, setup: SetupIn, *, now: datetime
) -> SetupReport:
    """Create or update categories, years with rounds, participants, absences and cycles.

    Everything is checked first; one problem refuses the whole set-up with every problem named.
    Existing rows are matched by code (years by number) and updated.
    """
    require_manager(actor)
    problems: list[FileProblem] = []
    category_codes = {c.code for c in await repository.categories(session)}
    category_codes |= {c.code for c in setup.categories}
    versions = {v.code: v.id for v in await session.scalars(select(IndexVersion))}
    existing_rounds = {r.code: r for r in await session.scalars(select(Round))}
    existing_years = {y.year: y for y in await session.scalars(select(Year))}
    file_rounds: dict[str, int] = {}
    for y, year_spec in enumerate(setup.years):
        where = f"years[{y}]"
        if year_spec.index not in versions:
            problems.append(
                FileProblem(
                    f"{where}.index", f"no index version {year_spec.index!r}; import it first"
                )
            )
        round_codes = [r.code for r in year_spec.rounds]
        for t, text in enumerate(year_spec.tie_breaks):
            try:
                tie = parse_tie_break(text)
            except ScoringError as exc:
                problems.append(FileProblem(f"{where}.tie_breaks[{t}]", str(exc)))
                continue
            if tie.kind.value == "round" and tie.argument not in round_codes:
                problems.append(
                    FileProblem(
                        f"{where}.tie_breaks[{t}]",
                        f"{tie.argument!r} is not a round of {year_spec.year}",
                    )
                )
        for r, round_in in enumerate(year_spec.rounds):
            rwhere = f"{where}.rounds[{r}]"
            if round_in.code in file_rounds:
                problems.append(
                    FileProblem(f"{rwhere}.code", f"round {round_in.code} is listed twice")
                )
            file_rounds[round_in.code] = year_spec.year
            known = existing_rounds.get(round_in.code)
            if known is not None:
                owner = next((k for k, v in existing_years.items() if v.id == known.year_id), None)
                if owner is not None and owner != year_spec.year:
                    problems.append(
                        FileProblem(f"{rwhere}.code", f"round {round_in.code} belongs to {owner}")
                    )
            if year_spec.combine is Combine.WEIGHTED and not round_in.weight:
                problems.append(
                    FileProblem(f"{rwhere}.weight", "a weighted year needs a weight per round")
                )
    unit_codes = {p.unit for p in setup.participants if p.unit}
    units = {
        u.code: u
        for u in await session.scalars(select(AdminUnit).where(AdminUnit.code.in_(unit_codes)))
    }
    existing_participants = {p.code: p for p in await session.scalars(select(Participant))}
    unit_owner = {p.unit_id: p.code for p in existing_participants.values() if p.unit_id}
    seen_participants: set[str] = set()
    for i, participant_spec in enumerate(setup.participants):
        where = f"participants[{i}]"
        if participant_spec.code in seen_participants:
            problems.append(
                FileProblem(f"{where}.code", f"{participant_spec.code} is listed twice")
            )
        seen_participants.add(participant_spec.code)
        registered = existing_participants.get(participant_spec.code)
        if (
            actor is not None
            and registered is not None
            and registered.unit_id is not None
            and not await can_on_unit(session, actor, Permission.MANAGE_ORG, registered.unit_id)
        ):
            problems.append(
                FileProblem(f"{where}.code", f"participant {registered.code} is outside your scope")
            )
        if participant_spec.category not in category_codes:
            problems.append(
                FileProblem(
                    f"{where}.category",
                    f"unknown category {participant_spec.category!r}; use one of: "
                    + ", ".join(sorted(category_codes)),
                )
            )
        if participant_spec.unit:
            unit = units.get(participant_spec.unit)
            if unit is None:
                problems.append(FileProblem(f"{where}.unit", f"no unit {participant_spec.unit}"))
                continue
            other = unit_owner.get(unit.id)
            if other is not None and other != participant_spec.code:
                problems.append(
                    FileProblem(f"{where}.unit", f"unit {unit.code} is participant {other} already")
                )
            if actor is not None and not await can_on_unit(
                session, actor, Permission.MANAGE_ORG, unit.id
            ):
                problems.append(
                    FileProblem(f"{where}.unit", f"unit {unit.code} is outside your scope")
                )
    known_types = await location_types(session)
    all_participants = set(existing_participants) | seen_participants
    all_rounds = set(existing_rounds) | set(file_rounds)
    for i, absent in enumerate(setup.absent_location_types):
        where = f"absent_location_types[{i}]"
        if absent.round not in all_rounds:
            problems.append(FileProblem(f"{where}.round", f"no round {absent.round}"))
        if absent.participant not in all_participants:
            problems.append(
                FileProblem(f"{where}.participant", f"no participant {absent.participant}")
            )
        for location_type in absent.location_types:
            if location_type not in known_types:
                problems.append(
                    FileProblem(
                        f"{where}.location_types", f"unknown location type {location_type!r}"
                    )
                )
    all_years = set(existing_years) | {y.year for y in setup.years}
    for c, cycle_spec in enumerate(setup.cycles):
        for number in cycle_spec.years:
            if number not in all_years:
                problems.append(FileProblem(f"cycles[{c}].years", f"no evaluation year {number}"))
    if problems:
        raise FileRefused(problems)

    for category_in in setup.categories:
        category = await session.get(Category, category_in.code)
        if category is None:
            session.add(Category(**category_in.model_dump()))
        else:
            category.name_zh, category.name_en = category_in.name_zh, category_in.name_en
            category.sort_order = category_in.sort_order
    await session.flush()
    rounds_written = 0
    for year_in in setup.years:
        year = existing_years.get(year_in.year)
        if year is None:
            year = Year(year=year_in.year, created_at=now)
            session.add(year)
        year.name = year_in.name
        year.version_id = versions[year_in.index]
        year.combine = year_in.combine.value
        year.tie_breaks = [str(parse_tie_break(t)) for t in year_in.tie_breaks]
        await session.flush()
        for order, round_in in enumerate(year_in.rounds):
            round_ = existing_rounds.get(round_in.code)
            if round_ is None:
                round_ = Round(code=round_in.code, year_id=year.id)
                session.add(round_)
            round_.name = round_in.name
            round_.mock = round_in.mock
            round_.sort_order = order
            round_.weight = _hundredths(round_in.weight) if round_in.weight is not None else None
            await session.flush()
            existing_rounds[round_.code] = round_
            await session.execute(delete(MethodWeight).where(MethodWeight.round_id == round_.id))
            session.add_all(
                MethodWeight(round_id=round_.id, method=m.value, weight=_hundredths(w))
                for m, w in round_in.method_weights.items()
            )
            rounds_written += 1
    for participant_in in setup.participants:
        participant = existing_participants.get(participant_in.code)
        if participant is None:
            participant = Participant(code=participant_in.code, created_at=now)
            session.add(participant)
        participant.name = participant_in.name
        participant.category_code = participant_in.category
        participant.unit_id = units[participant_in.unit].id if participant_in.unit else None
        existing_participants[participant.code] = participant
    await session.flush()
    absences = 0
    for absent in setup.absent_location_types:
        round_id = existing_rounds[absent.round].id
        participant_id = existing_participants[absent.participant].id
        await session.execute(
            delete(AbsentType).where(
                AbsentType.round_id == round_id, AbsentType.participant_id == participant_id
            )
        )
        for location_type in dict.fromkeys(absent.location_types):
            session.add(
                AbsentType(
                    round_id=round_id, participant_id=participant_id, location_type=location_type
                )
            )
            absences += 1
    years_now = {y.year: y for y in await session.scalars(select(Year))}
    for cycle_in in setup.cycles:
        cycle = await session.scalar(select(Cycle).where(Cycle.code == cycle_in.code))
        if cycle is None:
            cycle = Cycle(code=cycle_in.code, name=cycle_in.name)
            session.add(cycle)
        cycle.name = cycle_in.name
        await session.flush()
        await session.execute(delete(CycleYear).where(CycleYear.cycle_id == cycle.id))
        session.add_all(
            CycleYear(cycle_id=cycle.id, year_id=years_now[n].id, weight=_hundredths(w))
            for n, w in cycle_in.years.items()
        )
    await session.flush()
    # Weights, absences or a year's index may have changed: the stored totals follow.
    touched = {existing_rounds[r.code].id for y in setup.years for r in y.rounds}
    touched |= {existing_rounds[a.round].id for a in setup.absent_location_types}
    await refresh_totals(session, round_ids=touched, now=now)
    return SetupReport(
        categories=len(setup.categories),
        years=len(setup.years),
        rounds=rounds_written,
        participants=len(setup.participants),
        absent_location_types=absences,
        cycles=len(setup.cycles),
    )


# --- round totals ---------------------------------------------------------------------------


async def refresh_totals(
    session: AsyncSession,
    pairs: Iterable[tuple[int, int]] = (),
    *,
    round_ids: Iterable[int] = (),
    now: datetime,
) -> None:
    """Recompute the stored round totals of (round id, participant id) pairs, and of every
    participant with scores in ``round_ids``, so that rankings read one row per pair.

    A pair without any score loses its total. A round that cannot be scored (e.g. a method
    without a weight) is a conflict naming the round: nothing is written.
    """
    wanted: dict[int, set[int]] = defaultdict(set)
    for round_id, participant_id in pairs:
        wanted[round_id].add(participant_id)
    for round_id in set(round_ids):
        with_scores = await session.scalars(
            select(Score.participant_id).where(Score.round_id == round_id).distinct()
        )
        wanted[round_id].update(with_scores)
        wanted[round_id].update(
            await session.scalars(
                select(ScoreTotal.participant_id).where(ScoreTotal.round_id == round_id)
            )
        )
    for round_id, participant_ids in wanted.items():
        round_ = await session.get(Round, round_id)
        assert round_ is not None
        year = await session.get(Year, round_.year_id)
        assert year is not None
        items = await repository.load_items(session, year.version_id)
        rule_items = [i.rule_item() for i in items]
        code_of = {i.id: i.code for i in items}
        weights = (await repository.method_weights(session, [round_id])).get(round_id)
        absent = await repository.absent_types(session, [round_id])
        ids = sorted(participant_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            raw = await repository.scores_for(session, [round_id], chunk)
            await session.execute(
                delete(ScoreTotal).where(
                    ScoreTotal.round_id == round_id, ScoreTotal.participant_id.in_(chunk)
                )
            )
            rows = []
            for participant_id in chunk:
                found = raw.get((round_id, participant_id))
                if not found:
                    continue
                obtained = {code_of[i]: v for i, v in found.items() if i in code_of}
                try:
                    scored = score_round(
                        rule_items,
                        obtained,
                        weights=weights,
                        absent_types=absent.get((round_id, participant_id), ()),
                    )
                except ScoringError as exc:
                    raise Conflict(f"Round {round_.code} cannot be scored: {exc}") from None
                figures = round_total(scored)
                rows.append(
                    ScoreTotal(
                        round_id=round_id,
                        participant_id=participant_id,
                        total=parse_points(figures.total),
                        methods={m: parse_points(v) for m, v in figures.methods.items()},
                        computed_at=now,
                    )
                )
            session.add_all(rows)
            await session.flush()


# --- score and survey imports ---------------------------------------------------------------


@dataclass
class _Lookups:
    """Rounds, participants and items by code, loaded once per import."""

    rounds: dict[str, tuple[Round, int]]
    participants: dict[str, Participant]
    items: dict[int, dict[str, LoadedItem]]


async def _lookups(session: AsyncSession, actor: Viewer) -> _Lookups:
    """Participants outside the actor's scope are unknown to them, as everywhere else."""
    rows = await session.execute(
        select(Round, Year.version_id).join(Year, Year.id == Round.year_id)
    )
    rounds = {r.code: (r, version_id) for r, version_id in rows.all()}
    participants = {p.code: p for p in await repository.participants(session, actor)}
    items: dict[int, dict[str, LoadedItem]] = {}
    for version_id in {v for _, v in rounds.values()}:
        items[version_id] = {i.code: i for i in await repository.load_items(session, version_id)}
    return _Lookups(rounds, participants, items)


def _csv_rows(text: str, header: Sequence[str]) -> list[tuple[int, list[str]]]:
    """The data rows with their line numbers (header = line 1); refuses a wrong header."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        first = next(reader)
    except StopIteration:
        raise FileRefused(
            [FileProblem("line 1", f"the header must be {','.join(header)}")]
        ) from None
    if [c.strip() for c in first] != list(header):
        raise FileRefused([FileProblem("line 1", f"the header must be exactly {','.join(header)}")])
    rows: list[tuple[int, list[str]]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        rows.append((reader.line_num, [cell.strip() for cell in row]))
    return rows


def _check_keys(
    lookups: _Lookups, line: int, cells: list[str], problems: list[FileProblem]
) -> tuple[Round, Participant, LoadedItem] | None:
    round_code, participant_code, item_code = cells[0], cells[1], cells[2]
    before = len(problems)
    found_round = lookups.rounds.get(round_code)
    if found_round is None:
        problems.append(FileProblem(f"line {line}, round", f"unknown round {round_code!r}"))
    participant = lookups.participants.get(participant_code)
    if participant is None:
        problems.append(
            FileProblem(
                f"line {line}, participant_code", f"unknown participant {participant_code!r}"
            )
        )
    item = None
    if found_round is not None:
        item = lookups.items[found_round[1]].get(item_code)
        if item is None:
            problems.append(
                FileProblem(
                    f"line {line}, item_code",
                    f"unknown item {item_code!r} in the index of round {round_code}",
                )
            )
    if len(problems) > before or found_round is None or participant is None or item is None:
        return None
    return found_round[0], participant, item


async def write_scores(
    session: AsyncSession,
    scores: dict[tuple[int, int, int], int],
    *,
    source: str,
    now: datetime,
) -> None:
    """Replace the scores of the given (round, participant, item) keys and refresh the totals."""
    keys = list(scores)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        await session.execute(
            delete(Score).where(
                tuple_(Score.round_id, Score.participant_id, Score.item_id).in_(chunk)
            )
        )
    session.add_all(
        Score(round_id=r, participant_id=p, item_id=i, points=value, source=source, updated_at=now)
        for (r, p, i), value in scores.items()
    )
    await session.flush()
    await refresh_totals(session, {(r, p) for r, p, _ in scores}, now=now)


async def import_scores(session: AsyncSession, actor: Viewer, text: str, *, now: datetime) -> int:
    """Import ``round,participant_code,item_code,score`` rows (points obtained per item).

    Every row is checked (unknown round, participant or item; score below 0 or above the item's
    max or with more than 2 decimals; a row repeated); any problem refuses the whole file.
    Known (round, participant, item) scores are replaced.
    """
    require_manager(actor)
    rows = _csv_rows(text, SCORE_HEADER)
    lookups = await _lookups(session, actor)
    problems: list[FileProblem] = []
    seen: dict[tuple[str, str, str], int] = {}
    scores: dict[tuple[int, int, int], int] = {}
    for line, cells in rows:
        if len(cells) != len(SCORE_HEADER):
            problems.append(
                FileProblem(f"line {line}", f"has {len(cells)} cells; expected {len(SCORE_HEADER)}")
            )
            continue
        key = (cells[0], cells[1], cells[2])
        if key in seen:
            problems.append(
                FileProblem(f"line {line}", f"duplicate of line {seen[key]} ({', '.join(key)})")
            )
            continue
        seen[key] = line
        found = _check_keys(lookups, line, cells, problems)
        try:
            value = parse_points(cells[3])
        except ScoringError as exc:
            problems.append(FileProblem(f"line {line}, score", str(exc)))
            continue
        if found is None:
            continue
        round_, participant, item = found
        if value < 0:
            problems.append(FileProblem(f"line {line}, score", f"{cells[3]} is below 0"))
            continue
        if value > item.max_points:
            problems.append(
                FileProblem(
                    f"line {line}, score",
                    f"{cells[3]} is above the max of item {item.code} ({points(item.max_points)})",
                )
            )
            continue
        scores[(round_.id, participant.id, item.id)] = value
    if problems:
        raise FileRefused(problems)
    await write_scores(session, scores, source="import", now=now)
    return len(scores)


async def import_survey(session: AsyncSession, actor: Viewer, text: str, *, now: datetime) -> int:
    """Import ``round,participant_code,item_code,respondents,rate`` survey rows.

    ``rate`` is the favourable share in percent (0–100, up to 2 decimals) of ``respondents``
    answers; each row becomes the survey item's points = max × rate / 100 (rounded half-up).
    """
    require_manager(actor)
    rows = _csv_rows(text, SURVEY_HEADER)
    lookups = await _lookups(session, actor)
    problems: list[FileProblem] = []
    seen: dict[tuple[str, str, str], int] = {}
    results: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    for line, cells in rows:
        if len(cells) != len(SURVEY_HEADER):
            problems.append(
                FileProblem(
                    f"line {line}", f"has {len(cells)} cells; expected {len(SURVEY_HEADER)}"
                )
            )
            continue
        key = (cells[0], cells[1], cells[2])
        if key in seen:
            problems.append(
                FileProblem(f"line {line}", f"duplicate of line {seen[key]} ({', '.join(key)})")
            )
            continue
        seen[key] = line
        found = _check_keys(lookups, line, cells, problems)
        respondents = int(cells[3]) if cells[3].isdigit() else 0
        if respondents < 1:
            problems.append(
                FileProblem(f"line {line}, respondents", "must be a whole number of at least 1")
            )
        try:
            rate = parse_points(cells[4])
        except ScoringError as exc:
            problems.append(FileProblem(f"line {line}, rate", str(exc)))
            continue
        if not 0 <= rate <= 100_00:
            problems.append(FileProblem(f"line {line}, rate", "must lie between 0 and 100 (%)"))
            continue
        if found is None or respondents < 1:
            continue
        round_, participant, item = found
        if item.method is not Method.SURVEY:
            problems.append(
                FileProblem(
                    f"line {line}, item_code",
                    f"item {item.code} is a {item.method.value} item, not a survey item",
                )
            )
            continue
        results[(round_.id, participant.id, item.id)] = (
            respondents,
            rate,
            survey_points(item.max_points, rate),
        )
    if problems:
        raise FileRefused(problems)
    keys = list(results)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        await session.execute(
            delete(SurveyResult).where(
                tuple_(
                    SurveyResult.round_id, SurveyResult.participant_id, SurveyResult.item_id
                ).in_(chunk)
            )
        )
    session.add_all(
        SurveyResult(
            round_id=r,
            participant_id=p,
            item_id=i,
            respondents=respondents,
            rate=rate,
            imported_at=now,
        )
        for (r, p, i), (respondents, rate, _) in results.items()
    )
    await write_scores(session, {k: v[2] for k, v in results.items()}, source="survey", now=now)
    return len(results)


# --- ranking --------------------------------------------------------------------------------


async def _category_code(session: AsyncSession, wanted: str) -> str:
    for category in await repository.categories(session):
        if wanted in (category.code, category.name_zh, category.name_en):
            return category.code
    raise NotFound(f"No category {wanted!r}; see GET /api/v1/evaluation/categories.")


async def year_table(
    session: AsyncSession, year: Year
) -> tuple[YearTable, dict[str, Participant], list[Round]]:
    """The year's full table over every participant (ranks are facts; rows are filtered later),
    from the stored round totals."""
    rounds = [r for r in await repository.rounds_of(session, year.id) if not r.mock]
    participants = {p.code: p for p in await repository.participants(session, None)}
    code_of = {p.id: p.code for p in participants.values()}
    round_code = {r.id: r.code for r in rounds}
    rows = await session.execute(
        select(
            ScoreTotal.round_id, ScoreTotal.participant_id, ScoreTotal.total, ScoreTotal.methods
        ).where(ScoreTotal.round_id.in_(list(round_code)))
    )
    totals = {
        (round_code[r], code_of[p]): RoundTotal(
            points(total), {m: points(v) for m, v in methods.items()}
        )
        for r, p, total, methods in rows.all()
    }
    categories = await repository.categories(session)
    try:
        table = rank_totals(
            [
                RoundPlan(r.code, None, points(r.weight) if r.weight is not None else None)
                for r in rounds
            ],
            [(p.code, p.category_code) for p in participants.values()],
            totals,
            rule=Combine(year.combine),
            tie_breaks=[parse_tie_break(t) for t in year.tie_breaks],
            category_order=[c.code for c in categories],
        )
    except ScoringError as exc:
        raise Conflict(f"The year {year.year} cannot be combined: {exc}") from None
    return table, participants, rounds


async def ranking(
    session: AsyncSession, viewer: Viewer, year_number: int, category: str | None = None
) -> RankingOut:
    """A year's ranking by category, with the rows the viewer may read."""
    require_reader(viewer)
    year = await repository.year_by_number(session, year_number)
    wanted = await _category_code(session, category) if category else None
    table, participants, _rounds = await year_table(session, year)
    readable = {p.code for p in await repository.participants(session, viewer)}
    names = {c.code: c.name_zh for c in await repository.categories(session)}
    rows = [
        RankRowOut(
            rank=r.rank,
            participant_code=r.entry.code,
            participant_name=participants[r.entry.code].name,
            category=r.entry.category,
            category_name=names.get(r.entry.category, r.entry.category),
            rounds=table.round_totals[r.entry.code],
            total=r.entry.total,
        )
        for r in table.ranked
        if r.entry.code in readable and (wanted is None or r.entry.category == wanted)
    ]
    return RankingOut(period=str(year.year), columns=list(table.rounds), rows=rows)


async def cycle_ranking(
    session: AsyncSession, viewer: Viewer, cycle_code: str, category: str | None = None
) -> RankingOut:
    """A cycle's ranking: each year's published total weighted by the cycle's year weights
    (Σ weight × year total / Σ weight), ranked by category; the columns are the years."""
    require_reader(viewer)
    cycle = await session.scalar(select(Cycle).where(Cycle.code == cycle_code))
    if cycle is None:
        raise NotFound(f"No cycle {cycle_code!r}; define it in the set-up file under cycles.")
    wanted = await _category_code(session, category) if category else None
    rows = await session.execute(
        select(Year, CycleYear.weight)
        .join(CycleYear, CycleYear.year_id == Year.id)
        .where(CycleYear.cycle_id == cycle.id)
        .order_by(Year.year)
    )
    years = rows.all()
    weights = {str(year.year): points(weight) for year, weight in years}
    per_year: dict[str, dict[str, Decimal | None]] = defaultdict(dict)
    participants: dict[str, Participant] = {}
    for year, _weight in years:
        table, found, _rounds = await year_table(session, year)
        participants.update(found)
        for code in found:
            has_any = any(v is not None for v in table.round_totals[code].values())
            per_year[code][str(year.year)] = table.totals[code] if has_any else None
    entries = []
    for code, participant in participants.items():
        present = {k: v for k, v in per_year[code].items() if v is not None}
        try:
            total = combine(present, Combine.WEIGHTED, weights)
        except ScoringError as exc:
            raise Conflict(f"The cycle {cycle.code} cannot be combined: {exc}") from None
        entries.append(Entry(code, participant.category_code, total))
    categories = await repository.categories(session)
    readable = {p.code for p in await repository.participants(session, viewer)}
    names = {c.code: c.name_zh for c in categories}
    return RankingOut(
        period=cycle.code,
        columns=list(weights),
        rows=[
            RankRowOut(
                rank=r.rank,
                participant_code=r.entry.code,
                participant_name=participants[r.entry.code].name,
                category=r.entry.category,
                category_name=names.get(r.entry.category, r.entry.category),
                rounds={y: per_year[r.entry.code].get(y) for y in weights},
                total=r.entry.total,
            )
            for r in rank(entries, [c.code for c in categories])
            if r.entry.code in readable and (wanted is None or r.entry.category == wanted)
        ],
    )


async def _evidence(
    session: AsyncSession, participant_id: int, round_ids: Sequence[int]
) -> dict[tuple[int, int], list[EvidenceOut]]:
    """The checklist verdicts with findings, by (round id, item id), in draw order."""
    rows = await session.execute(
        select(
            SamplingPlan.round_id,
            CheckResult.item_id,
            InspectionPoint.code,
            InspectionPoint.name,
            CheckResult.findings,
            CheckResult.note,
            CheckResult.attachment_key,
        )
        .join(SampledPoint, SampledPoint.plan_id == SamplingPlan.id)
        .join(CheckResult, CheckResult.sampled_point_id == SampledPoint.id)
        .join(InspectionPoint, InspectionPoint.id == SampledPoint.point_id)
        .where(
            SamplingPlan.participant_id == participant_id,
            SamplingPlan.round_id.in_(list(round_ids)),
            CheckResult.findings > 0,
        )
        .order_by(SampledPoint.draw_order)
    )
    found: dict[tuple[int, int], list[EvidenceOut]] = defaultdict(list)
    for round_id, item_id, code, name, findings, note, key in rows.all():
        found[(round_id, item_id)].append(
            EvidenceOut(
                point_code=code,
                point_name=name,
                findings=findings,
                note=note,
                attachment_key=key,
            )
        )
    return dict(found)


async def participant_scores(
    session: AsyncSession, viewer: Viewer, participant_code: str, year_number: int
) -> list[RoundScoreOut]:
    """Where a participant's points came from, round by round and item by item."""
    require_reader(viewer)
    participant = await repository.participant_by_code(session, viewer, participant_code)
    year = await repository.year_by_number(session, year_number)
    rounds = await repository.rounds_of(session, year.id)
    items = await repository.load_items(session, year.version_id)
    weights = await repository.method_weights(session, [r.id for r in rounds])
    raw = await repository.scores_for(session, [r.id for r in rounds], [participant.id])
    absent = await repository.absent_types(session, [r.id for r in rounds])
    rule_items = [i.rule_item() for i in items]
    evidence = await _evidence(session, participant.id, [r.id for r in rounds])
    result: list[RoundScoreOut] = []
    for round_ in rounds:
        found = raw.get((round_.id, participant.id))
        if not found:
            continue
        obtained = {i.code: found[i.id] for i in items if i.id in found}
        missing = sorted(absent.get((round_.id, participant.id), set()))
        try:
            scored = score_round(
                rule_items, obtained, weights=weights.get(round_.id), absent_types=missing
            )
        except ScoringError as exc:
            raise Conflict(f"Round {round_.code} cannot be scored: {exc}") from None
        lines = []
        for item in items:
            share = scored.item_score(item.code)
            got = obtained.get(item.code)
            lines.append(
                ItemScoreOut(
                    item_code=item.code,
                    project=item.project_name,
                    content=item.content_name,
                    method=item.method,
                    max_points=points(item.max_points),
                    obtained=points(got) if got is not None else None,
                    lost=points(item.max_points - got) if got is not None else None,
                    counted=rounded(share) if share is not None else None,
                    applicable=share is not None,
                    evidence=evidence.get((round_.id, item.id), []),
                )
            )
        names = {i.project_code: i.project_name for i in items}
        result.append(
            RoundScoreOut(
                round=round_.code,
                total=scored.published,
                methods={m.value: rounded(r.score) for m, r in scored.methods.items()},
                projects={names[k]: rounded(v) for k, v in scored.by_project().items()},
                absent_location_types=missing,
                items=lines,
            )
        )
    return result


# --- sampling and checklists ----------------------------------------------------------------


async def draw_plan(
    session: AsyncSession, actor: Viewer, body: PlanIn, *, now: datetime
) -> SamplingPlan:
    """Draw ``per_type`` inspection points of every active location type inside a participant.

    The seed (given, or fresh) is recorded with the number of candidates per type; location
    types without any point are recorded as absent for the round (their items re-weight).
    A plan is final: a second draw for the same round and participant is a conflict.
    """
    require_manager(actor)
    round_ = await repository.round_by_code(session, body.round)
    participant = await repository.participant_by_code(session, actor, body.participant)
    if participant.unit_id is None:
        raise InvalidInput(
            f"Participant {participant.code} is external: it has no inspection points here to "
            "draw from. Import its scores instead.",
            field="participant",
        )
    if actor is not None and not await can_on_unit(
        session, actor, Permission.MANAGE_ORG, participant.unit_id
    ):
        raise NotFound(f"No participant {participant.code!r} within your scope.")
    if await session.scalar(
        select(SamplingPlan.id).where(
            SamplingPlan.round_id == round_.id, SamplingPlan.participant_id == participant.id
        )
    ):
        raise Conflict(
            f"Round {round_.code} already has a sampling plan for {participant.code}; a draw is "
            "final so that it stays auditable."
        )
    types = [
        code
        for code in await session.scalars(
            select(LocationType.code).where(LocationType.active.is_(True))
        )
    ]
    rows = await session.execute(
        select(InspectionPoint.location_type, InspectionPoint.code, InspectionPoint.id).where(
            InspectionPoint.unit_id.in_(
                select(UnitClosure.descendant_id).where(
                    UnitClosure.ancestor_id == participant.unit_id
                )
            ),
            InspectionPoint.location_type.in_(types),
        )
    )
    candidates: dict[str, list[str]] = {t: [] for t in types}
    point_ids: dict[str, int] = {}
    for location_type, code, point_id in rows.all():
        candidates[location_type].append(code)
        point_ids[code] = point_id
    seed = body.seed or new_seed()
    drawn = draw(
        candidates,
        body.per_type,
        seed=seed,
        round_code=round_.code,
        participant_code=participant.code,
    )
    creator = actor.user_id if actor is not None else None
    plan = SamplingPlan(
        round_id=round_.id,
        participant_id=participant.id,
        per_type=body.per_type,
        seed=seed,
        population={t: len(c) for t, c in sorted(candidates.items())},
        created_by=creator,
        created_at=now,
    )
    session.add(plan)
    await session.flush()
    order = 0
    for location_type, codes in drawn.picked.items():
        for code in codes:
            order += 1
            session.add(
                SampledPoint(
                    plan_id=plan.id,
                    point_id=point_ids[code],
                    location_type=location_type,
                    draw_order=order,
                )
            )
    await session.execute(
        delete(AbsentType).where(
            AbsentType.round_id == round_.id, AbsentType.participant_id == participant.id
        )
    )
    session.add_all(
        AbsentType(round_id=round_.id, participant_id=participant.id, location_type=t)
        for t in drawn.absent
    )
    await session.flush()
    await refresh_totals(session, [(round_.id, participant.id)], now=now)
    return plan


async def plan_out(session: AsyncSession, plan: SamplingPlan) -> PlanOut:
    """A plan as the API shows it."""
    round_ = await session.get(Round, plan.round_id)
    participant = await session.get(Participant, plan.participant_id)
    assert round_ is not None and participant is not None
    rows = await session.execute(
        select(SampledPoint, InspectionPoint.code, InspectionPoint.name, User.username)
        .join(InspectionPoint, InspectionPoint.id == SampledPoint.point_id)
        .outerjoin(User, User.id == SampledPoint.evaluator_id)
        .where(SampledPoint.plan_id == plan.id)
        .order_by(SampledPoint.draw_order)
    )
    absent = await session.scalars(
        select(AbsentType.location_type)
        .where(AbsentType.round_id == plan.round_id, AbsentType.participant_id == participant.id)
        .order_by(AbsentType.location_type)
    )
    return PlanOut(
        id=plan.id,
        round=round_.code,
        participant=participant.code,
        per_type=plan.per_type,
        seed=plan.seed,
        population={k: int(v) for k, v in plan.population.items()},
        absent_location_types=list(absent),
        points=[
            SampledPointOut(
                id=sp.id,
                point_code=code,
                point_name=name,
                location_type=sp.location_type,
                draw_order=sp.draw_order,
                evaluator=username,
            )
            for sp, code, name, username in rows.all()
        ],
    )


async def readable_plan(session: AsyncSession, actor: Viewer, plan_id: int) -> SamplingPlan:
    """A plan whose participant the actor may read, or 404."""
    require_reader(actor)
    plan = await repository.plan_by_id(session, plan_id)
    participant = await session.get(Participant, plan.participant_id)
    assert participant is not None
    await repository.participant_by_code(session, actor, participant.code)
    return plan


async def assign(
    session: AsyncSession, actor: Viewer, plan_id: int, usernames: Sequence[str]
) -> SamplingPlan:
    """Share a plan's points among evaluators in draw order (round robin)."""
    require_manager(actor)
    plan = await readable_plan(session, actor, plan_id)
    rows = await session.execute(
        select(User.username, User.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            User.username.in_(list(usernames)),
            User.is_active.is_(True),
            RoleAssignment.role == Role.EVALUATOR.value,
        )
    )
    evaluators = dict(rows.all())
    unknown = [u for u in usernames if u not in evaluators]
    if unknown:
        raise InvalidInput(
            f"Not active evaluators: {', '.join(unknown)}; give users holding the evaluator role.",
            field="evaluators",
        )
    ids = [evaluators[u] for u in dict.fromkeys(usernames)]
    for index, sampled in enumerate(await repository.plan_points(session, plan.id)):
        sampled.evaluator_id = ids[index % len(ids)]
    await session.flush()
    return plan


async def _checklist_point(
    session: AsyncSession, actor: Actor, sampled_id: int
) -> tuple[SampledPoint, InspectionPoint, Round, Participant, list[LoadedItem]]:
    require_evaluator(actor)
    sampled = await session.get(SampledPoint, sampled_id)
    if sampled is None or sampled.evaluator_id != actor.user_id:
        raise NotFound(f"No point {sampled_id} is assigned to you.")
    plan = await session.get(SamplingPlan, sampled.plan_id)
    assert plan is not None
    point = await session.get(InspectionPoint, sampled.point_id)
    round_ = await session.get(Round, plan.round_id)
    participant = await session.get(Participant, plan.participant_id)
    assert point is not None and round_ is not None and participant is not None
    year = await session.get(Year, round_.year_id)
    assert year is not None
    items = [
        i
        for i in await repository.load_items(session, year.version_id)
        if i.method is Method.FIELD and sampled.location_type in i.location_types
    ]
    return sampled, point, round_, participant, items


def _item_out(item: LoadedItem, result: CheckResult | None) -> ChecklistItemOut:
    per_finding = item.per_finding or item.max_points
    return ChecklistItemOut(
        code=item.code,
        text=item.text,
        max_points=points(item.max_points),
        per_finding=points(per_finding),
        findings=result.findings if result else None,
        deduction=points(deduction(item.max_points, per_finding, result.findings))
        if result
        else None,
        note=result.note if result else "",
        attachment_key=result.attachment_key if result else None,
    )


async def checklist(session: AsyncSession, actor: Actor, sampled_id: int) -> ChecklistPointOut:
    """An assigned point with each item applicable to its location type and its verdict so far."""
    sampled, point, round_, participant, items = await _checklist_point(session, actor, sampled_id)
    results = {
        r.item_id: r
        for r in await session.scalars(
            select(CheckResult).where(CheckResult.sampled_point_id == sampled.id)
        )
    }
    return ChecklistPointOut(
        id=sampled.id,
        round=round_.code,
        participant=participant.code,
        point_code=point.code,
        point_name=point.name,
        location_type=sampled.location_type,
        lon=point.lon,
        lat=point.lat,
        items=[_item_out(i, results.get(i.id)) for i in items],
    )


async def my_points(session: AsyncSession, actor: Actor) -> list[ChecklistPointOut]:
    """Every point assigned to the evaluator, with its checklist."""
    require_evaluator(actor)
    ids = await session.scalars(
        select(SampledPoint.id)
        .where(SampledPoint.evaluator_id == actor.user_id)
        .order_by(SampledPoint.plan_id, SampledPoint.draw_order)
    )
    return [await checklist(session, actor, sampled_id) for sampled_id in list(ids)]


async def record_check(
    session: AsyncSession,
    actor: Actor,
    sampled_id: int,
    item_code: str,
    body: CheckIn,
    *,
    now: datetime,
    settings: Settings,
) -> ChecklistItemOut:
    """Record pass (0 findings) or deductions for one item at an assigned point; a deduction
    files its rectification case (once) in the evaluator's name."""
    sampled, _point, _round, _participant, items = await _checklist_point(
        session, actor, sampled_id
    )
    item = next((i for i in items if i.code == item_code), None)
    if item is None:
        raise InvalidInput(
            f"Item {item_code!r} does not apply at a {sampled.location_type} point; "
            f"use one of: {', '.join(i.code for i in items) or 'none'}.",
            field="item_code",
        )
    if body.attachment_key is not None:
        await attachment_by_key(session, body.attachment_key)
    result = await session.get(CheckResult, (sampled.id, item.id))
    if result is None:
        result = CheckResult(sampled_point_id=sampled.id, item_id=item.id)
        session.add(result)
    result.findings = body.findings
    result.note = body.note
    result.attachment_key = body.attachment_key
    result.checked_by = actor.user_id
    result.checked_at = now
    await session.flush()
    await rectification.file_case(session, actor, sampled, item, result, now=now, settings=settings)
    return _item_out(item, result)


async def field_scores(
    session: AsyncSession, actor: Viewer, round_code: str, participant_code: str, *, now: datetime
) -> int:
    """Turn a plan's checklist results into field item scores.

    An item's findings are summed over every drawn point it was checked at; its score is
    max − min(max, per_finding × findings). Items not yet checked anywhere get no score.
    """
    require_manager(actor)
    round_ = await repository.round_by_code(session, round_code)
    participant = await repository.participant_by_code(session, actor, participant_code)
    plan = await session.scalar(
        select(SamplingPlan).where(
            SamplingPlan.round_id == round_.id, SamplingPlan.participant_id == participant.id
        )
    )
    if plan is None:
        raise NotFound(f"Round {round_.code} has no sampling plan for {participant.code}.")
    rows = await session.execute(
        select(CheckResult.item_id, CheckResult.findings)
        .join(SampledPoint, SampledPoint.id == CheckResult.sampled_point_id)
        .where(SampledPoint.plan_id == plan.id)
    )
    findings: dict[int, int] = defaultdict(int)
    for item_id, count in rows.all():
        findings[item_id] += count
    year = await session.get(Year, round_.year_id)
    assert year is not None
    items = {i.id: i for i in await repository.load_items(session, year.version_id)}
    scores = {
        (round_.id, participant.id, item_id): item_points(
            items[item_id].max_points,
            items[item_id].per_finding or items[item_id].max_points,
            count,
        )
        for item_id, count in findings.items()
    }
    await write_scores(session, scores, source="field", now=now)
    return len(scores)
