"""Errors that no Open311 endpoint raises itself (a server error, a conflict found by the
database) still reach Open311 clients in the standard's error format, never as problem+json."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError

SERVER_ERROR = (
    "Something went wrong on the server; nothing was saved. "
    "The error has been logged for the administrators."
)


def add_failing_routes(app: FastAPI) -> None:
    """Routes under /open311 that fail unexpectedly, ahead of the catch-all."""

    async def boom() -> None:
        raise RuntimeError("boom")

    async def clash() -> None:
        raise IntegrityError("INSERT ...", {}, Exception("unique constraint"))

    for path, endpoint in (
        ("/open311/v2/boom.json", boom),
        ("/open311/v2/boom.xml", boom),
        ("/open311/v2/clash.json", clash),
    ):
        app.router.routes.insert(0, APIRoute(path, endpoint))


async def test_a_server_error_is_answered_in_the_standard_format(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_failing_routes(app)
    answer = await client.get("/open311/v2/boom.json")
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == [{"code": 500, "description": SERVER_ERROR}]
    as_xml = await client.get("/open311/v2/boom.xml")
    assert as_xml.status_code == 500
    root = ET.fromstring(as_xml.content)  # noqa: S314 - the answer of our own server
    assert root.tag == "errors"
    assert [(e.findtext("code"), e.findtext("description")) for e in root] == [
        ("500", SERVER_ERROR)
    ]


async def test_a_conflict_found_by_the_database_is_a_400(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_failing_routes(app)
    answer = await client.get("/open311/v2/clash.json")
    assert answer.status_code == 400
    [error] = answer.json()
    assert error["code"] == 400
    assert error["description"].startswith("The change conflicts with data stored meanwhile")


async def test_the_rest_of_the_api_still_answers_problem_json(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def boom() -> None:
        raise RuntimeError("boom")

    app.router.routes.insert(0, APIRoute("/api/v1/boom", boom))
    answer = await client.get("/api/v1/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == SERVER_ERROR
