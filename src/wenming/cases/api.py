"""Case API under /api/v1/cases: report, queues, one case with its timeline, workflow actions,
"me too", and the configuration of categories, limits, routing and verification rules and the
calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel

from wenming.auth.deps import ActorOutsideUnitOfWork, CurrentActor, SignedInActor
from wenming.cases import admin, intake, repository, service, views
from wenming.cases.calendar import DayKind
from wenming.cases.repository import CaseFilter
from wenming.cases.rulebook import rulebook
from wenming.cases.schemas import (
    ActionIn,
    CaseCode,
    CaseCreate,
    CaseCreated,
    CaseOut,
    CasePage,
    CaseSummary,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    RoutingRuleIn,
    RoutingRuleOut,
    SupportIn,
    TimeLimitIn,
    TimeLimitOut,
)
from wenming.cases.vocab import Area, Kind, Source, Urgency
from wenming.cases.workflow import Action, State
from wenming.core.deps import (
    MAX_ROW_ID,
    AppClock,
    AppSettings,
    DbSession,
    OpenReadSession,
    RunWrite,
)

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

CodePath = Annotated[str, Path(pattern=r"^[A-Z0-9]{4,16}$", description="tracking code")]
CategoryCodePath = Annotated[str, Path(pattern=r"^[0-9]{4}$", description="4-digit category code")]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="a key of your choosing (e.g. a UUID); a retried submit with the same key "
        "returns the same case instead of a second one",
    ),
]


class CalendarDayOut(BaseModel):
    """A holiday or make-up working day."""

    day: date
    kind: DayKind
    name: str


@router.post(
    "",
    response_model=CaseCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Report a problem",
    responses={200: {"description": "a retry with a known Idempotency-Key: the same case"}},
)
async def report_case(
    body: CaseCreate,
    request: Request,
    response: Response,
    actor: ActorOutsideUnitOfWork,
    open_read: OpenReadSession,
    run_write: RunWrite,
    clock: AppClock,
    settings: AppSettings,
    idempotency_key: IdempotencyKeyHeader = None,
) -> CaseCreated:
    """Anyone may report into a public category; staff report from their own sources.

    The case is committed before the answer is sent. The answer lists open cases of the same
    category nearby (likely duplicates) that you may read.
    """
    outcome = await intake.report(
        request,
        actor,
        body,
        now=clock.now(),
        settings=settings,
        idempotency_key=idempotency_key,
        open_read=open_read,
        run_write=run_write,
    )
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/cases/{outcome.answer.case.code}"
    return outcome.answer


@router.get("", response_model=CasePage, summary="A queue of cases")
async def list_cases(
    session: DbSession,
    actor: SignedInActor,
    settings: AppSettings,
    state: Annotated[list[State] | None, Query(description="any of these states")] = None,
    category: Annotated[str | None, Query(pattern=r"^[0-9]{4}$")] = None,
    area: Area | None = None,
    street: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    source: Source | None = None,
    urgency: Urgency | None = None,
    overdue: bool | None = None,
    mine: Annotated[bool, Query(description="only my unit's or department's cases")] = False,
    q: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_ROW_ID)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """The cases you may read, newest first, narrowed by the filters."""
    wanted = CaseFilter(
        states=state or (),
        category_code=category,
        area=area,
        street_code=street,
        source=source,
        urgency=urgency,
        overdue=overdue,
        mine=mine,
        text=q,
    )
    cases, total = await repository.list_cases(
        session, actor, wanted, page=page, page_size=page_size
    )
    return CasePage(
        items=await views.summaries(session, cases, settings),
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/overdue", response_model=CasePage, summary="The overdue board")
async def overdue_board(
    session: DbSession,
    actor: SignedInActor,
    settings: AppSettings,
    page: Annotated[int, Query(ge=1, le=MAX_ROW_ID)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """Overdue open cases you may read, the most escalated and longest overdue first."""
    cases, total = await repository.list_cases(
        session, actor, CaseFilter(overdue=True), page=page, page_size=page_size, overdue_first=True
    )
    return CasePage(
        items=await views.summaries(session, cases, settings),
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/categories", response_model=list[CategoryOut], summary="Categories")
async def list_categories(
    session: DbSession,
    settings: AppSettings,
    kind: Kind | None = None,
    area: Area | None = None,
    public: bool | None = None,
    include_retired: bool = False,
) -> list[CategoryOut]:
    """The category table (public: the phone app shows it to reporters)."""
    book = await rulebook(session, settings)
    chosen = [
        c
        for c in book.categories.values()
        if (kind is None or c.kind is kind)
        and (area is None or c.area is area)
        and (public is None or c.public is public)
        and (include_retired or c.active)
    ]
    chosen.sort(key=lambda c: (c.kind.value, c.code))
    return [views.category_out(c) for c in chosen]


@router.post(
    "/categories",
    response_model=CategoryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a category",
)
async def create_category(
    body: CategoryCreate,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
    settings: AppSettings,
) -> CategoryOut:
    """System admins add categories with their handling time limit."""
    category = await admin.create_category(session, actor, body, clock.now())
    book = await rulebook(session, settings)
    return views.category_out(book.category(category.id))


@router.patch("/categories/{kind}/{code}", response_model=CategoryOut, summary="Edit a category")
async def update_category(
    kind: Kind,
    code: CategoryCodePath,
    body: CategoryUpdate,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
    settings: AppSettings,
) -> CategoryOut:
    """System admins edit a category; ``active: false`` retires it."""
    category = await admin.update_category(session, actor, kind, code, body, clock.now())
    book = await rulebook(session, settings)
    return views.category_out(book.category(category.id))


@router.delete(
    "/categories/{kind}/{code}",
    summary="Delete or retire a category",
    responses={
        200: {"model": CategoryOut, "description": "in use: retired, not deleted"},
        204: {"description": "unused: deleted"},
    },
)
async def remove_category(
    kind: Kind,
    code: CategoryCodePath,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
    settings: AppSettings,
) -> Response:
    """An unused category is deleted (204); one that cases use is retired and returned (200)."""
    retired = await admin.remove_category(session, actor, kind, code, clock.now())
    if retired is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    book = await rulebook(session, settings)
    body = views.category_out(book.category(retired.id))
    return Response(content=body.model_dump_json(), media_type="application/json")


@router.get("/time-limits", response_model=list[TimeLimitOut], summary="Time limits")
async def list_time_limits(session: DbSession, actor: SignedInActor) -> list[TimeLimitOut]:
    """Every configured limit per (category, urgency, step)."""
    return await admin.list_time_limits(session)


@router.put("/time-limits", response_model=TimeLimitOut, summary="Set a time limit")
async def set_time_limit(
    body: TimeLimitIn, session: DbSession, actor: SignedInActor, clock: AppClock
) -> TimeLimitOut:
    """System admins set the limit of a step for a category (or all) and urgency (or any)."""
    return await admin.set_time_limit(session, actor, body, clock.now())


@router.get("/routing-rules", response_model=list[RoutingRuleOut], summary="Routing rules")
async def list_rules(session: DbSession, actor: SignedInActor) -> list[RoutingRuleOut]:
    """Every routing rule."""
    return await admin.list_rules(session)


@router.post(
    "/routing-rules",
    response_model=RoutingRuleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a routing rule",
)
async def add_rule(
    body: RoutingRuleIn, session: DbSession, actor: SignedInActor, clock: AppClock
) -> RoutingRuleOut:
    """System admins add a rule: (category, area, component owner) → responsible unit."""
    rule = await admin.add_rule(session, actor, body, clock.now())
    return next(r for r in await admin.list_rules(session) if r.id == rule.id)


@router.delete(
    "/routing-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a routing rule",
)
async def delete_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
) -> None:
    """System admins remove a rule."""
    await admin.delete_rule(session, actor, rule_id, clock.now())


@router.get("/verify-rules", response_model=list[admin.VerifyRuleOut], summary="Verification rules")
async def list_verify_rules(session: DbSession, actor: SignedInActor) -> list[admin.VerifyRuleOut]:
    """Which reports a grid worker confirms on site before filing (most specific rule wins)."""
    return await admin.list_verify_rules(session)


@router.put("/verify-rules", response_model=admin.VerifyRuleOut, summary="Set a verification rule")
async def set_verify_rule(
    body: admin.VerifyRuleIn, session: DbSession, actor: SignedInActor, clock: AppClock
) -> admin.VerifyRuleOut:
    """System admins say whether reports of a source and category are verified on site."""
    return await admin.set_verify_rule(session, actor, body, clock.now())


@router.delete(
    "/verify-rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a verification rule",
)
async def delete_verify_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
) -> None:
    """System admins remove a rule."""
    await admin.delete_verify_rule(session, actor, rule_id, clock.now())


@router.get("/calendar/{year}", response_model=list[CalendarDayOut], summary="Working calendar")
async def calendar(
    year: Annotated[int, Path(ge=2000, le=2100)], session: DbSession, actor: SignedInActor
) -> list[CalendarDayOut]:
    """The holidays and make-up working days of a year (weekends are implied)."""
    return [
        CalendarDayOut(day=d.day, kind=DayKind(d.kind), name=d.name)
        for d in await admin.calendar_days(session, year)
    ]


@router.get("/{code}", response_model=CaseOut, summary="One case")
async def get_case(
    code: CodePath, session: DbSession, actor: SignedInActor, clock: AppClock, settings: AppSettings
) -> CaseOut:
    """A case with its timeline, photos, routing suggestion and the actions you may take."""
    case = await service.case_by_code(session, actor, code)
    return await views.detail(session, actor, case, now=clock.now(), settings=settings)


@router.get("/{code}/duplicates", response_model=list[CaseSummary], summary="Likely duplicates")
async def duplicates(
    code: CodePath, session: DbSession, actor: SignedInActor, clock: AppClock, settings: AppSettings
) -> list[CaseSummary]:
    """Open cases of the same category within the category's radius, from the last days."""
    case = await service.case_by_code(session, actor, code)
    found = await service.likely_duplicates(session, actor, case, clock.now(), settings)
    return await views.summaries(session, found, settings)


@router.post("/{code}/actions/{action}", response_model=CaseOut, summary="Take an action")
async def take_action(
    code: CodePath,
    action: Action,
    body: ActionIn,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
    settings: AppSettings,
) -> CaseOut:
    """Move the case through the loop. 409 lists the actions you may take instead; send the
    case's ``version`` to be told when someone else acted first."""
    now = clock.now()
    case = await service.act(session, actor, code, action, body, now=now, settings=settings)
    return await views.detail(session, actor, case, now=now, settings=settings)


@router.post("/{code}/support", response_model=CaseSummary, summary='Say "me too"')
async def support(
    code: CodePath,
    body: SupportIn,
    session: DbSession,
    actor: CurrentActor,
    clock: AppClock,
    settings: AppSettings,
) -> CaseSummary:
    """A +1 on an open public case instead of a second report; you then hear when it closes."""
    case = await service.support(session, actor, code, body, now=clock.now())
    return (await views.summaries(session, [case], settings))[0]


__all__ = ["CaseCode", "router"]
