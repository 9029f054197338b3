"""The grid worker's side of the phone app in headless Chromium at 390 × 844: the worker
verifies a citizen's new report on site (核实), then sees the handled case among the fixes to
check (核查) and passes it with a photo and a note; a patrol started and stopped on the phone is
listed for the street admin. The page passes the axe-core checks and offers 44 px tap targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Playwright, expect

from tests.browser.conftest import DemoServer
from tests.browser.test_app import act, check_accessibility, phone, staff
from tests.browser.test_case_loop import free_point, picture, sign_in_as

pytestmark = pytest.mark.browser

__all__ = ["phone"]


def test_a_grid_worker_verifies_a_handled_case_and_patrols(
    demo_server: DemoServer,
    phone: Callable[..., Page],
    playwright_driver: Playwright,
    tmp_path: Path,
) -> None:
    base = demo_server.base_url
    probe = phone()
    sign_in_as(probe, demo_server, "demo_intake")
    lon, lat = free_point(probe, demo_server)

    # A citizen's report in the worker's grid is filed, dispatched and handled.
    citizen = playwright_driver.request.new_context(base_url=base)
    reported = citizen.post(
        "/api/v1/app/reports",
        data={
            "category_kind": "event",
            "category_code": "0102",
            "description": "浏览器测试：待核查的垃圾",
            "lon": lon,
            "lat": lat,
        },
    )
    assert reported.ok, reported.text()
    code = reported.json()["code"]
    citizen.dispose()
    intake = staff(playwright_driver, demo_server, "demo_intake")
    dispatcher = staff(playwright_driver, demo_server, "demo_dispatcher")
    handler = staff(playwright_driver, demo_server, "demo_handler")
    page = phone((lon, lat))
    sign_in_as(page, demo_server, "demo_grid_worker")
    if intake.get(f"/api/v1/cases/{code}").json()["state"] == "reported":
        act(intake, code, "send_to_verify")

    # The grid worker verifies the new report on site (核实) from the phone.
    page.goto(f"{base}/m/worker")
    report = page.get_by_test_id("tasks-verifying").locator(
        f"[data-testid=task][data-code='{code}']"
    )
    expect(report).to_have_count(1)
    report.get_by_test_id("confirm").click()
    expect(report.get_by_test_id("task-done")).to_contain_text("已现场核实属实")
    assert intake.get(f"/api/v1/cases/{code}").json()["state"] == "confirmed"

    # The command centre files and dispatches it; the unit fixes it.
    after = picture(tmp_path / "after.jpg", (190, 200, 195)).read_bytes()
    upload = handler.post(
        "/api/v1/attachments",
        multipart={"file": {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": after}},
    )
    assert upload.ok, upload.text()
    act(intake, code, "file")
    act(dispatcher, code, "dispatch", target={"department_code": "211104-CGJ"})
    act(handler, code, "accept")
    act(handler, code, "handle", note="已清运", attachments=[upload.json()["key"]])

    # The grid worker checks the fix on site (核查) from the phone.
    page.goto(f"{base}/m/worker")
    expect(page.get_by_test_id("worker-map")).to_have_attribute("data-grids", "6")
    task = page.get_by_test_id("tasks-handled").locator(f"[data-testid=task][data-code='{code}']")
    expect(task).to_have_count(1)
    check_accessibility(page)
    task.get_by_label("现场照片").set_input_files(
        str(picture(tmp_path / "site.jpg", (180, 190, 185)))
    )
    task.get_by_label("备注（核查不通过时必填）").fill("现场已清理干净")
    task.get_by_test_id("verify-pass").click()
    expect(task.get_by_test_id("task-done")).to_contain_text("核查通过")
    case = intake.get(f"/api/v1/cases/{code}").json()
    assert case["state"] == "verified"
    checked = [e for e in case["events"] if e["action"] == "verify_pass"]
    assert [(e["note"], [a["purpose"] for a in e["attachments"]]) for e in checked] == [
        ("现场已清理干净", ["check"])
    ]

    # A patrol started and stopped on the phone is listed for the street admin.
    page.get_by_test_id("patrol-start").click()
    expect(page.get_by_test_id("worker-map")).to_have_attribute("data-patrol", "running")
    page.get_by_test_id("patrol-stop").click()
    expect(page.get_by_test_id("worker-map")).to_have_attribute("data-patrol", "idle")
    admin = staff(playwright_driver, demo_server, "demo_street_admin")
    patrols = admin.get("/api/v1/app/patrols").json()
    assert [(p["worker"], p["ended_at"] is not None) for p in patrols] == [("王磊（示例）", True)]

    # The quick report goes in as the grid worker's.
    page.get_by_test_id("quick-report").click()
    expect(page.get_by_test_id("as-worker")).to_be_visible()
    for client in (intake, dispatcher, handler, admin):
        client.dispose()
