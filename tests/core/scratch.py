"""Throw-away databases for tests that must commit for real or start from nothing (migrations,
concurrency), so the session-wide test database is never disturbed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL
from wenming.core.db import sync_url


@contextmanager
def scratch_database(backend: str, name: str, directory: Path) -> Iterator[str]:
    """An empty database: a new SQLite file in ``directory``, or a PostgreSQL database named after
    the test database plus ``_name`` on the same server, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'{name}.sqlite3'}"
        return
    test_url = make_url(PG_URL)
    database = f"{test_url.database}_{name}"
    server = create_engine(
        sync_url(test_url.set(database="postgres").render_as_string(hide_password=False)),
        isolation_level="AUTOCOMMIT",
    )
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield test_url.set(database=database).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        server.dispose()
