"""Every demo role signs in through the form on a phone, sees its home page and signs out."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoServer
from wenming.demo.seed import DemoLogin, demo_logins
from wenming.org.roles import ROLE_LABELS, Role

pytestmark = pytest.mark.browser

HOME_HEADINGS_ZH: dict[Role, str] = {
    Role.CITIZEN: "市民服务",
    Role.GRID_WORKER: "网格员工作台",
    Role.INTAKE: "受理工作台",
    Role.DISPATCHER: "派遣工作台",
    Role.HANDLER: "责任单位工作台",
    Role.STREET_ADMIN: "镇街管理",
    Role.DISTRICT_ADMIN: "区级指挥中心",
    Role.EVALUATOR: "测评工作台",
    Role.SYS_ADMIN: "系统管理",
}
LOGINS = demo_logins()


def sign_in(page: Page, server: DemoServer, username: str, password: str) -> None:
    """Open a protected page, get sent to the form, and sign in there."""
    page.goto(f"{server.base_url}/")
    expect(page).to_have_url(f"{server.base_url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form.form button[type=submit]").click()


def page_width(page: Page) -> int:
    """How wide the document is laid out; wider than the viewport means sideways scrolling."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_every_role_of_the_demo_has_a_login() -> None:
    assert sorted(login.role for login in LOGINS) == sorted(Role)


@pytest.mark.parametrize("login", LOGINS, ids=[login.role.value for login in LOGINS])
def test_each_demo_role_signs_in_on_a_phone_and_out_again(
    login: DemoLogin, demo_server: DemoServer, page: Page
) -> None:
    assert login in demo_server.logins
    role = login.role
    sign_in(page, demo_server, login.username, login.password)

    expect(page).to_have_url(f"{demo_server.base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("home-heading")).to_have_text(HOME_HEADINGS_ZH[role])
    expect(page.get_by_test_id("current-role")).to_have_text(ROLE_LABELS[role][0])
    assignment = page.get_by_test_id("assignments").locator("li").first
    expect(assignment.locator(".assignment-role")).to_have_text(ROLE_LABELS[role][0])
    expect(assignment.locator(".assignment-place")).to_have_text(login.unit_name)
    assert page_width(page) <= 360

    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(f"{demo_server.base_url}/login")
    page.goto(f"{demo_server.base_url}/org/units")
    expect(page).to_have_url(f"{demo_server.base_url}/login?next=/org/units")
    expect(page.locator("#login-heading")).to_have_text("登录文明平台")


def test_switching_to_english_and_back(demo_server: DemoServer, page: Page) -> None:
    login = next(item for item in LOGINS if item.role is Role.DISTRICT_ADMIN)
    sign_in(page, demo_server, login.username, login.password)
    expect(page.get_by_test_id("home-heading")).to_have_text("区级指挥中心")

    page.get_by_role("link", name="English").click()

    expect(page).to_have_url(f"{demo_server.base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("home-heading")).to_have_text("District command centre")
    expect(page.get_by_test_id("current-role")).to_have_text("District admin")
    expect(page.get_by_role("heading", name="What you can do now")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page_width(page) <= 360

    page.get_by_role("link", name="Administrative units").first.click()
    expect(page).to_have_url(f"{demo_server.base_url}/org/units")
    expect(page.get_by_role("heading", name="Administrative units")).to_be_visible()
    page.get_by_role("link", name="中文").click()
    expect(page).to_have_url(f"{demo_server.base_url}/org/units")
    expect(page.get_by_role("heading", name="行政区划")).to_be_visible()


def test_home_page_fits_a_360_px_phone(demo_server: DemoServer, page: Page, tmp_path: Path) -> None:
    login = next(item for item in LOGINS if item.role is Role.STREET_ADMIN)
    sign_in(page, demo_server, login.username, login.password)
    expect(page.get_by_test_id("home-heading")).to_have_text("镇街管理")
    shot = tmp_path / "home-360.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.evaluate("window.innerWidth") == 360
    assert page_width(page) <= 360


def test_wrong_password_is_explained_at_the_form(demo_server: DemoServer, page: Page) -> None:
    sign_in(page, demo_server, "no_such_person", "not-the-password")
    expect(page.get_by_test_id("form-error")).to_have_text("用户名或密码错误。")
    expect(page.locator("#username")).to_have_value("no_such_person")
    assert page_width(page) <= 360


def test_unit_tree_opens_by_level(demo_server: DemoServer, page: Page) -> None:
    login = next(item for item in LOGINS if item.role is Role.DISTRICT_ADMIN)
    sign_in(page, demo_server, login.username, login.password)
    page.goto(f"{demo_server.base_url}/org/units")
    details = page.locator("[data-tree] details")
    open_levels = (
        "nodes => nodes.filter(n => n.open).map(n => n.parentElement.dataset.level).join()"
    )
    assert details.evaluate_all(open_levels) == "3"
    page.get_by_role("button", name="社区 / 村").click()
    assert details.evaluate_all("nodes => nodes.every(n => n.open)") is True
    page.get_by_role("button", name="街道 / 镇").click()
    assert details.evaluate_all(open_levels) == "3"
    page.get_by_role("button", name="全部收起").click()
    assert details.evaluate_all(open_levels) == ""
    expect(page.get_by_text("大洼街道")).to_be_hidden()
    page.get_by_text("大洼区").click()
    page.get_by_text("大洼街道").click()
    expect(page.get_by_text("211104004001")).to_be_visible()
    assert page_width(page) <= 360
