"""The demo's cases: forty synthetic reports moved along the loop by the real service, so that
every desk of the demo has work on its first run, and seeded once."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.auth.service import load_actor
from wenming.cases import repository, service
from wenming.cases.models import Case, CaseAttachment
from wenming.cases.repository import CaseFilter
from wenming.cases.workflow import OPEN_STATES, Action, State
from wenming.core.config import Settings
from wenming.core.errors import Conflict
from wenming.demo.case_seed import CASE_LABEL, HANDLERS, CaseSeedSummary, seed_demo_cases
from wenming.demo.geo_seed import seed_demo_geography
from wenming.demo.seed import HANDLER_DEPARTMENT, seed_demo
from wenming.org.models import Department, User
from wenming.org.scope import Actor


async def actor_of(session: AsyncSession, username: str) -> Actor:
    """A demo person as an actor."""
    user_id = await session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    actor = await load_actor(session, user_id)
    assert actor is not None
    return actor


async def test_the_demo_cases_need_the_demo_district(
    session: AsyncSession, settings: Settings
) -> None:
    with pytest.raises(Conflict, match="need the demo district first"):
        await seed_demo_cases(session, NOW, settings)


async def test_the_demo_cases_give_every_desk_work_and_are_seeded_once(
    session: AsyncSession, settings: Settings
) -> None:
    await seed_demo(session, NOW)
    await seed_demo_geography(session, NOW)
    summary = await seed_demo_cases(session, NOW, settings)
    assert summary == CaseSeedSummary(cases=40, open=27, overdue=7, changed=True)

    # The sweep updates rows in bulk: read them afresh.
    cases = (await session.scalars(select(Case).execution_options(populate_existing=True))).all()
    assert all(case.description.startswith(CASE_LABEL) for case in cases)
    # Citizens' own reports wait for a grid worker's check on site (the packaged verify rule).
    assert Counter(case.state for case in cases) == {
        "reported": 2,
        "verifying": 2,
        "filed": 3,
        "dispatched": 8,
        "accepted": 6,
        "suspended": 1,
        "handled": 3,
        "verified": 2,
        "closed": 10,
        "rejected": 1,
        "voided": 1,
        "merged": 1,
    }
    overdue = [case for case in cases if case.overdue]
    assert {case.state for case in overdue} <= {s.value for s in OPEN_STATES}
    # Three sweeps: one level each; the 2-working-day clock and the on-site verification clock
    # only twice (their intervals are longer).
    assert sorted(case.escalation_level for case in overdue) == [2, 2, 3, 3, 3, 3, 3]
    photos = Counter((await session.scalars(select(CaseAttachment.purpose))).all())
    assert photos == {"report": 40, "after": 16, "before": 4}

    # The demo handler (城管局) has cases waiting, in hand and overdue.
    assert HANDLERS[HANDLER_DEPARTMENT] == "demo_handler"
    handler = await actor_of(session, "demo_handler")
    department = await session.get(Department, handler.grants[0].department_id)
    assert department is not None and department.code == HANDLER_DEPARTMENT
    mine, total = await repository.list_cases(
        session, handler, CaseFilter(states=sorted(OPEN_STATES), mine=True), page=1, page_size=50
    )
    assert total == 10
    assert {case.state for case in mine} == {"dispatched", "accepted", "handled", "verified"}
    # The demo grid worker checks the handled cases of their patrol grids.
    worker = await actor_of(session, "demo_grid_worker")
    handled = [case for case in cases if case.state == State.HANDLED.value]
    for case in handled:
        allowed = await service.allowed_for(session, worker, case, NOW, settings)
        assert allowed == [Action.VERIFY_PASS, Action.VERIFY_FAIL]

    again = await seed_demo_cases(session, NOW, settings)
    assert again == CaseSeedSummary(cases=40, open=27, overdue=7, changed=False)
    assert await session.scalar(select(func.count()).select_from(Case)) == 40
