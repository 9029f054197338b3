"""Closing the loop and reviewing: rectification cases from field deductions (idempotent, only
inside this deployment's grids, in the evaluator's name, the rate once closed), self-evaluation
rounds left out of the year, material evidence and review as item scores, the bulletin's tables,
six-area profile and exports."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.evaluation.support import SETUP, EvalWorld, add_point, create_evaluation
from tests.factories.cases import photo
from wenming.cases.models import Case
from wenming.cases.models import Category as CaseCategory
from wenming.core.config import Settings
from wenming.core.errors import Forbidden, InvalidInput
from wenming.evaluation import bulletin, export, material, rectification, repository, service
from wenming.evaluation.models import CheckResult, Rectification, SampledPoint, Score
from wenming.evaluation.schemas import CheckIn, PlanIn, SetupIn
from wenming.geo.models import InspectionPoint

SCORES = (
    "round,participant_code,item_code,score\n"
    "2022H1,211104,F1,9\n2022H1,211104,F2,6\n2022H1,211104,F3,4\n"
    "2022H1,211104,S1,8\n2022H1,211104,M1,7\n"
    "2022H1,X1,F1,10\n2022H1,X1,F2,5\n2022H1,X1,F3,3\n2022H1,X1,S1,9\n2022H1,X1,M1,9\n"
)


@pytest.fixture
async def ev(session: AsyncSession) -> EvalWorld:
    return await create_evaluation(session)


async def _assigned(session: AsyncSession) -> list[int]:
    plan = await service.draw_plan(
        session, None, PlanIn(round="2022H1", participant="211104", per_type=2, seed="r"), now=NOW
    )
    await service.assign(session, None, plan.id, ["evaluator"])
    return [p.id for p in await repository.plan_points(session, plan.id)]


async def test_a_deduction_files_one_case_in_the_evaluators_name(
    session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    await _assigned(session)
    me = await ev.world.actor(session, ev.evaluator)
    road, _second, park, *_ = await service.my_points(session, me)
    key = await photo(session, settings)
    await service.record_check(
        session,
        me,
        road.id,
        "F1",
        CheckIn(findings=2, note="垃圾", attachment_key=key),
        now=NOW,
        settings=settings,
    )
    await service.record_check(
        session, me, park.id, "F3", CheckIn(findings=0), now=NOW, settings=settings
    )
    await service.record_check(
        session, me, road.id, "F1", CheckIn(findings=3), now=NOW, settings=settings
    )
    links = list(await session.scalars(select(Rectification)))
    assert len(links) == 1
    case = await session.get(Case, links[0].case_id)
    assert case is not None
    category = await session.get(CaseCategory, case.category_id)
    assert category is not None
    assert (case.source, category.kind, category.code, case.reporter_user_id) == (
        "evaluation",
        "event",
        "0102",
        ev.evaluator.id,
    )
    assert case.description.startswith("测评扣分（2022 上半年）：F1 道路无暴露垃圾。")
    # Re-running the filing over the round files nothing new.
    assert (
        await rectification.file_round(
            session, None, "2022H1", "211104", now=NOW, settings=settings
        )
        == 0
    )
    participant = await repository.participant_by_code(session, None, "211104")
    assert await rectification.rate(session, participant) == rectification.RectificationRate(1, 0)
    await session.execute(update(Case).where(Case.id == case.id).values(state="closed"))
    rate = await rectification.rate(session, participant)
    assert (rate.created, rate.closed, rate.percent) == (1, 1, 100.0)
    shown = await rectification.cases_of(session, None, participant)
    assert [(c.round_code, c.item_code, c.state) for c in shown] == [("2022H1", "F1", "closed")]


async def test_the_round_filing_catches_up_and_skips_points_outside_the_grids(
    session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    await add_point(session, "MR99", "main_road", ev.world.tree.community, x=90_000)
    plan = await service.draw_plan(
        session, None, PlanIn(round="2022H1", participant="211104", per_type=10), now=NOW
    )
    await service.assign(session, None, plan.id, ["evaluator"])
    me = await ev.world.actor(session, ev.evaluator)
    mine = await service.my_points(session, me)
    assert sorted(p.point_code for p in mine) == [
        "MR00",
        "MR01",
        "MR02",
        "MR03",
        "MR04",
        "MR99",
        "PK00",
        "PK01",
        "PK02",
    ]
    for point in mine:
        for item in point.items:
            await service.record_check(
                session, me, point.id, item.code, CheckIn(findings=0), now=NOW, settings=settings
            )
    # Verdicts that became deductions without filing (as an import would leave them).
    await session.execute(update(CheckResult).values(findings=1))
    filed = await rectification.file_round(
        session, None, "2022H1", "211104", now=NOW, settings=settings
    )
    assert filed == 8  # every point but MR99, 90 km away from every grid
    linked = await session.scalars(
        select(InspectionPoint.code)
        .join(SampledPoint, SampledPoint.point_id == InspectionPoint.id)
        .join(Rectification, Rectification.sampled_point_id == SampledPoint.id)
    )
    assert "MR99" not in set(linked)
    assert (
        await rectification.file_round(
            session, None, "2022H1", "211104", now=NOW, settings=settings
        )
        == 0
    )


async def test_a_self_evaluation_round_is_scored_but_left_out_of_the_year(
    session: AsyncSession, ev: EvalWorld
) -> None:
    setup = {
        "years": [
            {
                **SETUP["years"][0],
                "rounds": [
                    *SETUP["years"][0]["rounds"],
                    {"code": "2022M1", "name": "2022 模拟测评", "mock": True},
                ],
            }
        ]
    }
    await service.apply_setup(session, None, SetupIn.model_validate(setup), now=NOW)
    mock_scores = SCORES.replace("2022H1", "2022M1")
    await service.import_scores(session, None, SCORES + mock_scores.split("\n", 1)[1], now=NOW)
    table = await service.ranking(session, None, 2022)
    assert table.columns == ["2022H1", "2022H2"]
    row = next(r for r in table.rows if r.participant_code == "211104")
    assert row.total == Decimal("34.00")
    explained = await service.participant_scores(session, None, "211104", 2022)
    assert [r.round for r in explained] == ["2022H1", "2022M1"]
    mock_bulletin = await bulletin.round_bulletin(session, None, 2022, "2022M1")
    assert [(r.code, r.rank, r.total) for t in mock_bulletin.tables for r in t.rows] == [
        ("X1", 1, Decimal("36.00")),
        ("211104", 2, Decimal("34.00")),
    ]


async def test_material_evidence_and_review(
    session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    await service.import_scores(session, None, SCORES, now=NOW)
    admin = await ev.world.actor(session, ev.world.people.district_admin)
    key = await photo(session, settings)
    await material.submit(session, admin, "2022H1", "211104", "M1", key, "台账", now=NOW)
    evaluator = await ev.world.actor(session, ev.evaluator)
    with pytest.raises(Forbidden):
        await material.submit(session, evaluator, "2022H1", "211104", "M1", key, "", now=NOW)
    with pytest.raises(InvalidInput, match="not a material item"):
        await material.submit(session, admin, "2022H1", "211104", "S1", key, "", now=NOW)
    with pytest.raises(InvalidInput, match=r"from 0 to 10\.00"):
        await material.review(session, admin, "2022H1", "211104", "M1", 10_01, "", now=NOW)
    with pytest.raises(Forbidden):
        await material.review(session, evaluator, "2022H1", "211104", "M1", 5_00, "", now=NOW)
    await material.review(session, admin, "2022H1", "211104", "M1", 9_50, "齐全", now=NOW)
    score = await session.scalar(select(Score).where(Score.source == "material"))
    assert score is not None and score.points == 9_50
    table = await service.ranking(session, None, 2022)
    assert next(r for r in table.rows if r.participant_code == "211104").total == Decimal("36.50")
    _round, _participant, lines = await material.lines(session, admin, "2022H1", "211104")
    assert [(line.item.code, len(line.evidence)) for line in lines] == [("M1", 1)]
    assert lines[0].review is not None and lines[0].review.note == "齐全"


async def test_the_bulletin_profile_and_exports(session: AsyncSession, ev: EvalWorld) -> None:
    await service.import_scores(session, None, SCORES, now=NOW)
    year = await bulletin.year_bulletin(session, None, 2022)
    assert [(t.code, [(r.code, r.rank, r.total) for r in t.rows]) for t in year.tables] == [
        ("prefecture_city", [("X2", 1, Decimal("0.00"))]),
        (
            "other_district",
            [
                ("X1", 1, Decimal("36.00")),
                ("211104", 2, Decimal("34.00")),
                ("211102", 3, Decimal("0.00")),
            ],
        ),
    ]
    assert year.tables[1].average == Decimal("23.33")
    shape = await bulletin.profile(session, None, 2022, "211104")
    # 环境卫生 19 of 20 and 市民素质 15 of 20; the category's scored members average with X1.
    assert shape.axes == ["环境卫生", "市民素质"]
    assert shape.participant == [95.0, 75.0]
    assert shape.average == [92.5, 82.5]
    book = load_workbook(io.BytesIO(export.bulletin_xlsx(year)))
    assert book.sheetnames == ["prefecture_city", "other_district"]
    assert book["other_district"]["A1"].value == "2022年度 · 其他城区类"
    pdf = export.bulletin_pdf(year)
    assert pdf.startswith(b"%PDF-") and b"STSong-Light" in pdf
