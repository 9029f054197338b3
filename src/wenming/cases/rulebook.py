"""The rulebook: categories, time limits, the working calendar and routing rules as one immutable
snapshot, cached per database and keyed by ``case_reference_version``. Intake and transitions read
it on every request, so it costs one primary-key read when nothing has changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from wenming.cases.calendar import CalendarDay as Day
from wenming.cases.calendar import DayKind, LimitUnit, WorkingCalendar
from wenming.cases.models import CalendarDay, Category, ReferenceVersion, RoutingRule, TimeLimit
from wenming.cases.verification import VerifyRuleInfo
from wenming.cases.verification_models import VerifyRule
from wenming.cases.vocab import Area, Kind, Source, Urgency
from wenming.cases.workflow import Step
from wenming.core.config import Settings
from wenming.core.stampcache import PerDatabase


@dataclass(frozen=True)
class CategoryInfo:
    """A category as the loop needs it (a detached copy of the row)."""

    id: int
    kind: Kind
    code: str
    class_code: str
    name_zh: str
    name_en: str
    area: Area
    department_key: str | None
    public: bool
    after_photo: bool
    duplicate_radius_m: int
    icon: str
    active: bool

    def name(self, language: str) -> str:
        """The category's name in a language (Chinese unless English is asked for)."""
        return self.name_en if language == "en" else self.name_zh


@dataclass(frozen=True)
class RuleInfo:
    """A routing rule (a detached copy of the row)."""

    id: int
    category_id: int | None
    area_unit_id: int | None
    component_owner_id: int | None
    target_department_id: int | None
    target_unit_id: int | None
    note: str


@dataclass(frozen=True)
class Rulebook:
    """Everything the loop's rules read, at one version."""

    version: int
    categories: dict[int, CategoryInfo]
    by_code: dict[tuple[Kind, str], int]
    limits: dict[tuple[int | None, str | None, str], tuple[int, LimitUnit]]
    calendar: WorkingCalendar
    rules: tuple[RuleInfo, ...]
    verify_rules: tuple[VerifyRuleInfo, ...] = ()

    def category(self, category_id: int) -> CategoryInfo:
        """A category by id (it exists: cases reference categories with a foreign key)."""
        return self.categories[category_id]

    def limit_for(self, category_id: int, urgency: Urgency, step: Step) -> tuple[int, LimitUnit]:
        """The time limit of a step: the category's own row for this urgency, then an urgency
        row for every category (urgent and emergency cases run faster than any category's
        normal limit), then the category's row for any urgency, then the global default."""
        urgent = None if urgency is Urgency.NORMAL else urgency.value
        for key in (
            (category_id, urgency.value, step.value),
            (None, urgent, step.value) if urgent else None,
            (category_id, None, step.value),
            (None, None, step.value),
        ):
            if key is not None and key in self.limits:
                return self.limits[key]
        raise LookupError(f"no time limit configured for step {step.value}")


async def bump_reference_version(session: AsyncSession, now: datetime) -> int:
    """Record a change of the rulebook in the current transaction; returns the new version."""
    session.info.pop(SESSION_KEY, None)
    result = await session.execute(
        update(ReferenceVersion)
        .where(ReferenceVersion.id == 1)
        .values(version=ReferenceVersion.version + 1, updated_at=now)
        .returning(ReferenceVersion.version)
    )
    version = result.scalar_one_or_none()
    if version is None:
        session.add(ReferenceVersion(id=1, version=1, updated_at=now))
        await session.flush()
        return 1
    return int(version)


async def _read(session: AsyncSession, version: int, settings: Settings) -> Rulebook:
    categories = {
        row.id: CategoryInfo(
            id=row.id,
            kind=Kind(row.kind),
            code=row.code,
            class_code=row.class_code,
            name_zh=row.name_zh,
            name_en=row.name_en,
            area=Area(row.area),
            department_key=row.department_key,
            public=row.public,
            after_photo=row.after_photo,
            duplicate_radius_m=row.duplicate_radius_m,
            icon=row.icon,
            active=row.active,
        )
        for row in (await session.scalars(select(Category))).all()
    }
    limits = {
        (row.category_id, row.urgency, row.step): (row.amount, LimitUnit(row.unit))
        for row in (await session.scalars(select(TimeLimit))).all()
    }
    days = [
        Day(day=row.day, kind=DayKind(row.kind), name=row.name)
        for row in (await session.scalars(select(CalendarDay))).all()
    ]
    rules = tuple(
        RuleInfo(
            id=row.id,
            category_id=row.category_id,
            area_unit_id=row.area_unit_id,
            component_owner_id=row.component_owner_id,
            target_department_id=row.target_department_id,
            target_unit_id=row.target_unit_id,
            note=row.note,
        )
        for row in (await session.scalars(select(RoutingRule).order_by(RoutingRule.id))).all()
    )
    verify_rules = tuple(
        VerifyRuleInfo(
            id=row.id,
            source=Source(row.source) if row.source else None,
            category_id=row.category_id,
            verify=row.verify,
        )
        for row in (await session.scalars(select(VerifyRule).order_by(VerifyRule.id))).all()
    )
    return Rulebook(
        version=version,
        categories=categories,
        by_code={(c.kind, c.code): c.id for c in categories.values()},
        limits=limits,
        calendar=WorkingCalendar.build(settings.timezone, settings.work_hours, days),
        rules=rules,
        verify_rules=verify_rules,
    )


class RulebookCache:
    """The newest rulebook read by this process for one database."""

    def __init__(self) -> None:
        self.current: Rulebook | None = None

    async def get(self, session: AsyncSession, settings: Settings) -> Rulebook:
        """The rulebook at the database's current version, re-read only when it moved."""
        if session.new or session.dirty or session.deleted:
            await session.flush()
        version = int(
            await session.scalar(select(ReferenceVersion.version).where(ReferenceVersion.id == 1))
            or 0
        )
        current = self.current
        if current is None or current.version != version:
            current = await _read(session, version, settings)
            self.current = current
        return current


_CACHES = PerDatabase(RulebookCache)


def rulebook_cache(session: AsyncSession) -> RulebookCache:
    """The rulebook cache of the database a session talks to."""
    return _CACHES.of(session)


SESSION_KEY = "wenming.rulebook"


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    """The end of the outermost transaction forgets the rulebook: the next one reads the version
    (a released SAVEPOINT is not the end: the unit of work goes on)."""
    if transaction.parent is None:
        session.info.pop(SESSION_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: SessionTransaction) -> None:
    """Anything undone may have undone a change of the rulebook too."""
    session.info.pop(SESSION_KEY, None)


async def rulebook(session: AsyncSession, settings: Settings) -> Rulebook:
    """The current rulebook for this session's database, read once per unit of work.

    Within one transaction the version can only move by this transaction's own change, which
    forgets the remembered copy (``bump_reference_version``).
    """
    remembered = session.info.get(SESSION_KEY)
    if isinstance(remembered, Rulebook):
        return remembered
    book = await rulebook_cache(session).get(session, settings)
    session.info[SESSION_KEY] = book
    return book
