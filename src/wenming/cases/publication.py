"""Photo publication: command-centre staff approve a case's photos for the public.

Photos are private to those who may read the case until the intake clerk or dispatcher of the
case's territory publishes them; only published photos appear on the public map and through
Open311 (``cases/public.py``). Someone who may not read the case gets 404 (its existence is not
revealed); someone who reads it without being its command centre gets 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.attachments.models import Attachment
from wenming.auth.deps import SignedInActor
from wenming.cases.access import capacities
from wenming.cases.models import Case, CaseAttachment
from wenming.cases.service import case_by_code
from wenming.cases.vocab import Purpose
from wenming.cases.workflow import Capacity
from wenming.core.deps import AppClock, DbSession
from wenming.core.errors import Forbidden, NotFound
from wenming.org.scope import Actor

PUBLISHERS = frozenset({Capacity.INTAKE, Capacity.DISPATCHER})


class PhotoPublicationOut(BaseModel):
    """A case photo and whether the public may see it."""

    key: str
    purpose: Purpose
    published: bool
    published_at: datetime | None


async def may_publish(session: AsyncSession, actor: Actor, case: Case) -> bool:
    """Whether the actor is the command centre (intake or dispatcher) of the case's territory."""
    return bool(await capacities(session, actor, case) & PUBLISHERS)


async def published_keys(session: AsyncSession, case: Case) -> set[str]:
    """The keys of the case's photos that are published."""
    rows = await session.scalars(
        select(Attachment.key)
        .join(CaseAttachment, CaseAttachment.attachment_id == Attachment.id)
        .where(CaseAttachment.case_id == case.id, CaseAttachment.published_at.is_not(None))
    )
    return set(rows.all())


async def set_published(
    session: AsyncSession, actor: Actor, code: str, key: str, *, published: bool, now: datetime
) -> PhotoPublicationOut:
    """Publish or withdraw one photo of a case. Publishing twice keeps the first approval."""
    case = await case_by_code(session, actor, code)
    if not await may_publish(session, actor, case):
        raise Forbidden(
            "Only the intake clerks and dispatchers of the case's territory publish its photos."
        )
    row = (
        await session.execute(
            select(CaseAttachment, Attachment.key)
            .join(Attachment, Attachment.id == CaseAttachment.attachment_id)
            .where(CaseAttachment.case_id == case.id, Attachment.key == key)
        )
    ).first()
    if row is None:
        raise NotFound(f"Case {code} has no photo {key}.")
    link = row[0]
    if published and link.published_at is None:
        link.published_at = now
        link.published_by_id = actor.user_id
    elif not published:
        link.published_at = None
        link.published_by_id = None
    await session.flush()
    return PhotoPublicationOut(
        key=key,
        purpose=Purpose(link.purpose),
        published=link.published_at is not None,
        published_at=link.published_at,
    )


router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

CodePath = Annotated[str, Path(pattern=r"^[A-Z0-9]{4,16}$", description="tracking code")]
KeyPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="photo key")]


@router.post(
    "/{code}/photos/{key}/publish",
    response_model=PhotoPublicationOut,
    summary="Publish a photo",
)
async def publish(
    code: CodePath, key: KeyPath, session: DbSession, actor: SignedInActor, clock: AppClock
) -> PhotoPublicationOut:
    """Let the public see this photo of the case (command centre of its territory)."""
    return await set_published(session, actor, code, key, published=True, now=clock.now())


@router.post(
    "/{code}/photos/{key}/unpublish",
    response_model=PhotoPublicationOut,
    summary="Withdraw a photo",
)
async def unpublish(
    code: CodePath, key: KeyPath, session: DbSession, actor: SignedInActor, clock: AppClock
) -> PhotoPublicationOut:
    """Hide this photo of the case from the public again."""
    return await set_published(session, actor, code, key, published=False, now=clock.now())
