"""The hotline desk in headless Chromium, without the mouse: the clerk types the caller's number
and an address, takes a suggestion with the arrow keys and Enter, filters the categories and takes
one with Enter, describes the problem, raises the urgency and records the call with Ctrl+Enter;
the desk shows the tracking code, and the case exists with source hotline_12345 at the
suggestion's point."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import DemoServer
from tests.browser.test_case_loop import sign_in_as
from wenming.demo.gazetteer_seed import demo_gazetteer

pytestmark = pytest.mark.browser

CALLER = "13900007777"
DESK: ViewportSize = {"width": 1280, "height": 900}


def focused(page: Page) -> str:
    """The id of the element that has the keyboard focus."""
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def hotline_cases(page: Page, base: str) -> int:
    """How many hotline cases the signed-in person may read."""
    answer = page.request.get(f"{base}/api/v1/cases", params={"source": "hotline_12345"})
    assert answer.ok, answer.text()
    return int(answer.json()["total"])


def door_plate_query(page: Page, server: DemoServer) -> tuple[str, dict[str, Any]]:
    """A typed address ("<road>12号") whose best answer is a door plate inside a grid, and that
    answer, as the gazetteer search gives it."""
    for road in demo_gazetteer().roads:
        query = f"{road.properties['name']}12号"
        answer = page.request.get(
            f"{server.base_url}/api/v1/geo/search", params={"q": query, "limit": "8"}
        )
        assert answer.ok, answer.text()
        candidates = answer.json()["candidates"]
        best = candidates[0] if len(candidates) > 1 else {}
        if best.get("kind") == "address" and best["grid_code"] and not best["interpolated"]:
            return query, best
    raise AssertionError("no demo road has a door plate 12 inside a grid")


def test_a_call_taken_with_the_keyboard_only(demo_server: DemoServer, page: Page) -> None:
    base = demo_server.base_url
    page.set_viewport_size(DESK)
    sign_in_as(page, demo_server, "demo_intake")
    query, chosen = door_plate_query(page, demo_server)
    page.goto(f"{base}/hotline")
    expect(page.get_by_test_id("hotline-map")).to_have_attribute("data-state", "ready")

    # The number field has the focus; its earlier cases appear as it is typed.
    assert focused(page) == "reporter_phone"
    page.keyboard.type(CALLER)
    expect(page.get_by_test_id("caller-none")).to_contain_text(CALLER)

    # The address: suggestions as it is typed; ↓ and ↑ move, Enter takes the first.
    page.keyboard.press("Tab")
    assert focused(page) == "address"
    page.keyboard.type(query)
    options = page.locator("#address-suggestions [role=option]")
    expect(options.first).to_contain_text(chosen["label"])
    expect(page.locator("#address")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#address-suggestions")).to_be_hidden()
    expect(page.locator("#address")).to_have_value(chosen["label"])
    expect(page.get_by_test_id("address-point")).to_contain_text(chosen["grid_code"])
    expect(page.locator("#hotline-map .leaflet-interactive")).to_have_count(1)  # its marker
    assert page.locator("#lon").input_value() == f"{chosen['lon']:.7f}"
    assert page.locator("#lat").input_value() == f"{chosen['lat']:.7f}"
    page.keyboard.type(" 对面")  # adding to the chosen address keeps its point
    expect(page.locator("#lon")).to_have_value(f"{chosen['lon']:.7f}")

    # The category: typing filters the grouped list, Enter takes the first match.
    page.keyboard.press("Tab")
    assert focused(page) == "category-input"
    page.keyboard.type("占道经营")
    category_options = page.locator("#category-options [role=option]")
    expect(category_options).to_have_count(1)
    expect(page.locator("#category-options .hotline-group")).to_have_text(["市容秩序"])
    page.keyboard.press("Enter")
    expect(page.locator("#category-input")).to_have_value("占道经营 · 事件 0501")
    assert page.locator("#category").input_value() == "event-0501"

    page.keyboard.press("Tab")
    assert focused(page) == "description"
    page.keyboard.type("来电反映：早市摊贩占道经营，影响通行")
    page.keyboard.press("Tab")
    assert focused(page) == "urgency"
    page.keyboard.press("ArrowDown")
    assert page.locator("#urgency").input_value() == "urgent"

    # Ctrl+Enter records the call from any field; the desk shows the code to read out.
    page.keyboard.press("Control+Enter")
    code_shown = page.get_by_test_id("tracking-code")
    expect(code_shown).to_be_visible()
    code = code_shown.inner_text()
    assert page.url == f"{base}/hotline?created={code}"
    assert focused(page) == "reporter_phone"  # ready for the next call

    answer = page.request.get(f"{base}/api/v1/cases/{code}")
    assert answer.ok, answer.text()
    case = answer.json()
    assert case["source"] == "hotline_12345"
    assert case["urgency"] == "urgent"
    assert (case["category"]["kind"], case["category"]["code"]) == ("event", "0501")
    assert case["lon"] == pytest.approx(chosen["lon"], abs=1e-7)
    assert case["lat"] == pytest.approx(chosen["lat"], abs=1e-7)
    assert case["grid_code"] == chosen["grid_code"]
    assert case["address"] == f"{chosen['label']} 对面"
    assert case["reporter_phone"] == CALLER
    assert case["description"] == "来电反映：早市摊贩占道经营，影响通行"

    # The same caller calls again: the new case is among their earlier ones.
    page.keyboard.type(CALLER)
    expect(page.locator(f"[data-testid=caller-case][data-code='{code}']")).to_be_visible()
    expect(page.get_by_test_id("caller-summary")).to_contain_text("以往案件 1 件")


def test_a_click_on_the_map_chooses_the_place(demo_server: DemoServer, page: Page) -> None:
    base = demo_server.base_url
    page.set_viewport_size(DESK)
    sign_in_as(page, demo_server, "demo_dispatcher")
    page.goto(f"{base}/hotline")
    before = hotline_cases(page, base)
    # Ctrl+Enter on an empty desk: refused, and the first field to correct has the focus.
    page.keyboard.type("13900008888")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#address-error")).to_have_text("请从候选中选择地址，或在地图上点击地点。")
    expect(page.locator("#category-error")).to_have_text("请从列表中选择类别。")
    expect(page.locator("#reporter_phone")).to_have_value("13900008888")
    assert focused(page) == "address"
    assert hotline_cases(page, base) == before  # nothing was stored
    host = page.get_by_test_id("hotline-map")
    expect(host).to_have_attribute("data-state", "ready")
    box = host.bounding_box()
    assert box is not None
    with page.expect_response(lambda response: "/api/v1/geo/reverse" in response.url) as info:
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    reverse = info.value.json()
    expect(page.locator("#lon")).to_have_value(f"{reverse['wgs84']['lon']:.7f}")
    expect(page.locator("#hotline-map .leaflet-interactive")).to_have_count(1)
    assert page.locator("#lat").input_value() == f"{reverse['wgs84']['lat']:.7f}"
    assert reverse["label"]  # the middle of the district lies in a grid at least
    expect(page.locator("#address")).to_have_value(reverse["label"])
