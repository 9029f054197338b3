"""The map page in real headless Chromium on the demo district with its synthetic geography: grids
drawn, a grid's code on hover, its details and workers on click, layer toggles, search by code
and by coordinates, at a phone's width, with no request leaving this machine."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, expect

from tests.browser.conftest import DemoServer

pytestmark = pytest.mark.browser

STAFFED_COMMUNITY = "211104004001"
STAFFED_COMMUNITY_NAME = "建设社区（示例）"
STAFFED_WORKER = "王磊（示例）"


@pytest.fixture
def requests_made(page: Page) -> list[str]:
    """Every URL the page requests, to prove that nothing leaves this machine."""
    urls: list[str] = []

    def record(request: Request) -> None:
        """Keep the requested URL."""
        urls.append(request.url)

    page.on("request", record)
    return urls


def open_map(page: Page, server: DemoServer) -> None:
    """Sign in as the district admin on the way to the map, and wait until it has drawn."""
    page.goto(f"{server.base_url}/map")
    expect(page).to_have_url(f"{server.base_url}/login?next=/map")
    page.locator("#username").fill("demo_district_admin")
    page.locator("#password").fill("Demo-2026-district")
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(f"{server.base_url}/map")
    expect(page.get_by_test_id("map")).to_have_attribute("data-state", "ready", timeout=30_000)


def search(page: Page, query: str) -> None:
    """Find something through the search box."""
    page.locator("#map-search-query").fill(query)
    page.locator("#map-search button[type=submit]").click()


def full_grid(page: Page, community: str) -> dict[str, Any]:
    """A whole (unclipped) grid of a community: its code and the page position of its centre."""
    found: dict[str, Any] = page.evaluate(
        """(community) => {
            document.getElementById("map").scrollIntoView({block: "center"});
            const map = window.wenmingMap;
            const entry = Object.values(map.index).find((e) => e.kind === "grid"
                && e.feature.properties.community_code === community
                && e.feature.properties.area_m2 > 9990);
            map.map.fitBounds(entry.layer.getBounds(), {maxZoom: 17, animate: false});
            const centre = map.map.latLngToContainerPoint(entry.layer.getBounds().getCenter());
            const box = document.getElementById("map").getBoundingClientRect();
            return {code: entry.feature.properties.code, x: box.left + centre.x,
                    y: box.top + centre.y};
        }""",
        community,
    )
    return found


def test_the_map_draws_every_layer_of_the_demo(
    demo_server: DemoServer, page: Page, requests_made: list[str]
) -> None:
    summary = demo_server.geography
    assert summary.grids >= 300
    open_map(page, demo_server)
    host = page.get_by_test_id("map")
    expect(host).to_have_attribute("data-count-street", "16")
    expect(host).to_have_attribute("data-count-community", "38")
    expect(host).to_have_attribute("data-count-grid", str(summary.grids))
    expect(host).to_have_attribute("data-count-point", str(summary.points))
    expect(host).to_have_attribute("data-count-component", str(summary.components))
    assert page.locator(".leaflet-wm-grid-pane path.wm-grid").count() == summary.grids
    assert page.locator(".leaflet-wm-point-pane path.wm-point").count() == summary.points
    assert page.locator(".leaflet-wm-component-pane path.wm-component").count() == 1000
    assert page.evaluate("window.wenmingMap.layers.grid.getLayers().length") == summary.grids
    expect(page.get_by_test_id("map-status")).to_have_text("地图已就绪。")
    expect(page.locator('[data-layer-count="grid"]')).to_have_text(str(summary.grids))
    expect(page.get_by_test_id("legend-types").locator("li")).to_have_count(21)
    expect(page.get_by_test_id("legend-statuses").locator("li")).to_have_count(4)
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= 360
    assert page.locator("img.leaflet-tile").count() == 0
    assert requests_made
    assert all(url.startswith(demo_server.base_url + "/") for url in requests_made), [
        url for url in requests_made if not url.startswith(demo_server.base_url)
    ]


def test_a_grid_shows_its_code_on_hover_and_its_details_on_click(
    demo_server: DemoServer, page: Page, requests_made: list[str]
) -> None:
    open_map(page, demo_server)
    for layer in ("point", "component"):
        page.locator(f'[data-layer-toggle="{layer}"]').uncheck()
    assert page.locator(".leaflet-wm-point-pane path").count() == 0
    assert page.locator(".leaflet-wm-component-pane path").count() == 0

    page.mouse.move(0, 0)
    grid = full_grid(page, STAFFED_COMMUNITY)
    page.mouse.move(grid["x"], grid["y"])
    tooltip = page.locator(".leaflet-tooltip.map-tooltip")
    expect(tooltip).to_have_count(1)
    expect(tooltip).to_be_visible()
    expect(tooltip).to_have_text(grid["code"] + STAFFED_COMMUNITY_NAME)

    page.mouse.click(grid["x"], grid["y"])
    details = page.get_by_test_id("map-details")
    expect(details).to_be_visible()
    expect(details.locator(".map-details-code")).to_have_text(grid["code"])
    expect(details).to_contain_text(f"{STAFFED_COMMUNITY_NAME} {STAFFED_COMMUNITY}")
    expect(details).to_contain_text("大洼街道 211104004000")
    expect(details).to_contain_text("管理等级")
    assert all(url.startswith(demo_server.base_url + "/") for url in requests_made)


def test_search_by_code_zooms_to_it_and_shows_the_workers(
    demo_server: DemoServer, page: Page
) -> None:
    open_map(page, demo_server)
    code = f"{STAFFED_COMMUNITY}001"
    search(page, code)
    details = page.get_by_test_id("map-details")
    expect(details.locator(".map-details-code")).to_have_text(code)
    expect(details.locator(".map-worker-list li")).to_have_text([re.compile(STAFFED_WORKER)])
    assert page.evaluate("window.wenmingMap.map.getZoom()") >= 16
    inside = page.evaluate(
        """(code) => {
            const map = window.wenmingMap;
            return map.map.getBounds().contains(map.index[code].layer.getBounds().getCenter());
        }""",
        code,
    )
    assert inside is True

    search(page, "2111040101000001")
    expect(details.locator(".map-details-code")).to_have_text("2111040101000001")
    expect(details).to_contain_text("上水井盖")
    assert page.evaluate("window.wenmingMap.map.getZoom()") == 18

    search(page, "211104P0001")
    expect(details.locator(".map-details-code")).to_have_text("211104P0001")
    expect(details).to_contain_text("主次干道")

    search(page, "211104004000")
    expect(details.locator(".map-details-code")).to_have_text("211104004000")
    expect(details).to_contain_text("大洼街道")

    search(page, f"{STAFFED_COMMUNITY}01")
    expect(details.locator(".map-details-code")).to_have_text(code)

    search(page, "999")
    expect(page.get_by_test_id("map-status")).to_have_text("地图上没有编码为 999 的对象。")


def test_search_by_coordinates_finds_the_grid(demo_server: DemoServer, page: Page) -> None:
    open_map(page, demo_server)
    answer = page.request.get(f"{demo_server.base_url}/api/v1/geo/locate?lon=122.08&lat=40.99")
    assert answer.status == 200
    code = answer.json()["grid"]["code"]
    assert code.startswith("211104004")

    search(page, "122.08,40.99")
    expect(page.get_by_test_id("map-status")).to_have_text(f"此处位于网格 {code}。")
    expect(page.get_by_test_id("map-details").locator(".map-details-code")).to_have_text(code)
    assert page.locator(".leaflet-wm-grid-pane path.wm-grid").count() == demo_server.geography.grids


def test_a_place_outside_every_grid_names_the_nearest(
    demo_server: DemoServer, context: BrowserContext
) -> None:
    # The server answers such a place with 404 on purpose, so this tab does not use the page
    # fixture (which fails on any 4xx); it still fails on script and other console errors.
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        """Record console errors other than Chromium's line about the expected 404."""
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    open_map(tab, demo_server)
    answer = tab.request.get(f"{demo_server.base_url}/api/v1/geo/locate?lon=121.5&lat=40.5")
    assert answer.status == 404
    nearest = answer.json()["nearest_grid"]

    search(tab, "121.5, 40.5")
    message = (
        f"此处不在任何网格内。最近的网格是 {nearest['code']}，"
        f"距离 {math.floor(nearest['distance_m'] + 0.5)} 米。"
    )
    expect(tab.get_by_test_id("map-status")).to_have_text(message)
    details = tab.get_by_test_id("map-details")
    expect(details.locator("p")).to_have_text(message)
    details.get_by_role("button", name=f"在地图上显示 {nearest['code']}").click()
    expect(details.locator(".map-details-code")).to_have_text(nearest["code"])
    assert problems == []
