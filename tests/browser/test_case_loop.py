"""One case round the whole loop through the pages in headless Chromium, each demo role signing in
in turn: the intake clerk enters and files it, the dispatcher overrides the suggested unit, the
handler accepts it and reports back with a photo, the grid worker checks it on site and the
shift leader closes it. And the handler's task list on a 390 px phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect

from tests.browser.conftest import DemoServer
from wenming.demo.seed import DEMO_PEOPLE

pytestmark = pytest.mark.browser

PASSWORDS = {person.username: person.password for person in DEMO_PEOPLE if person.password}
PATROLLED_GRIDS = [f"211104004001{serial:03d}" for serial in range(1, 7)]
HANDLER_PHONE = {"width": 390, "height": 844}


def sign_in_as(page: Page, server: DemoServer, username: str) -> None:
    """Start a fresh session for a demo person through the sign-in form."""
    page.context.clear_cookies()
    page.goto(f"{server.base_url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORDS[username])
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(f"{server.base_url}/")


def state_shown(page: Page) -> str:
    """The state badge at the top of a case page."""
    return page.locator("[data-testid=case-state] [data-testid=state]").inner_text()


def take(page: Page, action: str) -> None:
    """Press the button of one action form and wait for the case page to come back."""
    page.get_by_test_id(f"action-{action}").locator("button[type=submit]").click()
    page.wait_for_load_state()


def picture(path: Path, colour: tuple[int, int, int]) -> Path:
    """A JPEG photo file for the upload fields."""
    Image.new("RGB", (640, 480), colour).save(path, "JPEG")
    return path


def page_width(page: Page) -> int:
    """How wide the document is laid out; wider than the viewport means sideways scrolling."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def free_point(page: Page, server: DemoServer) -> tuple[float, float]:
    """A point inside one of the grids the demo grid worker patrols (grids at the community's
    edge are clipped, so points of each grid's box are tried until one lies in that grid)."""
    for code in PATROLLED_GRIDS:
        answer = page.request.get(f"{server.base_url}/api/v1/geo/grids/{code}")
        assert answer.ok, answer.text()
        west, south, east, north = answer.json()["bbox"]
        for fx, fy in ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7), (0.3, 0.7), (0.7, 0.3)):
            lon = round(west + (east - west) * fx, 6)
            lat = round(south + (north - south) * fy, 6)
            found = page.request.get(
                f"{server.base_url}/api/v1/geo/locate", params={"lon": lon, "lat": lat}
            )
            if found.ok and found.json()["grid"]["code"] == code:
                return lon, lat
    raise AssertionError("no point found inside the patrolled grids")


def test_one_case_round_the_loop_through_the_pages(
    demo_server: DemoServer, page: Page, tmp_path: Path
) -> None:
    base = demo_server.base_url

    # The intake clerk enters a hotline report with a photo, then files it.
    sign_in_as(page, demo_server, "demo_intake")
    lon, lat = free_point(page, demo_server)
    page.goto(f"{base}/cases/new")
    page.locator("#category").select_option("event-0207")
    page.locator("#description").fill("示例：浏览器测试，桥洞墙面乱涂乱画")
    page.locator("#lon").fill(str(lon))
    page.locator("#lat").fill(str(lat))
    page.locator("#reporter_phone").fill("13900009999")
    page.locator("#photos").set_input_files(str(picture(tmp_path / "seen.jpg", (90, 60, 50))))
    page.get_by_role("button", name="登记报告").click()
    expect(page.get_by_test_id("case-notice")).to_contain_text("报告已登记为案件")
    code = page.get_by_test_id("case-code").inner_text()
    case_url = f"{base}/cases/{code}"
    expect(page).to_have_url(f"{case_url}?done=report")
    assert state_shown(page) == "已上报"
    expect(page.get_by_test_id("case-map")).to_have_attribute("data-state", "ready")
    take(page, "file")
    assert state_shown(page) == "已立案"

    # The dispatcher sends it to 城管局 instead of the suggested street office.
    sign_in_as(page, demo_server, "demo_dispatcher")
    page.goto(case_url)
    target = page.locator("#dispatch-target")
    expect(target).to_have_value("unit:211104004000")
    target.select_option("department:211104-CGJ")
    take(page, "dispatch")
    assert state_shown(page) == "已派遣"
    expect(page.get_by_test_id("case-responsible")).to_have_text("城管局（综合执法局）")
    expect(page.get_by_test_id("timeline")).to_contain_text("派遣员选择了与建议不同的责任单位。")

    # The handler finds it among the unit's tasks, accepts it and reports back with a photo.
    sign_in_as(page, demo_server, "demo_handler")
    page.get_by_role("link", name="本单位任务").click()
    page.locator(f"[data-testid=case-row][data-code='{code}'] a").click()
    expect(page).to_have_url(case_url)
    take(page, "accept")
    assert state_shown(page) == "处置中"
    expect(page.get_by_test_id("case-reporter")).to_have_text("139****9999")
    page.locator("#photos-handle").set_input_files(
        str(picture(tmp_path / "fixed.jpg", (210, 220, 215)))
    )
    take(page, "handle")
    assert state_shown(page) == "已处置"
    compare = page.get_by_test_id("before-after")
    expect(compare.get_by_test_id("photo-report")).to_have_count(1)
    expect(compare.get_by_test_id("photo-after")).to_have_count(1)

    # The grid worker who patrols the grid checks it on site.
    sign_in_as(page, demo_server, "demo_grid_worker")
    page.goto(case_url)
    take(page, "verify_pass")
    assert state_shown(page) == "核查通过"

    # The shift leader closes it.
    sign_in_as(page, demo_server, "demo_intake")
    page.goto(case_url)
    take(page, "close")
    assert state_shown(page) == "已结案"
    expect(page.get_by_test_id("event")).to_have_count(7)
    expect(page.get_by_test_id("no-actions")).to_be_hidden()
    assert [
        form.get_attribute("data-testid") for form in page.locator("form.case-action").all()
    ] == ["action-reopen"]
    assert page_width(page) <= 360


@pytest.fixture
def handler_page(browser: Browser) -> Iterator[Page]:
    """A tab on a 390 × 844 phone that fails the test on script, console or loading errors."""
    context = browser.new_context(viewport=HANDLER_PHONE, locale="zh-CN", device_scale_factor=1)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        """Record console errors (a refused script or style shows up here)."""
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_response(response: Response) -> None:
        """Record sub-resources that failed to load."""
        if response.request.resource_type != "document" and response.status >= 400:
            problems.append(f"{response.status} for {response.url}")

    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", on_console)
    tab.on("response", on_response)
    yield tab
    context.close()
    assert problems == []


def test_the_handlers_task_list_fits_a_phone(
    demo_server: DemoServer, handler_page: Page, tmp_path: Path
) -> None:
    page = handler_page
    sign_in_as(page, demo_server, "demo_handler")
    page.get_by_role("link", name="本单位任务").click()
    expect(page.get_by_test_id("queue-heading")).to_have_text("本单位任务")
    rows = page.get_by_test_id("case-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 8
    assert page_width(page) <= 390
    page.screenshot(path=str(tmp_path / "tasks-390.png"), full_page=True)

    waiting = page.locator("[data-testid=case-row]", has_text="已派遣").first
    waiting.locator("a.case-code").click()
    expect(page.get_by_test_id("action-accept")).to_be_visible()
    expect(page.get_by_test_id("action-return")).to_be_hidden()
    page.get_by_test_id("more-return").click()
    expect(page.get_by_test_id("action-return").locator("textarea")).to_be_visible()
    box = page.get_by_test_id("action-accept").bounding_box()
    assert box is not None and box["y"] < 2 * HANDLER_PHONE["height"]
    assert page_width(page) <= 390
