"""Evaluation services on both databases: index round trip, set-up, score and survey imports
(with every refusal), the year's ranking, sampling draws, checklists and field scores, scope."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.evaluation.support import SETUP, SMALL_INDEX, EvalWorld, create_evaluation
from wenming.core.config import Settings
from wenming.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from wenming.evaluation import indexfile, repository, service
from wenming.evaluation.indexfile import FileRefused
from wenming.evaluation.models import AbsentType, Score, SurveyResult
from wenming.evaluation.sampling import draw
from wenming.evaluation.schemas import CheckIn, PlanIn, SetupIn

H1_SCORES = """round,participant_code,item_code,score
2022H1,211104,F1,9
2022H1,211104,F2,6
2022H1,211104,F3,3.5
2022H1,211104,S1,8
2022H1,211104,M1,10
2022H1,211102,F1,10
2022H1,211102,F2,6
2022H1,211102,F3,4
2022H1,211102,S1,9
2022H1,211102,M1,7.5
2022H1,X1,F1,10
2022H1,X1,F2,5
2022H1,X1,F3,4
2022H1,X1,S1,8
2022H1,X1,M1,9.5
2022H1,X2,F1,5
2022H1,X2,F2,5
2022H1,X2,F3,4
2022H1,X2,S1,5
2022H1,X2,M1,5
"""
H2_SCORES = """round,participant_code,item_code,score
2022H2,211104,F1,10
2022H2,211104,F2,6
2022H2,211104,F3,4
2022H2,211104,S1,9
2022H2,211104,M1,9
2022H2,211102,F1,8
2022H2,211102,F2,4
2022H2,211102,F3,4
2022H2,211102,S1,9
2022H2,211102,M1,10
"""


@pytest.fixture
async def ev(session: AsyncSession) -> EvalWorld:
    return await create_evaluation(session)


async def score_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Score)) or 0)


async def test_index_export_then_import_gives_the_same_index(
    session: AsyncSession, ev: EvalWorld
) -> None:
    original = indexfile.parse_yaml(SMALL_INDEX)
    exported = await service.export_index(session, None, "test-2022")
    assert exported == original
    renamed = indexfile.parse_yaml(indexfile.to_yaml(exported).replace("test-2022", "copy-2022"))
    await service.import_index(session, None, renamed, now=NOW)
    assert await service.export_index(session, None, "copy-2022") == renamed
    workbook = indexfile.parse_xlsx(indexfile.to_xlsx(exported))
    assert workbook == original


async def test_a_known_version_code_and_unknown_location_types_are_refused(
    session: AsyncSession, ev: EvalWorld
) -> None:
    with pytest.raises(Conflict, match="test-2022"):
        await service.import_index(session, None, indexfile.parse_yaml(SMALL_INDEX), now=NOW)
    bad = indexfile.parse_yaml(
        SMALL_INDEX.replace("code: test-2022", "code: bad").replace("[park, square]", "[moon]")
    )
    with pytest.raises(FileRefused) as refused:
        await service.import_index(session, None, bad, now=NOW)
    (problem,) = refused.value.problems
    assert str(problem).startswith(
        "item F3, location_types: unknown location type 'moon'; use one of: back_lane, bus, "
    )


async def test_the_packaged_example_index_imports(session: AsyncSession, ev: EvalWorld) -> None:
    text = files("wenming.data").joinpath("evaluation/example-index.yaml").read_text("utf-8")
    spec = indexfile.parse_yaml(text)
    version = await service.import_index(session, None, spec, now=NOW)
    assert version.example is True
    assert [p.name for p in spec.projects] == [
        "基础设施",
        "环境卫生",
        "市容秩序",
        "交通秩序",
        "氛围宣传",
        "市民素质",
    ]
    assert await service.export_index(session, None, "example-2026") == spec


async def test_setup_codes_written_as_numbers_are_text(
    session: AsyncSession, ev: EvalWorld
) -> None:
    body = SetupIn.model_validate(
        {"participants": [{"code": 211105, "name": "某区", "category": "other_district"}]}
    )
    await service.apply_setup(session, None, body, now=NOW)
    participants = await repository.participants(session, None)
    assert "211105" in [p.code for p in participants]


async def test_setup_names_every_problem_and_changes_nothing(
    session: AsyncSession, ev: EvalWorld
) -> None:
    bad = SetupIn.model_validate(
        {
            "years": [
                {
                    "year": 2023,
                    "name": "2023",
                    "index": "nope",
                    "combine": "weighted",
                    "tie_breaks": ["round:2023H9"],
                    "rounds": [{"code": "2022H1", "name": "x"}],
                }
            ],
            "participants": [
                {"code": "P", "name": "p", "category": "moon"},
                {"code": "Q", "name": "q", "category": "other_district", "unit": "211104000000"},
            ],
        }
    )
    with pytest.raises(FileRefused) as refused:
        await service.apply_setup(session, None, bad, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "years[0].index: no index version 'nope'; import it first",
        "years[0].tie_breaks[0]: '2023H9' is not a round of 2023",
        "years[0].rounds[0].code: round 2022H1 belongs to 2022",
        "years[0].rounds[0].weight: a weighted year needs a weight per round",
        "participants[0].category: unknown category 'moon'; use one of: central_district, "
        "county_city, other_district, prefecture_city, provincial_capital",
        "participants[1].unit: unit 211104000000 is participant 211104 already",
    ]


async def test_a_district_admin_touches_only_their_district_and_external_participants(
    session: AsyncSession, ev: EvalWorld
) -> None:
    actor = await ev.world.actor(session, ev.world.people.district_admin)
    body = SetupIn.model_validate(
        {"participants": [{**SETUP["participants"][1], "code": "211102"}]}  # type: ignore[dict-item]
    )
    with pytest.raises(FileRefused) as refused:
        await service.apply_setup(session, actor, body, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "participants[0].code: participant 211102 is outside your scope",
        "participants[0].unit: unit 211102000000 is outside your scope",
    ]
    text = "round,participant_code,item_code,score\n2022H1,211102,F1,1\n2022H1,211104,F1,1\n"
    with pytest.raises(FileRefused) as refused:
        await service.import_scores(session, actor, text, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 2, participant_code: unknown participant '211102'"
    ]
    assert await service.import_scores(session, actor, text.replace("211102", "X1"), now=NOW) == 2
    citizen = await ev.world.actor(session, ev.world.people.citizen)
    with pytest.raises(Forbidden):
        await service.apply_setup(session, citizen, body, now=NOW)


async def test_score_import_refuses_every_bad_row_and_imports_nothing(
    session: AsyncSession, ev: EvalWorld
) -> None:
    text = """round,participant_code,item_code,score
2022H1,211104,F1,9
2022H9,211104,F1,9
2022H1,ZZZ,F1,9
2022H1,211104,F9,9
2022H1,211104,F2,-1
2022H1,211104,F3,4.01
2022H1,211104,S1,10.5
2022H1,211104,F1,8
2022H1,211104,M1,1.234
2022H1,211104
"""
    with pytest.raises(FileRefused) as refused:
        await service.import_scores(session, None, text, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 3, round: unknown round '2022H9'",
        "line 4, participant_code: unknown participant 'ZZZ'",
        "line 5, item_code: unknown item 'F9' in the index of round 2022H1",
        "line 6, score: -1 is below 0",
        "line 7, score: 4.01 is above the max of item F3 (4.00)",
        "line 8, score: 10.5 is above the max of item S1 (10.00)",
        "line 9: duplicate of line 2 (2022H1, 211104, F1)",
        "line 10, score: '1.234' has more than 2 decimals",
        "line 11: has 2 cells; expected 4",
    ]
    assert await score_count(session) == 0
    with pytest.raises(FileRefused, match="1 problem"):
        await service.import_scores(session, None, "round,participant,item,score\n", now=NOW)


async def test_year_ranking_sums_the_halves_and_ranks_within_category(
    session: AsyncSession, ev: EvalWorld
) -> None:
    assert await service.import_scores(session, None, H1_SCORES, now=NOW) == 20
    assert await service.import_scores(session, None, H2_SCORES, now=NOW) == 10
    table = await service.ranking(session, None, 2022)
    assert table.columns == ["2022H1", "2022H2"]
    assert [
        (r.category_name, r.rank, r.participant_code, r.rounds, r.total) for r in table.rows
    ] == [
        ("地级市", 1, "X2", {"2022H1": Decimal("24.00"), "2022H2": None}, Decimal("24.00")),
        (
            "其他城区类",
            1,
            "211104",
            {"2022H1": Decimal("36.50"), "2022H2": Decimal("38.00")},
            Decimal("74.50"),
        ),
        (
            "其他城区类",
            2,
            "211102",
            {"2022H1": Decimal("36.50"), "2022H2": Decimal("35.00")},
            Decimal("71.50"),
        ),
        ("其他城区类", 3, "X1", {"2022H1": Decimal("36.50"), "2022H2": None}, Decimal("36.50")),
    ]
    only = await service.ranking(session, None, 2022, "其他城区类")
    assert [r.participant_code for r in only.rows] == ["211104", "211102", "X1"]
    with pytest.raises(NotFound):
        await service.ranking(session, None, 2022, "moon")


async def test_reimporting_a_row_replaces_the_score(session: AsyncSession, ev: EvalWorld) -> None:
    await service.import_scores(session, None, H1_SCORES, now=NOW)
    await service.import_scores(
        session, None, "round,participant_code,item_code,score\n2022H1,X2,F1,10\n", now=NOW
    )
    table = await service.ranking(session, None, 2022, "prefecture_city")
    assert table.rows[0].total == Decimal("29.00")
    assert await score_count(session) == 20


async def test_absent_location_types_reweight_and_weights_apply(
    session: AsyncSession, ev: EvalWorld
) -> None:
    await service.import_scores(session, None, H1_SCORES, now=NOW)
    setup = {
        "years": [
            {
                **SETUP["years"][0],  # type: ignore[dict-item]
                "rounds": [
                    {
                        "code": "2022H1",
                        "name": "2022 上半年",
                        "method_weights": {"field": 40, "survey": 20, "material": 40},
                    },
                    {"code": "2022H2", "name": "2022 下半年"},
                ],
                "tie_breaks": ["method:field"],
            }
        ],
        "absent_location_types": [
            {"round": "2022H1", "participant": "211104", "location_types": ["market"]}
        ],
    }
    await service.apply_setup(session, None, SetupIn.model_validate(setup), now=NOW)
    # 211104: field 12.5 of 14 applicable → 12.5 × 40 / 14 = 35.714…; survey 8/10 × 20 = 16;
    # material 10/10 × 40 = 40; total 91.71.
    explained = await service.participant_scores(session, None, "211104", 2022)
    assert [(r.round, r.total, r.methods) for r in explained] == [
        (
            "2022H1",
            Decimal("91.71"),
            {"field": Decimal("35.71"), "survey": Decimal("16.00"), "material": Decimal("40.00")},
        )
    ]
    f2 = next(i for i in explained[0].items if i.item_code == "F2")
    assert (f2.applicable, f2.counted, f2.obtained) == (False, None, Decimal("6.00"))
    f1 = next(i for i in explained[0].items if i.item_code == "F1")
    assert (f1.lost, f1.counted) == (Decimal("1.00"), Decimal("25.71"))
    assert explained[0].absent_location_types == ["market"]
    # The stored round total followed the new weights and absence.
    table = await service.ranking(session, None, 2022, "other_district")
    assert [(r.participant_code, r.rounds["2022H1"]) for r in table.rows] == [
        ("X1", Decimal("92.00")),  # 19/20 × 40 + 8/10 × 20 + 9.5/10 × 40
        ("211104", Decimal("91.71")),
        ("211102", Decimal("88.00")),  # 20/20 × 40 + 9/10 × 20 + 7.5/10 × 40
    ]


async def test_weights_that_miss_a_method_refuse_the_setup_whole(
    session: AsyncSession, ev: EvalWorld
) -> None:
    await service.import_scores(session, None, H1_SCORES, now=NOW)
    year = {
        **SETUP["years"][0],  # type: ignore[dict-item]
        "rounds": [{"code": "2022H1", "name": "改名", "method_weights": {"field": 100}}],
    }
    with pytest.raises(Conflict, match="Round 2022H1 cannot be scored: no weight for method"):
        await service.apply_setup(session, None, SetupIn.model_validate({"years": [year]}), now=NOW)


async def test_survey_results_become_points(session: AsyncSession, ev: EvalWorld) -> None:
    text = "round,participant_code,item_code,respondents,rate\n2022H1,X1,S1,400,87.25\n"
    assert await service.import_survey(session, None, text, now=NOW) == 1
    score = await session.scalar(select(Score.points).where(Score.source == "survey"))
    assert score == 873  # 10 × 87.25 % = 8.725 → 8.73
    assert await session.scalar(select(SurveyResult.respondents)) == 400
    bad = (
        "round,participant_code,item_code,respondents,rate\n"
        "2022H1,X1,F1,400,80\n2022H1,X1,S1,0,80\n2022H1,X2,S1,10,100.5\n"
    )
    with pytest.raises(FileRefused) as refused:
        await service.import_survey(session, None, bad, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 2, item_code: item F1 is a field item, not a survey item",
        "line 3, respondents: must be a whole number of at least 1",
        "line 4, rate: must lie between 0 and 100 (%)",
    ]


async def test_the_same_seed_draws_the_same_points(session: AsyncSession, ev: EvalWorld) -> None:
    plan = await service.draw_plan(
        session, None, PlanIn(round="2022H1", participant="211104", per_type=2, seed="s1"), now=NOW
    )
    first = await service.plan_out(session, plan)
    again = await service.draw_plan(
        session, None, PlanIn(round="2022H2", participant="211104", per_type=2, seed="s1"), now=NOW
    )
    assert first.seed == "s1"
    assert first.population["main_road"] == 5
    assert first.population["park"] == 3
    assert first.population["market"] == 0  # MK00 lies in 双台子区
    assert [(p.location_type, p.draw_order) for p in first.points] == [
        ("main_road", 1),
        ("main_road", 2),
        ("park", 3),
        ("park", 4),
    ]
    codes = [p.point_code for p in first.points]
    assert len(set(codes)) == 4
    assert "market" in first.absent_location_types
    absent = await session.scalars(
        select(AbsentType.location_type).where(AbsentType.round_id == plan.round_id)
    )
    assert "market" in set(absent)
    # Another round draws from streams of its own; re-running the recorded draw is exact.
    second = await service.plan_out(session, again)
    assert (second.seed, len(second.points)) == ("s1", 4)
    rerun = draw(
        {"main_road": [f"MR{n:02d}" for n in range(5)], "park": [f"PK{n:02d}" for n in range(3)]},
        2,
        seed="s1",
        round_code="2022H1",
        participant_code="211104",
    )
    assert [c for codes_ in rerun.picked.values() for c in codes_] == codes
    with pytest.raises(Conflict):
        await service.draw_plan(
            session, None, PlanIn(round="2022H1", participant="211104", per_type=1), now=NOW
        )
    with pytest.raises(InvalidInput, match="external"):
        await service.draw_plan(
            session, None, PlanIn(round="2022H1", participant="X1", per_type=1), now=NOW
        )


async def test_checklist_to_field_scores(
    session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    plan = await service.draw_plan(
        session,
        None,
        PlanIn(round="2022H1", participant="211104", per_type=2, seed="s1"),
        now=NOW,
    )
    await service.assign(session, None, plan.id, ["evaluator", "evaluator2"])
    shown = await service.plan_out(session, plan)
    assert [p.evaluator for p in shown.points] == [
        "evaluator",
        "evaluator2",
        "evaluator",
        "evaluator2",
    ]
    me = await ev.world.actor(session, ev.evaluator)
    mine = await service.my_points(session, me)
    assert [(p.location_type, [i.code for i in p.items]) for p in mine] == [
        ("main_road", ["F1"]),
        ("park", ["F3"]),
    ]
    road, park = mine
    await service.record_check(
        session, me, road.id, "F1", CheckIn(findings=3), now=NOW, settings=settings
    )
    out = await service.record_check(
        session,
        me,
        park.id,
        "F3",
        CheckIn(findings=20, note="满地烟头"),
        now=NOW,
        settings=settings,
    )
    assert (out.findings, out.deduction) == (20, Decimal("4.00"))  # 10 points capped at 4
    with pytest.raises(InvalidInput, match="does not apply"):
        await service.record_check(
            session, me, road.id, "F3", CheckIn(findings=0), now=NOW, settings=settings
        )
    other = await ev.world.actor(session, ev.evaluator_two)
    with pytest.raises(NotFound):
        await service.record_check(
            session, other, road.id, "F1", CheckIn(findings=0), now=NOW, settings=settings
        )
    with pytest.raises(NotFound):
        await service.record_check(
            session,
            me,
            road.id,
            "F1",
            CheckIn(findings=0, attachment_key="x" * 20),
            now=NOW,
            settings=settings,
        )
    second_road = next(
        p for p in await service.my_points(session, other) if p.items[0].code == "F1"
    )
    await service.record_check(
        session, other, second_road.id, "F1", CheckIn(findings=1), now=NOW, settings=settings
    )
    assert await service.field_scores(session, None, "2022H1", "211104", now=NOW) == 2
    found = dict(
        (
            await session.execute(
                select(Score.item_id, Score.points).where(Score.source == "field")
            )
        ).all()
    )
    assert sorted(found.values()) == [0, 6_00]  # F1: 10 − 4 × 1; F3: 4 − min(4, 20 × 0.5)


async def test_readers_see_only_their_territory_and_external_participants(
    session: AsyncSession, ev: EvalWorld
) -> None:
    await service.import_scores(session, None, H1_SCORES, now=NOW)
    district_admin = await ev.world.actor(session, ev.world.people.district_admin)
    table = await service.ranking(session, district_admin, 2022)
    assert [(r.participant_code, r.rank) for r in table.rows] == [
        ("X2", 1),
        ("211104", 1),
        ("X1", 1),
    ]
    with pytest.raises(NotFound):
        await service.participant_scores(session, district_admin, "211102", 2022)
    citizen = await ev.world.actor(session, ev.world.people.citizen)
    with pytest.raises(Forbidden):
        await service.ranking(session, citizen, 2022)


async def test_a_15_25_60_style_cycle_weights_the_year_totals(
    session: AsyncSession, ev: EvalWorld
) -> None:
    await service.import_scores(session, None, H1_SCORES, now=NOW)
    await service.import_scores(session, None, H2_SCORES, now=NOW)
    setup = {
        "years": [
            {
                "year": 2023,
                "name": "2023年度",
                "index": "test-2022",
                "rounds": [{"code": "2023H1", "name": "2023 上半年"}],
            }
        ],
        "cycles": [{"code": "c1", "name": "周期", "years": {2022: 40, 2023: 60}}],
    }
    await service.apply_setup(session, None, SetupIn.model_validate(setup), now=NOW)
    text = "round,participant_code,item_code,score\n2023H1,211102,F1,10\n2023H1,211102,M1,10\n"
    await service.import_scores(session, None, text, now=NOW)
    table = await service.cycle_ranking(session, None, "c1", "other_district")
    assert table.columns == ["2022", "2023"]
    # 211104: 0.4 × 74.50 = 29.80; 211102: 0.4 × 71.50 + 0.6 × 20.00 = 40.60; X1: 0.4 × 36.50
    assert [(r.rank, r.participant_code, r.rounds, r.total) for r in table.rows] == [
        (1, "211102", {"2022": Decimal("71.50"), "2023": Decimal("20.00")}, Decimal("40.60")),
        (2, "211104", {"2022": Decimal("74.50"), "2023": None}, Decimal("29.80")),
        (3, "X1", {"2022": Decimal("36.50"), "2023": None}, Decimal("14.60")),
    ]
    with pytest.raises(NotFound):
        await service.cycle_ranking(session, None, "nope")
