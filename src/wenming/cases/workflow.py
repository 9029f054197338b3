"""The case lifecycle as one table: which action moves a case from which state to which, and who
may take it. Pure: no I/O. Nothing else in Wenming changes ``Case.state``.

Who may act is expressed as *capacities*: what the actor is to this particular case (the intake
clerk of its territory, the handler of its responsible unit, a grid worker of its grid, its
reporter...). The service works the capacities out from roles and scope; this module only decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """Where a case stands in the loop."""

    REPORTED = "reported"  # 上报: waiting for intake
    VERIFYING = "verifying"  # 核实中: a grid worker of its grid checks the report on site
    CONFIRMED = "confirmed"  # 核实属实: found on site, waiting for the shift leader to file
    FILED = "filed"  # 立案: waiting for dispatch
    REJECTED = "rejected"  # 不予立案
    VOIDED = "voided"  # 作废
    MERGED = "merged"  # merged into another case as its duplicate
    DISPATCHED = "dispatched"  # 派遣: waiting for the responsible unit to accept
    ACCEPTED = "accepted"  # 处置中: the unit is on it
    HANDLED = "handled"  # 反馈: the unit says it is fixed; waiting for the on-site check
    VERIFIED = "verified"  # 核查通过: waiting for the shift leader to close
    CLOSED = "closed"  # 结案
    SUSPENDED = "suspended"  # 挂账: parked, clock paused


class Action(StrEnum):
    """What an actor can do to a case."""

    SEND_TO_VERIFY = "send_to_verify"
    CONFIRM = "confirm"
    NOT_FOUND = "not_found"
    FILE = "file"
    REJECT = "reject"
    VOID = "void"
    MERGE = "merge"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    HANDLE = "handle"
    VERIFY_PASS = "verify_pass"  # noqa: S105 - an action name, not a password
    VERIFY_FAIL = "verify_fail"
    CLOSE = "close"
    REQUEST_SUSPENSION = "request_suspension"
    APPROVE_SUSPENSION = "approve_suspension"
    DENY_SUSPENSION = "deny_suspension"
    SUSPEND = "suspend"
    RESUME = "resume"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    REOPEN = "reopen"


class Capacity(StrEnum):
    """What an actor is to one case; decided by the service from roles, scope and the case."""

    INTAKE = "intake"  # 受理员/值班长 whose territory holds the case
    DISPATCHER = "dispatcher"  # 派遣员 whose territory holds the case
    HANDLER = "handler"  # handler of the case's current responsible unit or department
    GRID_WORKER = "grid_worker"  # grid worker assigned to the case's grid
    REPORTER = "reporter"  # the signed-in person who reported it (or a follower)


class Step(StrEnum):
    """A stretch of the loop with a time limit of its own; deadlines are kept per step."""

    CONFIRM = "confirm"  # verifying → confirmed (核实, on site before filing)
    FILE = "file"  # reported or confirmed → filed
    DISPATCH = "dispatch"  # filed → dispatched
    HANDLE = "handle"  # dispatched → handled
    VERIFY = "verify"  # handled → verified
    CLOSE = "close"  # verified → closed


class Pending(StrEnum):
    """A request waiting for the dispatcher's approval."""

    EXTENSION = "extension"
    SUSPENSION = "suspension"


OPEN_STATES = frozenset(
    {
        State.REPORTED,
        State.VERIFYING,
        State.CONFIRMED,
        State.FILED,
        State.DISPATCHED,
        State.ACCEPTED,
        State.HANDLED,
        State.VERIFIED,
        State.SUSPENDED,
    }
)
FINAL_STATES = frozenset({State.REJECTED, State.VOIDED, State.MERGED, State.CLOSED})
# States in which the responsible unit holds the case (and may ask for more time or a pause).
WITH_UNIT = frozenset({State.DISPATCHED, State.ACCEPTED})
# The step whose clock runs in each state.
STEP_OF_STATE: dict[State, Step] = {
    State.REPORTED: Step.FILE,
    State.VERIFYING: Step.CONFIRM,
    State.CONFIRMED: Step.FILE,
    State.FILED: Step.DISPATCH,
    State.DISPATCHED: Step.HANDLE,
    State.ACCEPTED: Step.HANDLE,
    State.HANDLED: Step.VERIFY,
    State.VERIFIED: Step.CLOSE,
}


@dataclass(frozen=True)
class Move:
    """One row of the table: the state it leads to and the conditions on taking it.

    ``to=None`` keeps the state (a request, an approval that only changes the clock). ``to`` of
    ``RESUME`` is the state the case was in before it was parked.
    """

    to: State | None
    capacities: frozenset[Capacity]
    needs_reason: bool = False
    needs_target: bool = False  # dispatch names a unit; merge names the surviving case
    needs_photo: bool = False  # at least one photo taken on site
    needs_grid: bool = False  # only a case placed in a grid (it has grid workers)
    requires_pending: Pending | None = None
    forbids_pending: bool = False
    rework: bool = False
    restore: bool = False  # back to the state before suspension
    within_reopen_window: bool = False


def _c(*capacities: Capacity) -> frozenset[Capacity]:
    return frozenset(capacities)


INTAKE = _c(Capacity.INTAKE)
DISPATCHER = _c(Capacity.DISPATCHER)
HANDLER = _c(Capacity.HANDLER)
GRID_WORKER = _c(Capacity.GRID_WORKER)
CHECKERS = _c(Capacity.GRID_WORKER, Capacity.INTAKE)  # 核查: on site, or by the command centre
# Where the intake clerk decides on a new report: as reported, while it is being verified on
# site (filing then skips the verification) and once it is confirmed.
BEFORE_FILING = (State.REPORTED, State.VERIFYING, State.CONFIRMED)

TRANSITIONS: dict[tuple[State, Action], Move] = {}
for _state in BEFORE_FILING:
    TRANSITIONS[(_state, Action.FILE)] = Move(State.FILED, INTAKE)
    TRANSITIONS[(_state, Action.REJECT)] = Move(State.REJECTED, INTAKE, needs_reason=True)
    TRANSITIONS[(_state, Action.VOID)] = Move(State.VOIDED, INTAKE, needs_reason=True)
    TRANSITIONS[(_state, Action.MERGE)] = Move(State.MERGED, INTAKE, needs_target=True)
TRANSITIONS |= {
    # 核实: the command centre sends a report placed in a grid to a worker of that grid, who
    # confirms it on site or, with a photo and a note, finds nothing (the report is rejected).
    (State.REPORTED, Action.SEND_TO_VERIFY): Move(
        State.VERIFYING, _c(Capacity.INTAKE, Capacity.DISPATCHER), needs_grid=True
    ),
    (State.VERIFYING, Action.CONFIRM): Move(State.CONFIRMED, GRID_WORKER),
    (State.VERIFYING, Action.NOT_FOUND): Move(
        State.REJECTED, GRID_WORKER, needs_reason=True, needs_photo=True
    ),
    (State.FILED, Action.VOID): Move(State.VOIDED, INTAKE, needs_reason=True),
    (State.FILED, Action.DISPATCH): Move(State.DISPATCHED, DISPATCHER, needs_target=True),
    (State.DISPATCHED, Action.ACCEPT): Move(State.ACCEPTED, HANDLER),
    (State.DISPATCHED, Action.RETURN): Move(
        State.FILED, HANDLER, needs_reason=True, forbids_pending=True
    ),
    (State.ACCEPTED, Action.RETURN): Move(
        State.FILED, HANDLER, needs_reason=True, forbids_pending=True
    ),
    (State.ACCEPTED, Action.HANDLE): Move(State.HANDLED, HANDLER, forbids_pending=True),
    (State.HANDLED, Action.VERIFY_PASS): Move(State.VERIFIED, CHECKERS),
    (State.HANDLED, Action.VERIFY_FAIL): Move(
        State.DISPATCHED, CHECKERS, needs_reason=True, rework=True
    ),
    (State.VERIFIED, Action.CLOSE): Move(State.CLOSED, INTAKE),
    (State.CLOSED, Action.REOPEN): Move(
        State.DISPATCHED,
        _c(Capacity.REPORTER, Capacity.INTAKE),
        needs_reason=True,
        within_reopen_window=True,
    ),
    (State.SUSPENDED, Action.RESUME): Move(None, DISPATCHER, restore=True),
}
for _state in WITH_UNIT:
    TRANSITIONS[(_state, Action.REQUEST_EXTENSION)] = Move(
        None, HANDLER, needs_reason=True, forbids_pending=True
    )
    TRANSITIONS[(_state, Action.APPROVE_EXTENSION)] = Move(
        None, DISPATCHER, requires_pending=Pending.EXTENSION
    )
    TRANSITIONS[(_state, Action.DENY_EXTENSION)] = Move(
        None, DISPATCHER, needs_reason=True, requires_pending=Pending.EXTENSION
    )
    TRANSITIONS[(_state, Action.REQUEST_SUSPENSION)] = Move(
        None, HANDLER, needs_reason=True, forbids_pending=True
    )
    TRANSITIONS[(_state, Action.APPROVE_SUSPENSION)] = Move(
        State.SUSPENDED, DISPATCHER, requires_pending=Pending.SUSPENSION
    )
    TRANSITIONS[(_state, Action.DENY_SUSPENSION)] = Move(
        None, DISPATCHER, needs_reason=True, requires_pending=Pending.SUSPENSION
    )
# The command centre may park any open case directly (its own approval).
for _state in (*BEFORE_FILING, State.FILED, State.DISPATCHED, State.ACCEPTED, State.HANDLED):
    TRANSITIONS[(_state, Action.SUSPEND)] = Move(State.SUSPENDED, DISPATCHER, needs_reason=True)


@dataclass(frozen=True)
class CaseStanding:
    """What the table needs to know about a case to decide a move."""

    state: State
    pending: Pending | None
    reopen_window_open: bool
    in_grid: bool = True  # placed in a grid (not by unit only): it can be verified on site


def _permitted(move: Move, standing: CaseStanding, capacities: frozenset[Capacity]) -> bool:
    if not move.capacities & capacities:
        return False
    if move.requires_pending is not None and standing.pending is not move.requires_pending:
        return False
    if move.forbids_pending and standing.pending is not None:
        return False
    if move.needs_grid and not standing.in_grid:
        return False
    return not (move.within_reopen_window and not standing.reopen_window_open)


def allowed_actions(standing: CaseStanding, capacities: Iterable[Capacity]) -> list[Action]:
    """The actions an actor with these capacities may take on the case now, in table order."""
    held = frozenset(capacities)
    return [
        action
        for (state, action), move in TRANSITIONS.items()
        if state is standing.state and _permitted(move, standing, held)
    ]


class ActionRefused(Exception):
    """A move the table does not allow for this actor now; carries what they may do instead."""

    def __init__(self, action: Action, standing: CaseStanding, allowed: list[Action]) -> None:
        self.action = action
        self.standing = standing
        self.allowed = allowed
        super().__init__(f"'{action.value}' is not possible on a {standing.state.value} case")


def decide(
    standing: CaseStanding, action: Action, capacities: Iterable[Capacity]
) -> tuple[Move, State]:
    """The move for an action and the state it leads to; raises ``ActionRefused`` otherwise.

    For ``RESUME`` the caller replaces the returned state with the one saved at suspension.
    """
    held = frozenset(capacities)
    move = TRANSITIONS.get((standing.state, action))
    if move is None or not _permitted(move, standing, held):
        raise ActionRefused(action, standing, allowed_actions(standing, held))
    return move, move.to if move.to is not None else standing.state
