"""The home page per role: heading, assignment, scope summary and only links that work."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import Tree, create_tree, create_user
from tests.web.support import HTML, by_testid, sign_in
from wenming.org.roles import Role


@dataclass(frozen=True)
class Expected:
    """What one role's home page must say."""

    heading_zh: str
    heading_en: str
    assignment_zh: str
    summary: dict[str, int]
    actions: list[str]


# The case pages of the command centre and admins who also enter reports.
CASE_DESK = ["/cases", "/cases/overdue", "/cases/new"]
# The command centre's clerks also take hotline calls.
CALL_DESK = ["/cases", "/cases/overdue", "/hotline", "/cases/new"]
# The standard tree: 10 units, 4 departments; the district (大洼区) holds 6 units and 3 departments.
# Kinds of record a role sees none of are left out of the summary and of the actions.
EXPECTED: dict[Role, Expected] = {
    Role.CITIZEN: Expected("市民服务", "Citizen services", "市民 未绑定单位", {}, ["/m/"]),
    Role.GRID_WORKER: Expected(
        "网格员工作台",
        "Grid worker desk",
        "网格员 测试一社区 社区 · 211104004001",
        {"单位": 1},
        ["/m/", "/cases", "/cases/new", "/org/units", "/account/api-keys", "/docs"],
    ),
    Role.INTAKE: Expected(
        "受理工作台",
        "Intake desk",
        "受理员/值班长 大洼区 区县 · 211104000000",
        {"单位": 6, "职能部门": 3, "人员": 1},
        [*CALL_DESK, "/org/people", "/org/units", "/org/departments", "/account/api-keys", "/docs"],
    ),
    Role.DISPATCHER: Expected(
        "派遣工作台",
        "Dispatch desk",
        "派遣员 大洼区 区县 · 211104000000",
        {"单位": 6, "职能部门": 3, "人员": 1},
        [*CALL_DESK, "/org/people", "/org/units", "/org/departments", "/account/api-keys", "/docs"],
    ),
    Role.HANDLER: Expected(
        "责任单位工作台",
        "Responsible unit desk",
        "责任单位处置人员 城管局 部门 · 211104-CGJ",
        {"职能部门": 2},
        ["/cases?mine=1&amp;state=open", "/org/departments", "/account/api-keys", "/docs"],
    ),
    Role.STREET_ADMIN: Expected(
        "镇街管理",
        "Street administration",
        "镇街管理员 大洼街道 街道 · 211104004000",
        {"单位": 3, "人员": 1},
        [
            *CASE_DESK,
            "/evaluation",
            "/org/people/new",
            "/org/people",
            "/org/units",
            "/account/api-keys",
            "/docs",
        ],
    ),
    Role.DISTRICT_ADMIN: Expected(
        "区级指挥中心",
        "District command centre",
        "区管理员 大洼区 区县 · 211104000000",
        {"单位": 6, "职能部门": 3, "人员": 1},
        [
            *CASE_DESK,
            "/evaluation",
            "/org/people/new",
            "/org/people",
            "/org/units",
            "/org/departments",
            "/account/api-keys",
            "/docs",
        ],
    ),
    Role.EVALUATOR: Expected(
        "测评工作台",
        "Evaluation desk",
        "测评员 大洼区 区县 · 211104000000",
        {"单位": 6, "职能部门": 3},
        [
            "/cases/new",
            "/evaluation",
            "/org/units",
            "/org/departments",
            "/account/api-keys",
            "/docs",
        ],
    ),
    Role.SYS_ADMIN: Expected(
        "系统管理",
        "System administration",
        "系统管理员 大洼区 区县 · 211104000000",
        {"单位": 6, "职能部门": 3, "人员": 1},
        [
            "/cases",
            "/cases/overdue",
            "/evaluation",
            "/org/people/new",
            "/org/people",
            "/org/units",
            "/org/departments",
            "/account/api-keys",
            "/docs",
        ],
    ),
}


def _binding(role: Role, tree: Tree) -> dict[str, object]:
    """Where the test user of a role works in the standard tree."""
    if role is Role.CITIZEN:
        return {}
    if role is Role.HANDLER:
        return {"department": tree.department}
    if role is Role.GRID_WORKER:
        return {"unit": tree.community}
    if role is Role.STREET_ADMIN:
        return {"unit": tree.street}
    return {"unit": tree.district}


def _text(fragment: str) -> str:
    """Visible text of an HTML fragment with whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _summary(html: str) -> dict[str, int]:
    """The scope summary of a home page as {label: count}."""
    pairs = re.findall(
        r'<span class="stat-value">(\d+)</span><span class="stat-label">([^<]+)</span>', html
    )
    return {label: int(value) for value, label in pairs}


def _actions(html: str) -> list[str]:
    """The links of a home page's action cards, in order."""
    section = html.split('data-testid="actions"', 1)
    if len(section) == 1:
        return []
    return re.findall(r'<a class="action-card" href="([^"]+)"', section[1])


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_has_its_own_home(
    role: Role, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "person", role, **_binding(role, tree))  # type: ignore[arg-type]
    await sign_in(client, session, user)
    expected = EXPECTED[role]

    response = await client.get("/", headers=HTML)

    assert response.status_code == 200
    html = response.text
    assert by_testid(html, "home-heading") == expected.heading_zh
    assert _text(html.split('data-testid="assignments">', 1)[1].split("</ul>", 1)[0]) == (
        expected.assignment_zh
    )
    assert by_testid(html, "current-role") == expected.assignment_zh.split()[0]
    assert _summary(html) == expected.summary
    assert _actions(html) == expected.actions
    assert by_testid(html, "coming-next").startswith("即将上线：")


@pytest.mark.parametrize("role", list(Role))
async def test_every_link_on_a_home_page_works_for_its_role(
    role: Role, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "person", role, **_binding(role, tree))  # type: ignore[arg-type]
    await sign_in(client, session, user)
    html = (await client.get("/", headers=HTML)).text
    links = set(re.findall(r'<a class="[^"]*" href="(/[^"]*)"', html))
    links |= set(re.findall(r'<a href="(/[^"?]*)"', html))
    assert links
    for link in sorted(links):
        response = await client.get(link, headers=HTML)
        assert response.status_code == 200, (role, link, response.status_code)


async def test_home_in_english_after_switching(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "gw", Role.GRID_WORKER, unit=tree.community)
    await sign_in(client, session, user)
    switched = await client.get("/lang/en?next=/", headers=HTML)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/"
    response = await client.get("/", headers=HTML)
    assert '<html lang="en">' in response.text
    assert by_testid(response.text, "home-heading") == EXPECTED[Role.GRID_WORKER].heading_en
    assert by_testid(response.text, "current-role") == "Grid worker"
    assert _summary(response.text) == {"Units": 1}
    assert by_testid(response.text, "coming-next") == (
        "Coming next: storefront duty checks (门前四包) on your patrols."
    )


async def test_home_of_a_person_without_a_role(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, "nobody")
    await sign_in(client, session, user)
    response = await client.get("/", headers=HTML)
    assert response.status_code == 200
    assert by_testid(response.text, "home-heading") == "我的账户"
    assert by_testid(response.text, "current-role") == "无角色"
    assert "您的账户尚未分配角色，请联系管理员。" in response.text
    assert _actions(response.text) == []


async def test_citizen_sees_own_account_unmasked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, "citizen", Role.CITIZEN, phone="13900001111")
    await sign_in(client, session, user)
    response = await client.get("/", headers=HTML)
    assert "<dd>13900001111</dd>" in response.text
    assert "<dd><code>citizen</code></dd>" in response.text
