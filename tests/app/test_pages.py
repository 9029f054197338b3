"""The phone app's pages: served under the strict policy, installable (manifest, icons, service
worker), and the public list and report page without personal data."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.app.test_api import body, close
from tests.factories.cases import World, act, case_in, create_world, photo
from tests.web.support import HTML
from wenming import __version__
from wenming.cases.models import Case
from wenming.cases.workflow import Action, State
from wenming.core.config import Settings
from wenming.web.headers import CONTENT_SECURITY_POLICY


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await create_world(session)


async def submit(client: httpx.AsyncClient, **fields: Any) -> str:
    response = await client.post("/api/v1/app/reports", json=body(**fields))
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


@pytest.mark.parametrize("path", ["/m/", "/m/report", "/m/mine", "/m/map", "/m/list"])
async def test_app_pages_are_open_to_everyone_under_the_strict_policy(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    html = response.text
    assert '<link rel="manifest" href="/m/manifest.webmanifest">' in html
    assert "<script>" not in html and " on" + "click=" not in html
    assert not re.search(r"https?://", re.sub(r'xmlns="[^"]*"', "", html))


@pytest.mark.parametrize(
    ("path", "map_id"), [("/m/report", "report-map"), ("/m/map", "public-map")]
)
async def test_every_app_map_opens_on_the_service_area(
    client: httpx.AsyncClient, world: World, path: str, map_id: str
) -> None:
    """Without an extent a map opens on the whole country and the district's pins collapse
    into one pixel."""
    html = (await client.get(path, headers=HTML)).text
    element = re.search(rf'<div[^>]*data-testid="{map_id}"[^>]*>', html, re.S)
    assert element is not None
    extent = re.search(r'data-extent="([^"]*)"', element.group(0))
    assert extent is not None
    (south, west), (north, east) = json.loads(extent.group(1).replace("&#34;", '"'))
    assert 40.8 < south < north < 41.3 and 121.8 < west < east < 122.4


async def test_the_report_page_groups_public_categories_by_campaign_area(
    client: httpx.AsyncClient, world: World
) -> None:
    html = (await client.get("/m/report", headers=HTML)).text
    areas = re.findall(r'<fieldset class="category-group" data-area="(\w+)">', html)
    assert areas == [
        "infrastructure",
        "sanitation",
        "cityscape",
        "traffic",
        "publicity",
        "civility",
    ]
    assert 'value="event:0102"' in html
    inputs = re.findall(r'<input type="(?:text|tel|search)" id="([\w-]+)"', html)
    for name in inputs:
        assert f'<label for="{name}">' in html, name


async def test_the_manifest_makes_the_app_installable(client: httpx.AsyncClient) -> None:
    response = await client.get("/m/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(response.text)
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/m/",
        "/m/",
        "standalone",
    )
    assert [icon["sizes"] for icon in manifest["icons"]] == ["192x192", "512x512"]
    for icon in manifest["icons"]:
        image = await client.get(icon["src"])
        assert image.headers["content-type"] == "image/png"
        size = int(icon["sizes"].split("x")[0])
        assert Image.open(io.BytesIO(image.content)).size == (size, size)
    assert (await client.get("/m/icons/64.png")).status_code == 404


async def test_the_service_worker_lists_the_shell_it_keeps(client: httpx.AsyncClient) -> None:
    response = await client.get("/m/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/m/"
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", response.text).group(1))  # type: ignore[union-attr]
    assert shell[:3] == ["/m/", "/m/report", "/m/mine"]
    assert f"/static/app/report.js?v={__version__}" in shell
    for url in shell:
        assert (await client.get(url, headers=HTML)).status_code == 200, url


async def test_the_public_list_hides_closed_reports_by_default(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    open_code = await submit(client, reporter_name="王小明", reporter_phone="13900001111")
    closed_code = await submit(client, category_code="0501", description="占道经营")
    await close(session, world, closed_code, settings, await photo(session, settings))
    html = (await client.get("/m/list", headers=HTML)).text
    assert f"/m/r/{open_code}" in html and f"/m/r/{closed_code}" not in html
    assert "13900001111" not in html and "王小明" not in html
    both = (await client.get("/m/list?include_closed=true", headers=HTML)).text
    assert f"/m/r/{closed_code}" in both
    only = (await client.get("/m/list?include_closed=true&category=event:0501", headers=HTML)).text
    assert f"/m/r/{open_code}" not in only and f"/m/r/{closed_code}" in only


async def test_a_public_report_page_shows_its_timeline_and_no_personal_data(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    code = await submit(client, reporter_name="王小明", reporter_phone="13900001111")
    await close(session, world, code, settings, await photo(session, settings))
    response = await client.get(f"/m/r/{code}", headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert "13900001111" not in html and "王小明" not in html
    steps = re.findall(r"<li><time[^>]*>[^<]*</time> <span>([^<]+)</span>", html)
    assert steps == ["已上报", "已受理", "已派遣至责任单位", "责任单位已接手", "责任单位反馈已处理",
                     "现场核查通过", "已结案"]  # fmt: skip
    hidden = await submit(client, public=False)
    assert (await client.get(f"/m/r/{hidden}", headers=HTML)).status_code == 404
    case = await session.scalar(select(Case).where(Case.code == hidden))
    assert case is not None


async def test_signing_out_keeps_the_device_on_my_reports(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    from tests.web.support import sign_in

    await sign_in(client, session, world.people.citizen)
    html = (await client.get("/m/mine", headers=HTML)).text
    assert 'data-testid="signed-in"' in html
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', html).group(1)  # type: ignore[union-attr]
    refused = await client.delete("/api/v1/app/session")
    assert refused.status_code == 403
    response = await client.delete("/api/v1/app/session", headers={"X-CSRF-Token": token})
    assert response.status_code == 204
    after = (await client.get("/m/mine", headers=HTML)).text
    assert 'id="account-form"' in after


async def test_a_page_from_the_offline_store_gets_a_fresh_csrf_token(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    from tests.web.support import sign_in

    await sign_in(client, session, world.people.citizen)
    response = await client.get("/m/csrf")
    assert response.headers["cache-control"] == "no-store"
    token = response.json()["token"]
    signed_out = await client.delete("/api/v1/app/session", headers={"X-CSRF-Token": token})
    assert signed_out.status_code == 204


async def test_the_street_admin_sees_the_patrols_of_the_territory(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    from tests.factories.org import bearer_headers
    from tests.web.support import sign_in

    worker = await bearer_headers(session, world.people.grid_worker)
    started = await client.post("/api/v1/app/patrols", json={}, headers=worker)
    assert started.status_code == 201
    await sign_in(client, session, world.people.street_admin)
    html = (await client.get("/m/patrols", headers=HTML)).text
    assert html.count('data-testid="patrol-row"') == 1
    assert 'data-testid="tab-patrols"' in html
    client.cookies.clear()
    await sign_in(client, session, world.people.citizen)
    refused = await client.get("/m/patrols", headers=HTML)
    assert refused.status_code == 403


async def test_the_worker_desk_is_for_signed_in_grid_workers(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    from tests.web.support import sign_in

    anonymous = await client.get("/m/worker", headers=HTML)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/m/worker"
    await sign_in(client, session, world.people.citizen)
    assert (await client.get("/m/worker", headers=HTML)).status_code == 403
    client.cookies.clear()
    await sign_in(client, session, world.people.grid_worker)
    html = (await client.get("/m/worker", headers=HTML)).text
    assert 'data-testid="no-tasks"' in html
    assert 'data-testid="tab-worker"' in html
    handled = await case_in(
        session, world, State.HANDLED, settings=settings, after_photo=await photo(session, settings)
    )
    await case_in(session, world, State.ACCEPTED, settings=settings)
    reported = await case_in(session, world, State.REPORTED, settings=settings)
    to_verify = await act(
        session, world, reported, Action.SEND_TO_VERIFY, world.people.intake, settings=settings
    )
    await session.commit()
    html = (await client.get("/m/worker", headers=HTML)).text
    assert re.findall(r'data-code="(\w+)" data-testid="task"', html) == [
        to_verify.code,
        handled.code,
    ]
    verifying = html[html.index('data-testid="tasks-verifying"') : html.index("tasks-handled")]
    assert 'data-verdict="confirm"' in verifying and 'data-verdict="verify_pass"' not in verifying


async def test_the_app_speaks_english_when_asked(client: httpx.AsyncClient, world: World) -> None:
    client.cookies.set("wm_lang", "en")
    html = (await client.get("/m/report", headers=HTML)).text
    assert '<html lang="en">' in html
    assert "<h1>Report a problem</h1>" in html
    assert "Sanitation" in html and "环境卫生" not in html
    manifest = (await client.get("/m/manifest.webmanifest")).json()
    assert (manifest["name"], manifest["lang"]) == ("Wenming at your fingertips", "en")
    config = json.loads(re.search(r'id="app-config">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert config["text"]["me_too"] == "Me too"
    assert config["ratings"]["basically_satisfied"] == "Basically satisfied"


def test_every_state_has_a_name_for_citizens() -> None:
    from wenming.web.app_pages import STATE_LABELS

    assert set(STATE_LABELS) == {state.value for state in State}
