"""The evaluation API over HTTP: imports with problem+json refusals, rankings in three formats,
sampling plans, the evaluator's checklist with a photo, and who may do what."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from tests.evaluation.support import SMALL_INDEX, EvalWorld, create_evaluation
from tests.evaluation.test_service import H1_SCORES, H2_SCORES
from tests.factories.cases import photo
from tests.factories.org import bearer_headers
from wenming.core.config import Settings
from wenming.evaluation import service

URL = "/api/v1/evaluation"
CSV = {"Content-Type": "text/csv"}
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
async def ev(session: AsyncSession) -> EvalWorld:
    return await create_evaluation(session)


async def admin(session: AsyncSession, ev: EvalWorld) -> dict[str, str]:
    return await bearer_headers(session, ev.world.people.sys_admin)


async def test_index_import_and_export_over_http(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    headers = await admin(session, ev)
    text = SMALL_INDEX.replace("test-2022", "http-2022")
    created = await client.post(
        f"{URL}/indexes", content=text.encode(), headers={**headers, **YAML}
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "code": "http-2022",
        "name": "测试体系 (test)",
        "example": False,
        "items": 5,
    }
    assert created.headers["location"] == f"{URL}/indexes/http-2022"
    exported = await client.get(f"{URL}/indexes/http-2022", headers=headers)
    assert exported.headers["content-type"] == "application/yaml"
    assert "code: http-2022" in exported.text
    workbook = await client.get(f"{URL}/indexes/http-2022?format=xlsx", headers=headers)
    again = await client.post(
        f"{URL}/indexes",
        content=workbook.content,
        headers={**headers, "Content-Type": workbook.headers["content-type"]},
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    listed = await client.get(f"{URL}/indexes", headers=headers)
    assert [v["code"] for v in listed.json()] == ["http-2022", "test-2022"]


async def test_a_bad_index_is_a_problem_naming_each_place(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    headers = await admin(session, ev)
    text = SMALL_INDEX.replace("test-2022", "x").replace("max_points: 6", "max_points: -6")
    refused = await client.post(
        f"{URL}/indexes", content=text.encode(), headers={**headers, **YAML}
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "/problems/import-refused"
    assert problem["errors"] == [
        {
            "field": "projects[0].contents[0].items[1].max_points",
            "message": "must be more than 0 points",
        }
    ]
    wrong_type = await client.post(f"{URL}/indexes", content=b"x", headers={**headers, **CSV})
    assert wrong_type.status_code == 422
    assert "application/yaml" in wrong_type.json()["detail"]


async def test_scores_ranking_csv_json_and_xlsx(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    headers = await admin(session, ev)
    for text in (H1_SCORES, H2_SCORES):
        imported = await client.post(
            f"{URL}/scores", content=text.encode(), headers={**headers, **CSV}
        )
        assert imported.status_code == 200, imported.text
    csv_answer = await client.get(f"{URL}/years/2022/ranking?format=csv", headers=headers)
    assert csv_answer.text.splitlines() == [
        "rank,participant_code,participant_name,category,2022H1,2022H2,total",
        "1,X2,外省乙市,地级市,24.00,,24.00",
        "1,211104,大洼区,其他城区类,36.50,38.00,74.50",
        "2,211102,双台子区,其他城区类,36.50,35.00,71.50",
        "3,X1,外市甲区,其他城区类,36.50,,36.50",
    ]
    json_answer = await client.get(
        f"{URL}/years/2022/ranking?category=other_district", headers=headers
    )
    assert json_answer.json()["rows"][0] == {
        "rank": 1,
        "participant_code": "211104",
        "participant_name": "大洼区",
        "category": "other_district",
        "category_name": "其他城区类",
        "rounds": {"2022H1": "36.50", "2022H2": "38.00"},
        "total": "74.50",
    }
    xlsx = await client.get(f"{URL}/years/2022/ranking?format=xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[3]] == [1, "211104", "大洼区", "其他城区类", 36.5, 38.0, 74.5]
    explained = await client.get(f"{URL}/participants/211104/scores?year=2022", headers=headers)
    assert [(r["round"], r["total"]) for r in explained.json()] == [
        ("2022H1", "36.50"),
        ("2022H2", "38.00"),
    ]
    missing = await client.get(f"{URL}/years/2031/ranking", headers=headers)
    assert missing.status_code == 404


async def test_a_bad_score_file_is_refused_whole(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    headers = await admin(session, ev)
    text = "round,participant_code,item_code,score\n2022H1,211104,F1,9\n2022H1,211104,F1,11\n"
    refused = await client.post(f"{URL}/scores", content=text.encode(), headers={**headers, **CSV})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "line 3", "message": "duplicate of line 2 (2022H1, 211104, F1)"}
    ]
    ranking = await client.get(f"{URL}/years/2022/ranking", headers=headers)
    assert [r["rounds"]["2022H1"] for r in ranking.json()["rows"]] == [None, None, None, None]


async def test_only_managers_import_and_only_readers_read(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    citizen = await bearer_headers(session, ev.world.people.citizen)
    refused = await client.post(
        f"{URL}/scores", content=H1_SCORES.encode(), headers={**citizen, **CSV}
    )
    assert refused.status_code == 403
    assert (await client.get(f"{URL}/years/2022/ranking", headers=citizen)).status_code == 403
    assert (await client.get(f"{URL}/years/2022/ranking")).status_code == 401
    evaluator = await bearer_headers(session, ev.evaluator)
    assert (await client.get(f"{URL}/years/2022/ranking", headers=evaluator)).status_code == 200
    refused = await client.post(
        f"{URL}/plans",
        json={"round": "2022H1", "participant": "211104", "per_type": 1},
        headers=evaluator,
    )
    assert refused.status_code == 403


async def test_setup_over_http(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    headers = await admin(session, ev)
    body = {
        "categories": [{"code": "new_area", "name_zh": "新区", "name_en": "New areas"}],
        "participants": [{"code": "N1", "name": "某新区", "category": "new_area"}],
    }
    answer = await client.put(f"{URL}/setup", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["participants"] == 1
    cats = await client.get(f"{URL}/categories", headers=headers)
    assert "new_area" in [c["code"] for c in cats.json()]
    bad = await client.put(f"{URL}/setup", json={"participants": [{"code": "N2"}]}, headers=headers)
    assert bad.status_code == 422


async def test_plan_assign_and_checklist_with_a_photo(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    headers = await admin(session, ev)
    drawn = await client.post(
        f"{URL}/plans",
        json={"round": "2022H1", "participant": "211104", "per_type": 1, "seed": "audit"},
        headers=headers,
    )
    assert drawn.status_code == 201, drawn.text
    plan = drawn.json()
    assert plan["seed"] == "audit"
    assert [p["location_type"] for p in plan["points"]] == ["main_road", "park"]
    assigned = await client.post(
        f"{URL}/plans/{plan['id']}/assign", json={"evaluators": ["evaluator"]}, headers=headers
    )
    assert [p["evaluator"] for p in assigned.json()["points"]] == ["evaluator", "evaluator"]
    not_evaluator = await client.post(
        f"{URL}/plans/{plan['id']}/assign", json={"evaluators": ["citizen"]}, headers=headers
    )
    assert not_evaluator.status_code == 422
    evaluator = await bearer_headers(session, ev.evaluator)
    mine = (await client.get(f"{URL}/checklist", headers=evaluator)).json()
    road = mine[0]
    assert (road["location_type"], [i["code"] for i in road["items"]]) == ("main_road", ["F1"])
    key = await photo(session, settings)
    put = await client.put(
        f"{URL}/checklist/{road['id']}/items/F1",
        json={"findings": 2, "note": "垃圾两处", "attachment_key": key},
        headers=evaluator,
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        "code": "F1",
        "text": "道路无暴露垃圾",
        "max_points": "10.00",
        "per_finding": "1.00",
        "findings": 2,
        "deduction": "2.00",
        "note": "垃圾两处",
        "attachment_key": key,
    }
    negative = await client.put(
        f"{URL}/checklist/{road['id']}/items/F1", json={"findings": -1}, headers=evaluator
    )
    assert negative.status_code == 422
    other = await bearer_headers(session, ev.evaluator_two)
    assert (await client.get(f"{URL}/checklist/{road['id']}", headers=other)).status_code == 404
    scored = await client.post(
        f"{URL}/rounds/2022H1/participants/211104/field-scores", headers=headers
    )
    assert scored.json() == {"rows": 1}
    explained = await service.participant_scores(session, None, "211104", 2022)
    f1 = next(i for i in explained[0].items if i.item_code == "F1")
    assert (str(f1.obtained), str(f1.lost)) == ("8.00", "2.00")
    assert [(e.point_code, e.findings, e.note, e.attachment_key) for e in f1.evidence] == [
        (road["point_code"], 2, "垃圾两处", key)
    ]
