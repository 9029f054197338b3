"""The application factory: routers, pages, static files and the error handler."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy import text

from wenming import __version__
from wenming.core import problems
from wenming.core.clock import Clock, SystemClock
from wenming.core.config import (
    DEFAULT_SECRET_KEY,
    Environment,
    Settings,
    get_settings,
    require_usable,
)
from wenming.core.db import Database
from wenming.core.periodic import PeriodicRunner, PeriodicTask

log = logging.getLogger("wenming")


def periodic_tasks(settings: Settings, database: Database, clock: Clock) -> list[PeriodicTask]:
    """The background jobs a serving process runs (when ``settings.periodic_tasks_active``).

    This is the one place to register a job: append a ``PeriodicTask`` built from the settings.
    """
    from wenming.cases.sweep import sweep
    from wenming.notify.delivery import delivery_task

    async def overdue_sweep() -> object:
        return await sweep(database, clock.now(), settings, clock=clock)

    tasks: list[PeriodicTask] = [
        PeriodicTask("overdue-sweep", settings.sweep_interval_seconds, overdue_sweep)
    ]
    if settings.notify_webhook_url:
        tasks.append(delivery_task(settings, database, clock))
    return tasks


def freeze_startup_objects() -> None:
    """Collect once, then exempt everything alive (modules, routes, mappers, schemas) from later
    collections: a full collection otherwise walks them all and stalls every request in the
    process for 50 to 150 ms (docs/performance.md, "Intake latency")."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build a Wenming application; tests pass their own settings, database and clock."""
    settings = settings or get_settings()
    require_usable(settings)
    if settings.env is not Environment.PRODUCTION and settings.secret_key == DEFAULT_SECRET_KEY:
        log.warning("WENMING_SECRET_KEY is the development default; never use it in production")
    owns_database = database is None
    db = database or Database(settings)

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        config: Settings = running.state.settings
        jobs = (
            periodic_tasks(config, db, running.state.clock) if config.periodic_tasks_active else []
        )
        runner = running.state.periodic = PeriodicRunner(jobs)
        runner.start()
        if config.freezes_startup_objects:
            freeze_startup_objects()
        try:
            yield
        finally:
            await runner.stop()
            if owns_database:
                await db.dispose()

    # The interactive docs are served from packaged assets: intranet deployments reach no CDN.
    app = FastAPIOffline(
        title="Wenming 文明",
        version=__version__,
        description="Civilized-city campaign and grid-based urban governance platform.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        static_url="/static/api-docs",
    )
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock or SystemClock()

    problems.install(app)

    from wenming.attachments.api import router as attachments_router
    from wenming.auth.api import router as auth_router
    from wenming.cases.api import router as cases_router
    from wenming.cases.callers_api import router as callers_router
    from wenming.cases.publication import router as publication_router
    from wenming.evaluation.api import router as evaluation_router
    from wenming.geo.api import router as geo_router
    from wenming.geo.gazetteer.api import router as gazetteer_router
    from wenming.geo.lookup_api import router as geo_lookup_router
    from wenming.notify.api import router as notify_router
    from wenming.open311.api import install as install_open311
    from wenming.org.api import router as org_router
    from wenming.phone.api import router as phone_router
    from wenming.web import app_pages
    from wenming.web import install as install_web

    app.include_router(auth_router)
    app.include_router(org_router)
    app.include_router(geo_lookup_router)
    app.include_router(gazetteer_router)
    app.include_router(geo_router)
    app.include_router(attachments_router)
    app.include_router(notify_router)
    app.include_router(callers_router)  # before /api/v1/cases/{code}
    app.include_router(cases_router)
    app.include_router(evaluation_router)
    app.include_router(phone_router)
    app.include_router(publication_router)
    install_open311(app)
    install_web(app)
    app_pages.install(app)

    @app.get("/healthz", tags=["operations"], summary="Process and database health")
    async def healthz() -> JSONResponse:
        """Whether the process runs and the database answers."""
        body: dict[str, Any] = {"status": "ok", "version": __version__, "database": db.backend}
        try:
            async with db.session(write=False) as session:
                await session.execute(text("SELECT 1"))
            body["database_status"] = "ok"
            return JSONResponse(body)
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            body.update(status="error", database_status="unavailable")
            return JSONResponse(body, status_code=503)

    return app
