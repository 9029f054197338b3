"""Test harness: a migrated SQLite and (when configured) PostgreSQL, one rolled-back transaction per
test, an injectable clock, and an HTTP client bound to the test's transaction."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from wenming.cases.reference import sync_reference_data
from wenming.core.clock import FrozenClock
from wenming.core.config import Environment, Settings
from wenming.core.db import (
    Database,
    WriteRunner,
    create_engine_for,
    session_runner,
    sync_url,
)
from wenming.core.deps import (
    SessionOpener,
    get_read_session_opener,
    get_session,
    get_session_opener,
    get_write_runner,
)
from wenming.core.migrate import upgrade
from wenming.core.security import use_cheapest_password_hashing
from wenming.main import create_app

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PG_URL = os.environ.get("WENMING_TEST_DATABASE_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() == "true"

BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    # Argon2 at production cost would dominate the run; hashes stay real argon2id.
    use_cheapest_password_hashing()
    if IN_CI and not PG_URL:
        raise pytest.UsageError(
            "CI=true requires WENMING_TEST_DATABASE_URL: the suite must also run on PostgreSQL."
        )


def reset_postgres(url: str) -> None:
    """Empty the dedicated test database so the migrations build it from nothing."""
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of each backend, built by running the migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wenming-test.sqlite3'}"
    else:
        url = PG_URL
        reset_postgres(url)
    upgrade(url)
    asyncio.run(load_reference_data(url))
    return url


async def load_reference_data(url: str) -> None:
    """Commit the packaged categories, limits and calendar once, as `wenming db upgrade` does."""
    engine = create_engine_for(url, pool_size=1)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await sync_reference_data(session, NOW)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine_for(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """The test's session: commits become savepoint releases inside the outer transaction."""
    db_session = AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield db_session
    await db_session.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env=Environment.TEST,
        secret_key=TEST_SECRET,
        database_url=database_url,
        data_dir=tmp_path / "data",
        db_pool_size=2,
        # Answers from memory are tested on purpose (tests/geo/test_lookup_api.py); elsewhere
        # every lookup re-reads, because a frozen clock never lets a snapshot age.
        geo_lookup_max_staleness_ms=0,
        intake_max_staleness_ms=0,
    )


@pytest.fixture
def app(settings: Settings, session: AsyncSession, clock: FrozenClock) -> Iterator[FastAPI]:
    """The app, with every request's unit of work bound to the test's transaction."""
    database = Database(settings)
    application = create_app(settings, database=database, clock=clock)

    # Each request is a savepoint of its own: a refused request undoes its own work only, and
    # objects the test holds stay loaded (rolling back the whole session would expire them all).
    async def _test_session() -> AsyncIterator[AsyncSession]:
        request = await session.begin_nested()
        try:
            yield session
            await request.commit()
        except Exception:
            await request.rollback()
            raise

    @asynccontextmanager
    async def _open_test_session() -> AsyncIterator[AsyncSession]:
        request = await session.begin_nested()
        try:
            yield session
            await request.commit()
        except Exception:
            await request.rollback()
            raise

    async def _test_opener() -> SessionOpener:
        return _open_test_session

    application.dependency_overrides[get_session] = _test_session
    application.dependency_overrides[get_session_opener] = _test_opener
    application.dependency_overrides[get_read_session_opener] = _test_opener

    async def _test_runner() -> WriteRunner:
        return session_runner(_open_test_session)

    application.dependency_overrides[get_write_runner] = _test_runner
    yield application
    application.dependency_overrides.clear()


@pytest.fixture
async def client(app: FastAPI, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.db.dispose()
