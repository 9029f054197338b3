"""Parallel guesses for one username are counted one after the other: none slips past the
slow-down, none is lost. Runs with real commits in a throw-away database of each backend."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import BACKENDS, NOW, TEST_SECRET
from tests.core.scratch import scratch_database
from tests.factories.org import create_user
from wenming.auth import service
from wenming.auth.models import LoginThrottle
from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.errors import TooManyAttempts
from wenming.core.migrate import upgrade

PARALLEL_GUESSES = 6


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated throw-away database holding one user, with a real connection pool."""
    with scratch_database(request.param, "race", tmp_path) as url:
        upgrade(url)
        settings = Settings(
            env=Environment.TEST, secret_key=TEST_SECRET, database_url=url, db_pool_size=8
        )
        db = Database(settings)
        async with db.session() as session:
            await create_user(session, "wanglei")
        try:
            yield db
        finally:
            await db.dispose()


async def guess(db: Database, settings: Settings) -> str:
    """One wrong-password sign-in through its own unit of work, as the API edge runs it."""
    async with db.session(write=True) as session:
        try:
            await service.authenticate(session, "wanglei", "wrong-password", NOW, settings)
        except service.LoginRefused:
            return "refused"
        except TooManyAttempts:
            return "too many"
    return "signed in"


async def test_parallel_guesses_are_counted_one_by_one(database: Database) -> None:
    settings = Settings(env=Environment.TEST, secret_key=TEST_SECRET, login_free_failures=3)
    outcomes = await asyncio.gather(*(guess(database, settings) for _ in range(PARALLEL_GUESSES)))
    assert Counter(outcomes) == {"refused": 3, "too many": PARALLEL_GUESSES - 3}
    async with database.session(write=False) as session:
        row = await session.scalar(select(LoginThrottle))
    assert row is not None
    assert (row.username, row.failures) == ("wanglei", 3)
