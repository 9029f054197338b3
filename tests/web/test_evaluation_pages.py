"""Evaluation pages: the evaluator's checklist (pass, deduct with a photo, refusals), the score
page explaining the points lost with the rectification rate, the bulletin with its SVG charts,
its Excel and PDF exports, and material evidence with its review."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.evaluation.support import EvalWorld, create_evaluation
from tests.factories.cases import photo
from tests.web.support import HTML, by_testid, csrf_from, sign_in
from wenming.cases.models import Case, CaseAttachment
from wenming.core.config import Settings
from wenming.evaluation import service
from wenming.evaluation.models import MaterialReview, Rectification, Score
from wenming.evaluation.schemas import PlanIn


@pytest.fixture
async def ev(session: AsyncSession) -> EvalWorld:
    return await create_evaluation(session)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


async def drawn_road(session: AsyncSession) -> int:
    """Draw one point per type in 大洼区 for 2022H1, assign them all to the evaluator and
    return the id of the drawn main-road point."""
    plan = await service.draw_plan(
        session, None, PlanIn(round="2022H1", participant="211104", per_type=1, seed="p"), now=NOW
    )
    await service.assign(session, None, plan.id, ["evaluator"])
    shown = await service.plan_out(session, plan)
    await session.commit()
    return next(p.id for p in shown.points if p.location_type == "main_road")


async def test_the_evaluator_deducts_with_a_photo_and_a_case_is_filed(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    road = await drawn_road(session)
    await sign_in(client, session, ev.evaluator)
    home = await client.get("/evaluation", headers=HTML)
    assert home.status_code == 200
    assert f'href="/evaluation/checklist/{road}"' in home.text
    page = await client.get(f"/evaluation/checklist/{road}", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="item-F1"' in page.text
    assert 'data-testid="item-F3"' not in page.text  # a park item does not apply on a road
    token = csrf_from(page.text)
    refused = await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={"csrf_token": token, "verdict": "deduct", "findings": "0"},
        headers=HTML,
    )
    assert refused.status_code == 422
    assert by_testid(refused.text, "error-F1") == "扣分需填写发现问题数（1 至 1000）。"
    saved = await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={"csrf_token": token, "verdict": "deduct", "findings": "3", "note": "垃圾外溢"},
        files=[("photo", ("road.jpg", jpeg(), "image/jpeg"))],
        headers=HTML,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/evaluation/checklist/{road}?done=F1#item-F1"
    again = await client.get(saved.headers["location"], headers=HTML)
    assert by_testid(again.text, "verdict-F1") == "扣分：发现问题 3 处，扣 3.00 分"
    assert 'data-testid="photo-F1"' in again.text
    # Saving the same verdict again files no second case.
    await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={"csrf_token": token, "verdict": "deduct", "findings": "3", "note": "垃圾外溢"},
        headers=HTML,
    )
    links = list(await session.scalars(select(Rectification)))
    assert len(links) == 1
    case = await session.get(Case, links[0].case_id)
    assert case is not None
    assert (case.source, case.public) == ("evaluation", False)
    assert "F1 道路无暴露垃圾" in case.description
    assert "发现问题 3 处" in case.description
    photos = await session.scalar(
        select(func.count()).select_from(CaseAttachment).where(CaseAttachment.case_id == case.id)
    )
    assert photos == 1


async def test_a_photo_uploaded_first_is_sent_by_its_key(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld, settings: Settings
) -> None:
    road = await drawn_road(session)
    key = await photo(session, settings)
    await session.commit()
    await sign_in(client, session, ev.evaluator)
    token = csrf_from((await client.get(f"/evaluation/checklist/{road}", headers=HTML)).text)
    unknown = await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={
            "csrf_token": token,
            "verdict": "deduct",
            "findings": "1",
            "attachment_key": "x" * 20,
        },
        headers=HTML,
    )
    assert unknown.status_code == 422
    assert 'data-testid="error-F1"' in unknown.text
    assert await session.scalar(select(func.count()).select_from(Rectification)) == 0
    saved = await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={"csrf_token": token, "verdict": "deduct", "findings": "1", "attachment_key": key},
        headers=HTML,
    )
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"], headers=HTML)
    assert f'src="/api/v1/attachments/{key}/thumb"' in page.text


async def test_a_pass_and_an_outsider(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    road = await drawn_road(session)
    await sign_in(client, session, ev.evaluator_two)
    assert (await client.get(f"/evaluation/checklist/{road}", headers=HTML)).status_code == 404
    await sign_in(client, session, ev.evaluator)
    token = csrf_from((await client.get(f"/evaluation/checklist/{road}", headers=HTML)).text)
    passed = await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={"csrf_token": token, "verdict": "pass"},
        headers=HTML,
    )
    assert passed.status_code == 303
    page = await client.get(passed.headers["location"], headers=HTML)
    assert by_testid(page.text, "verdict-F1") == "合格"
    assert await session.scalar(select(func.count()).select_from(Rectification)) == 0


async def test_a_role_without_evaluation_is_refused_in_its_own_language(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    await sign_in(client, session, ev.world.people.dispatcher)
    refused = await client.get("/evaluation", headers=HTML)
    assert refused.status_code == 403
    assert "测评结果仅供测评员以及街道、区级和系统管理员查看。" in refused.text
    client.cookies.set("wm_lang", "en")
    english = await client.get("/evaluation", headers=HTML)
    assert english.status_code == 403
    assert "Evaluation results are read by evaluators" in english.text


async def test_the_score_page_explains_the_points_lost(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    road = await drawn_road(session)
    await sign_in(client, session, ev.evaluator)
    token = csrf_from((await client.get(f"/evaluation/checklist/{road}", headers=HTML)).text)
    await client.post(
        f"/evaluation/checklist/{road}/items/F1",
        data={"csrf_token": token, "verdict": "deduct", "findings": "4", "note": "烟头"},
        headers=HTML,
    )
    await service.field_scores(session, None, "2022H1", "211104", now=NOW)
    await session.commit()
    await sign_in(client, session, ev.world.people.district_admin)
    page = await client.get("/evaluation/participants/211104?year=2022", headers=HTML)
    assert page.status_code == 200
    assert by_testid(page.text, "lost-2022H1-F1") == "4.00"
    assert "烟头" in by_testid(page.text, "evidence-F1-" + _road_code(page.text))
    assert by_testid(page.text, "rectification-rate") == "整改案件 1 件，已结案 0 件（0.0%）"
    assert 'data-testid="case-F1"' in page.text


def _road_code(html: str) -> str:
    found = re.search(r'data-testid="evidence-F1-([A-Z0-9]+)"', html)
    assert found is not None
    return found.group(1)


async def _scores(session: AsyncSession) -> None:
    text = (
        "round,participant_code,item_code,score\n"
        "2022H1,211104,F1,9\n2022H1,211104,F2,6\n2022H1,211104,F3,4\n"
        "2022H1,211104,S1,8\n2022H1,211104,M1,7\n"
        "2022H1,X1,F1,10\n2022H1,X1,F2,5\n2022H1,X1,F3,3\n2022H1,X1,S1,9\n2022H1,X1,M1,9\n"
        "2022H1,X2,F1,5\n2022H1,X2,F2,5\n2022H1,X2,F3,2\n2022H1,X2,S1,5\n2022H1,X2,M1,5\n"
    )
    await service.import_scores(session, None, text, now=NOW)
    await session.commit()


async def test_the_bulletin_ranks_by_category_with_svg_charts(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    await _scores(session)
    await sign_in(client, session, ev.world.people.sys_admin)
    page = await client.get("/evaluation/bulletin/2022?participant=211104", headers=HTML)
    assert page.status_code == 200
    assert '<h2 id="cat-other_district">其他城区类</h2>' in page.text
    rows = re.findall(r'data-testid="row-([A-Z0-9]+)"><td>(\d+)</td>', page.text)
    # Ranks are over every participant: 双台子区 has no score yet and ranks last with 0.
    assert rows == [("X2", "1"), ("X1", "1"), ("211104", "2"), ("211102", "3")]
    assert "<svg" in page.text and 'class="chart chart-bars"' in page.text
    assert 'data-series="participant"' in page.text and 'data-series="average"' in page.text
    assert "<script" not in page.text.split("<main", 1)[1]
    round_page = await client.get("/evaluation/bulletin/2022?round=2022H1", headers=HTML)
    assert round_page.status_code == 200
    assert "实地考察" in round_page.text
    workbook = await client.get("/evaluation/bulletin/2022/export.xlsx")
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["prefecture_city", "other_district"]
    sheet = book["other_district"]
    assert [c.value for c in sheet[2]] == [
        "rank",
        "participant_code",
        "participant_name",
        "2022H1",
        "2022H2",
        "total",
    ]
    assert [c.value for c in sheet[3]][:3] == [1, "X1", "外市甲区"]
    assert [c.value for c in sheet[4]][5] == 34.0
    pdf = await client.get("/evaluation/bulletin/2022/export.pdf?round=2022H1")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert b"STSong-Light" in pdf.content


async def test_material_evidence_and_review_become_the_item_score(
    client: httpx.AsyncClient, session: AsyncSession, ev: EvalWorld
) -> None:
    await _scores(session)
    await sign_in(client, session, ev.world.people.district_admin)
    page = await client.get("/evaluation/participants/211104?year=2022", headers=HTML)
    token = csrf_from(page.text)
    url = "/evaluation/participants/211104/materials/2022H1/M1"
    submitted = await client.post(
        url,
        data={"csrf_token": token, "action": "submit", "note": "台账扫描件"},
        files=[("file", ("ledger.jpg", jpeg(), "image/jpeg"))],
        headers=HTML,
    )
    assert submitted.status_code == 303
    refused = await client.post(
        url, data={"csrf_token": token, "action": "review", "points": "11"}, headers=HTML
    )
    assert refused.status_code == 422
    reviewed = await client.post(
        url, data={"csrf_token": token, "action": "review", "points": "8.5"}, headers=HTML
    )
    assert reviewed.status_code == 303
    review = await session.scalar(select(MaterialReview))
    assert review is not None and review.points == 8_50
    score = await session.scalar(select(Score).where(Score.source == "material"))
    assert score is not None and score.points == 8_50
    shown = await client.get("/evaluation/participants/211104?year=2022", headers=HTML)
    assert "已审核：8.5 分" in shown.text
    assert "台账扫描件" in shown.text
    await sign_in(client, session, ev.evaluator)
    denied = await client.post(
        url,
        data={"csrf_token": token, "action": "submit"},
        files=[("file", ("ledger.jpg", jpeg(), "image/jpeg"))],
        headers=HTML,
    )
    assert denied.status_code == 403
