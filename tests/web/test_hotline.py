"""The hotline desk page: who may use it, the caller's earlier cases (the clerk's territory only),
a call recorded as a hotline case with its tracking code, and refusals shown next to their fields
with the values kept and nothing stored."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.cases import (
    IN_C1A,
    IN_C1A_NEARBY,
    IN_S2,
    VENDING,
    World,
    create_world,
    report,
)
from tests.factories.org import create_user
from tests.web.support import HTML, by_testid, csrf_from, sign_in
from tests.web.test_map import map_client
from wenming.cases.models import Case
from wenming.cases.vocab import Source
from wenming.core.clock import FrozenClock
from wenming.core.config import Settings
from wenming.org.models import User
from wenming.org.roles import Role

CALLER = "13900001111"
CALLER_ROW = re.compile(r'data-testid="caller-case" data-code="([A-Z0-9]+)"')
FIELD_ERROR = re.compile(r'<p class="field-error" id="([a-z_]+)-error" role="alert">([^<]+)')


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def as_user(client: httpx.AsyncClient, session: AsyncSession, user: User) -> None:
    """Sign the client in as someone else."""
    client.cookies.clear()
    await sign_in(client, session, user)


async def get_page(client: httpx.AsyncClient, path: str, status: int = 200) -> str:
    """A page's HTML, checking its status."""
    response = await client.get(path, headers=HTML)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    return response.text


def desk_form(html: str, **fields: str) -> dict[str, str]:
    """The desk's hidden fields and the fields filled in."""
    key = re.search(r'name="form_key" value="([^"]+)"', html)
    assert key is not None
    return {"csrf_token": csrf_from(html), "form_key": unescape(key.group(1)), **fields}


async def hotline_case(
    session: AsyncSession,
    world: World,
    settings: Settings,
    *,
    hours_ago: int,
    phone: str = CALLER,
    **fields: object,
) -> str:
    """The code of a hotline case the district's intake clerk entered for a caller."""
    case = await report(
        session,
        world,
        by=world.people.intake,
        settings=settings,
        source=Source.HOTLINE,
        reporter_phone=phone,
        reporter_name="王小明",
        now=NOW - timedelta(hours=hours_ago),
        **fields,
    )
    return case.code


async def test_the_desk_is_for_intake_clerks_and_dispatchers(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    signed_out = await client.get("/hotline", headers=HTML)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=/hotline"
    for user, status in (
        (world.people.citizen, 403),
        (world.people.handler, 403),
        (world.people.grid_worker, 403),
        (world.people.street_admin, 403),
        (world.people.district_admin, 403),
        (world.people.sys_admin, 403),
        (world.people.intake, 200),
        (world.people.dispatcher, 200),
    ):
        await as_user(client, session, user)
        for path in ("/hotline", f"/hotline/caller?phone={CALLER}"):
            response = await client.get(path, headers=HTML)
            assert response.status_code == status, (user.username, path)
    page = await get_page(client, "/hotline")
    assert by_testid(page, "caller-empty") == "输入来电号码即可查看其以往案件。"
    # Every field has its label; the common path runs in this order.
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*>", page)
    fields = [
        re.search(r' id="([a-z_]+)"', tag).group(1)  # type: ignore[union-attr]
        for tag in tags
        if 'type="hidden"' not in tag and " id=" in tag
    ]
    assert fields == [
        "reporter_phone",
        "address",
        "category",
        "description",
        "urgency",
        "reporter_name",
    ]
    for name in fields:
        assert f'<label for="{name}">' in page, name
    assert "<script>" not in page  # the policy allows only the site's own script files
    assert '<script type="application/json" id="hotline-config">' in page
    client.cookies.set("wm_lang", "en")
    english = await get_page(client, "/hotline")
    assert "<h1>Hotline desk</h1>" in english
    assert '<label for="reporter_phone">Caller\'s number</label>' in english


async def test_the_callers_earlier_cases_in_the_clerks_territory(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    older = await hotline_case(session, world, settings, hours_ago=3)
    across = await hotline_case(session, world, settings, hours_ago=1, at=IN_S2)
    await hotline_case(session, world, settings, hours_ago=2, phone="13900002222")
    await as_user(client, session, world.people.intake)

    page = await get_page(client, "/hotline?phone=139-0000-1111")

    assert CALLER_ROW.findall(page) == [across, older]
    assert by_testid(page, "caller-summary") == "13900001111：以往案件 2 件，其中 2 件未办结。"
    assert "王小明" in page  # the command centre of the territory sees the reporter in full
    assert 'value="139-0000-1111"' in page
    fragment = await get_page(client, f"/hotline/caller?phone={CALLER}")
    assert CALLER_ROW.findall(fragment) == [across, older]
    assert "<html" not in fragment

    # A dispatcher of street S1 sees only that street's case of the number.
    street = await create_user(session, "dispatcher_s1", Role.DISPATCHER, unit=world.tree.street)
    await as_user(client, session, street)
    assert CALLER_ROW.findall(await get_page(client, f"/hotline/caller?phone={CALLER}")) == [older]
    # Another district's clerk learns nothing about the number.
    await as_user(client, session, world.people.intake_elsewhere)
    elsewhere = await get_page(client, f"/hotline/caller?phone={CALLER}")
    assert CALLER_ROW.findall(elsewhere) == []
    assert by_testid(elsewhere, "caller-none") == "13900001111 在您的辖区内没有以往案件。"
    bad = await get_page(client, "/hotline/caller?phone=12ab")
    assert by_testid(bad, "caller-error") == "请填写 5 到 15 位数字，可以 + 开头。"


async def test_a_call_becomes_a_hotline_case_and_the_desk_shows_its_code(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    earlier = await report(session, world, settings=settings, category=VENDING, at=IN_C1A_NEARBY)
    await as_user(client, session, world.people.dispatcher)
    html = await get_page(client, "/hotline")
    lon, lat = IN_C1A
    values = desk_form(
        html,
        reporter_phone="139 0000 1111",
        address="测试路 12 号 对面",
        lon=f"{lon:.7f}",
        lat=f"{lat:.7f}",
        category="event-0501",
        description="热线：早市占道经营",
        urgency="urgent",
        reporter_name="王小明",
    )

    created = await client.post("/hotline", data=values, headers=HTML)

    assert created.status_code == 303, created.text[:500]
    case = await session.scalar(select(Case).where(Case.source == "hotline_12345"))
    assert case is not None
    assert created.headers["location"] == f"/hotline?created={case.code}"
    assert (case.source, case.urgency, case.state) == ("hotline_12345", "urgent", "reported")
    assert (case.lon, case.lat) == (pytest.approx(lon, abs=1e-7), pytest.approx(lat, abs=1e-7))
    assert case.address == "测试路 12 号 对面"
    assert (case.reporter_phone, case.reporter_name) == (CALLER, "王小明")
    assert case.reporter_user_id is None  # the caller reported it, not the clerk
    assert case.description == "热线：早市占道经营"
    page = await get_page(client, created.headers["location"])
    assert by_testid(page, "tracking-code") == case.code
    # The same problem reported 20 m away shortly before: perhaps the caller saw that one.
    assert re.findall(r'data-testid="duplicate" data-code="([A-Z0-9]+)"', page) == [earlier.code]
    assert 'name="reporter_phone" type="tel" value=""' in page  # a fresh form for the next call
    # The same form sent twice (a double Ctrl+Enter) records one case.
    again = await client.post("/hotline", data=values, headers=HTML)
    assert again.status_code == 303
    assert again.headers["location"] == f"/hotline?created={case.code}"
    assert await session.scalar(select(func.count()).select_from(Case)) == 2
    # The created code of a case the clerk may not read shows nothing.
    await as_user(client, session, world.people.intake_elsewhere)
    assert 'data-testid="tracking-code"' not in await get_page(
        client, f"/hotline?created={case.code}"
    )


async def test_a_refused_call_keeps_the_values_and_says_what_to_fix(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    await as_user(client, session, world.people.intake)
    html = await get_page(client, "/hotline")

    refused = await client.post(
        "/hotline",
        data=desk_form(
            html,
            reporter_phone="139-abc",
            address="人民路 12 号",
            description="路灯不亮了",
            urgency="emergency",
            reporter_name="王小明",
        ),
        headers=HTML,
    )

    assert refused.status_code == 422
    assert dict(FIELD_ERROR.findall(refused.text)) == {
        "reporter_phone": "请填写 5 到 15 位数字，可以 + 开头。",
        "address": "请从候选中选择地址，或在地图上点击地点。",
        "category": "请从列表中选择类别。",
    }
    page = refused.text
    assert 'id="reporter_phone" name="reporter_phone" type="tel" value="139-abc"' in page
    assert 'name="address" type="text" value="人民路 12 号"' in page
    assert ">路灯不亮了</textarea>" in page
    assert '<option value="emergency" selected>' in page
    assert 'value="王小明"' in page
    assert 'aria-describedby="address-point address-error" aria-invalid="true"' in page
    assert by_testid(page, "form-error") == "未保存任何内容，请更正下方标出的字段。"

    outside = await client.post(
        "/hotline",
        data=desk_form(
            html,
            address="远处",
            lon="100.0",
            lat="30.0",
            category="event-0102",
            description="路边有垃圾",
            urgency="normal",
        ),
        headers=HTML,
    )
    assert outside.status_code == 422
    assert dict(FIELD_ERROR.findall(outside.text)) == {
        "address": "本区没有网格覆盖此地点。请选择其他地址，或在地图上点击本区范围内的地点。"
    }
    assert '<option value="event-0102" selected>' in outside.text
    assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_the_desk_refuses_a_post_without_its_token(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    await as_user(client, session, world.people.intake)
    await get_page(client, "/hotline")
    refused = await client.post("/hotline", data={"description": "x"}, headers=HTML)
    assert refused.status_code == 403
    assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_the_desk_map_follows_the_tile_source(
    settings: Settings, session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    """GCJ-02 tiles: the script draws in GCJ-02, gets converted street outlines, and the page
    may load images from the tile host only."""
    template = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    async with map_client(
        settings, session, clock, map_tiles=template, map_tiles_crs="gcj02"
    ) as client:
        await sign_in(client, session, world.people.intake)
        response = await client.get("/hotline", headers=HTML)
    assert response.status_code == 200
    found = re.search(r'id="hotline-config">(.*?)</script>', response.text, re.S)
    assert found is not None
    config = json.loads(found.group(1))
    assert (config["crs"], config["tiles"], config["layers_url"]) == (
        "gcj02",
        template,
        "/map/layers/street",
    )
    assert (config["search_url"], config["reverse_url"]) == (
        "/api/v1/geo/search",
        "/api/v1/geo/reverse",
    )
    assert (
        "img-src 'self' data: https://tiles.example.gov.cn;"
        in (response.headers["content-security-policy"])
    )
