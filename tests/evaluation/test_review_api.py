"""The review API over HTTP: a checklist deduction files its rectification case, the rate and
the catch-up filing, material evidence and review, and the bulletin files."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.evaluation.support import EvalWorld, create_evaluation
from tests.evaluation.test_review import SCORES
from tests.factories.cases import photo
from tests.factories.org import bearer_headers
from wenming.core.config import Settings
from wenming.evaluation import service

URL = "/api/v1/evaluation"


@pytest.fixture
async def ev(session: AsyncSession) -> EvalWorld:
    return await create_evaluation(session)


async def test_a_deduction_over_the_api_files_its_case(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    admin = await bearer_headers(session, ev.world.people.sys_admin)
    drawn = await client.post(
        f"{URL}/plans",
        json={"round": "2022H1", "participant": "211104", "per_type": 1, "seed": "api"},
        headers=admin,
    )
    plan = drawn.json()
    await client.post(
        f"{URL}/plans/{plan['id']}/assign", json={"evaluators": ["evaluator"]}, headers=admin
    )
    evaluator = await bearer_headers(session, ev.evaluator)
    road = next(
        p
        for p in (await client.get(f"{URL}/checklist", headers=evaluator)).json()
        if p["location_type"] == "main_road"
    )
    key = await photo(session, settings)
    put = await client.put(
        f"{URL}/checklist/{road['id']}/items/F1",
        json={"findings": 1, "note": "垃圾", "attachment_key": key},
        headers=evaluator,
    )
    assert put.status_code == 200, put.text
    shown = await client.get(f"{URL}/participants/211104/rectifications", headers=admin)
    assert shown.status_code == 200
    body = shown.json()
    assert (body["created"], body["closed"], body["rate"]) == (1, 0, "0.0")
    assert [(c["round"], c["item_code"], c["state"]) for c in body["cases"]] == [
        ("2022H1", "F1", "reported")
    ]
    case = await client.get(f"/api/v1/cases/{body['cases'][0]['case_code']}", headers=admin)
    assert case.status_code == 200
    assert case.json()["source"] == "evaluation"
    again = await client.post(
        f"{URL}/rounds/2022H1/participants/211104/rectifications", headers=admin
    )
    assert again.json() == {"rows": 0}
    denied = await client.post(
        f"{URL}/rounds/2022H1/participants/211104/rectifications", headers=evaluator
    )
    assert denied.status_code == 403


async def test_material_review_and_bulletin_files_over_the_api(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    await service.import_scores(session, None, SCORES, now=NOW)
    district = await bearer_headers(session, ev.world.people.district_admin)
    key = await photo(session, settings)
    material = f"{URL}/rounds/2022H1/participants/211104/materials/M1"
    submitted = await client.post(
        f"{material}/evidence", json={"attachment_key": key, "note": "台账"}, headers=district
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json() == {
        "item_code": "M1",
        "max_points": "10.00",
        "evidence": [key],
        "points": None,
        "note": "",
    }
    too_much = await client.put(f"{material}/review", json={"points": 12}, headers=district)
    assert too_much.status_code == 422
    assert too_much.headers["content-type"] == "application/problem+json"
    reviewed = await client.put(
        f"{material}/review", json={"points": "9.25", "note": "齐全"}, headers=district
    )
    assert reviewed.status_code == 200
    assert (reviewed.json()["points"], reviewed.json()["note"]) == ("9.25", "齐全")
    wrong_item = await client.put(
        f"{URL}/rounds/2022H1/participants/211104/materials/S1/review",
        json={"points": 1},
        headers=district,
    )
    assert wrong_item.status_code == 422
    workbook = await client.get(f"{URL}/years/2022/bulletin", headers=district)
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content))["other_district"]
    assert [c.value for c in sheet[3]][:3] == [1, "211104", "大洼区"]
    assert sheet.cell(row=3, column=6).value == 36.25
    pdf = await client.get(f"{URL}/years/2022/bulletin?round=2022H1&format=pdf", headers=district)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
