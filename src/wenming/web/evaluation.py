"""Evaluation pages: the evaluator's phone checklist, a participant's score page that explains
every point lost (with the checklist evidence, the material review and the rectification cases),
and the bulletin (通报) of a year or a round with its charts and exports.

Everything goes through the evaluation services; a refused verdict is shown next to its item
and nothing is saved.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from wenming.attachments.api import Media
from wenming.cases.workflow import State
from wenming.core.deps import AppClock, AppSettings, DbSession, RowId
from wenming.core.errors import InvalidInput, WenmingError
from wenming.evaluation import bulletin, charts, export, material, rectification, repository
from wenming.evaluation import service as eval_service
from wenming.evaluation.access import MANAGERS, require_reader
from wenming.evaluation.rules import Method, ScoringError, parse_points
from wenming.evaluation.schemas import CheckIn
from wenming.i18n import N_
from wenming.org.roles import Role
from wenming.web.cases import STATE_LABELS, FormSizeLimit, _store_photos, uploads
from wenming.web.deps import PageActor
from wenming.web.forms import CsrfForm, field
from wenming.web.rendering import render, request_language, translator

router = APIRouter(include_in_schema=False)

CodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
YearPath = Annotated[int, Path(ge=2000, le=2100)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
METHOD_LABELS: dict[str, str] = {
    Method.FIELD.value: N_("Field inspection"),
    Method.SURVEY.value: N_("Survey"),
    Method.MATERIAL.value: N_("Material review"),
    Method.DATA.value: N_("Data"),
}


def _category_name(language: str, zh: str, en: str) -> str:
    return zh if language == "zh" else en


@router.get("/evaluation", response_class=HTMLResponse)
async def evaluation_home(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The evaluator's assigned points, the years' bulletins and the participants in reach."""
    require_reader(actor)
    points = await eval_service.my_points(session, actor) if actor.has_role(Role.EVALUATOR) else []
    return render(
        request,
        "evaluation/home.html",
        {
            "points": points,
            "years": await bulletin.years(session),
            "participants": await repository.participants(session, actor),
        },
        actor=actor,
    )


@router.get("/evaluation/checklist/{point_id}", response_class=HTMLResponse)
async def checklist_page(
    request: Request,
    point_id: RowId,
    session: DbSession,
    actor: PageActor,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """One assigned point: each applicable item with pass / deduct, a photo and a note."""
    return await _checklist(request, session, actor, point_id, done=done)


async def _checklist(
    request: Request,
    session: DbSession,
    actor: PageActor,
    point_id: int,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    point = await eval_service.checklist(session, actor, point_id)
    return render(
        request,
        "evaluation/checklist.html",
        {"point": point, "done": done, "errors": errors or {}},
        actor=actor,
        status_code=status_code,
    )


@router.post("/evaluation/checklist/{point_id}/items/{item_code}", response_model=None)
async def record_item(
    request: Request,
    point_id: RowId,
    item_code: CodePath,
    size: FormSizeLimit,
    form: CsrfForm,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    store: Media,
) -> Response:
    """Save one item's verdict: pass (0 findings) or deduct N findings, with a photo and a note;
    a deduction files its rectification case."""
    _ = translator(request)
    verdict = field(form, "verdict")
    raw = field(form, "findings")
    findings = 0
    error = ""
    if verdict == "deduct":
        findings = int(raw) if raw.isdigit() else 0
        if not 1 <= findings <= 1000:
            error = _("A deduction needs the number of findings (1 to 1000).")
    elif verdict != "pass":
        error = _("Choose pass or deduct.")
    photos = uploads(form, "photo")
    if len(photos) > 1:
        error = _("Attach one photo per item.")
    if error:
        return await _checklist(
            request, session, actor, point_id, errors={item_code: error}, status_code=422
        )
    # An unassigned point is a 404 before anything is stored.
    shown = await eval_service.checklist(session, actor, point_id)
    current = next((i for i in shown.items if i.code == item_code), None)
    keep = current.attachment_key if current is not None else None
    # The script uploads the photo first (POST /api/v1/attachments) and sends only its key.
    uploaded = field(form, "attachment_key") or None
    now = clock.now()
    try:
        async with session.begin_nested():
            keys = await _store_photos(session, store, photos, actor, now, settings)
            body = CheckIn(
                findings=findings,
                note=field(form, "note")[:2000],
                attachment_key=keys[0] if keys else (uploaded or keep),
            )
            await eval_service.record_check(
                session, actor, point_id, item_code, body, now=now, settings=settings
            )
    except (WenmingError, ValidationError) as exc:
        message = (
            exc.detail if isinstance(exc, WenmingError) else _("Check the note and the photo.")
        )
        return await _checklist(
            request, session, actor, point_id, errors={item_code: message}, status_code=422
        )
    return RedirectResponse(
        f"/evaluation/checklist/{point_id}?done={item_code}#item-{item_code}", status_code=303
    )


def _group_items(rounds: list[Any]) -> list[dict[str, Any]]:
    """Per round: methods → projects → items, with what each lost."""
    shaped = []
    for round_ in rounds:
        methods: dict[str, dict[str, list[Any]]] = {}
        for item in round_.items:
            methods.setdefault(item.method.value, {}).setdefault(item.project, []).append(item)
        shaped.append({"round": round_, "methods": methods})
    return shaped


@router.get("/evaluation/participants/{code}", response_class=HTMLResponse)
async def participant_page(
    request: Request,
    code: CodePath,
    session: DbSession,
    actor: PageActor,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Where every point of a participant's year went, with evidence and rectification cases."""
    _ = translator(request)
    require_reader(actor)
    participant = await repository.participant_by_code(session, actor, code)
    years = await bulletin.years(session)
    if year is None and years:
        year = years[0].year
    rounds = await eval_service.participant_scores(session, actor, code, year) if year else []
    all_rounds = (
        await repository.rounds_of(session, (await repository.year_by_number(session, year)).id)
        if year
        else []
    )
    materials = []
    for round_ in all_rounds:
        _r, _p, lines = await material.lines(session, actor, round_.code, code)
        if lines:
            materials.append((round_, lines))
    return render(
        request,
        "evaluation/participant.html",
        {
            "participant": participant,
            "year": year,
            "years": years,
            "rounds": _group_items(rounds),
            "mock_rounds": {r.code for r in all_rounds if r.mock},
            "method_labels": METHOD_LABELS,
            "rate": await rectification.rate(session, participant),
            "cases": await rectification.cases_of(session, actor, participant),
            "materials": materials,
            "may_review": actor.has_role(*MANAGERS),
            "may_submit": actor.has_role(*material.UPLOADERS),
            "done": done,
            "state_label": lambda value: _(STATE_LABELS[State(value)]),
        },
        actor=actor,
    )


@router.post(
    "/evaluation/participants/{code}/materials/{round_code}/{item_code}", response_model=None
)
async def material_post(
    request: Request,
    code: CodePath,
    round_code: CodePath,
    item_code: CodePath,
    size: FormSizeLimit,
    form: CsrfForm,
    session: DbSession,
    actor: PageActor,
    clock: AppClock,
    settings: AppSettings,
    store: Media,
) -> Response:
    """Submit evidence for a material item (``action=submit``) or review it (``action=review``)."""
    _ = translator(request)
    now = clock.now()
    year = (await repository.round_by_code(session, round_code)).year_id
    action = field(form, "action")
    if action == "review":
        try:
            value = parse_points(field(form, "points"))
        except (ScoringError, InvalidOperation) as exc:
            raise InvalidInput(str(exc), field="points") from None
        await material.review(
            session, actor, round_code, code, item_code, value, field(form, "note"), now=now
        )
    elif action == "submit":
        photos = uploads(form, "file")
        if len(photos) != 1:
            raise InvalidInput(_("Attach one file."), field="file")
        keys = await _store_photos(session, store, photos, actor, now, settings)
        await material.submit(
            session, actor, round_code, code, item_code, keys[0], field(form, "note"), now=now
        )
    else:
        raise InvalidInput("Choose submit or review.", field="action")
    year_number = next(y.year for y in await bulletin.years(session) if y.id == year)
    return RedirectResponse(
        f"/evaluation/participants/{code}?year={year_number}&done={item_code}#material-{item_code}",
        status_code=303,
    )


async def _bulletin(
    session: DbSession, actor: PageActor, year: int, round_code: str
) -> bulletin.Bulletin:
    if round_code:
        return await bulletin.round_bulletin(session, actor, year, round_code)
    return await bulletin.year_bulletin(session, actor, year)


@router.get("/evaluation/bulletin/{year}", response_class=HTMLResponse)
async def bulletin_page(
    request: Request,
    year: YearPath,
    session: DbSession,
    actor: PageActor,
    round: Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z0-9_-]*$")] = "",
    participant: Annotated[str, Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]*$")] = "",
) -> HTMLResponse:
    """The ranking table of each category, the totals as bars and one participant's radar."""
    _ = translator(request)
    language = request_language(request)
    found = await _bulletin(session, actor, year, round)
    groups = [
        (
            _category_name(language, t.name_zh, t.name_en),
            [(r.name, r.total) for r in t.rows],
        )
        for t in found.tables
    ]
    bar_chart = charts.bars(groups, title=_("Totals by category"))
    chosen = participant or (found.participants[0][0] if found.participants else "")
    radar_chart = None
    chosen_name = ""
    if chosen:
        shape = await bulletin.profile(session, actor, year, chosen, round or None)
        chosen_name = dict(found.participants).get(chosen, chosen)
        radar_chart = charts.radar(
            shape.axes,
            shape.participant,
            shape.average,
            title=_("Six areas: %(name)s against its category's average") % {"name": chosen_name},
            participant_label=chosen_name,
            average_label=_("Category average"),
        )
    return render(
        request,
        "evaluation/bulletin.html",
        {
            "bulletin": found,
            "year": year,
            "round_code": round,
            "bar_chart": bar_chart,
            "radar_chart": radar_chart,
            "chosen": chosen,
            "chosen_name": chosen_name,
            "category_name": lambda t: _category_name(language, t.name_zh, t.name_en),
            "method_labels": METHOD_LABELS,
            "fmt": lambda v: "" if v is None else f"{Decimal(v):.2f}",
        },
        actor=actor,
    )


@router.get("/evaluation/bulletin/{year}/export.{kind}", response_model=None)
async def bulletin_export(
    year: YearPath,
    kind: Annotated[str, Path(pattern="^(xlsx|pdf)$")],
    session: DbSession,
    actor: PageActor,
    round: Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z0-9_-]*$")] = "",
) -> Response:
    """The bulletin as an Excel workbook or a PDF."""
    found = await _bulletin(session, actor, year, round)
    name = f"bulletin-{round or year}"
    if kind == "xlsx":
        return Response(
            export.bulletin_xlsx(found),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        export.bulletin_pdf(found),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
