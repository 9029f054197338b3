"""Browser security of the pages: CSRF on every form route, headers, error pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from tests.factories.org import create_tree, create_user
from tests.web.support import HTML, by_testid, sign_in
from wenming.core.deps import SAFE_METHODS
from wenming.org.roles import Role
from wenming.web.forms import csrf_form
from wenming.web.headers import CONTENT_SECURITY_POLICY


def api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """Every endpoint of the app, looking inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def depends_on(dependant: Dependant, call: object) -> bool:
    """Whether a dependency tree contains a given callable."""
    return any(d.call is call or depends_on(d, call) for d in dependant.dependencies)


def page_write_routes(app: FastAPI) -> list[APIRoute]:
    """The page routes that change something: every method but GET/HEAD/OPTIONS, outside /api
    and /open311 (machine interfaces: the API checks CSRF in ``current_actor`` whenever a cookie
    signs a write; Open311 writes are signed by an API key in the request, never by a cookie)."""
    return [
        route
        for route in api_routes(app.routes)
        if not route.path.startswith(("/api/", "/open311/")) and set(route.methods) - SAFE_METHODS
    ]


def test_every_page_form_route_checks_the_csrf_token(app: FastAPI) -> None:
    routes = page_write_routes(app)
    assert sorted(r.path for r in routes) == [
        "/account/api-keys",
        "/account/api-keys/{key_id}/revoke",
        "/cases/new",
        "/cases/{code}/actions/{action}",
        "/cases/{code}/photos/{key}/{change}",
        "/evaluation/checklist/{point_id}/items/{item_code}",
        "/evaluation/participants/{code}/materials/{round_code}/{item_code}",
        "/hotline",
        "/inbox/read-all",
        "/inbox/{notification_id}/read",
        "/login",
        "/logout",
        "/org/people",
    ]
    unprotected = [r.path for r in routes if not depends_on(r.dependant, csrf_form)]
    assert unprotected == []


async def test_pages_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/login", headers=HTML)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert response.headers["cache-control"] == "no-store"


async def test_pages_load_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    html = (await client.get("/login", headers=HTML)).text
    assert "http://" not in html
    assert "https://" not in html
    assert " style=" not in html
    assert "<style" not in html
    assert "<script>" not in html
    assert '<script src="/static/app.js?v=' in html


async def test_static_assets_are_served(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    assert "https://" not in css.text
    js = await client.get("/static/app.js")
    assert js.status_code == 200
    assert "https://" not in js.text


async def test_unknown_page_is_an_html_404_in_the_layout(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert by_testid(response.text, "error-title") == "未找到"
    assert '<html lang="zh-CN">' in response.text


async def test_api_errors_stay_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/org/units", headers=HTML)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_forbidden_page_is_an_html_403(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tree = await create_tree(session)
    user = await create_user(session, "gw", Role.GRID_WORKER, unit=tree.community)
    await sign_in(client, session, user)
    response = await client.get("/org/people/new", headers=HTML)
    assert response.status_code == 403
    assert by_testid(response.text, "error-title") == "无权操作"
    assert 'data-testid="current-role">网格员<' in response.text


async def test_revoking_someone_elses_key_is_a_404_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, "citizen", Role.CITIZEN)
    await sign_in(client, session, user)
    page = await client.get("/account/api-keys", headers=HTML)
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = await client.post(
        "/account/api-keys/999/revoke", data={"csrf_token": token}, headers=HTML
    )
    assert response.status_code == 404
    assert by_testid(response.text, "error-title") == "未找到"
