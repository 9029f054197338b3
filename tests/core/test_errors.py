"""Every failure leaves as RFC 9457 problem+json with a message that says what to fix."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.org import PASSWORD, bearer_headers, create_tree, create_user
from wenming.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    OutOfScope,
    TooManyAttempts,
    WenmingError,
)
from wenming.org.models import AdminUnit, User
from wenming.org.roles import Role

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    """The response is a complete problem document of this status and type."""
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["type"] == type_
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    return body


@pytest.fixture
async def admin_headers(session: AsyncSession) -> dict[str, str]:
    """A street admin of S1 in the standard tree, committed."""
    tree = await create_tree(session)
    admin = await create_user(session, "admin", Role.STREET_ADMIN, unit=tree.street)
    headers = await bearer_headers(session, admin)
    await session.commit()
    return headers


def new_user(**overrides: object) -> dict[str, object]:
    """A valid POST /api/v1/org/users body, with overrides."""
    body: dict[str, object] = {
        "username": "newbie",
        "display_name": "新人",
        "password": PASSWORD,
        "role": "grid_worker",
        "unit_code": "211104004001",
    }
    body.update(overrides)
    return body


async def test_a_body_that_is_not_json_names_the_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/org/users",
        content=b'{"username": ',
        headers={**admin_headers, "content-type": "application/json"},
    )
    body = assert_problem(response, 422, "/problems/invalid-input")
    assert body["errors"] == [
        {"field": "body", "message": "The request body is not valid JSON (near character 13)."}
    ]
    assert body["detail"] == "Fix these fields: body."


async def test_malformed_fields_are_named(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = await client.post(
        "/api/v1/org/users", json=new_user(username=None), headers=admin_headers
    )
    body = assert_problem(missing, 422, "/problems/invalid-input")
    assert body["errors"] == [{"field": "username", "message": "Input should be a valid string"}]
    assert body["detail"] == "Fix these fields: username."

    several = await client.post(
        "/api/v1/org/users",
        json={"username": "x" * 65, "role": "mayor", "password": "short"},
        headers=admin_headers,
    )
    body = assert_problem(several, 422, "/problems/invalid-input")
    fields = [error["field"] for error in body["errors"]]  # type: ignore[attr-defined]
    assert fields == ["username", "display_name", "password", "role"]
    assert body["detail"] == "Fix these fields: username, display_name, password, role."

    rule = await client.post(
        "/api/v1/org/users", json=new_user(username="王磊"), headers=admin_headers
    )
    body = assert_problem(rule, 422, "/problems/invalid-input")
    assert body["errors"] == [
        {
            "field": "username",
            "message": "username must be 2-64 characters: lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit",
        }
    ]


async def test_a_duplicate_username_is_a_409_and_writes_nothing(
    session: AsyncSession, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await client.post("/api/v1/org/users", json=new_user(), headers=admin_headers)
    assert first.status_code == 201
    again = await client.post(
        "/api/v1/org/users",
        json=new_user(username="NewBie", unit_code="211104004002"),
        headers=admin_headers,
    )
    body = assert_problem(again, 409, "/problems/conflict")
    assert body["detail"] == "username 'newbie' is taken; choose another"
    assert body["field"] == "username"
    count = select(func.count()).select_from(User).where(User.username == "newbie")
    assert await session.scalar(count) == 1


async def test_out_of_scope_is_a_403(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/org/users", json=new_user(unit_code="211104005001"), headers=admin_headers
    )
    body = assert_problem(response, 403, "/problems/out-of-scope")
    assert body["title"] == "Outside your scope"
    assert body["detail"] == (
        "Your roles (street_admin) do not allow 'manage_people' on unit 211104005001: it lies "
        "outside the units and departments assigned to you."
    )


async def test_an_unknown_unit_is_a_404_and_a_malformed_code_a_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    unknown = await client.get("/api/v1/org/units/211104009000", headers=admin_headers)
    assert assert_problem(unknown, 404, "/problems/not-found")["detail"] == (
        "No unit with code 211104009000."
    )
    malformed = await client.get("/api/v1/org/units/21110400", headers=admin_headers)
    body = assert_problem(malformed, 422, "/problems/invalid-input")
    assert body["errors"] == [
        {"field": "code", "message": "String should match pattern '^[0-9]{12}$'"}
    ]


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/org/units/211104004000/extra", "/no-such-page"]
)
async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient, path: str) -> None:
    body = assert_problem(await client.get(path), 404, "/problems/http-404")
    assert body["detail"] == f"Nothing at {path}."
    assert body["title"] == "Not found"


async def test_a_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/org/units")
    body = assert_problem(response, 405, "/problems/http-405")
    assert body["title"] == "Method not allowed"
    assert body["detail"] == "DELETE is not allowed on /api/v1/org/units; use GET."
    assert response.headers["allow"] == "GET"
    put = await client.put("/api/v1/auth/token", data={"username": "x", "password": "y"})
    assert assert_problem(put, 405, "/problems/http-405")["detail"] == (
        "PUT is not allowed on /api/v1/auth/token; use POST."
    )


async def test_anonymous_is_a_401_problem_with_a_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/org/users")
    body = assert_problem(response, 401, "/problems/not-authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == (
        "Sign in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token, an "
        "'X-API-Key' header, or use the web login."
    )


ODD_REQUESTS: list[tuple[str, str, object]] = [
    ("GET", "/api/v1/org/units/abc%00def", None),
    ("GET", "/api/v1/org/units/" + "9" * 5000, None),
    ("GET", "/api/v1/org/units/２１１１０４００４０００", None),
    ("GET", "/api/v1/org/units?parent=a%00b", None),
    ("GET", "/api/v1/org/departments/%E5%9F%8E%00", None),
    ("GET", "/api/v1/org/users?unit=a%00b", None),
    ("GET", "/api/v1/org/users?department=" + "x" * 500, None),
    ("GET", "/api/v1/org/users/99999999999999999999999", None),
    ("GET", "/api/v1/org/users/-1", None),
    ("GET", "/api/v1/org/users/0", None),
    ("GET", "/api/v1/org/users/1.5", None),
    ("GET", "/api/v1/org/users/abc", None),
    ("GET", "/api/v1/org/users?offset=99999999999999999999999", None),
    ("GET", "/api/v1/org/users?offset=-1", None),
    ("GET", "/api/v1/org/users?limit=0", None),
    ("GET", "/api/v1/org/users?limit=100000", None),
    ("GET", "/api/v1/org/users?limit=abc", None),
    ("PATCH", "/api/v1/org/units/211104004000", {"name": "a\u0000b"}),
    ("PATCH", "/api/v1/org/units/211104004000", {"name": "x" * 100_000}),
    ("PATCH", "/api/v1/org/units/211104004000", {"name": ["list"]}),
    ("PATCH", "/api/v1/org/units/211104004000", ["not", "an", "object"]),
    ("POST", "/api/v1/org/users", new_user(display_name="x\u0000y")),
    ("POST", "/api/v1/org/users", new_user(unit_code="2111\u00000")),
    ("POST", "/api/v1/org/users", new_user(department_code="\u0000\u0000")),
    ("POST", "/api/v1/org/users", new_user(phone="\u0000138")),
    ("POST", "/api/v1/org/users", new_user(username="😀😀")),
    ("POST", "/api/v1/org/users", new_user(username="a" * 10_000)),
    ("POST", "/api/v1/org/users", new_user(password="\u0000" * 300)),
    ("POST", "/api/v1/org/users", new_user(role=None)),
    ("POST", "/api/v1/org/users", "just a string"),
    ("POST", "/api/v1/auth/api-keys", {"name": "a\u0000"}),
    ("DELETE", "/api/v1/auth/api-keys/99999999999999999999999", None),
    ("DELETE", "/api/v1/auth/api-keys/-5", None),
]


async def test_odd_input_is_a_422_never_a_500(
    session: AsyncSession, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Huge strings, NUL and other control characters, non-ASCII digits, out-of-range and
    non-integer ids and offsets: each is a 422 naming a field, and nothing is written."""
    users_before = await session.scalar(select(func.count()).select_from(User))
    unit_name = await session.scalar(select(AdminUnit.name).where(AdminUnit.code == "211104004000"))
    answers = []
    for method, path, body in ODD_REQUESTS:
        response = await client.request(method, path, json=body, headers=admin_headers)
        problem = response.json()
        answers.append(
            (
                method,
                path[:60],
                response.status_code,
                response.headers["content-type"],
                problem.get("type"),
                bool(problem.get("errors")),
            )
        )
    assert answers == [
        (method, path[:60], 422, PROBLEM_JSON, "/problems/invalid-input", True)
        for method, path, _body in ODD_REQUESTS
    ]
    assert await session.scalar(select(func.count()).select_from(User)) == users_before
    assert (
        await session.scalar(select(AdminUnit.name).where(AdminUnit.code == "211104004000"))
        == unit_name
    )


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"username": "x" * 65, "password": "p"}, "username"),
        ({"username": "a\u0000", "password": "p"}, "username"),
        ({"username": "abc", "password": "p" * 1025}, "password"),
        ({"username": "", "password": ""}, "username,password"),
    ],
)
async def test_odd_sign_in_forms_are_422(
    client: httpx.AsyncClient, form: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/auth/token", data=form)
    body = assert_problem(response, 422, "/problems/invalid-input")
    assert [error["field"] for error in body["errors"]] == field.split(",")  # type: ignore[attr-defined]


def test_error_kinds_carry_their_status() -> None:
    assert [
        (kind.status, kind.slug)
        for kind in (
            WenmingError,
            InvalidInput,
            NotAuthenticated,
            Forbidden,
            OutOfScope,
            NotFound,
            Conflict,
            TooManyAttempts,
        )
    ] == [
        (400, "bad-request"),
        (422, "invalid-input"),
        (401, "not-authenticated"),
        (403, "forbidden"),
        (403, "out-of-scope"),
        (404, "not-found"),
        (409, "conflict"),
        (429, "too-many-attempts"),
    ]
    assert InvalidInput("name must not be empty", field="name").problem("/x") == {
        "type": "/problems/invalid-input",
        "title": "Invalid input",
        "status": 422,
        "detail": "name must not be empty",
        "instance": "/x",
        "errors": [{"field": "name", "message": "name must not be empty"}],
    }
    assert TooManyAttempts("wait", retry_after=7).problem()["retry_after"] == 7
