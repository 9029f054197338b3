"""The full transition matrix of the case loop, written out from the issue's rules rather than
from the workflow table: for each state a case can be in (with or without a pending request,
inside or past the reopen window), for each of the standard people and for each action, exactly
the allowed moves succeed and lead where the rules say; every other move answers 409 with what
that person may do now (404 for someone who cannot read the case) and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import (
    IN_C1A_NEARBY,
    World,
    act,
    case_in,
    create_world,
    photo,
    report,
)
from wenming.cases import service
from wenming.cases.models import Case, CaseEvent
from wenming.cases.schemas import ActionIn, TargetIn
from wenming.cases.vocab import Source
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings
from wenming.core.errors import Conflict, NotFound

PEOPLE = (
    "intake",
    "dispatcher",
    "handler",
    "handler_sibling",
    "handler_street",
    "grid_worker",
    "grid_worker_elsewhere",
    "citizen",
    "other_citizen",
    "street_admin",
    "district_admin",
    "sys_admin",
    "intake_elsewhere",
)
# Who may read a case of the standard place (grid 211104004001001, reported by the citizen):
# the district's command centre, the grid's worker, the reporter and the admins of the territory;
# once dispatched to 城管局, that department's handler as well.
READERS = frozenset(
    {
        "intake",
        "dispatcher",
        "grid_worker",
        "citizen",
        "street_admin",
        "district_admin",
        "sys_admin",
    }
)
READERS_WITH_UNIT = READERS | {"handler"}
# A hotline call placed by unit (community C1a) without a point: no grid, so no grid worker
# reads it, and the caller is not a signed-in person.
READERS_BY_UNIT = READERS - {"grid_worker", "citizen"}
# Far beyond any due time of the standard case: a valid extension request.
UNTIL = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
REASON = "说明理由"


@dataclass(frozen=True)
class Variant:
    """A situation of the standard case: how to get there and what the rules allow in it."""

    state: State
    readers: frozenset[str]
    may: dict[str, frozenset[Action]]
    base: State | None = None  # the state the factory brings it to first (default: ``state``)
    build: tuple[tuple[Action, str, dict[str, object]], ...] = ()
    attempt_at: datetime = NOW
    resumes_to: State | None = None
    pending: str | None = None
    by_unit: bool = False  # a hotline call placed by unit (no grid) instead of the standard case


def _a(*actions: Action) -> frozenset[Action]:
    return frozenset(actions)


A = Action
EXTENSION_ASKED = (A.REQUEST_EXTENSION, "handler", {"note": "需要更多时间", "until": UNTIL})
SUSPENSION_ASKED = (A.REQUEST_SUSPENSION, "handler", {"note": "需协调产权单位"})
SENT_TO_VERIFY = (A.SEND_TO_VERIFY, "intake", {})
CONFIRMED = (A.CONFIRM, "grid_worker", {})
# The intake clerk's decisions before filing: file (skipping or after verification), reject,
# void, merge.
INTAKE_DECIDES = (A.FILE, A.REJECT, A.VOID, A.MERGE)

VARIANTS: dict[str, Variant] = {
    "reported": Variant(
        State.REPORTED,
        READERS,
        {
            "intake": _a(*INTAKE_DECIDES, A.SEND_TO_VERIFY),
            "dispatcher": _a(A.SEND_TO_VERIFY, A.SUSPEND),
        },
    ),
    "reported without a grid": Variant(
        State.REPORTED,
        READERS_BY_UNIT,
        {"intake": _a(*INTAKE_DECIDES), "dispatcher": _a(A.SUSPEND)},
        by_unit=True,
    ),
    "verifying": Variant(
        State.VERIFYING,
        READERS,
        {
            "intake": _a(*INTAKE_DECIDES),
            "grid_worker": _a(A.CONFIRM, A.NOT_FOUND),
            "dispatcher": _a(A.SUSPEND),
        },
        base=State.REPORTED,
        build=(SENT_TO_VERIFY,),
    ),
    "confirmed": Variant(
        State.CONFIRMED,
        READERS,
        {"intake": _a(*INTAKE_DECIDES), "dispatcher": _a(A.SUSPEND)},
        base=State.REPORTED,
        build=(SENT_TO_VERIFY, CONFIRMED),
    ),
    "suspended while verifying": Variant(
        State.SUSPENDED,
        READERS,
        {"dispatcher": _a(A.RESUME)},
        base=State.REPORTED,
        build=(SENT_TO_VERIFY, (A.SUSPEND, "dispatcher", {"note": "道路封闭，无法到场"})),
        resumes_to=State.VERIFYING,
    ),
    "filed": Variant(
        State.FILED, READERS, {"intake": _a(A.VOID), "dispatcher": _a(A.DISPATCH, A.SUSPEND)}
    ),
    "rejected": Variant(State.REJECTED, READERS, {}),
    "voided": Variant(State.VOIDED, READERS, {}),
    "merged": Variant(State.MERGED, READERS, {}),
    "dispatched": Variant(
        State.DISPATCHED,
        READERS_WITH_UNIT,
        {
            "handler": _a(A.ACCEPT, A.RETURN, A.REQUEST_EXTENSION, A.REQUEST_SUSPENSION),
            "dispatcher": _a(A.SUSPEND),
        },
    ),
    "dispatched, extension asked": Variant(
        State.DISPATCHED,
        READERS_WITH_UNIT,
        {
            "handler": _a(A.ACCEPT),
            "dispatcher": _a(A.APPROVE_EXTENSION, A.DENY_EXTENSION, A.SUSPEND),
        },
        build=(EXTENSION_ASKED,),
        pending="extension",
    ),
    "dispatched, suspension asked": Variant(
        State.DISPATCHED,
        READERS_WITH_UNIT,
        {
            "handler": _a(A.ACCEPT),
            "dispatcher": _a(A.APPROVE_SUSPENSION, A.DENY_SUSPENSION, A.SUSPEND),
        },
        build=(SUSPENSION_ASKED,),
        pending="suspension",
    ),
    "accepted": Variant(
        State.ACCEPTED,
        READERS_WITH_UNIT,
        {
            "handler": _a(A.RETURN, A.HANDLE, A.REQUEST_EXTENSION, A.REQUEST_SUSPENSION),
            "dispatcher": _a(A.SUSPEND),
        },
    ),
    "accepted, extension asked": Variant(
        State.ACCEPTED,
        READERS_WITH_UNIT,
        {"dispatcher": _a(A.APPROVE_EXTENSION, A.DENY_EXTENSION, A.SUSPEND)},
        build=(EXTENSION_ASKED,),
        pending="extension",
    ),
    "accepted, suspension asked": Variant(
        State.ACCEPTED,
        READERS_WITH_UNIT,
        {"dispatcher": _a(A.APPROVE_SUSPENSION, A.DENY_SUSPENSION, A.SUSPEND)},
        build=(SUSPENSION_ASKED,),
        pending="suspension",
    ),
    "handled": Variant(
        State.HANDLED,
        READERS_WITH_UNIT,
        {
            "intake": _a(A.VERIFY_PASS, A.VERIFY_FAIL),
            "grid_worker": _a(A.VERIFY_PASS, A.VERIFY_FAIL),
            "dispatcher": _a(A.SUSPEND),
        },
    ),
    "verified": Variant(State.VERIFIED, READERS_WITH_UNIT, {"intake": _a(A.CLOSE)}),
    "closed": Variant(
        State.CLOSED, READERS_WITH_UNIT, {"intake": _a(A.REOPEN), "citizen": _a(A.REOPEN)}
    ),
    "closed, reopen window over": Variant(
        State.CLOSED, READERS_WITH_UNIT, {}, attempt_at=NOW + timedelta(days=8)
    ),
    "suspended": Variant(
        State.SUSPENDED,
        READERS_WITH_UNIT,
        {"dispatcher": _a(A.RESUME)},
        resumes_to=State.ACCEPTED,
    ),
    "suspended while filed": Variant(
        State.SUSPENDED,
        READERS,
        {"dispatcher": _a(A.RESUME)},
        base=State.FILED,
        build=((A.SUSPEND, "dispatcher", {"note": "待汛期结束"}),),
        resumes_to=State.FILED,
    ),
}

# Where each allowed action leads (None: the state stays; RESUME: the variant says).
LEADS_TO: dict[Action, State | None] = {
    A.SEND_TO_VERIFY: State.VERIFYING,
    A.CONFIRM: State.CONFIRMED,
    A.NOT_FOUND: State.REJECTED,
    A.FILE: State.FILED,
    A.REJECT: State.REJECTED,
    A.VOID: State.VOIDED,
    A.MERGE: State.MERGED,
    A.DISPATCH: State.DISPATCHED,
    A.ACCEPT: State.ACCEPTED,
    A.RETURN: State.FILED,
    A.HANDLE: State.HANDLED,
    A.VERIFY_PASS: State.VERIFIED,
    A.VERIFY_FAIL: State.DISPATCHED,
    A.CLOSE: State.CLOSED,
    A.REOPEN: State.DISPATCHED,
    A.REQUEST_EXTENSION: None,
    A.APPROVE_EXTENSION: None,
    A.DENY_EXTENSION: None,
    A.REQUEST_SUSPENSION: None,
    A.APPROVE_SUSPENSION: State.SUSPENDED,
    A.DENY_SUSPENSION: None,
    A.SUSPEND: State.SUSPENDED,
    A.RESUME: None,
}
# What a pending request becomes after each allowed action that touches it.
PENDING_AFTER: dict[Action, str | None] = {
    A.REQUEST_EXTENSION: "extension",
    A.REQUEST_SUSPENSION: "suspension",
    A.APPROVE_EXTENSION: None,
    A.DENY_EXTENSION: None,
    A.APPROVE_SUSPENSION: None,
    A.DENY_SUSPENSION: None,
    A.SUSPEND: None,
}


def test_every_action_is_in_the_matrix() -> None:
    assert set(LEADS_TO) == set(Action)
    assert {v.state for v in VARIANTS.values()} == set(State)


def body_for(action: Action, *, survivor: str, after: str) -> ActionIn:
    """A body that satisfies the data needs of an action."""
    if action is A.MERGE:
        return ActionIn(merge_into=survivor)
    if action is A.DISPATCH:
        return ActionIn(target=TargetIn(department_code="211104-CGJ"))
    if action is A.HANDLE:
        return ActionIn(note="已清理", attachments=[after])
    if action is A.REQUEST_EXTENSION:
        return ActionIn(note=REASON, until=UNTIL)
    if action is A.NOT_FOUND:
        return ActionIn(note="现场未发现垃圾", attachments=[after])
    if action in (
        A.REJECT,
        A.VOID,
        A.RETURN,
        A.VERIFY_FAIL,
        A.REOPEN,
        A.DENY_EXTENSION,
        A.REQUEST_SUSPENSION,
        A.DENY_SUSPENSION,
        A.SUSPEND,
    ):
        return ActionIn(note=REASON)
    return ActionIn()


@dataclass(frozen=True)
class Snapshot:
    """What a refusal must leave untouched."""

    state: str
    version: int
    pending: str | None
    events: int


async def snapshot(session: AsyncSession, case_id: int) -> Snapshot:
    """The case's row and event count as the database has them now (one query)."""
    events = (
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.case_id == case_id)
        .scalar_subquery()
    )
    state, version, pending, count = (
        await session.execute(
            select(Case.state, Case.version, Case.pending, events).where(Case.id == case_id)
        )
    ).one()
    return Snapshot(state, version, pending, int(count))


async def build_variant(
    session: AsyncSession, world: World, variant: Variant, settings: Settings
) -> Case:
    """The standard case brought into a variant's situation by real actions."""
    if variant.state is State.MERGED:
        survivor = await report(session, world, settings=settings, at=IN_C1A_NEARBY)
        case = await case_in(session, world, State.REPORTED, settings=settings)
        return await act(
            session,
            world,
            case,
            A.MERGE,
            world.people.intake,
            settings=settings,
            merge_into=survivor.code,
        )
    if variant.by_unit:
        return await report(
            session,
            world,
            by=world.people.intake,
            settings=settings,
            source=Source.HOTLINE,
            lon=None,
            lat=None,
            unit_code=world.tree.community.code,
            address="测试一社区 3 号楼",
        )
    base = variant.base or variant.state
    case = await case_in(
        session, world, base, settings=settings, after_photo=await photo(session, settings, 10)
    )
    for action, who, fields in variant.build:
        case = await act(
            session, world, case, action, getattr(world.people, who), settings=settings, **fields
        )
    return case


@pytest.mark.parametrize("name", list(VARIANTS))
async def test_transition_matrix(session: AsyncSession, settings: Settings, name: str) -> None:
    variant = VARIANTS[name]
    world = await create_world(session)
    case = await build_variant(session, world, variant, settings)
    survivor = await report(session, world, by=world.people.other_citizen, settings=settings)
    after = await photo(session, settings, 200)
    code, case_id, survivor_code = case.code, case.id, survivor.code
    actors = {who: await world.actor(session, getattr(world.people, who)) for who in PEOPLE}
    before = await snapshot(session, case_id)
    assert (before.state, before.pending) == (variant.state.value, variant.pending)

    successes: set[tuple[str, Action]] = set()
    problems: list[str] = []
    for who in PEOPLE:
        actor = actors[who]
        allowed = variant.may.get(who, frozenset())
        if who in variant.readers:
            loaded = await session.get(Case, case_id, populate_existing=True)
            assert loaded is not None
            shown = await service.allowed_for(session, actor, loaded, variant.attempt_at, settings)
            if sorted(shown) != sorted(allowed) or len(shown) != len(set(shown)):
                problems.append(f"{who}: allowed_for {sorted(shown)} != {sorted(allowed)}")
        for action in Action:
            body = body_for(action, survivor=survivor_code, after=after)
            async with session.begin_nested() as savepoint:
                try:
                    moved = await service.act(
                        session,
                        actor,
                        code,
                        action,
                        body,
                        now=variant.attempt_at,
                        settings=settings,
                    )
                except NotFound:
                    if who in variant.readers:
                        problems.append(f"{who} {action.value}: 404 for a reader")
                    elif allowed:
                        problems.append(f"{who} {action.value}: 404 but may act")
                    now = await snapshot(session, case_id)
                    if now != before:
                        problems.append(f"{who} {action.value}: 404 changed {now}")
                except Conflict as refused:
                    listed = refused.extensions.get("allowed_actions")
                    if who not in variant.readers:
                        problems.append(f"{who} {action.value}: 409 for a non-reader")
                    if action in allowed:
                        problems.append(f"{who} {action.value}: refused ({refused.detail})")
                    if (
                        not isinstance(listed, list)
                        or sorted(listed) != sorted(a.value for a in allowed)
                        or len(listed) != len(set(listed))
                    ):
                        problems.append(f"{who} {action.value}: allowed_actions {listed}")
                    now = await snapshot(session, case_id)
                    if now != before:
                        problems.append(f"{who} {action.value}: 409 changed {now}")
                else:
                    successes.add((who, action))
                    leads = LEADS_TO[action]
                    if action is A.RESUME:
                        leads = variant.resumes_to
                    target = (leads or variant.state).value
                    after_move = await snapshot(session, case_id)
                    wanted_pending = PENDING_AFTER.get(action, variant.pending)
                    if (after_move.state, moved.state, after_move.pending) != (
                        target,
                        target,
                        wanted_pending,
                    ):
                        problems.append(
                            f"{who} {action.value}: led to {after_move.state} "
                            f"pending {after_move.pending}, expected {target} {wanted_pending}"
                        )
                    if (
                        after_move.version <= before.version
                        or after_move.events != before.events + 1
                    ):
                        problems.append(f"{who} {action.value}: {before} -> {after_move}")
                    last = (
                        await session.execute(
                            select(CaseEvent.action, CaseEvent.from_state, CaseEvent.to_state)
                            .where(CaseEvent.case_id == case_id)
                            .order_by(CaseEvent.id.desc())
                            .limit(1)
                        )
                    ).one()
                    if tuple(last) != (action.value, before.state, target):
                        problems.append(f"{who} {action.value}: event {tuple(last)}")
                await savepoint.rollback()
            session.expire_all()

    assert await snapshot(session, case_id) == before
    expected = {(who, action) for who, actions in variant.may.items() for action in actions}
    assert problems == [], "\n".join(problems)
    assert sorted(successes) == sorted(expected)
