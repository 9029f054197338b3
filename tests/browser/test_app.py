"""The citizens' phone app in headless Chromium at 390 × 844: a citizen reports with a photo and
the device's location and gets a tracking code; the case shows in the command centre's queue;
once staff have closed it, the citizen rates it from "My reports". A report made while the
browser is offline waits on the device and is delivered exactly once when the network returns,
from a page the service worker served out of its cache. Every page passes the axe-core checks
(labels, contrast, ...) and offers tap targets of at least 44 × 44 px."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational
from playwright.sync_api import (
    APIRequestContext,
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    expect,
)

from tests.browser.conftest import DemoServer
from tests.browser.test_case_loop import PASSWORDS, free_point, picture, sign_in_as
from wenming.geo.crs import wgs84_to_gcj02

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_TAP = 44
# Everything a finger may press; a checkbox or radio button counts by its label, as does a
# visually hidden file input.
TAP_TARGETS_JS = """
() => {
  const small = [];
  let checked = 0;
  const seen = new Set();
  const nodes = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary');
  for (const node of nodes) {
    let target = node;
    if (node.matches('input[type=checkbox], input[type=radio]')) {
      target = node.closest('label') || node;
    } else if (node.matches('input.visually-hidden')) {
      target = document.querySelector(`label[for="${node.id}"]`) || node;
    }
    if (seen.has(target)) continue;
    seen.add(target);
    const style = getComputedStyle(target);
    const box = target.getBoundingClientRect();
    if (style.visibility === 'hidden' || box.width === 0 || box.height === 0) continue;
    if (target.classList.contains('skip-link')) continue;
    checked += 1;
    if (box.width < MIN_TAP || box.height < MIN_TAP) {
      small.push(`${target.tagName.toLowerCase()}#${target.id || ''}.${target.className} ` +
                 `${Math.round(box.width)}x${Math.round(box.height)} ${target.textContent.trim()}`);
    }
  }
  return {checked, small};
}
""".replace("MIN_TAP", str(MIN_TAP))


def check_accessibility(page: Page) -> None:
    """axe-core finds nothing against WCAG 2.x A/AA, and every tap target is 44 px or more."""
    assert AXE.exists(), f"{AXE} is missing: run `make install` (npm ci installs axe-core)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's strict policy (no inline script)
        # stays in force for the page itself.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    violations = [
        (v["id"], [node["target"] for node in v["nodes"]][:5]) for v in result["violations"]
    ]
    assert violations == []
    assert result["passes"], "axe-core checked nothing"
    targets = page.evaluate(TAP_TARGETS_JS)
    assert targets["small"] == []
    assert targets["checked"] >= 4
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= PHONE["width"]


@pytest.fixture
def phone(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Tabs on a 390 × 844 phone, each in its own browser profile (with the device's location
    when given), failing the test on script errors, console errors and failed sub-resources."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def open_tab(location: tuple[float, float] | None = None) -> Page:
        """A new profile and tab; ``location`` is the WGS-84 position the device reports."""
        options: dict[str, Any] = {"viewport": PHONE, "locale": "zh-CN"}
        if location is not None:
            options["geolocation"] = {"longitude": location[0], "latitude": location[1]}
            options["permissions"] = ["geolocation"]
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            """Console errors other than Chromium's note on a request that found no network."""
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                problems.append(f"console error: {message.text}")

        def on_response(response: Response) -> None:
            """Sub-resources that failed to load."""
            if response.request.resource_type != "document" and response.status >= 400:
                problems.append(f"{response.status} for {response.url}")

        tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        tab.on("console", on_console)
        tab.on("response", on_response)
        return tab

    yield open_tab
    for context in contexts:
        context.close()
    assert problems == []


def staff(driver: Playwright, server: DemoServer, username: str) -> APIRequestContext:
    """An API client acting as a demo staff member (bearer token from the password flow)."""
    anonymous = driver.request.new_context(base_url=server.base_url)
    answer = anonymous.post(
        "/api/v1/auth/token", form={"username": username, "password": PASSWORDS[username]}
    )
    assert answer.ok, answer.text()
    token = answer.json()["access_token"]
    anonymous.dispose()
    return driver.request.new_context(
        base_url=server.base_url, extra_http_headers={"Authorization": f"Bearer {token}"}
    )


def act(client: APIRequestContext, code: str, action: str, **body: Any) -> None:
    """One workflow action through the API."""
    answer = client.post(f"/api/v1/cases/{code}/actions/{action}", data=body)
    assert answer.ok, answer.text()


def cases_described(driver: Playwright, server: DemoServer, text: str) -> list[str]:
    """The codes of the cases whose text matches, as the intake clerk finds them."""
    intake = staff(driver, server, "demo_intake")
    try:
        answer = intake.get("/api/v1/cases", params={"q": text, "page_size": 50})
        assert answer.ok, answer.text()
        return [item["code"] for item in answer.json()["items"]]
    finally:
        intake.dispose()


def gps_photo(path: Path, lon: float, lat: float) -> Path:
    """A JPEG whose EXIF records where it was taken (degrees, minutes, seconds)."""

    def dms(value: float) -> tuple[IFDRational, ...]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60 * 10_000)
        return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10_000))

    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: dms(lat),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: dms(lon),
    }
    Image.new("RGB", (640, 480), (120, 90, 40)).save(path, "JPEG", exif=exif)
    return path


def fill_report(page: Page, description: str, *, locate: bool = True) -> None:
    """Place (from the device unless told), category, description and consent."""
    if locate:
        page.get_by_test_id("locate-me").click()
        expect(page.get_by_test_id("place-status")).to_contain_text("已使用本机定位")
    page.get_by_test_id("category-search").fill("垃圾")
    expect(page.locator(".category-option:visible")).not_to_have_count(0)
    page.get_by_label("暴露垃圾", exact=True).check()
    page.get_by_test_id("description").fill(description)
    page.get_by_test_id("consent").check()


def test_a_citizen_reports_follows_and_rates_a_case(
    demo_server: DemoServer,
    phone: Callable[..., Page],
    playwright_driver: Playwright,
    tmp_path: Path,
) -> None:
    base = demo_server.base_url
    desk = phone()
    sign_in_as(desk, demo_server, "demo_intake")
    lon, lat = free_point(desk, demo_server)
    page = phone((lon, lat))

    # The citizen reports with a photo, whose EXIF position sets the place, and gets a code.
    page.goto(f"{base}/m/report")
    page.get_by_test_id("photo-input").set_input_files(
        str(gps_photo(tmp_path / "garbage.jpg", lon, lat))
    )
    expect(page.locator("[data-testid=photo-list] [data-uploaded=true]")).to_have_count(1)
    expect(page.get_by_test_id("place-status")).to_have_text("已使用照片中的位置。")
    shown = page.get_by_test_id("report-map").get_attribute("data-point")
    assert shown is not None
    assert [float(v) for v in shown.split(",")] == pytest.approx([lon, lat], abs=1e-5)
    description = "浏览器测试：小区门口垃圾堆放"
    fill_report(page, description, locate=False)
    check_accessibility(page)
    page.get_by_test_id("send-report").click()
    expect(page.get_by_test_id("receipt")).to_be_visible()
    code = page.get_by_test_id("tracking-code").inner_text()
    assert len(code) == 12
    assert cases_described(playwright_driver, demo_server, description) == [code]

    # Someone else about to report the same thing is offered "me too" instead.
    neighbour = phone((lon, lat))
    neighbour.goto(f"{base}/m/report")
    neighbour.get_by_test_id("locate-me").click()
    neighbour.get_by_label("暴露垃圾", exact=True).check()
    same = neighbour.locator(".dup-item", has_text=description)
    expect(same).to_have_count(1)
    check_accessibility(neighbour)
    same.get_by_test_id("me-too").click()
    expect(neighbour.get_by_test_id("me-too-done")).to_contain_text(code)
    assert cases_described(playwright_driver, demo_server, description) == [code]

    # It shows in the command centre's queue.
    desk.goto(f"{base}/cases")
    expect(desk.locator(f"[data-testid=case-row][data-code='{code}']")).to_have_count(1)

    # "My reports" on the device follows it: a citizen's report in a grid is first verified
    # on site by a grid worker (the packaged rule), otherwise it waits for intake.
    intake = staff(playwright_driver, demo_server, "demo_intake")
    dispatcher = staff(playwright_driver, demo_server, "demo_dispatcher")
    handler = staff(playwright_driver, demo_server, "demo_handler")
    worker = staff(playwright_driver, demo_server, "demo_grid_worker")
    state = intake.get(f"/api/v1/cases/{code}").json()["state"]
    assert state in ("verifying", "reported")
    page.get_by_test_id("tab-mine").click()
    card = page.locator(f".report-card[data-code='{code}']")
    shown = {"verifying": "现场核实中", "reported": "已收到"}[state]
    expect(card.get_by_test_id("report-state")).to_have_text(shown)
    check_accessibility(page)

    # Staff take it round the loop and close it.
    if state == "verifying":
        act(worker, code, "confirm")
    fixed = picture(tmp_path / "fixed.jpg", (200, 210, 205)).read_bytes()
    upload = handler.post(
        "/api/v1/attachments",
        multipart={"file": {"name": "fixed.jpg", "mimeType": "image/jpeg", "buffer": fixed}},
    )
    assert upload.ok, upload.text()
    act(intake, code, "file")
    act(dispatcher, code, "dispatch", target={"department_code": "211104-CGJ"})
    act(handler, code, "accept")
    act(handler, code, "handle", note="已清运", attachments=[upload.json()["key"]])
    act(worker, code, "verify_pass")
    act(intake, code, "close", note="已清理完毕")
    for client in (intake, dispatcher, handler, worker):
        client.dispose()

    # The citizen rates the result.
    page.reload()
    card = page.locator(f".report-card[data-code='{code}']")
    expect(card.get_by_test_id("report-state")).to_have_text("已结案")
    expect(card.locator(".timeline li > span")).to_have_text(
        [
            "已上报",
            "有人附议",
            "已受理",
            "已派遣至责任单位",
            "责任单位已接手",
            "责任单位反馈已处理",
            "现场核查通过",
            "已结案",
        ]
    )
    check_accessibility(page)
    form = card.get_by_test_id("rate-form")
    form.get_by_label("满意", exact=True).check()
    form.get_by_label("评价内容（选填）").fill("处理很快")
    form.get_by_role("button", name="提交").click()
    expect(card.get_by_test_id("rating")).to_have_text("您的评价：满意")
    expect(card.get_by_test_id("rate-form")).to_have_count(0)
    expect(card.get_by_test_id("not-fixed-form")).to_have_count(1)

    # The public pages show it without personal data; the list and the map pass the checks.
    page.goto(f"{base}/m/r/{code}")
    expect(page.get_by_test_id("public-state")).to_have_text("已结案")
    check_accessibility(page)
    page.goto(f"{base}/m/list?include_closed=true")
    expect(page.locator(f"a[href='/m/r/{code}']")).to_have_count(1)
    check_accessibility(page)
    page.goto(f"{base}/m/map")
    expect(page.get_by_test_id("public-map")).to_have_attribute("data-count", re.compile(r"^\d+$"))
    check_accessibility(page)
    page.goto(f"{base}/m/")
    check_accessibility(page)


def test_a_report_made_offline_is_delivered_once_when_the_network_returns(
    demo_server: DemoServer,
    phone: Callable[..., Page],
    playwright_driver: Playwright,
    tmp_path: Path,
) -> None:
    base = demo_server.base_url
    probe = phone()
    sign_in_as(probe, demo_server, "demo_intake")
    lon, lat = free_point(probe, demo_server)
    page = phone((lon, lat))
    page.goto(f"{base}/m/")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)") is True

    # Without network the service worker serves the report form from its cache.
    page.context.set_offline(True)
    page.goto(f"{base}/m/report")
    expect(page.get_by_test_id("report-form")).to_be_visible()
    page.get_by_test_id("photo-input").set_input_files(
        str(picture(tmp_path / "offline.jpg", (60, 120, 90)))
    )
    expect(page.locator("[data-testid=photo-list] li")).to_have_count(1)
    description = "浏览器测试：离线时上报的垃圾"
    fill_report(page, description)
    page.get_by_test_id("send-report").click()
    expect(page.get_by_test_id("queued")).to_be_visible()
    expect(page.get_by_test_id("net-status")).to_have_attribute("data-waiting", "1")
    assert cases_described(playwright_driver, demo_server, description) == []

    # The network returns: the report is sent, once.
    page.context.set_offline(False)
    expect(page.get_by_test_id("net-status")).to_contain_text("本机暂存的上报已发送")
    codes = cases_described(playwright_driver, demo_server, description)
    assert len(codes) == 1
    kept = page.evaluate("JSON.parse(localStorage.getItem('wm.reports'))")
    assert [item["code"] for item in kept] == codes
    page.evaluate("WM.flush()")
    page.reload()
    assert cases_described(playwright_driver, demo_server, description) == codes
    assert page.evaluate("WM.outbox.all().then(items => items.length)") == 0
    page.goto(f"{base}/m/mine")
    expect(page.locator(f".report-card[data-code='{codes[0]}']")).to_have_count(1)
    intake = staff(playwright_driver, demo_server, "demo_intake")
    case = intake.get(f"/api/v1/cases/{codes[0]}").json()
    intake.dispose()
    assert [a["purpose"] for a in case["attachments"]] == ["report"]


def test_the_maps_shift_to_gcj02_exactly_as_the_server_does(
    demo_server: DemoServer, phone: Callable[..., Page]
) -> None:
    page = phone()
    page.goto(f"{demo_server.base_url}/m/")
    points = [(122.0821, 40.9913), (121.47, 31.23), (87.6, 43.8), (2.35, 48.85)]
    shifted = page.evaluate(
        "points => points.map(p => window.WenmingGcj02.fromWgs84(p[0], p[1]))", points
    )
    for (lon, lat), (js_lon, js_lat) in zip(points, shifted, strict=True):
        server_lon, server_lat = wgs84_to_gcj02(lon, lat)
        assert (js_lon, js_lat) == pytest.approx((server_lon, server_lat), abs=1e-9)
    assert shifted[-1] == [2.35, 48.85]  # outside China: unshifted
