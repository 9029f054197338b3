"""Material review (材料审核): a participant submits evidence files per material item and round;
a reviewer scores the item from 0 to its max, and that score is the item's score (source
``material``), kept in the round totals like any other."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments.service import attachment_by_key
from wenming.core.errors import Forbidden, InvalidInput
from wenming.evaluation import repository
from wenming.evaluation.access import Viewer, require_manager, require_reader
from wenming.evaluation.models import MaterialEvidence, MaterialReview, Participant, Round, Year
from wenming.evaluation.repository import LoadedItem
from wenming.evaluation.rules import Method, points
from wenming.evaluation.service import write_scores
from wenming.org.roles import Role

# Who submits evidence: the participant's own admins (the participant must lie in their
# territory, as every read does) and the system admins of the evaluating office.
UPLOADERS = frozenset({Role.STREET_ADMIN, Role.DISTRICT_ADMIN, Role.SYS_ADMIN})


@dataclass
class MaterialLine:
    """One material item of a participant's round: its evidence and its review."""

    item: LoadedItem
    evidence: list[MaterialEvidence] = field(default_factory=list)
    review: MaterialReview | None = None


async def _target(
    session: AsyncSession, actor: Viewer, round_code: str, participant_code: str, item_code: str
) -> tuple[Round, Participant, LoadedItem]:
    round_ = await repository.round_by_code(session, round_code)
    participant = await repository.participant_by_code(session, actor, participant_code)
    year = await session.get(Year, round_.year_id)
    assert year is not None
    items = await repository.load_items(session, year.version_id)
    item = next((i for i in items if i.code == item_code), None)
    if item is None or item.method is not Method.MATERIAL:
        materials = ", ".join(i.code for i in items if i.method is Method.MATERIAL) or "none"
        raise InvalidInput(
            f"Item {item_code!r} is not a material item of round {round_.code}; use one of: "
            f"{materials}.",
            field="item_code",
        )
    return round_, participant, item


async def submit(
    session: AsyncSession,
    actor: Viewer,
    round_code: str,
    participant_code: str,
    item_code: str,
    attachment_key: str,
    note: str,
    *,
    now: datetime,
) -> MaterialEvidence:
    """Add an evidence file to a material item: by the participant's own admins (whose territory
    holds its unit) or by an evaluation manager."""
    require_reader(actor)
    round_, participant, item = await _target(
        session, actor, round_code, participant_code, item_code
    )
    if actor is not None and not actor.has_role(*UPLOADERS):
        raise Forbidden("Evidence is submitted by the participant's street or district admins.")
    await attachment_by_key(session, attachment_key)
    evidence = MaterialEvidence(
        round_id=round_.id,
        participant_id=participant.id,
        item_id=item.id,
        attachment_key=attachment_key,
        note=note.strip()[:2000],
        uploaded_by=actor.user_id if actor is not None else None,
        uploaded_at=now,
    )
    session.add(evidence)
    await session.flush()
    return evidence


async def review(
    session: AsyncSession,
    actor: Viewer,
    round_code: str,
    participant_code: str,
    item_code: str,
    value: int,
    note: str,
    *,
    now: datetime,
) -> MaterialReview:
    """Score a material item (hundredths, 0..max); the score replaces the item's score."""
    require_manager(actor)
    round_, participant, item = await _target(
        session, actor, round_code, participant_code, item_code
    )
    if not 0 <= value <= item.max_points:
        raise InvalidInput(
            f"Score item {item.code} from 0 to {points(item.max_points)} points.", field="points"
        )
    found = await session.get(MaterialReview, (round_.id, participant.id, item.id))
    if found is None:
        found = MaterialReview(round_id=round_.id, participant_id=participant.id, item_id=item.id)
        session.add(found)
    found.points = value
    found.note = note.strip()[:2000]
    found.reviewed_by = actor.user_id if actor is not None else None
    found.reviewed_at = now
    await session.flush()
    await write_scores(
        session, {(round_.id, participant.id, item.id): value}, source="material", now=now
    )
    return found


async def lines(
    session: AsyncSession, actor: Viewer, round_code: str, participant_code: str
) -> tuple[Round, Participant, list[MaterialLine]]:
    """Every material item of a participant's round with its evidence and review."""
    require_reader(actor)
    round_ = await repository.round_by_code(session, round_code)
    participant = await repository.participant_by_code(session, actor, participant_code)
    year = await session.get(Year, round_.year_id)
    assert year is not None
    result = {
        i.id: MaterialLine(i)
        for i in await repository.load_items(session, year.version_id)
        if i.method is Method.MATERIAL
    }
    evidence: dict[int, list[MaterialEvidence]] = defaultdict(list)
    for row in await session.scalars(
        select(MaterialEvidence)
        .where(
            MaterialEvidence.round_id == round_.id,
            MaterialEvidence.participant_id == participant.id,
        )
        .order_by(MaterialEvidence.id)
    ):
        evidence[row.item_id].append(row)
    for reviewed in await session.scalars(
        select(MaterialReview).where(
            MaterialReview.round_id == round_.id, MaterialReview.participant_id == participant.id
        )
    ):
        if reviewed.item_id in result:
            result[reviewed.item_id].review = reviewed
    for item_id, rows in evidence.items():
        if item_id in result:
            result[item_id].evidence = rows
    return round_, participant, list(result.values())
