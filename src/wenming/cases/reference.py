"""Reference data the loop runs on: the default category table, the default step time limits,
the default verification rule and the bundled working calendar. ``sync_reference_data`` adds what
is missing and never overwrites what an admin has changed, so it runs safely after every
upgrade."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.calendar import LimitUnit, bundled_calendar_days
from wenming.cases.models import CalendarDay, Category, CategoryClass, TimeLimit
from wenming.cases.rulebook import bump_reference_version
from wenming.cases.verification import DEFAULT_RULES
from wenming.cases.verification_models import VerifyRule
from wenming.cases.vocab import Area, Kind, Urgency
from wenming.cases.workflow import Step

CATEGORY_HEADER = [
    "kind",
    "code",
    "class_code",
    "name_zh",
    "name_en",
    "area",
    "department_key",
    "handle_amount",
    "handle_unit",
    "public",
    "after_photo",
    "duplicate_radius_m",
    "icon",
]

# Limits for the command centre's own steps and for urgency, for every category (a category's
# own row for a step wins over these, except that urgency rows win over a category's normal one).
DEFAULT_STEP_LIMITS: tuple[tuple[Urgency | None, Step, int, LimitUnit], ...] = (
    (None, Step.CONFIRM, 2, LimitUnit.WORK_HOURS),
    (None, Step.FILE, 1, LimitUnit.WORK_HOURS),
    (None, Step.DISPATCH, 1, LimitUnit.WORK_HOURS),
    (None, Step.HANDLE, 1, LimitUnit.WORK_DAYS),
    (None, Step.VERIFY, 4, LimitUnit.WORK_HOURS),
    (None, Step.CLOSE, 1, LimitUnit.WORK_HOURS),
    (Urgency.URGENT, Step.CONFIRM, 60, LimitUnit.MINUTES),
    (Urgency.URGENT, Step.FILE, 30, LimitUnit.MINUTES),
    (Urgency.URGENT, Step.DISPATCH, 30, LimitUnit.MINUTES),
    (Urgency.URGENT, Step.HANDLE, 4, LimitUnit.WORK_HOURS),
    (Urgency.EMERGENCY, Step.CONFIRM, 30, LimitUnit.MINUTES),
    (Urgency.EMERGENCY, Step.FILE, 10, LimitUnit.MINUTES),
    (Urgency.EMERGENCY, Step.DISPATCH, 10, LimitUnit.MINUTES),
    (Urgency.EMERGENCY, Step.HANDLE, 60, LimitUnit.MINUTES),
    (Urgency.EMERGENCY, Step.VERIFY, 60, LimitUnit.MINUTES),
)


@dataclass(frozen=True)
class DefaultCategory:
    """One row of the packaged category table."""

    kind: Kind
    code: str
    class_code: str
    name_zh: str
    name_en: str
    area: Area
    department_key: str | None
    handle_amount: int
    handle_unit: LimitUnit
    public: bool
    after_photo: bool
    duplicate_radius_m: int
    icon: str


def _read_data(name: str) -> list[dict[str, str]]:
    text = resources.files("wenming.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _flag(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(f"expected true or false, found {value!r}")
    return value == "true"


def default_classes() -> list[tuple[Kind, str, str, str]]:
    """The packaged category classes: (kind, code, name_zh, name_en)."""
    return [
        (Kind(row["kind"]), row["code"], row["name_zh"], row["name_en"])
        for row in _read_data("category_classes.csv")
    ]


def default_categories() -> list[DefaultCategory]:
    """The packaged default category table."""
    return [
        DefaultCategory(
            kind=Kind(row["kind"]),
            code=row["code"],
            class_code=row["class_code"],
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            area=Area(row["area"]),
            department_key=row["department_key"] or None,
            handle_amount=int(row["handle_amount"]),
            handle_unit=LimitUnit(row["handle_unit"]),
            public=_flag(row["public"]),
            after_photo=_flag(row["after_photo"]),
            duplicate_radius_m=int(row["duplicate_radius_m"]),
            icon=row["icon"],
        )
        for row in _read_data("categories.csv")
    ]


@dataclass(frozen=True)
class SyncReport:
    """How many rows of each kind were added."""

    classes: int
    categories: int
    limits: int
    calendar_days: int
    verify_rules: int = 0


async def sync_reference_data(session: AsyncSession, now: datetime) -> SyncReport:
    """Add the packaged classes, categories, limits and calendar days that are not there yet."""
    class_rows = await session.execute(select(CategoryClass.kind, CategoryClass.code))
    known_classes = set(class_rows)
    new_classes = [
        CategoryClass(kind=kind.value, code=code, name_zh=zh, name_en=en)
        for kind, code, zh, en in default_classes()
        if (kind.value, code) not in known_classes
    ]
    session.add_all(new_classes)

    known = {
        (kind, code): category_id
        for kind, code, category_id in (
            await session.execute(select(Category.kind, Category.code, Category.id))
        )
    }
    added: list[tuple[Category, DefaultCategory]] = []
    for row in default_categories():
        if (row.kind.value, row.code) in known:
            continue
        category = Category(
            kind=row.kind.value,
            code=row.code,
            class_code=row.class_code,
            name_zh=row.name_zh,
            name_en=row.name_en,
            area=row.area.value,
            department_key=row.department_key,
            public=row.public,
            after_photo=row.after_photo,
            duplicate_radius_m=row.duplicate_radius_m,
            icon=row.icon,
            active=True,
            updated_at=now,
        )
        session.add(category)
        added.append((category, row))
    await session.flush()

    limits = [
        TimeLimit(
            category_id=category.id,
            urgency=None,
            step=Step.HANDLE.value,
            amount=row.handle_amount,
            unit=row.handle_unit.value,
        )
        for category, row in added
    ]
    has_global = {
        (urgency, step)
        for urgency, step in (
            await session.execute(
                select(TimeLimit.urgency, TimeLimit.step).where(TimeLimit.category_id.is_(None))
            )
        )
    }
    limits += [
        TimeLimit(
            category_id=None,
            urgency=urgency.value if urgency else None,
            step=step.value,
            amount=amount,
            unit=unit.value,
        )
        for urgency, step, amount, unit in DEFAULT_STEP_LIMITS
        if (urgency.value if urgency else None, step.value) not in has_global
    ]
    session.add_all(limits)

    known_days = set((await session.scalars(select(CalendarDay.day))).all())
    days = [
        CalendarDay(day=day.day, kind=day.kind.value, name=day.name)
        for day in bundled_calendar_days()
        if day.day not in known_days
    ]
    session.add_all(days)

    # A default rule is added while no rule for its source (any category) exists; an admin turns
    # it off by setting ``verify`` to false, which the next upgrade leaves alone.
    has_rule = set(
        (
            await session.scalars(select(VerifyRule.source).where(VerifyRule.category_id.is_(None)))
        ).all()
    )
    rules = [
        VerifyRule(
            source=source.value if source else None,
            category_id=None,
            verify=verify,
            note="default",
            created_at=now,
        )
        for source, verify in DEFAULT_RULES
        if (source.value if source else None) not in has_rule
    ]
    session.add_all(rules)
    await session.flush()
    if new_classes or added or limits or days or rules:
        await bump_reference_version(session, now)
    return SyncReport(len(new_classes), len(added), len(limits), len(days), len(rules))
