"""The evaluator's checklist in headless Chromium at 390 × 844: the office sets up a round on the
demo district and draws points; the evaluator opens a point on the phone, records a deduction
with a photo and saves; the participant's score page then shows the points lost with the
evidence, and the deduction's rectification case exists. Every tap target of the checklist is
44 px or more, axe-core finds nothing, and the page does not scroll sideways."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DemoServer
from tests.browser.test_app import AXE, AXE_TAGS
from tests.browser.test_case_loop import picture, sign_in_as

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
MIN_TAP = 44
# Everything a finger may press inside the page's main part, with its size.
TAP_TARGETS_JS = """
() => [...document.querySelectorAll(
    'main a[href], main button, main input:not([type=hidden]), main textarea')]
  .map(n => { const b = n.getBoundingClientRect();
              return {what: n.tagName + '#' + n.id, w: b.width, h: b.height}; })
  .filter(t => t.w > 0 && t.h > 0)
"""
SETUP: dict[str, Any] = {
    "years": [
        {
            "year": 2026,
            "name": "2026年度（示例）",
            "index": "example-2026",
            "rounds": [{"code": "2026H1", "name": "2026 上半年"}],
        }
    ],
    "participants": [
        {"code": "211104", "name": "大洼区", "category": "other_district", "unit": "211104000000"}
    ],
}


def axe_violations(page: Page) -> list[tuple[str, list[Any]]]:
    """What axe-core finds against WCAG 2.x A/AA on the page (evaluated through the DevTools
    protocol, so the page's own strict policy stays in force)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    assert result["passes"], "axe-core checked nothing"
    return [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]]


def api(page: Page, base: str, method: str, path: str, **options: Any) -> Any:
    """Call the API with the browser's session and its CSRF token; fail on a refusal."""
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    headers = {"x-csrf-token": token or "", **options.pop("headers", {})}
    answer = page.request.fetch(base + path, method=method, headers=headers, **options)
    assert answer.ok, answer.text()
    return answer.json()


def test_the_evaluator_deducts_on_the_phone_and_the_score_page_explains_it(
    browser: Browser, demo_server: DemoServer, tmp_path: Path
) -> None:
    base = demo_server.base_url
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )

    sign_in_as(page, demo_server, "demo_sys_admin")
    index = files("wenming.data").joinpath("evaluation/example-index.yaml").read_bytes()
    api(
        page,
        base,
        "POST",
        "/api/v1/evaluation/indexes",
        data=index,
        headers={"content-type": "application/yaml"},
    )
    api(page, base, "PUT", "/api/v1/evaluation/setup", data=SETUP)
    plan = api(
        page,
        base,
        "POST",
        "/api/v1/evaluation/plans",
        data={"round": "2026H1", "participant": "211104", "per_type": 1, "seed": "b1"},
    )
    api(
        page,
        base,
        "POST",
        f"/api/v1/evaluation/plans/{plan['id']}/assign",
        data={"evaluators": ["demo_evaluator"]},
    )

    sign_in_as(page, demo_server, "demo_evaluator")
    page.goto(f"{base}/evaluation")
    first = page.locator("[data-testid=my-points] a").first
    first.click()
    expect(page.locator("[data-testid=point-name]")).to_be_visible()
    item = page.locator("li.eval-item").first
    code = (item.get_attribute("data-testid") or "").removeprefix("item-")
    assert code
    small = [t for t in page.evaluate(TAP_TARGETS_JS) if t["w"] < MIN_TAP or t["h"] < MIN_TAP]
    assert small == []
    assert axe_violations(page) == []
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= PHONE["width"]
    item.locator(f"#findings-{code}").fill("2")
    item.locator(f"#photo-{code}").set_input_files(str(picture(tmp_path / "f.jpg", (200, 60, 40))))
    # The script sends the photo to POST /api/v1/attachments as soon as it is chosen.
    expect(page.locator(f"[data-testid=upload-{code}]")).to_have_text("照片已上传。")
    key = item.locator("input[name=attachment_key]").input_value()
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key), key
    item.locator(f"#note-{code}").fill("示例：浏览器测试，绿化带内有垃圾")
    item.locator(f"[data-testid=deduct-{code}]").click()
    expect(page.locator("[data-testid=saved]")).to_be_visible()
    verdict = page.locator(f"[data-testid=verdict-{code}]").inner_text()
    assert re.fullmatch(r"扣分：发现问题 2 处，扣 \d+\.\d\d 分", verdict), verdict
    expect(page.locator(f"[data-testid=photo-{code}]")).to_be_visible()
    assert page.locator(f"[data-testid=photo-{code}]").get_attribute("src") == (
        f"/api/v1/attachments/{key}/thumb"
    )

    sign_in_as(page, demo_server, "demo_sys_admin")
    api(page, base, "POST", "/api/v1/evaluation/rounds/2026H1/participants/211104/field-scores")
    page.goto(f"{base}/evaluation/participants/211104?year=2026")
    lost = page.locator(f"[data-testid=lost-2026H1-{code}]").inner_text()
    assert float(lost) > 0
    expect(page.locator(f"[data-testid^=evidence-{code}-]")).to_contain_text("绿化带内有垃圾")
    assert page.locator("[data-testid=rectification-rate]").inner_text() == (
        "整改案件 1 件，已结案 0 件（0.0%）"
    )
    assert axe_violations(page) == []
    page.goto(f"{base}/evaluation/bulletin/2026?round=2026H1")
    expect(page.locator("[data-testid=chart-radar] svg")).to_be_visible()
    assert axe_violations(page) == []
    page.goto(f"{base}/evaluation/participants/211104?year=2026")
    case_link = page.locator(f"[data-testid=case-{code}] a")
    case_code = case_link.inner_text()
    case_link.click()
    expect(page).to_have_url(f"{base}/cases/{case_code}")
    assert errors == []
    context.close()
