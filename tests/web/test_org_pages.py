"""Organisation pages: the unit tree, departments, people (masked, paged) and creating users."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from tests.factories.org import Tree, create_tree, create_user
from tests.web.support import HTML, by_testid, csrf_from, field_error, sign_in
from wenming.org import service
from wenming.org.models import RoleAssignment, User
from wenming.org.roles import Role


async def _count_users(session: AsyncSession) -> int:
    """How many users exist."""
    return await session.scalar(select(func.count()).select_from(User)) or 0


async def _signed_in(
    client: httpx.AsyncClient, session: AsyncSession, role: Role, tree: Tree, **where: object
) -> User:
    """A user ``me`` with one role, signed in on the client."""
    user = await create_user(session, "me", role, **where)  # type: ignore[arg-type]
    await sign_in(client, session, user)
    return user


async def test_unit_tree_shows_the_district_with_kinds_and_codes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.DISTRICT_ADMIN, tree, unit=tree.district)
    response = await client.get("/org/units", headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert by_testid(html, "unit-count") == "6"
    assert re.findall(r'<code class="tree-code">(\d+)</code>', html) == [
        "211104000000",
        "211104004000",
        "211104004001",
        "211104004002",
        "211104005000",
        "211104005001",
    ]
    assert re.findall(
        r'<span class="tree-name">([^<]+)</span>\s*<span class="badge">([^<]+)<', html
    ) == [
        ("大洼区", "区县"),
        ("大洼街道", "街道"),
        ("测试一社区", "社区"),
        ("测试二社区", "社区"),
        ("田家街道", "街道"),
        ("测试三社区", "社区"),
    ]
    assert html.count("<details open>") == 1
    assert html.count("<details>") == 2
    assert "双台子区" not in html
    buttons = re.findall(r'data-tree-level="(\d)">([^<]+)</button>', html)
    assert buttons == [("4", "街道"), ("5", "社区")]


async def test_unit_tree_of_a_grid_worker_is_their_community(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.GRID_WORKER, tree, unit=tree.community)
    html = (await client.get("/org/units", headers=HTML)).text
    assert re.findall(r'<code class="tree-code">(\d+)</code>', html) == ["211104004001"]
    assert "<details" not in html


async def test_departments_page_nests_children(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.HANDLER, tree, department=tree.department)
    html = (await client.get("/org/departments", headers=HTML)).text
    assert by_testid(html, "department-count") == "2"
    names = re.findall(r'<span class="tree-name">([^<]+)</span>', html)
    assert names == ["城管局", "城管执法大队"]
    nested = html.split("城管局", 1)[1]
    assert nested.index('<ul class="tree tree-plain">') < nested.index("城管执法大队")


async def test_people_phones_are_masked_for_staff_who_do_not_manage_them(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    await _signed_in(client, session, Role.INTAKE, tree, unit=tree.district)
    html = (await client.get("/org/people", headers=HTML)).text
    assert by_testid(html, "people-range") == "第 1–2 条，共 2 条"
    row = html.split("<code>worker</code>", 1)[1].split("</tr>", 1)[0]
    assert "138****5678" in row
    assert "13812345678" not in row
    assert '<span class="badge">网格员</span> 测试一社区</span>' in row


async def test_people_phones_are_shown_to_their_admin(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await create_user(session, "worker", Role.GRID_WORKER, unit=tree.community)
    await create_user(session, "outsider", Role.GRID_WORKER, unit=tree.community_of_sibling)
    await _signed_in(client, session, Role.STREET_ADMIN, tree, unit=tree.street)
    html = (await client.get("/org/people", headers=HTML)).text
    assert re.findall(r"<code>([a-z0-9_]+)</code>", html) == ["me", "worker"]
    assert "13812345678" in html.split("<code>worker</code>", 1)[1].split("</tr>", 1)[0]


async def test_people_are_paged_and_filtered_by_unit(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    for number in range(55):
        await create_user(session, f"w{number:02d}", Role.GRID_WORKER, unit=tree.community)
    await _signed_in(client, session, Role.DISTRICT_ADMIN, tree, unit=tree.district)
    first = (await client.get("/org/people", headers=HTML)).text
    assert by_testid(first, "people-range") == "第 1–50 条，共 56 条"
    assert len(re.findall(r"<code>([a-z0-9_]+)</code>", first)) == 50
    assert "第 1 / 2 页" in first
    assert 'href="/org/people?page=2" rel="next"' in first
    second = (await client.get("/org/people?page=2", headers=HTML)).text
    assert re.findall(r"<code>([a-z0-9_]+)</code>", second) == [
        "w49",
        "w50",
        "w51",
        "w52",
        "w53",
        "w54",
    ]
    assert by_testid(second, "people-range") == "第 51–56 条，共 56 条"
    assert 'href="/org/people?page=1" rel="prev"' in second
    only_district = (await client.get("/org/people?unit=211104000000", headers=HTML)).text
    assert re.findall(r"<code>([a-z0-9_]+)</code>", only_district) == ["me"]
    assert "仅显示 大洼区 的人员。" in only_district


async def test_people_page_number_must_be_positive(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.DISTRICT_ADMIN, tree, unit=tree.district)
    response = await client.get("/org/people?page=0", headers=HTML)
    assert response.status_code == 422
    assert by_testid(response.text, "error-title") == "输入有误"


async def _new_user_form(client: httpx.AsyncClient) -> str:
    """The create-user form's HTML."""
    response = await client.get("/org/people/new", headers=HTML)
    assert response.status_code == 200
    return response.text


async def _submit(client: httpx.AsyncClient, token: str, **fields: str) -> httpx.Response:
    """Post the create-user form with every field present (empty unless given)."""
    data = {
        "username": "",
        "display_name": "",
        "password": "",
        "phone": "",
        "role": "",
        "unit_code": "",
        "department_code": "",
        "csrf_token": token,
    }
    data.update(fields)
    return await client.post("/org/people", data=data, headers=HTML)


async def test_create_user_form_offers_only_grantable_roles_and_scoped_places(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.STREET_ADMIN, tree, unit=tree.street)
    html = await _new_user_form(client)
    roles = re.findall(
        r'<option value="([a-z_]+)"', html.split('id="role"', 1)[1].split("</select>")[0]
    )
    assert roles == ["citizen", "grid_worker", "handler"]
    units = re.findall(r'<option value="(\d+)"', html)
    assert units == ["211104004000", "211104004001", "211104004002"]


async def test_create_user_success(client: httpx.AsyncClient, session: AsyncSession) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.STREET_ADMIN, tree, unit=tree.street)
    token = csrf_from(await _new_user_form(client))
    response = await _submit(
        client,
        token,
        username="New.Worker",
        display_name="新网格员",
        password="long-enough-password",
        phone="13700001234",
        role="grid_worker",
        unit_code="211104004002",
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/org/people?created=")
    user = await session.scalar(select(User).where(User.username == "new.worker"))
    assert user is not None
    assert user.display_name == "新网格员"
    assignment = await session.scalar(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id)
    )
    assert assignment is not None
    assert (assignment.role, assignment.unit_id) == ("grid_worker", tree.community_sibling.id)
    listed = await client.get(response.headers["location"], headers=HTML)
    assert by_testid(listed.text, "created-notice") == "用户 new.worker 已创建。"


async def test_created_notice_for_an_unbound_citizen(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    await _signed_in(client, session, Role.STREET_ADMIN, tree, unit=tree.street)
    token = csrf_from(await _new_user_form(client))
    response = await _submit(
        client,
        token,
        username="resident",
        display_name="居民",
        password="long-enough-password",
        role="citizen",
    )
    assert response.status_code == 303
    listed = await client.get(response.headers["location"], headers=HTML)
    assert by_testid(listed.text, "created-notice") == "用户 resident 已创建。"


async def test_a_forged_created_notice_is_ignored(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    me = await _signed_in(client, session, Role.STREET_ADMIN, tree, unit=tree.street)
    for forged in (f"{me.id}", f"{me.id}.0123456789abcdef01234567", "x.y", "99999999999999"):
        html = (await client.get("/org/people", params={"created": forged}, headers=HTML)).text
        assert 'data-testid="created-notice"' not in html, forged


ERROR_CASES = [
    pytest.param(
        {},
        {
            "username": "请输入用户名。",
            "display_name": "请输入姓名。",
            "password": "请输入初始密码。",
            "role": "请选择角色。",
        },
        422,
        id="empty",
    ),
    pytest.param(
        {"role": "district_admin", "unit_code": "211104004001"},
        {"role": "请从您可授予的角色中选择。"},
        422,
        id="role-not-grantable",
    ),
    pytest.param(
        {"role": "grid_worker", "unit_code": "211104005001"},
        {"unit_code": "请从列表中选择单位。"},
        422,
        id="unit-not-offered",
    ),
    pytest.param(
        {"role": "grid_worker", "department_code": "211104-CGJ"},
        {"department_code": "请从列表中选择部门。"},
        422,
        id="department-not-offered",
    ),
    pytest.param(
        {"role": "grid_worker"},
        {"unit_code": "请选择该角色所在的单位。"},
        422,
        id="unit-missing",
    ),
    pytest.param(
        {"role": "handler"},
        {"unit_code": "处置人员需要绑定一个部门或一个街道、社区单位。"},
        422,
        id="handler-unbound",
    ),
    pytest.param(
        {"username": "Bad Name!", "role": "grid_worker", "unit_code": "211104004001"},
        {"username": "请使用 2 至 64 个字符：小写字母、数字、“.”、“_”或“-”，并以字母或数字开头。"},
        422,
        id="bad-username",
    ),
    pytest.param(
        {"password": "short", "role": "grid_worker", "unit_code": "211104004001"},
        {"password": "密码至少需要 8 个字符。"},
        422,
        id="short-password",
    ),
    pytest.param(
        {"phone": "call me", "role": "grid_worker", "unit_code": "211104004001"},
        {"phone": "只能填写数字；允许空格、“-”和开头的“+”。"},
        422,
        id="bad-phone",
    ),
    pytest.param(
        {"display_name": "两行\n名字", "role": "grid_worker", "unit_code": "211104004001"},
        {"display_name": "请填写一行文字，最多 100 个字符，且不含控制字符。"},
        422,
        id="display-name-two-lines",
    ),
    pytest.param(
        {"username": "taken", "role": "grid_worker", "unit_code": "211104004001"},
        {"username": "该用户名已被使用，请换一个。"},
        409,
        id="username-taken",
    ),
]


@pytest.mark.parametrize(("fields", "errors", "status"), ERROR_CASES)
async def test_create_user_errors_are_shown_next_to_the_field(
    fields: dict[str, str],
    errors: dict[str, str],
    status: int,
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    tree = await create_tree(session)
    await create_user(session, "taken", Role.CITIZEN)
    await _signed_in(client, session, Role.STREET_ADMIN, tree, unit=tree.street)
    token = csrf_from(await _new_user_form(client))
    before = await _count_users(session)
    base = {"username": "newcomer", "display_name": "新人", "password": "long-password-1"}
    response = await _submit(client, token, **((base if fields else {}) | fields))
    assert response.status_code == status
    for name, message in errors.items():
        assert field_error(response.text, name) == message
    assert response.text.count('class="field-error"') == len(errors)
    assert by_testid(response.text, "form-error") == "未保存任何内容，请更正下方标出的字段。"
    assert await _count_users(session) == before
    for name, value in fields.items():
        if name in errors or name == "password":
            continue
        kept = (
            f'value="{value}" selected' if name.endswith(("role", "_code")) else f'value="{value}"'
        )
        assert kept in response.text, name


async def test_service_refusals_map_to_fields(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    me = await _signed_in(client, session, Role.DISTRICT_ADMIN, tree, unit=tree.district)
    await service.assign_role(session, me, Role.GRID_WORKER, now=NOW, unit=tree.city)
    await session.commit()
    token = csrf_from(await _new_user_form(client))
    base = {"username": "newcomer", "display_name": "新人", "password": "long-password-1"}
    cases = [
        (
            {"role": "street_admin", "unit_code": "211104004001"},
            "unit_code",
            "镇街管理员只能绑定到街道或镇。",
        ),
        (
            {"role": "district_admin", "unit_code": "211104004000"},
            "unit_code",
            "区管理员只能绑定到区县。",
        ),
        (
            {"role": "grid_worker", "unit_code": "211104004001", "department_code": "211104-CGJ"},
            "unit_code",
            "请选择单位或部门，不能同时选择。",
        ),
        (
            {"role": "intake", "department_code": "211104-CGJ"},
            "department_code",
            "该角色应绑定到单位，而不是部门。",
        ),
        (
            {"role": "grid_worker", "unit_code": "211102000000"},
            "unit_code",
            "该单位不在您的管辖范围内。",
        ),
    ]
    before = await _count_users(session)
    for fields, name, message in cases:
        response = await _submit(client, token, **base, **fields)
        assert response.status_code in (403, 422), fields
        assert field_error(response.text, name) == message, fields
    assert await _count_users(session) == before
