"""Who should handle a case (条块结合、以块为主): a suggestion with its reason, for the dispatcher.

In order: the most specific matching routing rule; the maintainer department of the case's
component; the category's line department in the case's district; and otherwise the street/town
that owns the place (属地兜底). A rule is more specific the more of (category, area, component
owner) it names, and within an area rule the smaller the area; ties go to the older rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.models import Case
from wenming.cases.rulebook import Rulebook, RuleInfo
from wenming.geo.models import Component
from wenming.org.models import AdminUnit, Department, UnitClosure


class Reason(StrEnum):
    """Why a unit was suggested."""

    RULE = "rule"
    COMPONENT = "component"
    CATEGORY = "category"
    TERRITORY = "territory"


@dataclass(frozen=True)
class Target:
    """A responsible unit: a department (条) or a territorial unit (块), never both."""

    department_id: int | None = None
    unit_id: int | None = None

    def __post_init__(self) -> None:
        if (self.department_id is None) == (self.unit_id is None):
            raise ValueError("a target is exactly one department or one unit")


@dataclass(frozen=True)
class Suggestion:
    """The suggested target, why, and the rule that matched (if one did)."""

    target: Target
    reason: Reason
    rule_id: int | None = None


async def unit_depths(session: AsyncSession, unit_id: int) -> dict[int, int]:
    """The unit and its ancestors, each with its distance from the unit (0 for itself)."""
    rows = await session.execute(
        select(UnitClosure.ancestor_id, UnitClosure.depth).where(
            UnitClosure.descendant_id == unit_id
        )
    )
    return {ancestor: depth for ancestor, depth in rows}


def _best_rule(
    book: Rulebook, case: Case, owner_id: int | None, depths: dict[int, int]
) -> RuleInfo | None:
    best: tuple[tuple[int, int, int], RuleInfo] | None = None
    for rule in book.rules:
        if rule.category_id is not None and rule.category_id != case.category_id:
            continue
        if rule.component_owner_id is not None and rule.component_owner_id != owner_id:
            continue
        if rule.area_unit_id is not None and rule.area_unit_id not in depths:
            continue
        named = sum(
            value is not None
            for value in (rule.category_id, rule.area_unit_id, rule.component_owner_id)
        )
        closeness = -depths[rule.area_unit_id] if rule.area_unit_id is not None else -99
        rank = (named, closeness, -rule.id)
        if best is None or rank > best[0]:
            best = (rank, rule)
    return best[1] if best else None


async def suggest(session: AsyncSession, book: Rulebook, case: Case) -> Suggestion:
    """The responsible unit the rules suggest for a case, with the reason."""
    depths = await unit_depths(session, case.unit_id)
    component: Component | None = None
    if case.component_id is not None:
        component = await session.get(Component, case.component_id)
    owner_id = component.owner_department_id if component is not None else None
    rule = _best_rule(book, case, owner_id, depths)
    if rule is not None:
        return Suggestion(
            Target(department_id=rule.target_department_id, unit_id=rule.target_unit_id),
            Reason.RULE,
            rule.id,
        )
    if component is not None and component.maintainer_department_id is not None:
        return Suggestion(
            Target(department_id=component.maintainer_department_id), Reason.COMPONENT
        )
    key = book.category(case.category_id).department_key
    if key is not None:
        district = await session.scalar(
            select(AdminUnit.code)
            .join(UnitClosure, UnitClosure.ancestor_id == AdminUnit.id)
            .where(UnitClosure.descendant_id == case.unit_id, AdminUnit.level == 3)
        )
        if district is not None:
            department_id = await session.scalar(
                select(Department.id).where(Department.code == f"{district[:6]}-{key}")
            )
            if department_id is not None:
                return Suggestion(Target(department_id=department_id), Reason.CATEGORY)
    street_id = case.street_id if case.street_id is not None else case.unit_id
    return Suggestion(Target(unit_id=street_id), Reason.TERRITORY)
