"""The operational surface of the app: health check, OpenAPI document and interactive docs."""

from __future__ import annotations

import httpx

from wenming import __version__


async def test_healthz_answers_with_the_database_status(
    client: httpx.AsyncClient, backend: str
) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "database": backend,
        "database_status": "ok",
    }


API_PATHS = {
    "/api/v1/auth/token": {"post"},
    "/api/v1/auth/logout": {"post"},
    "/api/v1/auth/me": {"get"},
    "/api/v1/auth/api-keys": {"get", "post"},
    "/api/v1/auth/api-keys/{key_id}": {"delete"},
    "/api/v1/org/units": {"get"},
    "/api/v1/org/units/{code}": {"get", "patch"},
    "/api/v1/org/departments": {"get"},
    "/api/v1/org/departments/{code}": {"get", "patch"},
    "/api/v1/org/users": {"get", "post"},
    "/api/v1/org/users/{user_id}": {"get"},
    "/healthz": {"get"},
}


async def test_openapi_lists_the_auth_and_org_paths(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["version"] == __version__
    paths = {
        path: set(operations)
        for path, operations in document["paths"].items()
        if path.startswith(("/api/v1/auth/", "/api/v1/org/")) or path == "/healthz"
    }
    assert paths == API_PATHS
    token = document["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert list(token) == ["application/x-www-form-urlencoded"]
    unit_code = document["paths"]["/api/v1/org/units/{code}"]["get"]["parameters"][0]
    assert unit_code["schema"]["pattern"] == "^[0-9]{12}$"


async def test_docs_are_served_as_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert "SwaggerUIBundle" in response.text
