"""Shared code for page tests: CSRF tokens from rendered forms, signing in, reading page parts."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import NOW
from wenming.auth.service import SESSION_KIND_WEB, issue_session
from wenming.core.deps import SESSION_COOKIE
from wenming.org.models import User

HTML = {"Accept": "text/html,application/xhtml+xml"}
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a rendered page's forms."""
    found = _CSRF_INPUT.search(html)
    assert found is not None, "the page has no form with a csrf_token"
    return unescape(found.group(1))


async def page_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """Load a page (which sets the CSRF cookie) and return its form token."""
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


async def sign_in(client: httpx.AsyncClient, session: AsyncSession, user: User) -> str:
    """Give the client a live browser session for a user without the password round-trip."""
    issued = await issue_session(session, user.id, SESSION_KIND_WEB, NOW, timedelta(hours=1))
    await session.commit()
    client.cookies.set(SESSION_COOKIE, issued.token)
    return issued.token


async def post_login(
    client: httpx.AsyncClient, username: str, password: str, next_path: str = ""
) -> httpx.Response:
    """Submit the sign-in form the way a browser does."""
    token = await page_token(client, "/login")
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        headers=HTML,
    )


def by_testid(html: str, name: str) -> str:
    """The inner HTML of the element carrying ``data-testid=name`` (first match, one line)."""
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', html, re.S)
    assert found is not None, f"no element with data-testid={name!r}"
    return unescape(found.group(1).strip())


def field_error(html: str, name: str) -> str:
    """The message shown under a form field."""
    found = re.search(rf'<p class="field-error" id="{name}-error" role="alert">(.*?)</p>', html)
    assert found is not None, f"no error shown for field {name!r}"
    return unescape(found.group(1))
