"""The operational surface of the app: health check, OpenAPI document and interactive docs."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET
from wenming import __version__
from wenming.core.config import Environment, Settings
from wenming.main import create_app


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


def test_start_up_objects_are_frozen_everywhere_but_in_tests_unless_configured() -> None:
    assert Settings(env=Environment.TEST, secret_key=TEST_SECRET).freezes_startup_objects is False
    production = Settings(env=Environment.PRODUCTION, secret_key=TEST_SECRET)
    assert production.freezes_startup_objects is True
    assert (
        production.model_copy(update={"freeze_startup_objects": False}).freezes_startup_objects
        is False
    )


async def test_a_started_app_exempts_what_it_holds_from_later_collections(
    tmp_path: Path,
) -> None:
    settings = Settings(
        env=Environment.TEST,
        secret_key=TEST_SECRET,
        database_url=f"sqlite:///{tmp_path / 'freeze.sqlite3'}",
        freeze_startup_objects=True,
    )
    app = create_app(settings)
    assert gc.get_freeze_count() == 0
    assert any(held is app.state for held in gc.get_objects())
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
            # Frozen objects live outside the collected generations.
            assert not any(held is app.state for held in gc.get_objects())
    finally:
        gc.unfreeze()
