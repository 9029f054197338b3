"""Verify before filing (核实): which new reports a grid worker of their grid confirms on site
before the shift leader files them. Pure: the rules come in as data, the answer is a state.

A rule names a source, a category, both or neither, and says whether matching reports are
verified. The most specific matching rule wins: source and category, then category, then
source, then the catch-all; without a matching rule a report is not verified. A report placed
by unit (without a grid) has no grid worker and is never verified on site.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wenming.cases.vocab import Source
from wenming.cases.workflow import State


@dataclass(frozen=True)
class VerifyRuleInfo:
    """A verification rule (a detached copy of the row)."""

    id: int
    source: Source | None
    category_id: int | None
    verify: bool


# The packaged default: citizens' own reports are checked on site; reports by staff (grid
# workers, hotline clerks, inspectors...) are filed directly.
DEFAULT_RULES: tuple[tuple[Source | None, bool], ...] = ((Source.CITIZEN, True),)


def _specificity(rule: VerifyRuleInfo) -> int:
    return (2 if rule.category_id is not None else 0) + (1 if rule.source is not None else 0)


def matching_rule(
    rules: Iterable[VerifyRuleInfo], source: Source, category_id: int
) -> VerifyRuleInfo | None:
    """The most specific rule for a report's source and category (the older one on a tie)."""
    best: VerifyRuleInfo | None = None
    for rule in rules:
        if rule.source is not None and rule.source is not source:
            continue
        if rule.category_id is not None and rule.category_id != category_id:
            continue
        if (
            best is None
            or _specificity(rule) > _specificity(best)
            or (_specificity(rule) == _specificity(best) and rule.id < best.id)
        ):
            best = rule
    return best


def needs_verification(
    rules: Iterable[VerifyRuleInfo], source: Source, category_id: int, grid_id: int | None
) -> bool:
    """Whether a new report goes to a grid worker of its grid before it is filed."""
    if grid_id is None:
        return False
    rule = matching_rule(rules, source, category_id)
    return rule is not None and rule.verify


def initial_state(
    rules: Iterable[VerifyRuleInfo], source: Source, category_id: int, grid_id: int | None
) -> State:
    """The state a new report starts in: ``verifying`` when a rule sends it on site first,
    ``reported`` otherwise."""
    if needs_verification(rules, source, category_id, grid_id):
        return State.VERIFYING
    return State.REPORTED
