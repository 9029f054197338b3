"""A caller's earlier cases, for the hotline desk: "has this number called before, and what became
of it?"

Only cases whose reporter the clerk may see in full are listed — those of the territory where the
clerk works as intake clerk or dispatcher (the same people who see reporters' phones on the case
page, ``access.sees_reporter``). Listing a case of another territory would tell the clerk whose
number reported it, which its masked reporter hides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.access import readable
from wenming.cases.models import Case, CaseFollower
from wenming.cases.rulebook import CategoryInfo, rulebook
from wenming.cases.workflow import OPEN_STATES, State
from wenming.core.config import Settings
from wenming.core.errors import InvalidInput
from wenming.org.roles import Permission, Role
from wenming.org.scope import Actor, units_with

MAX_CALLER_CASES = 20
# Roles whose territory's reporters are shown in full: the command centre.
COMMAND_CENTRE_ROLES = frozenset({Role.INTAKE, Role.DISPATCHER})
# What people type between the digits of a number: spaces, dashes, dots, brackets.
_SEPARATORS = re.compile(r"[\s\-.()（）]")
_PHONE = re.compile(r"^\+?[0-9]{5,15}$")
CHINA_PREFIX = "+86"
PHONE_HINT = "Use 5 to 15 digits, with an optional leading +."


@dataclass(frozen=True)
class CallerCase:
    """One earlier case of a caller, as the desk lists it."""

    code: str
    state: State
    category: CategoryInfo
    address: str
    created_at: datetime
    reporter_name: str | None
    reported: bool  # the caller reported it; otherwise they follow it ("me too", merged report)

    @property
    def open(self) -> bool:
        """Whether the case is still being worked on."""
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class CallerHistory:
    """A caller's earlier cases, newest first, and whether there are more than listed."""

    phone: str
    cases: list[CallerCase]
    more: bool

    @property
    def open_count(self) -> int:
        """How many of the listed cases are still open."""
        return sum(1 for case in self.cases if case.open)


def normalise_phone(raw: str) -> str:
    """A phone number as stored: the separators people type removed; InvalidInput otherwise."""
    phone = _SEPARATORS.sub("", raw.strip())
    if not _PHONE.fullmatch(phone):
        raise InvalidInput(f"The phone number {raw.strip()!r}: {PHONE_HINT}", field="phone")
    return phone


def phone_variants(phone: str) -> list[str]:
    """The forms one number may have been stored in: with and without China's +86 for a
    mainland mobile number (11 digits starting with 1)."""
    if phone.startswith(CHINA_PREFIX) and len(phone) == 14 and phone[3] == "1":
        return [phone, phone[3:]]
    if len(phone) == 11 and phone.startswith("1"):
        return [phone, CHINA_PREFIX + phone]
    return [phone]


def command_centre(actor: Actor) -> Actor:
    """The actor with only their intake and dispatcher grants: whose territory they watch over."""
    return replace(actor, grants=tuple(g for g in actor.grants if g.role in COMMAND_CENTRE_ROLES))


async def earlier_cases(
    session: AsyncSession,
    actor: Actor,
    raw_phone: str,
    *,
    settings: Settings,
    limit: int = MAX_CALLER_CASES,
) -> CallerHistory:
    """The cases a phone number reported or follows, within the territory where the actor is an
    intake clerk or a dispatcher, newest first (at most ``limit``)."""
    phone = normalise_phone(raw_phone)
    variants = phone_variants(phone)
    followed = select(CaseFollower.case_id).where(CaseFollower.phone.in_(variants))
    rows = await session.scalars(
        select(Case)
        .where(
            or_(Case.reporter_phone.in_(variants), Case.id.in_(followed)),
            readable(actor),
            Case.unit_id.in_(units_with(command_centre(actor), Permission.READ_CASES)),
        )
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit + 1)
    )
    found = list(rows.all())
    book = await rulebook(session, settings)
    cases = [
        CallerCase(
            code=case.code,
            state=State(case.state),
            category=book.category(case.category_id),
            address=case.address,
            created_at=case.created_at,
            reporter_name=case.reporter_name,
            reported=case.reporter_phone in variants,
        )
        for case in found[:limit]
    ]
    return CallerHistory(phone=phone, cases=cases, more=len(found) > limit)
