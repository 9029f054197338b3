"""The map page: staff only, tile configuration in data attributes, a content policy that lets
images come from the configured tile hosts and nowhere else, Leaflet served from the installed
package, and GCJ-02 output for tile sources that need it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.geo import create_boundaries, create_grids
from tests.factories.org import create_tree, create_user
from tests.web.support import HTML, sign_in
from wenming.core.clock import FrozenClock
from wenming.core.config import Settings
from wenming.core.db import Database
from wenming.core.deps import get_session
from wenming.geo.crs import Crs, from_wgs84
from wenming.geo.service import export_layer
from wenming.geo.version import Layer
from wenming.main import create_app
from wenming.org.roles import Role
from wenming.web.headers import CONTENT_SECURITY_POLICY
from wenming.web.map import TileSource, TileSourceProblem, content_security_policy, tile_source

TIANDITU = (
    "http://t{0-7}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk=0123456789abcdef"
)
DEFAULT_IMG_SRC = "img-src 'self' data:"


@asynccontextmanager
async def map_client(
    settings: Settings, session: AsyncSession, clock: FrozenClock, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with some settings changed, bound to the test's transaction."""
    changed = settings.model_copy(update=overrides)
    app = create_app(changed, database=Database(changed), clock=clock)

    async def test_session() -> AsyncIterator[AsyncSession]:
        yield session
        await session.commit()

    app.dependency_overrides[get_session] = test_session
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.db.dispose()


def map_attribute(html: str, name: str) -> str:
    """A data attribute of the map element."""
    element = re.search(r'<div id="map"[^>]*>', html, re.S)
    assert element is not None, "the page has no map element"
    found = re.search(rf'\s{name}="([^"]*)"', element.group(0))
    assert found is not None, f"the map element has no {name}"
    return unescape(found.group(1))


def page_config(html: str) -> dict[str, Any]:
    """The JSON configuration the page hands to its script."""
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def img_src(policy: str) -> str:
    """The img-src directive of a Content-Security-Policy."""
    return next(part for part in policy.split("; ") if part.startswith("img-src"))


async def signed_in_admin(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """Sign the client in as the district admin of the standard tree."""
    tree = await create_tree(session)
    admin = await create_user(session, "district", Role.DISTRICT_ADMIN, unit=tree.district)
    await sign_in(client, session, admin)


# --- access ------------------------------------------------------------------------------------


async def test_map_requires_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/map", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/map"


async def test_map_is_refused_to_citizens(client: httpx.AsyncClient, session: AsyncSession) -> None:
    citizen = await create_user(session, "citizen", Role.CITIZEN)
    await sign_in(client, session, citizen)
    response = await client.get("/map", headers=HTML)
    assert response.status_code == 403
    assert "The map is for staff; your roles do not include it." in response.text


async def test_grid_worker_sees_the_map_and_its_link(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    worker = await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    await sign_in(client, session, worker)
    response = await client.get("/map", headers=HTML)
    assert response.status_code == 200
    assert '<a href="/map" aria-current="page">地图</a>' in response.text
    home = await client.get("/", headers=HTML)
    assert '<a href="/map">地图</a>' in home.text


# --- configuration in the page ----------------------------------------------------------------


async def test_without_tiles_the_map_draws_on_a_plain_background(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await signed_in_admin(client, session)
    response = await client.get("/map", headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert map_attribute(html, "data-tiles") == ""
    assert map_attribute(html, "data-tile-subdomains") == ""
    assert map_attribute(html, "data-crs") == "wgs84"
    assert map_attribute(html, "data-layers-url") == "/api/v1/geo/layers/{layer}"
    assert map_attribute(html, "data-grid-url") == "/api/v1/geo/grids/{code}"
    assert map_attribute(html, "data-locate-url") == "/api/v1/geo/locate"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert '<script src="/static/vendor/leaflet/leaflet.js?v=1.9.4.1"></script>' in html
    assert '<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css?v=1.9.4.1">' in html
    assert re.search(r'<script src="/static/map/map\.js\?v=[^"]+"></script>', html)
    assert "<script>" not in html
    assert 'data-testid="tile-problem"' not in html


async def test_the_page_text_follows_the_language(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await signed_in_admin(client, session)
    zh = page_config((await client.get("/map", headers=HTML)).text)
    assert zh["text"]["grid"] == "网格"
    assert zh["statuses"] == [
        {"code": "intact", "name": "完好", "colour": "#2e7d32"},
        {"code": "damaged", "name": "破损", "colour": "#ef6c00"},
        {"code": "missing", "name": "丢失", "colour": "#c62828"},
        {"code": "occupied", "name": "占用", "colour": "#6a1b9a"},
    ]
    assert len(zh["types"]) == 21
    assert zh["types"][0] == {"code": "main_road", "name": "主次干道", "colour": "#c62828"}
    client.cookies.set("wm_lang", "en")
    page = (await client.get("/map", headers=HTML)).text
    en = page_config(page)
    assert en["text"]["grid"] == "Grid"
    assert en["types"][0]["name"] == "Main and secondary roads"
    assert [status["name"] for status in en["statuses"]] == [
        "Intact",
        "Damaged",
        "Missing",
        "Occupied",
    ]
    assert "<h1>Map</h1>" in page


async def test_xyz_tiles_are_allowed_as_images_from_their_hosts_only(
    settings: Settings, session: AsyncSession, clock: FrozenClock
) -> None:
    template = "https://{s}.tiles.example.gov.cn:8443/base/{z}/{x}/{y}.png"
    async with map_client(settings, session, clock, map_tiles=template) as client:
        await signed_in_admin(client, session)
        response = await client.get("/map", headers=HTML)
        home = await client.get("/", headers=HTML)
    assert map_attribute(response.text, "data-tiles") == template
    assert map_attribute(response.text, "data-tile-subdomains") == "abc"
    assert map_attribute(response.text, "data-crs") == "wgs84"
    policy = response.headers["content-security-policy"]
    assert img_src(policy) == (
        "img-src 'self' data: https://a.tiles.example.gov.cn:8443 "
        "https://b.tiles.example.gov.cn:8443 https://c.tiles.example.gov.cn:8443"
    )
    assert policy.replace(img_src(policy), DEFAULT_IMG_SRC) == CONTENT_SECURITY_POLICY
    assert home.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_tianditu_wmts_template_with_its_key(
    settings: Settings, session: AsyncSession, clock: FrozenClock
) -> None:
    async with map_client(settings, session, clock, map_tiles=TIANDITU) as client:
        await signed_in_admin(client, session)
        response = await client.get("/map", headers=HTML)
    assert map_attribute(response.text, "data-tiles") == TIANDITU.replace("{0-7}", "{s}")
    assert map_attribute(response.text, "data-tile-subdomains") == "01234567"
    assert img_src(
        response.headers["content-security-policy"]
    ) == "img-src 'self' data: " + " ".join(f"http://t{n}.tianditu.gov.cn" for n in range(8))


async def test_gcj02_tiles_get_converted_layers(
    settings: Settings, session: AsyncSession, clock: FrozenClock
) -> None:
    template = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    async with map_client(
        settings, session, clock, map_tiles=template, map_tiles_crs="gcj02"
    ) as client:
        await signed_in_admin(client, session)
        response = await client.get("/map", headers=HTML)
        assert map_attribute(response.text, "data-crs") == "gcj02"
        assert map_attribute(response.text, "data-layers-url") == "/map/layers/{layer}"
    assert img_src(response.headers["content-security-policy"]) == (
        "img-src 'self' data: https://tiles.example.gov.cn"
    )


async def test_same_site_tiles_leave_the_policy_alone(
    settings: Settings, session: AsyncSession, clock: FrozenClock
) -> None:
    async with map_client(settings, session, clock, map_tiles="/tiles/{z}/{x}/{y}.png") as client:
        await signed_in_admin(client, session)
        response = await client.get("/map", headers=HTML)
    assert map_attribute(response.text, "data-tiles") == "/tiles/{z}/{x}/{y}.png"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_unusable_tile_setting_is_explained_and_ignored(
    settings: Settings, session: AsyncSession, clock: FrozenClock
) -> None:
    bad = "https://tiles.example.gov.cn/{z}/{x}.png"
    async with map_client(settings, session, clock, map_tiles=bad) as client:
        await signed_in_admin(client, session)
        response = await client.get("/map", headers=HTML)
    assert response.status_code == 200
    assert map_attribute(response.text, "data-tiles") == ""
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    alert = re.search(r'data-testid="tile-problem">(.*?)</p>', response.text, re.S)
    assert alert is not None
    assert unescape(alert.group(1)) == (
        "底图瓦片源不可用，地图改为在纯色背景上绘制。 WENMING_MAP_TILES must contain {z}, {x} "
        "and {y} (or {-y}), e.g. https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    )


# --- tile templates (pure) ---------------------------------------------------------------------


def test_tile_source_reads_templates() -> None:
    assert tile_source(None) is None
    assert tile_source("  ") is None
    assert tile_source("https://tiles.example.gov.cn/{z}/{x}/{-y}.png") == TileSource(
        "https://tiles.example.gov.cn/{z}/{x}/{-y}.png", "abc", ("https://tiles.example.gov.cn",)
    )
    assert tile_source("http://10.1.2.3:8080/t/{z}/{x}/{y}{r}.png") == TileSource(
        "http://10.1.2.3:8080/t/{z}/{x}/{y}{r}.png", "abc", ("http://10.1.2.3:8080",)
    )
    assert tile_source("https://t{a-c}.Example.com/{z}/{x}/{y}.png") == TileSource(
        "https://t{s}.Example.com/{z}/{x}/{y}.png",
        "abc",
        ("https://ta.example.com", "https://tb.example.com", "https://tc.example.com"),
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("ftp://tiles.example.com/{z}/{x}/{y}.png", "must be an http:// or https:// URL"),
        ("tiles.example.com/{z}/{x}/{y}.png", "must be an http:// or https:// URL"),
        ("https://tiles.example.com/{z}/{x}.png", "must contain {z}, {x} and {y}"),
        ("https://tiles.example.com/{z}/{x}/{y}.png?k={key}", "found {key}"),
        ("https://tiles.example.com/{z}/{x}/{y}.png; script-src *", "without spaces"),
        ("https://tiles.example.com/{z}/{x}/{y}.png;script-src", "semicolons"),
        ("https://tiles.example.com/{z}/{x}/{y}'.png", "quotes"),
        ("https://{z}.example.com/{x}/{y}.png", "must be a plain host name"),
        ("https://user@tiles.example.com/{z}/{x}/{y}.png", "must be a plain host name"),
        ("https://tiles.example.com:80a/{z}/{x}/{y}.png", "must be a plain host name"),
        ("https://t{7-0}.example.com/{z}/{x}/{y}.png", "must run from one digit or letter"),
        ("https://t{0-z}.example.com/{z}/{x}/{y}.png", "must run from one digit or letter"),
        ("https://tiles.example.com/{z}/{x}/{y.png", "unbalanced braces"),
    ],
)
def test_tile_source_refuses_what_it_cannot_use(template: str, message: str) -> None:
    with pytest.raises(TileSourceProblem, match=re.escape(message)):
        tile_source(template)


def test_policy_adds_tile_origins_to_images_only() -> None:
    source = TileSource("https://t{s}.example.com/{z}/{x}/{y}", "ab", ("https://ta.example.com",))
    policy = content_security_policy(source)
    assert img_src(policy) == "img-src 'self' data: https://ta.example.com"
    assert "connect-src 'self';" in policy
    assert "script-src 'self';" in policy
    assert content_security_policy(None) == CONTENT_SECURITY_POLICY


# --- assets and data ---------------------------------------------------------------------------


async def test_leaflet_is_served_from_the_installed_package(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.text.startswith("/* @preserve\n * Leaflet 1.9.4,")
    style = await client.get("/static/vendor/leaflet/leaflet.css")
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
    image = await client.get("/static/vendor/leaflet/images/layers.png")
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    own = await client.get("/static/map/map.js")
    assert own.status_code == 200
    assert (await client.get("/static/app.css")).status_code == 200
    assert (await client.get("/static/vendor/leaflet/missing.js")).status_code == 404


async def test_converted_layers_need_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/map/layers/grid")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_converted_layers_refuse_citizens(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await create_user(session, "citizen", Role.CITIZEN)
    await sign_in(client, session, citizen)
    response = await client.get("/map/layers/grid")
    assert response.status_code == 403


async def test_gcj02_layers_hold_the_stored_shapes_converted(
    settings: Settings, session: AsyncSession, clock: FrozenClock
) -> None:
    template = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    async with map_client(
        settings, session, clock, map_tiles=template, map_tiles_crs="gcj02"
    ) as client:
        tree = await create_tree(session)
        admin = await create_user(session, "district", Role.DISTRICT_ADMIN, unit=tree.district)
        await create_boundaries(session, tree)
        await create_grids(session, tree.community.code)
        await sign_in(client, session, admin)
        response = await client.get("/map/layers/grid")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    stored = await export_layer(session, None, Layer.GRID)
    shown = response.json()
    assert len(shown["features"]) == len(stored["features"]) == 8
    for got, original in zip(shown["features"], stored["features"], strict=True):
        assert got["properties"] == original["properties"]
        for (lon, lat), (wgs_lon, wgs_lat) in zip(
            got["geometry"]["coordinates"][0],
            original["geometry"]["coordinates"][0],
            strict=True,
        ):
            expected = from_wgs84(wgs_lon, wgs_lat, Crs.GCJ02)
            assert (lon, lat) == pytest.approx(expected, abs=1e-12)
            assert abs(lon - wgs_lon) > 1e-4
