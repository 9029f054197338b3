"""Evaluation queries: index items, years, rounds, participants (scoped), scores, plans."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.errors import NotFound
from wenming.evaluation.access import Viewer, readable_participants
from wenming.evaluation.models import (
    AbsentType,
    Category,
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
    Year,
)
from wenming.evaluation.rules import Item, Method


@dataclass(frozen=True)
class LoadedItem:
    """A leaf item with its place in the index."""

    id: int
    code: str
    text: str
    method: Method
    max_points: int
    per_finding: int | None
    project_code: str
    project_name: str
    content_code: str
    content_name: str
    location_types: tuple[str, ...]

    def rule_item(self) -> Item:
        """The item as the scoring maths sees it."""
        return Item(
            self.code,
            self.method,
            self.max_points,
            self.project_code,
            self.content_code,
            frozenset(self.location_types),
        )


async def version_by_code(session: AsyncSession, code: str) -> IndexVersion:
    """An index version by code, or 404."""
    version = await session.scalar(select(IndexVersion).where(IndexVersion.code == code))
    if version is None:
        raise NotFound(f"No index version {code!r}; list them with GET /api/v1/evaluation/indexes.")
    return version


async def load_items(session: AsyncSession, version_id: int) -> list[LoadedItem]:
    """Every leaf item of a version in index order (project, content, item)."""
    rows = await session.execute(
        select(
            IndexItem, IndexProject.code, IndexProject.name, IndexContent.code, IndexContent.name
        )
        .join(IndexContent, IndexContent.id == IndexItem.content_id)
        .join(IndexProject, IndexProject.id == IndexContent.project_id)
        .where(IndexItem.version_id == version_id)
        .order_by(IndexProject.sort_order, IndexContent.sort_order, IndexItem.sort_order)
    )
    found = rows.all()
    types: dict[int, list[str]] = defaultdict(list)
    type_rows = await session.execute(
        select(ItemLocationType.item_id, ItemLocationType.location_type)
        .join(IndexItem, IndexItem.id == ItemLocationType.item_id)
        .where(IndexItem.version_id == version_id)
        .order_by(ItemLocationType.item_id, ItemLocationType.location_type)
    )
    for item_id, location_type in type_rows.all():
        types[item_id].append(location_type)
    return [
        LoadedItem(
            id=item.id,
            code=item.code,
            text=item.text,
            method=Method(item.method),
            max_points=item.max_points,
            per_finding=item.per_finding,
            project_code=p_code,
            project_name=p_name,
            content_code=c_code,
            content_name=c_name,
            location_types=tuple(types.get(item.id, ())),
        )
        for item, p_code, p_name, c_code, c_name in found
    ]


async def year_by_number(session: AsyncSession, year: int) -> Year:
    """An evaluation year, or 404."""
    found = await session.scalar(select(Year).where(Year.year == year))
    if found is None:
        raise NotFound(f"No evaluation year {year}; create it with `wenming eval setup`.")
    return found


async def rounds_of(session: AsyncSession, year_id: int) -> list[Round]:
    """A year's rounds in order."""
    rows = await session.scalars(
        select(Round).where(Round.year_id == year_id).order_by(Round.sort_order, Round.code)
    )
    return list(rows)


async def round_by_code(session: AsyncSession, code: str) -> Round:
    """A round by code, or 404."""
    found = await session.scalar(select(Round).where(Round.code == code))
    if found is None:
        raise NotFound(f"No round {code!r}.")
    return found


async def method_weights(
    session: AsyncSession, round_ids: Iterable[int]
) -> dict[int, dict[Method, int]]:
    """The method weights of rounds that have any."""
    weights: dict[int, dict[Method, int]] = defaultdict(dict)
    rows = await session.execute(
        select(MethodWeight.round_id, MethodWeight.method, MethodWeight.weight).where(
            MethodWeight.round_id.in_(list(round_ids))
        )
    )
    for round_id, method, weight in rows.all():
        weights[round_id][Method(method)] = weight
    return dict(weights)


async def categories(session: AsyncSession) -> list[Category]:
    """Every category in display order."""
    rows = await session.scalars(select(Category).order_by(Category.sort_order, Category.code))
    return list(rows)


async def participants(
    session: AsyncSession, viewer: Viewer, category: str | None = None
) -> list[Participant]:
    """The participants a viewer may read, by code, optionally in one category (code)."""
    query = select(Participant).where(readable_participants(viewer))
    if category is not None:
        query = query.where(Participant.category_code == category)
    return list(await session.scalars(query.order_by(Participant.code)))


async def participant_by_code(session: AsyncSession, viewer: Viewer, code: str) -> Participant:
    """A participant the viewer may read, or 404 (outsiders do not exist for them)."""
    found = await session.scalar(
        select(Participant).where(Participant.code == code, readable_participants(viewer))
    )
    if found is None:
        raise NotFound(f"No participant {code!r} within your scope.")
    return found


async def scores_for(
    session: AsyncSession, round_ids: Sequence[int], participant_ids: Sequence[int] | None = None
) -> dict[tuple[int, int], dict[int, int]]:
    """Points per item id, keyed by (round id, participant id)."""
    query = select(Score.round_id, Score.participant_id, Score.item_id, Score.points).where(
        Score.round_id.in_(list(round_ids))
    )
    if participant_ids is not None:
        query = query.where(Score.participant_id.in_(list(participant_ids)))
    found: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for round_id, participant_id, item_id, points in (await session.execute(query)).all():
        found[(round_id, participant_id)][item_id] = points
    return dict(found)


async def absent_types(
    session: AsyncSession, round_ids: Sequence[int]
) -> dict[tuple[int, int], set[str]]:
    """Absent location types keyed by (round id, participant id)."""
    found: dict[tuple[int, int], set[str]] = defaultdict(set)
    rows = await session.execute(
        select(AbsentType.round_id, AbsentType.participant_id, AbsentType.location_type).where(
            AbsentType.round_id.in_(list(round_ids))
        )
    )
    for round_id, participant_id, location_type in rows.all():
        found[(round_id, participant_id)].add(location_type)
    return dict(found)


async def plan_points(session: AsyncSession, plan_id: int) -> list[SampledPoint]:
    """A plan's drawn points in draw order."""
    rows = await session.scalars(
        select(SampledPoint)
        .where(SampledPoint.plan_id == plan_id)
        .order_by(SampledPoint.draw_order)
    )
    return list(rows)


async def plan_by_id(session: AsyncSession, plan_id: int) -> SamplingPlan:
    """A sampling plan, or 404."""
    plan = await session.get(SamplingPlan, plan_id)
    if plan is None:
        raise NotFound(f"No sampling plan {plan_id}.")
    return plan
