"""``Database.bulk_writer``: a long series of writes on one SQLite connection with its own
settings, which the pool never sees afterwards; ordinary write sessions elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS, TEST_SECRET
from tests.core.scratch import scratch_database
from wenming.core.config import Environment, Settings
from wenming.core.db import Database

BIG_CACHE = -262_144


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request.param, "bulk", tmp_path) as scratch:
        yield scratch


def one_connection(url: str, tmp_path: Path) -> Database:
    """A database whose pool holds a single connection, so every session reuses it."""
    return Database(
        Settings(
            env=Environment.TEST,
            secret_key=TEST_SECRET,
            database_url=url,
            db_pool_size=1,
            data_dir=tmp_path / "data",
        )
    )


async def pragmas(db: Database) -> tuple[int, int]:
    async with db.session(write=False) as session:
        cache = (await session.execute(text("PRAGMA cache_size"))).scalar_one()
        checkpoint = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
    return int(cache), int(checkpoint)


async def test_the_series_gets_its_settings_and_the_pool_gets_the_defaults_back(
    url: str, tmp_path: Path
) -> None:
    db = one_connection(url, tmp_path)
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE bulk_row (n INTEGER)"))
        before = await pragmas(db) if db.backend == "sqlite" else None
        async with db.bulk_writer({"cache_size": BIG_CACHE}, checkpoint=True) as opener:
            for n in range(3):
                async with opener() as session:
                    await session.execute(text("INSERT INTO bulk_row (n) VALUES (:n)"), {"n": n})
                    if db.backend == "sqlite":
                        inside = (
                            (await session.execute(text("PRAGMA cache_size"))).scalar_one(),
                            (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one(),
                        )
                        assert inside == (BIG_CACHE, 0)
        async with db.session(write=False) as session:
            rows = (await session.execute(text("SELECT n FROM bulk_row ORDER BY n"))).scalars()
            assert list(rows) == [0, 1, 2]
        if db.backend == "sqlite":
            assert before == (-2000, 1000)
            assert await pragmas(db) == before
    finally:
        await db.dispose()


async def test_a_series_that_fails_discards_its_connection(url: str, tmp_path: Path) -> None:
    db = one_connection(url, tmp_path)
    try:
        with pytest.raises(RuntimeError, match="stop"):
            async with db.bulk_writer({"cache_size": BIG_CACHE}, checkpoint=True) as opener:
                async with opener() as session:
                    await session.execute(text("SELECT 1"))
                raise RuntimeError("stop")
        if db.backend == "sqlite":
            assert await pragmas(db) == (-2000, 1000)
    finally:
        await db.dispose()
