"""Races with real commits, in a throw-away database of each backend: two sweeps at once escalate a
case once; two people acting on one case at once cannot both win; a submit retried while the first
is still running creates one case."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.cases.committed import Committed, committed_world
from tests.conftest import BACKENDS, NOW
from tests.factories.cases import case_in, report_body
from wenming.auth.service import load_actor
from wenming.cases import service
from wenming.cases.models import Case, CaseEvent
from wenming.cases.schemas import ActionIn
from wenming.cases.sweep import sweep
from wenming.cases.workflow import Action, State
from wenming.core.errors import Conflict


@dataclass
class Stage(Committed):
    """A committed world with one dispatched case, and a real connection pool."""

    code: str


@pytest.fixture(params=BACKENDS)
async def stage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stage]:
    async with committed_world(request.param, "cases_race", tmp_path) as committed:
        async with committed.db.session(write=True) as session:
            case = await case_in(
                session, committed.world, State.DISPATCHED, settings=committed.settings
            )
            code = case.code
        yield Stage(committed.db, committed.settings, committed.world, code)


async def test_two_sweeps_at_once_escalate_once(stage: Stage) -> None:
    later = NOW + timedelta(days=4)
    reports = await asyncio.gather(
        sweep(stage.db, later, stage.settings), sweep(stage.db, later, stage.settings)
    )
    assert sorted(r.escalated for r in reports) == [0, 1]
    async with stage.db.session() as session:
        case = await session.scalar(select(Case).where(Case.code == stage.code))
        assert case is not None and case.escalation_level == 1
        escalations = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "escalate")
        )
    assert escalations == 1


async def attempt(
    stage: Stage, action: Action, who: str, note: str = "", version: int | None = None
) -> str:
    async with stage.db.session(write=True) as session:
        actor = await load_actor(session, getattr(stage.world.people, who).id)
        assert actor is not None
        try:
            await service.act(
                session,
                actor,
                stage.code,
                action,
                ActionIn(note=note, version=version),
                now=NOW,
                settings=stage.settings,
            )
        except Conflict:
            return "conflict"
    return "done"


async def current_version(stage: Stage) -> int:
    async with stage.db.session() as session:
        version = await session.scalar(select(Case.version).where(Case.code == stage.code))
    assert version is not None
    return version


async def test_the_same_transition_twice_at_once_happens_once(stage: Stage) -> None:
    outcomes = await asyncio.gather(
        attempt(stage, Action.ACCEPT, "handler"), attempt(stage, Action.ACCEPT, "handler")
    )
    assert Counter(outcomes) == {"done": 1, "conflict": 1}
    async with stage.db.session() as session:
        accepts = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "accept")
        )
    assert accepts == 1


async def test_two_transitions_from_one_version_cannot_both_win(stage: Stage) -> None:
    version = await current_version(stage)
    outcomes = await asyncio.gather(
        attempt(stage, Action.ACCEPT, "handler", version=version),
        attempt(stage, Action.RETURN, "handler", "不属于本单位", version=version),
    )
    assert Counter(outcomes) == {"done": 1, "conflict": 1}
    async with stage.db.session() as session:
        case = await session.scalar(select(Case).where(Case.code == stage.code))
        assert case is not None
        actions = (
            await session.scalars(
                select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        ).all()
    winner = "accept" if outcomes[0] == "done" else "return"
    assert actions[-1] == winner
    assert case.state == ("accepted" if winner == "accept" else "filed")
    assert list(actions).count("accept") + list(actions).count("return") == 1


async def submit(stage: Stage, key: str) -> tuple[str, bool]:
    async with stage.db.session(write=True) as session:
        actor = await load_actor(session, stage.world.people.citizen.id)
        assert actor is not None
        outcome = await service.report(
            session,
            actor,
            report_body(),
            now=NOW,
            settings=stage.settings,
            idempotency_key=key,
        )
        return outcome.case.code, outcome.created


async def test_a_retried_submit_racing_the_first_creates_one_case(stage: Stage) -> None:
    outcomes = await asyncio.gather(*(submit(stage, "retry-7f3a") for _ in range(4)))
    codes = {code for code, _created in outcomes}
    assert len(codes) == 1
    assert sorted(created for _code, created in outcomes) == [False, False, False, True]
    async with stage.db.session() as session:
        total = await session.scalar(select(func.count()).select_from(Case))
    assert total == 2  # the staged case and this one
