"""``GET /api/v1/cases/callers/{phone}``: a hotline caller's earlier cases, for the command
centre."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from wenming.auth.deps import SignedInActor
from wenming.cases import callers
from wenming.cases.schemas import CategoryOut
from wenming.cases.views import category_out
from wenming.cases.workflow import State
from wenming.core.deps import AppSettings, DbSession
from wenming.core.errors import Forbidden

router = APIRouter(prefix="/api/v1/cases/callers", tags=["cases"])


class CallerCaseOut(BaseModel):
    """One earlier case of the caller."""

    code: str = Field(description="tracking code")
    state: State
    open: bool = Field(description="whether the case is still being worked on")
    category: CategoryOut
    address: str
    created_at: datetime
    reporter_name: str | None
    reported: bool = Field(
        description='true: the caller reported it; false: the caller follows it (a "me too" '
        "or a merged duplicate's report)"
    )


class CallerHistoryOut(BaseModel):
    """A caller's earlier cases in the clerk's territory, newest first."""

    phone: str = Field(description="the number as stored: separators removed")
    cases: list[CallerCaseOut]
    open_count: int
    more: bool = Field(description="true when there are more cases than listed")


def require_command_centre(actor: SignedInActor) -> None:
    """The caller history is for the intake clerks and dispatchers who take the calls."""
    if not actor.has_role(*callers.COMMAND_CENTRE_ROLES):
        raise Forbidden("A caller's earlier cases are shown to intake clerks and dispatchers only.")


@router.get("/{phone}", response_model=CallerHistoryOut, summary="A caller's earlier cases")
async def caller_history(
    phone: Annotated[str, Path(max_length=30, description="the caller's number, e.g. 13812345678")],
    session: DbSession,
    actor: SignedInActor,
    settings: AppSettings,
    limit: Annotated[int, Query(ge=1, le=100)] = callers.MAX_CALLER_CASES,
) -> CallerHistoryOut:
    """The cases this number reported or follows within the territory where you are an intake
    clerk or a dispatcher (with the reporter's name in full, as on the case page), newest first."""
    require_command_centre(actor)
    history = await callers.earlier_cases(session, actor, phone, settings=settings, limit=limit)
    return CallerHistoryOut(
        phone=history.phone,
        cases=[
            CallerCaseOut(
                code=case.code,
                state=case.state,
                open=case.open,
                category=category_out(case.category),
                address=case.address,
                created_at=case.created_at,
                reporter_name=case.reporter_name,
                reported=case.reported,
            )
            for case in history.cases
        ],
        open_count=history.open_count,
        more=history.more,
    )
