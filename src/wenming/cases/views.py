"""Cases as the API and the pages show them: names resolved, reporters masked for those who do not
need them, the timeline with its photos, and the actions the viewer may take."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments.models import Attachment
from wenming.cases.access import capacities, sees_reporter
from wenming.cases.models import Case, CaseAttachment, CaseEvent
from wenming.cases.rulebook import CategoryInfo, Rulebook, rulebook
from wenming.cases.schemas import (
    AttachmentOut,
    CaseOut,
    CaseSummary,
    CategoryOut,
    EventOut,
    PlaceOut,
    SuggestionOut,
)
from wenming.cases.service import standing_of
from wenming.cases.vocab import Purpose, Source, Urgency
from wenming.cases.workflow import Capacity, State, allowed_actions
from wenming.core.config import Settings
from wenming.core.security import mask_name, mask_phone
from wenming.geo.models import Component, Grid
from wenming.org.models import AdminUnit, Department
from wenming.org.scope import Actor


def category_out(category: CategoryInfo) -> CategoryOut:
    """A category for the API."""
    return CategoryOut(
        kind=category.kind,
        code=category.code,
        class_code=category.class_code,
        name_zh=category.name_zh,
        name_en=category.name_en,
        area=category.area,
        department_key=category.department_key,
        public=category.public,
        after_photo=category.after_photo,
        duplicate_radius_m=category.duplicate_radius_m,
        icon=category.icon,
        active=category.active,
    )


class Names:
    """Codes and names of the units and departments a set of cases mentions, read in two queries."""

    def __init__(self) -> None:
        self.units: dict[int, PlaceOut] = {}
        self.departments: dict[int, PlaceOut] = {}

    @classmethod
    async def load(cls, session: AsyncSession, cases: Sequence[Case]) -> Names:
        """The names for these cases."""
        names = cls()
        unit_ids = {
            i
            for c in cases
            for i in (c.unit_id, c.street_id, c.responsible_unit_id, c.suggested_unit_id)
            if i is not None
        }
        department_ids = {
            i
            for c in cases
            for i in (c.responsible_department_id, c.suggested_department_id)
            if i is not None
        }
        if unit_ids:
            rows = await session.execute(
                select(AdminUnit.id, AdminUnit.code, AdminUnit.name).where(
                    AdminUnit.id.in_(unit_ids)
                )
            )
            names.units = {i: PlaceOut(code=code, name=name) for i, code, name in rows}
        if department_ids:
            rows = await session.execute(
                select(Department.id, Department.code, Department.name).where(
                    Department.id.in_(department_ids)
                )
            )
            names.departments = {i: PlaceOut(code=code, name=name) for i, code, name in rows}
        return names

    def unit(self, unit_id: int | None) -> PlaceOut | None:
        """A unit by id, if known."""
        return self.units.get(unit_id) if unit_id is not None else None

    def department(self, department_id: int | None) -> PlaceOut | None:
        """A department by id, if known."""
        return self.departments.get(department_id) if department_id is not None else None


def summary(case: Case, book: Rulebook, names: Names) -> CaseSummary:
    """A case as a queue row."""
    community = names.unit(case.unit_id) if case.unit_id != case.street_id else None
    return CaseSummary(
        code=case.code,
        state=State(case.state),
        source=Source(case.source),
        urgency=Urgency(case.urgency),
        category=category_out(book.category(case.category_id)),
        description=case.description,
        address=case.address,
        lon=case.lon,
        lat=case.lat,
        street=names.unit(case.street_id),
        community=community,
        responsible_department=names.department(case.responsible_department_id),
        responsible_unit=names.unit(case.responsible_unit_id),
        due_at=case.due_at,
        overdue=case.overdue,
        escalation_level=case.escalation_level,
        pending=case.pending,
        created_at=case.created_at,
        version=case.version,
    )


async def summaries(
    session: AsyncSession, cases: Sequence[Case], settings: Settings
) -> list[CaseSummary]:
    """Queue rows for many cases, with their names read once."""
    book = await rulebook(session, settings)
    names = await Names.load(session, cases)
    return [summary(case, book, names) for case in cases]


def _attachment_out(key: str, purpose: str) -> AttachmentOut:
    return AttachmentOut(
        key=key,
        purpose=Purpose(purpose),
        url=f"/api/v1/attachments/{key}",
        thumb_url=f"/api/v1/attachments/{key}/thumb",
    )


def _by_the_public(case: Case, event: CaseEvent) -> bool:
    """Whether an event was made by the reporter or a supporter (a citizen, not staff)."""
    if event.action == "support":
        return True
    return event.actor_user_id is not None and event.actor_user_id == case.reporter_user_id


async def detail(
    session: AsyncSession, actor: Actor, case: Case, *, now: datetime, settings: Settings
) -> CaseOut:
    """A case in full as this actor may see it."""
    book = await rulebook(session, settings)
    names = await Names.load(session, [case])
    held = await capacities(session, actor, case)
    photos = (
        await session.execute(
            select(CaseAttachment.event_id, CaseAttachment.purpose, Attachment.key)
            .join(Attachment, Attachment.id == CaseAttachment.attachment_id)
            .where(CaseAttachment.case_id == case.id)
            .order_by(CaseAttachment.event_id, CaseAttachment.position)
        )
    ).all()
    events = (
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    ).all()
    grid_code = (
        await session.scalar(select(Grid.code).where(Grid.id == case.grid_id))
        if case.grid_id is not None
        else None
    )
    component_code = (
        await session.scalar(select(Component.code).where(Component.id == case.component_id))
        if case.component_id is not None
        else None
    )
    merged_into = (
        await session.scalar(select(Case.code).where(Case.id == case.merged_into_id))
        if case.merged_into_id is not None
        else None
    )
    return compose(
        actor,
        case,
        book,
        names,
        held,
        [(event_id, purpose, key) for event_id, purpose, key in photos],
        events,
        grid_code=grid_code,
        component_code=component_code,
        merged_into=merged_into,
        now=now,
        settings=settings,
    )


def compose(
    actor: Actor,
    case: Case,
    book: Rulebook,
    names: Names,
    held: frozenset[Capacity],
    photos: Sequence[tuple[int | None, str, str]],
    events: Sequence[CaseEvent],
    *,
    grid_code: str | None,
    component_code: str | None,
    merged_into: str | None,
    now: datetime,
    settings: Settings,
) -> CaseOut:
    """A case in full from what has been read about it: ``photos`` are (event id, purpose, key)
    in display order, ``events`` in time order."""
    by_event: dict[int | None, list[AttachmentOut]] = {}
    for event_id, purpose, key in photos:
        by_event.setdefault(event_id, []).append(_attachment_out(key, purpose))
    show = sees_reporter(actor, held)
    suggestion = None
    if case.suggestion_reason is not None:
        suggestion = SuggestionOut(
            department=names.department(case.suggested_department_id),
            unit=names.unit(case.suggested_unit_id),
            reason=case.suggestion_reason,
            rule_id=case.suggestion_rule_id,
        )
    base = summary(case, book, names)
    return CaseOut(
        **base.model_dump(),
        grid_code=grid_code,
        component_code=component_code,
        reporter_name=case.reporter_name if show else mask_name(case.reporter_name),
        reporter_phone=case.reporter_phone if show else mask_phone(case.reporter_phone),
        anonymous=case.anonymous,
        public=case.public,
        rework_count=case.rework_count,
        extension_count=case.extension_count,
        reopen_count=case.reopen_count,
        supporters=case.supporters,
        merged_into=merged_into,
        pending_due_at=case.pending_due_at,
        closed_at=case.closed_at,
        suggestion=suggestion,
        allowed_actions=allowed_actions(standing_of(case, now, settings), held),
        attachments=[a for group in by_event.values() for a in group],
        events=[
            EventOut(
                action=event.action,
                from_state=State(event.from_state) if event.from_state else None,
                to_state=State(event.to_state),
                actor=event.actor_label
                if show or not _by_the_public(case, event)
                else (mask_name(event.actor_label) or ""),
                at=event.at,
                note=event.note,
                data=json.loads(event.data),
                attachments=by_event.get(event.id, []),
            )
            for event in events
        ],
    )
