"""A committed world in a throw-away database with a real connection pool, for tests of races
and of writes that must really commit (concurrency, group commit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import NOW, TEST_SECRET
from tests.core.scratch import scratch_database
from tests.factories.cases import World, create_world
from wenming.cases.reference import sync_reference_data
from wenming.core.config import Environment, Settings
from wenming.core.db import Database
from wenming.core.migrate import upgrade


@dataclass
class Committed:
    """The database, its settings and the committed world."""

    db: Database
    settings: Settings
    world: World


@asynccontextmanager
async def committed_world(backend: str, name: str, directory: Path) -> AsyncIterator[Committed]:
    """A migrated database of ``backend`` with the reference data and the standard world, each
    committed; the pool holds 8 connections."""
    with scratch_database(backend, name, directory) as url:
        upgrade(url)
        settings = Settings(
            env=Environment.TEST,
            secret_key=TEST_SECRET,
            database_url=url,
            db_pool_size=8,
            data_dir=directory / "data",
        )
        db = Database(settings)
        try:
            async with db.session(write=True) as session:
                await sync_reference_data(session, NOW)
            async with db.session(write=True) as session:
                world = await create_world(session)
            yield Committed(db, settings, world)
        finally:
            await db.dispose()
