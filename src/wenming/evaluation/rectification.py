"""Closing the loop (以测促建): every field deduction at a point inside this deployment's grids
files a rectification case (source ``evaluation``) through the normal case intake, in the name of
the evaluator who recorded it, linked to the item and the participant. Filing is idempotent: one
case per item per drawn point, however often the verdict is saved or the filing re-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.auth.service import load_actor
from wenming.cases import service as case_service
from wenming.cases.models import Case
from wenming.cases.schemas import CaseCreate
from wenming.cases.vocab import Kind, Source
from wenming.cases.workflow import State
from wenming.core.config import Settings
from wenming.evaluation import repository
from wenming.evaluation.access import Viewer, require_manager, require_reader
from wenming.evaluation.models import (
    CheckResult,
    IndexItem,
    Participant,
    Rectification,
    Round,
    SampledPoint,
    SamplingPlan,
    Year,
)
from wenming.evaluation.repository import LoadedItem
from wenming.geo.lookup import OutsideGrids, locate
from wenming.geo.models import InspectionPoint
from wenming.org.scope import Actor

# The case category a deduction files under, by the item's project (the six areas of the
# evaluation); an item of any other project files as "piled clutter" (乱堆杂物), a general
# cityscape category the command centre re-classifies when needed.
AREA_CATEGORIES: dict[str, tuple[Kind, str]] = {
    "基础设施": (Kind.EVENT, "0114"),  # 道路破损
    "环境卫生": (Kind.EVENT, "0102"),  # 暴露垃圾
    "市容秩序": (Kind.EVENT, "0109"),  # 乱堆杂物
    "交通秩序": (Kind.EVENT, "0505"),  # 机动车乱停放
    "氛围宣传": (Kind.EVENT, "2104"),  # 宣传氛围不足
    "市民素质": (Kind.EVENT, "2102"),  # 随地吐痰、乱扔垃圾
}
DEFAULT_CATEGORY: tuple[Kind, str] = (Kind.EVENT, "0109")


def case_category(item: LoadedItem) -> tuple[Kind, str]:
    """The case category of a deduction on an item: by its project's area."""
    return AREA_CATEGORIES.get(item.project_name.strip(), DEFAULT_CATEGORY)


def description(
    item: LoadedItem, point: InspectionPoint, round_: Round, result: CheckResult
) -> str:
    """What the case says: the round, the item (code and text), the point and the findings."""
    text = (
        f"测评扣分（{round_.name}）：{item.code} {item.text}。"
        f"点位 {point.code} {point.name}，发现问题 {result.findings} 处。"
    )
    if result.note:
        text += f" 测评员备注：{result.note}"
    return text[:2000]


@dataclass(frozen=True)
class RectificationRate:
    """Rectification cases filed for a participant and how many are closed."""

    created: int
    closed: int

    @property
    def percent(self) -> float | None:
        """Closed ÷ created in percent, or None before any case."""
        return None if self.created == 0 else 100.0 * self.closed / self.created


async def file_case(
    session: AsyncSession,
    actor: Actor,
    sampled: SampledPoint,
    item: LoadedItem,
    result: CheckResult,
    *,
    now: datetime,
    settings: Settings,
) -> Rectification | None:
    """File the case of one deduction, unless it is filed already, it is no deduction, or the
    point lies outside every grid of this deployment (a district that does not run Wenming)."""
    if result.findings <= 0:
        return None
    known = await session.scalar(
        select(Rectification).where(
            Rectification.sampled_point_id == sampled.id, Rectification.item_id == item.id
        )
    )
    if known is not None:
        return known
    point = await session.get(InspectionPoint, sampled.point_id)
    plan = await session.get(SamplingPlan, sampled.plan_id)
    assert point is not None and plan is not None
    round_ = await session.get(Round, plan.round_id)
    assert round_ is not None
    try:
        await locate(session, point.lon, point.lat)
    except OutsideGrids:
        return None
    kind, code = case_category(item)
    body = CaseCreate(
        category_kind=kind,
        category_code=code,
        description=description(item, point, round_, result),
        source=Source.EVALUATION,
        lon=point.lon,
        lat=point.lat,
        address=point.name[:200],
        public=False,
        attachments=[result.attachment_key] if result.attachment_key else [],
    )
    try:
        # Two saves of the same verdict at once: the second one's case and link roll back
        # together, and it answers with the first one's link.
        async with session.begin_nested():
            reported = await case_service.report(session, actor, body, now=now, settings=settings)
            link = Rectification(
                sampled_point_id=sampled.id,
                item_id=item.id,
                round_id=plan.round_id,
                participant_id=plan.participant_id,
                case_id=reported.case.id,
                created_at=now,
            )
            session.add(link)
            await session.flush()
    except IntegrityError:
        return await session.scalar(
            select(Rectification).where(
                Rectification.sampled_point_id == sampled.id, Rectification.item_id == item.id
            )
        )
    return link


async def file_round(
    session: AsyncSession,
    actor: Viewer,
    round_code: str,
    participant_code: str,
    *,
    now: datetime,
    settings: Settings,
) -> int:
    """File the missing cases of every deduction in a participant's round (each in the name of
    the evaluator who recorded it); returns how many were filed now. Re-running files none."""
    require_manager(actor)
    round_ = await repository.round_by_code(session, round_code)
    participant = await repository.participant_by_code(session, actor, participant_code)
    year = await session.get(Year, round_.year_id)
    assert year is not None
    items = {i.id: i for i in await repository.load_items(session, year.version_id)}
    rows = await session.execute(
        select(SampledPoint, CheckResult)
        .join(SamplingPlan, SamplingPlan.id == SampledPoint.plan_id)
        .join(CheckResult, CheckResult.sampled_point_id == SampledPoint.id)
        .outerjoin(
            Rectification,
            (Rectification.sampled_point_id == SampledPoint.id)
            & (Rectification.item_id == CheckResult.item_id),
        )
        .where(
            SamplingPlan.round_id == round_.id,
            SamplingPlan.participant_id == participant.id,
            CheckResult.findings > 0,
            Rectification.id.is_(None),
        )
        .order_by(SampledPoint.draw_order, CheckResult.item_id)
    )
    filed = 0
    actors: dict[int, Actor | None] = {}
    for sampled, result in rows.all():
        if result.checked_by is None:
            continue
        if result.checked_by not in actors:
            actors[result.checked_by] = await load_actor(session, result.checked_by)
        evaluator = actors[result.checked_by]
        if evaluator is None:
            continue
        link = await file_case(
            session, evaluator, sampled, items[result.item_id], result, now=now, settings=settings
        )
        filed += link is not None
    return filed


async def rate(
    session: AsyncSession, participant: Participant, round_ids: list[int] | None = None
) -> RectificationRate:
    """A participant's rectification rate: its closed cases over the cases filed for it."""
    query = (
        select(func.count(), func.count().filter(Case.state == State.CLOSED.value))
        .select_from(Rectification)
        .join(Case, Case.id == Rectification.case_id)
        .where(Rectification.participant_id == participant.id)
    )
    if round_ids is not None:
        query = query.where(Rectification.round_id.in_(round_ids))
    created, closed = (await session.execute(query)).one()
    return RectificationRate(int(created), int(closed))


@dataclass(frozen=True)
class CaseLink:
    """A filed rectification case as a participant's page lists it."""

    round_code: str
    item_code: str
    point_code: str
    case_code: str
    state: str


async def cases_of(
    session: AsyncSession, viewer: Viewer, participant: Participant
) -> list[CaseLink]:
    """The rectification cases filed for a participant, by round, point and item."""
    require_reader(viewer)
    rows = await session.execute(
        select(Round.code, Rectification.item_id, InspectionPoint.code, Case.code, Case.state)
        .select_from(Rectification)
        .join(Round, Round.id == Rectification.round_id)
        .join(SampledPoint, SampledPoint.id == Rectification.sampled_point_id)
        .join(InspectionPoint, InspectionPoint.id == SampledPoint.point_id)
        .join(Case, Case.id == Rectification.case_id)
        .where(Rectification.participant_id == participant.id)
        .order_by(Round.sort_order, Round.code, SampledPoint.draw_order, Rectification.item_id)
    )
    found = rows.all()
    codes = dict(
        (
            await session.execute(
                select(IndexItem.id, IndexItem.code).where(
                    IndexItem.id.in_({item_id for _, item_id, _, _, _ in found})
                )
            )
        ).all()
    )
    return [
        CaseLink(round_code, codes[item_id], point_code, case_code, state)
        for round_code, item_id, point_code, case_code, state in found
    ]
