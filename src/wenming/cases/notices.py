"""Who hears about a case action, and what they are told. Rows go to the inbox (and the outbox)
in the action's own transaction, so nothing is announced that did not happen."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.cases.models import Case, CaseEvent, CaseFollower
from wenming.cases.workflow import Action
from wenming.core.config import Settings
from wenming.geo.models import GridWorker
from wenming.notify.service import notify
from wenming.org.models import RoleAssignment, UnitClosure
from wenming.org.roles import Role

# What each audience is told: (kind, Chinese title, English title); {code} is the case code.
HANDLERS = "handlers"
DISPATCHERS = "dispatchers"
CHECKERS = "checkers"
REPORTERS = "reporters"
MESSAGES: dict[Action, tuple[str, str, str, str]] = {
    Action.SEND_TO_VERIFY: (
        CHECKERS,
        "case.verify",
        "案件 {code} 请到现场核实",
        "Case {code}: please verify it on site",
    ),
    Action.FILE: (DISPATCHERS, "case.filed", "案件 {code} 已立案，待派遣", "Case {code} filed"),
    Action.DISPATCH: (
        HANDLERS,
        "case.dispatched",
        "案件 {code} 已派遣给你单位",
        "Case {code} dispatched to you",
    ),
    Action.RETURN: (
        DISPATCHERS,
        "case.returned",
        "案件 {code} 被回退，待重新派遣",
        "Case {code} returned",
    ),
    Action.HANDLE: (
        CHECKERS,
        "case.handled",
        "案件 {code} 已处置，请核查",
        "Case {code} handled: please check",
    ),
    Action.VERIFY_FAIL: (
        HANDLERS,
        "case.rework",
        "案件 {code} 核查未通过，需返工",
        "Case {code} failed its check: rework",
    ),
    Action.CLOSE: (
        REPORTERS,
        "case.closed",
        "你反映的问题 {code} 已办结",
        "Your report {code} is closed",
    ),
    Action.REJECT: (
        REPORTERS,
        "case.rejected",
        "你反映的问题 {code} 不予立案",
        "Your report {code} was not accepted",
    ),
    Action.REOPEN: (HANDLERS, "case.reopened", "案件 {code} 被重新打开", "Case {code} reopened"),
    Action.REQUEST_EXTENSION: (
        DISPATCHERS,
        "case.extension_requested",
        "案件 {code} 申请延时",
        "Extension requested on {code}",
    ),
    Action.APPROVE_EXTENSION: (
        HANDLERS,
        "case.extension_approved",
        "案件 {code} 延时已批准",
        "Extension approved on {code}",
    ),
    Action.DENY_EXTENSION: (
        HANDLERS,
        "case.extension_denied",
        "案件 {code} 延时未批准",
        "Extension denied on {code}",
    ),
    Action.REQUEST_SUSPENSION: (
        DISPATCHERS,
        "case.suspension_requested",
        "案件 {code} 申请挂账",
        "Suspension requested on {code}",
    ),
    Action.APPROVE_SUSPENSION: (
        HANDLERS,
        "case.suspended",
        "案件 {code} 已挂账",
        "Case {code} suspended",
    ),
    Action.DENY_SUSPENSION: (
        HANDLERS,
        "case.suspension_denied",
        "案件 {code} 挂账未批准",
        "Suspension denied on {code}",
    ),
    Action.RESUME: (HANDLERS, "case.resumed", "案件 {code} 已恢复办理", "Case {code} resumed"),
}


def _territory(case: Case) -> ColumnElement[bool]:
    return RoleAssignment.unit_id.in_(
        select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == case.unit_id)
    )


async def recipients(session: AsyncSession, case: Case, audience: str) -> set[int]:
    """The users of an audience for one case."""
    if audience == HANDLERS:
        bound: list[ColumnElement[bool]] = []
        if case.responsible_department_id is not None:
            bound.append(RoleAssignment.department_id == case.responsible_department_id)
        if case.responsible_unit_id is not None:
            bound.append(RoleAssignment.unit_id == case.responsible_unit_id)
        if not bound:
            return set()
        query = select(RoleAssignment.user_id).where(
            RoleAssignment.role == Role.HANDLER.value, or_(*bound)
        )
    elif audience == DISPATCHERS:
        query = select(RoleAssignment.user_id).where(
            RoleAssignment.role == Role.DISPATCHER.value, _territory(case)
        )
    elif audience == CHECKERS:
        if case.grid_id is None:
            query = select(RoleAssignment.user_id).where(
                RoleAssignment.role == Role.INTAKE.value, _territory(case)
            )
        else:
            query = select(GridWorker.user_id).where(GridWorker.grid_id == case.grid_id)
    else:
        followers = select(CaseFollower.user_id).where(
            CaseFollower.case_id == case.id, CaseFollower.user_id.is_not(None)
        )
        users = {u for u in (await session.scalars(followers)).all() if u is not None}
        if case.reporter_user_id is not None:
            users.add(case.reporter_user_id)
        return users
    return {u for u in (await session.scalars(query)).all() if u is not None}


async def after_action(
    session: AsyncSession,
    case: Case,
    action: Action,
    event: CaseEvent,
    *,
    now: datetime,
    settings: Settings,
    exclude: Collection[int] = (),
) -> int:
    """Tell the people an action concerns; the actor is not told of their own action."""
    message = MESSAGES.get(action)
    if message is None:
        return 0
    audience, kind, title_zh, title_en = message
    users = await recipients(session, case, audience)
    users.discard(event.actor_user_id or 0)
    users.difference_update(exclude)
    if not users:
        return 0
    title = (title_en if settings.default_language == "en" else title_zh).format(code=case.code)
    return await notify(
        session,
        user_ids=sorted(users),
        kind=kind,
        title=title,
        body=event.note,
        link=f"/cases/{case.code}",
        case_id=case.id,
        now=now,
        settings=settings,
    )
