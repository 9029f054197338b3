"""Evaluation API under /api/v1/evaluation: index versions, set-up, score and survey imports,
rankings and bulletins, a participant's score make-up, sampling plans, the evaluator's checklist,
rectification cases and material review."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from wenming.auth.deps import SignedInActor
from wenming.core.deps import AppClock, AppSettings, DbSession, RowId
from wenming.core.errors import InvalidInput
from wenming.evaluation import (
    bulletin,
    export,
    indexfile,
    material,
    rectification,
    repository,
    service,
)
from wenming.evaluation.indexfile import IndexSpec
from wenming.evaluation.rules import parse_points, points
from wenming.evaluation.schemas import (
    AssignIn,
    CheckIn,
    ChecklistItemOut,
    ChecklistPointOut,
    EvidenceIn,
    ImportReport,
    IndexVersionOut,
    MaterialOut,
    PlanIn,
    PlanOut,
    RankingOut,
    RectificationCaseOut,
    RectificationOut,
    ReviewIn,
    RoundScoreOut,
    SetupIn,
    SetupReport,
)

router = APIRouter(prefix="/api/v1/evaluation", tags=["evaluation"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024
CodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="code")]
YearPath = Annotated[int, Path(ge=2000, le=2100, description="evaluation year")]


async def _body(request: Request, accepted: tuple[str, ...]) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in accepted:
        raise InvalidInput(
            f"Send the file with Content-Type {' or '.join(accepted)} (got {kind or 'none'}).",
            field="content-type",
        )
    data = await request.body()
    if len(data) > MAX_UPLOAD:
        raise InvalidInput("The file is larger than 20 MB; split it.", field="body")
    return data


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text.", field="body") from None


@router.get("/indexes", response_model=list[IndexVersionOut], summary="Index versions")
async def list_indexes(session: DbSession, actor: SignedInActor) -> list[IndexVersionOut]:
    """Every index version with its number of leaf items."""
    return [
        IndexVersionOut(code=v.code, name=v.name, example=v.example, items=count)
        for v, count in await service.list_versions(session, actor)
    ]


@router.post(
    "/indexes",
    response_model=IndexVersionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import an index version (YAML or Excel)",
)
async def import_index(
    request: Request, response: Response, session: DbSession, actor: SignedInActor, clock: AppClock
) -> IndexVersionOut:
    """Send the file as ``application/yaml`` or as an ``.xlsx`` workbook; all or nothing."""
    data = await _body(request, ("application/yaml", "application/x-yaml", "text/yaml", XLSX))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    spec: IndexSpec = (
        indexfile.parse_xlsx(data) if kind == XLSX else indexfile.parse_yaml(_text(data))
    )
    version = await service.import_index(session, actor, spec, now=clock.now())
    response.headers["Location"] = f"/api/v1/evaluation/indexes/{version.code}"
    return IndexVersionOut(
        code=version.code, name=version.name, example=version.example, items=len(spec.items())
    )


@router.get(
    "/indexes/{code}",
    summary="Export an index version",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}, XLSX: {}}}},
)
async def export_index(
    code: CodePath,
    session: DbSession,
    actor: SignedInActor,
    format: Annotated[str, Query(pattern="^(yaml|xlsx)$")] = "yaml",
) -> Response:
    """The version as YAML (default) or as a workbook, in the format the import reads back."""
    spec = await service.export_index(session, actor, code)
    if format == "xlsx":
        return Response(
            indexfile.to_xlsx(spec),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{code}.xlsx"'},
        )
    return Response(indexfile.to_yaml(spec).encode(), media_type="application/yaml")


@router.put("/setup", response_model=SetupReport, summary="Years, rounds, participants")
async def setup(
    body: SetupIn, session: DbSession, actor: SignedInActor, clock: AppClock
) -> SetupReport:
    """Create or update categories, years with rounds and method weights, participants, absent
    location types and cycles; the same document as ``wenming eval setup`` reads."""
    return await service.apply_setup(session, actor, body, now=clock.now())


@router.get("/categories", summary="Ranking categories")
async def categories(session: DbSession, actor: SignedInActor) -> list[dict[str, str | int]]:
    """Every category in display order."""
    return [
        {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en, "sort_order": c.sort_order}
        for c in await repository.categories(session)
    ]


@router.post("/scores", response_model=ImportReport, summary="Import item scores (CSV)")
async def import_scores(
    request: Request, session: DbSession, actor: SignedInActor, clock: AppClock
) -> ImportReport:
    """``text/csv`` with header ``round,participant_code,item_code,score``; all or nothing."""
    text = _text(await _body(request, ("text/csv",)))
    return ImportReport(rows=await service.import_scores(session, actor, text, now=clock.now()))


@router.post("/surveys", response_model=ImportReport, summary="Import survey results (CSV)")
async def import_survey(
    request: Request, session: DbSession, actor: SignedInActor, clock: AppClock
) -> ImportReport:
    """``text/csv`` with header ``round,participant_code,item_code,respondents,rate``."""
    text = _text(await _body(request, ("text/csv",)))
    return ImportReport(rows=await service.import_survey(session, actor, text, now=clock.now()))


@router.get(
    "/years/{year}/ranking",
    response_model=RankingOut,
    summary="A year's ranking by category",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
)
async def ranking(
    year: YearPath,
    session: DbSession,
    actor: SignedInActor,
    category: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> RankingOut | Response:
    """Ranks within each category (1, 2, 2, 4), ordered by category then rank; the rows are
    those within your scope, the ranks are over every participant."""
    table = await service.ranking(session, actor, year, category)
    if format == "csv":
        return Response(export.to_csv(table).encode(), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        return Response(
            export.to_xlsx(table),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="ranking-{year}.xlsx"'},
        )
    return table


@router.get(
    "/cycles/{code}/ranking",
    response_model=RankingOut,
    summary="A cycle's ranking by category",
    responses={200: {"content": {"text/csv": {}}}},
)
async def cycle_ranking(
    code: CodePath,
    session: DbSession,
    actor: SignedInActor,
    category: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> RankingOut | Response:
    """Year totals weighted by the cycle's weights (e.g. 15/25/60); columns are the years."""
    table = await service.cycle_ranking(session, actor, code, category)
    if format == "csv":
        return Response(export.to_csv(table).encode(), media_type="text/csv; charset=utf-8")
    return table


@router.get(
    "/participants/{code}/scores",
    response_model=list[RoundScoreOut],
    summary="Where a participant's points came from",
)
async def participant_scores(
    code: CodePath,
    session: DbSession,
    actor: SignedInActor,
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> list[RoundScoreOut]:
    """Per round: total, methods, projects and every item's max, obtained, lost and counted."""
    return await service.participant_scores(session, actor, code, year)


@router.post(
    "/rounds/{round_code}/participants/{code}/field-scores",
    response_model=ImportReport,
    summary="Score the field items from the checklists",
)
async def field_scores(
    round_code: CodePath, code: CodePath, session: DbSession, actor: SignedInActor, clock: AppClock
) -> ImportReport:
    """Sum each item's findings over the drawn points and store max − deduction per item."""
    rows = await service.field_scores(session, actor, round_code, code, now=clock.now())
    return ImportReport(rows=rows)


@router.post(
    "/plans", response_model=PlanOut, status_code=status.HTTP_201_CREATED, summary="Draw points"
)
async def draw_plan(
    body: PlanIn, response: Response, session: DbSession, actor: SignedInActor, clock: AppClock
) -> PlanOut:
    """Draw N inspection points per location type inside a participant, with a recorded seed."""
    plan = await service.draw_plan(session, actor, body, now=clock.now())
    response.headers["Location"] = f"/api/v1/evaluation/plans/{plan.id}"
    return await service.plan_out(session, plan)


@router.get("/plans/{plan_id}", response_model=PlanOut, summary="A sampling plan")
async def get_plan(plan_id: RowId, session: DbSession, actor: SignedInActor) -> PlanOut:
    """The plan's seed, population per type, drawn points and their evaluators."""
    plan = await service.readable_plan(session, actor, plan_id)
    return await service.plan_out(session, plan)


@router.post("/plans/{plan_id}/assign", response_model=PlanOut, summary="Assign evaluators")
async def assign(
    plan_id: RowId, body: AssignIn, session: DbSession, actor: SignedInActor
) -> PlanOut:
    """Share the drawn points among evaluators in draw order."""
    plan = await service.assign(session, actor, plan_id, body.evaluators)
    return await service.plan_out(session, plan)


@router.get("/checklist", response_model=list[ChecklistPointOut], summary="My points")
async def my_points(session: DbSession, actor: SignedInActor) -> list[ChecklistPointOut]:
    """The evaluator's assigned points, each with the items applicable to its location type."""
    return await service.my_points(session, actor)


@router.get(
    "/checklist/{point_id}", response_model=ChecklistPointOut, summary="One point's checklist"
)
async def checklist(point_id: RowId, session: DbSession, actor: SignedInActor) -> ChecklistPointOut:
    """One assigned point with its items and the verdicts given so far."""
    return await service.checklist(session, actor, point_id)


@router.put(
    "/checklist/{point_id}/items/{item_code}",
    response_model=ChecklistItemOut,
    summary="Pass or deduct one item",
)
async def record_check(
    point_id: RowId,
    item_code: CodePath,
    body: CheckIn,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
    settings: AppSettings,
) -> ChecklistItemOut:
    """0 findings is a pass; more deduct ``per_finding`` each, capped at the item's max. Attach
    a photo by the key from POST /api/v1/attachments."""
    return await service.record_check(
        session, actor, point_id, item_code, body, now=clock.now(), settings=settings
    )


@router.post(
    "/rounds/{round_code}/participants/{code}/rectifications",
    response_model=ImportReport,
    summary="File the missing rectification cases of a round",
)
async def file_rectifications(
    round_code: CodePath,
    code: CodePath,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
    settings: AppSettings,
) -> ImportReport:
    """Every deduction without its case gets one, in its evaluator's name; re-running files
    nothing new."""
    rows = await rectification.file_round(
        session, actor, round_code, code, now=clock.now(), settings=settings
    )
    return ImportReport(rows=rows)


@router.get(
    "/participants/{code}/rectifications",
    response_model=RectificationOut,
    summary="A participant's rectification cases and rate",
)
async def rectifications(
    code: CodePath, session: DbSession, actor: SignedInActor
) -> RectificationOut:
    """The cases filed from the participant's deductions and the share closed."""
    participant = await repository.participant_by_code(session, actor, code)
    cases = await rectification.cases_of(session, actor, participant)
    rate = await rectification.rate(session, participant)
    return RectificationOut(
        created=rate.created,
        closed=rate.closed,
        rate=Decimal(f"{rate.percent:.1f}") if rate.percent is not None else None,
        cases=[
            RectificationCaseOut(
                round=c.round_code,
                item_code=c.item_code,
                point_code=c.point_code,
                case_code=c.case_code,
                state=c.state,
            )
            for c in cases
        ],
    )


@router.post(
    "/rounds/{round_code}/participants/{code}/materials/{item_code}/evidence",
    response_model=MaterialOut,
    status_code=status.HTTP_201_CREATED,
    summary="Submit evidence for a material item",
)
async def submit_evidence(
    round_code: CodePath,
    code: CodePath,
    item_code: CodePath,
    body: EvidenceIn,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
) -> MaterialOut:
    """Attach a file uploaded through POST /api/v1/attachments to a material item."""
    await material.submit(
        session,
        actor,
        round_code,
        code,
        item_code,
        body.attachment_key,
        body.note,
        now=clock.now(),
    )
    return await _material_out(session, actor, round_code, code, item_code)


@router.put(
    "/rounds/{round_code}/participants/{code}/materials/{item_code}/review",
    response_model=MaterialOut,
    summary="Score a material item",
)
async def review_material(
    round_code: CodePath,
    code: CodePath,
    item_code: CodePath,
    body: ReviewIn,
    session: DbSession,
    actor: SignedInActor,
    clock: AppClock,
) -> MaterialOut:
    """The reviewer's points (0 to the item's max) become the item's score."""
    await material.review(
        session,
        actor,
        round_code,
        code,
        item_code,
        parse_points(body.points),
        body.note,
        now=clock.now(),
    )
    return await _material_out(session, actor, round_code, code, item_code)


async def _material_out(
    session: DbSession, actor: SignedInActor, round_code: str, code: str, item_code: str
) -> MaterialOut:
    _round, _participant, lines = await material.lines(session, actor, round_code, code)
    line = next(line for line in lines if line.item.code == item_code)
    return MaterialOut(
        item_code=line.item.code,
        max_points=points(line.item.max_points),
        evidence=[e.attachment_key for e in line.evidence],
        points=points(line.review.points) if line.review is not None else None,
        note=line.review.note if line.review is not None else "",
    )


@router.get(
    "/years/{year}/bulletin",
    summary="A year's or a round's bulletin as Excel or PDF",
    response_class=Response,
    responses={200: {"content": {XLSX: {}, "application/pdf": {}}}},
)
async def bulletin_file(
    year: YearPath,
    session: DbSession,
    actor: SignedInActor,
    round: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$")] = None,
    format: Annotated[str, Query(pattern="^(xlsx|pdf)$")] = "xlsx",
) -> Response:
    """One sheet (or table) per category: rank, participant, the rounds (or, for a round, the
    methods) and the total."""
    found = (
        await bulletin.round_bulletin(session, actor, year, round)
        if round
        else await bulletin.year_bulletin(session, actor, year)
    )
    name = f"bulletin-{round or year}"
    if format == "pdf":
        return Response(
            export.bulletin_pdf(found),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return Response(
        export.bulletin_xlsx(found),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
