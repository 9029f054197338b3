"""Signing in and out through the pages: messages, throttling, cookies, CSRF and redirects."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import PASSWORD, create_tree, create_user
from tests.web.support import (
    HTML,
    by_testid,
    csrf_from,
    field_error,
    page_token,
    post_login,
    sign_in,
)
from wenming.auth.models import AuthSession, LoginThrottle
from wenming.core.clock import FrozenClock
from wenming.core.deps import SESSION_COOKIE
from wenming.org.roles import Role


async def _grid_worker(session: AsyncSession) -> None:
    """The standard tree with one grid worker ``gw``, committed."""
    tree = await create_tree(session)
    await create_user(session, "gw", Role.GRID_WORKER, unit=tree.community)
    await session.commit()


async def _web_sessions(session: AsyncSession) -> int:
    """How many session rows exist."""
    return await session.scalar(select(func.count()).select_from(AuthSession)) or 0


async def test_login_page_renders_in_chinese_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/login", headers=HTML)
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    assert '<h1 id="login-heading">登录文明平台</h1>' in response.text
    assert "wm_csrf" in response.cookies


async def test_login_success_sets_a_safe_session_cookie_and_goes_home(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    response = await post_login(client, "GW", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "max-age=43200" in attributes
    assert "secure" not in attributes
    home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert by_testid(home.text, "home-heading") == "网格员工作台"


async def test_login_goes_to_the_relative_next_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    response = await post_login(client, "gw", PASSWORD, next_path="/org/units")
    assert response.status_code == 303
    assert response.headers["location"] == "/org/units"


async def test_login_refuses_to_redirect_off_site(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ):
        client.cookies.clear()
        response = await post_login(client, "gw", PASSWORD, next_path=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/", target


async def test_wrong_password_is_shown_at_the_form(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    response = await post_login(client, "gw", "not-the-password")
    assert response.status_code == 401
    assert by_testid(response.text, "form-error") == "用户名或密码错误。"
    assert 'value="gw"' in response.text
    assert SESSION_COOKIE not in response.cookies
    assert await _web_sessions(session) == 0


async def test_empty_fields_are_named(client: httpx.AsyncClient) -> None:
    response = await post_login(client, "", "")
    assert response.status_code == 422
    assert field_error(response.text, "username") == "请输入用户名。"
    assert field_error(response.text, "password") == "请输入密码。"


async def test_an_impossible_username_is_named_without_counting_a_failure(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for username in ("x" * 65, "gw\x00"):
        response = await post_login(client, username, "whatever-password")
        assert response.status_code == 422
        assert (
            field_error(response.text, "username") == "用户名最多 64 个字符，且不能包含控制字符。"
        )
    assert await session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


async def test_repeated_failures_show_the_wait_in_seconds(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    await _grid_worker(session)
    client.cookies.set("wm_lang", "en")
    for _ in range(2):
        refused = await post_login(client, "gw", "wrong-password")
        assert by_testid(refused.text, "form-error") == "Wrong username or password."
    third = await post_login(client, "gw", "wrong-password")
    assert third.status_code == 401
    assert by_testid(third.text, "form-error") == (
        "Wrong username or password. Further attempts are refused for 2 seconds."
    )
    blocked = await post_login(client, "gw", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "2"
    assert by_testid(blocked.text, "form-error") == (
        "Too many failed sign-ins for this account. Try again in 2 seconds."
    )
    throttle = await session.get(LoginThrottle, "gw")
    assert throttle is not None
    assert throttle.failures == 3
    clock.advance(seconds=2)
    allowed = await post_login(client, "gw", PASSWORD)
    assert allowed.status_code == 303


async def test_throttle_message_in_chinese(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    for _ in range(3):
        await post_login(client, "gw", "wrong-password")
    blocked = await post_login(client, "gw", PASSWORD)
    assert blocked.status_code == 429
    assert by_testid(blocked.text, "form-error") == "该账户登录失败次数过多，请在 2 秒后重试。"


async def test_login_without_a_valid_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    token = await page_token(client, "/login")
    for data in (
        {"username": "gw", "password": PASSWORD},
        {"username": "gw", "password": PASSWORD, "csrf_token": "0" * 64},
        {"username": "gw", "password": "wrong", "csrf_token": token + "00"},
    ):
        response = await client.post("/login", data=data, headers=HTML)
        assert response.status_code == 403
        assert by_testid(response.text, "error-title") == "表单已过期"
        assert SESSION_COOKIE not in response.cookies
    assert await _web_sessions(session) == 0
    assert await session.get(LoginThrottle, "gw") is None


async def test_token_of_another_browser_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    token = await page_token(client, "/login")
    client.cookies.clear()
    await client.get("/login", headers=HTML)
    response = await client.post(
        "/login", data={"username": "gw", "password": PASSWORD, "csrf_token": token}, headers=HTML
    )
    assert response.status_code == 403


async def test_logout_revokes_the_session_so_the_old_cookie_fails(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    await post_login(client, "gw", PASSWORD)
    old_cookie = client.cookies[SESSION_COOKIE]
    home = await client.get("/", headers=HTML)
    response = await client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert SESSION_COOKIE not in client.cookies
    row = await session.scalar(select(AuthSession))
    assert row is not None
    assert row.revoked_at is not None
    client.cookies.set(SESSION_COOKIE, old_cookie)
    again = await client.get("/", headers=HTML)
    assert again.status_code == 303
    assert again.headers["location"] == "/login"


async def test_logout_without_a_valid_token_is_refused_and_keeps_the_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    await post_login(client, "gw", PASSWORD)
    response = await client.post("/logout", data={"csrf_token": "f" * 64}, headers=HTML)
    assert response.status_code == 403
    row = await session.scalar(select(AuthSession))
    assert row is not None
    assert row.revoked_at is None
    home = await client.get("/", headers=HTML)
    assert home.status_code == 200


async def test_signed_in_visitor_skips_the_login_form(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grid_worker(session)
    await post_login(client, "gw", PASSWORD)
    response = await client.get("/login?next=/org/units", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/org/units"


async def test_protected_page_redirects_to_login_with_next(client: httpx.AsyncClient) -> None:
    response = await client.get("/org/people?page=2", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/org/people%3Fpage%3D2"
    form = await client.get(response.headers["location"], headers=HTML)
    assert 'name="next" value="/org/people?page=2"' in form.text


async def test_anonymous_home_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


async def test_a_disabled_account_is_sent_to_the_form_without_a_loop(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "gone", Role.GRID_WORKER, unit=tree.community)
    await sign_in(client, session, user)
    user.is_active = False
    await session.commit()
    response = await client.get("/org/units", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/org/units"
    form = await client.get(response.headers["location"], headers=HTML)
    assert form.status_code == 200
    assert '<h1 id="login-heading">登录文明平台</h1>' in form.text
