"""Who should handle a case (条块结合、以块为主): a suggestion with its reason, for the dispatcher.

In order: the most specific matching routing rule; the maintainer department of the case's
component; the category's line department in the case's district; and otherwise the street/town
that owns the place (属地兜底). A rule is more specific the more of (category, area, component
owner) it names, and within an area rule the smaller the area; ties go to the older rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wenming.cases.directory import OrgLookups
from wenming.cases.models import Case
from wenming.cases.rulebook import Rulebook, RuleInfo
from wenming.geo.models import Component


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


async def suggest(
    org: OrgLookups, book: Rulebook, case: Case, component: Component | None
) -> Suggestion:
    """The responsible unit the rules suggest for a case (placed at ``case.unit_id``, with its
    ``component`` if any), with the reason."""
    depths = await org.depths(case.unit_id)
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
        district = await org.district_code(case.unit_id)
        if district is not None:
            department = await org.department_by_code(f"{district[:6]}-{key}")
            if department is not None:
                return Suggestion(Target(department_id=department.id), Reason.CATEGORY)
    street_id = case.street_id if case.street_id is not None else case.unit_id
    return Suggestion(Target(unit_id=street_id), Reason.TERRITORY)
