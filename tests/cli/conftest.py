"""Command-line tests: each test gets its own data directory and database, configured through
the environment exactly as an operator would; commands commit for real."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from tests.conftest import BACKENDS, PG_URL, TEST_SECRET
from wenming.cli.main import app
from wenming.core.config import Settings
from wenming.core.db import sync_url

CLI_SCHEMA = "wenming_cli"
T = TypeVar("T")


def in_own_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a function in a thread of its own and return its result.

    Commands call ``asyncio.run``, which refuses to start inside a thread whose event loop is
    running; a session fixture may leave one running in the main thread (Playwright's sync API
    does), so commands and the other async calls of these tests run in a fresh thread.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def recreate_schema(schema: str, *, drop_only: bool = False) -> None:
    """Drop (and unless told otherwise re-create) a schema of the test PostgreSQL database."""
    engine = create_engine(sync_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if not drop_only:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


@dataclass
class Cli:
    """Runs ``wenming`` in-process and reads the database it wrote to."""

    data_dir: Path
    backend: str

    def __call__(self, *args: str, input: str | None = None) -> Result:
        """Invoke the command with arguments; standard input is not a terminal."""
        return in_own_thread(
            CliRunner().invoke,
            app,
            list(args),
            input=input,
            catch_exceptions=False,
            prog_name="wenming",
        )

    @property
    def database_url(self) -> str:
        """The URL the commands use, as the configuration resolves it."""
        return Settings().resolved_database_url

    def row(self, sql: str, **params: Any) -> tuple[Any, ...] | None:
        """The first row of a query on the database the commands wrote."""
        engine = create_engine(sync_url(self.database_url))
        try:
            with engine.connect() as connection:
                found = connection.execute(text(sql), params).first()
                return tuple(found) if found is not None else None
        finally:
            engine.dispose()

    def scalar(self, sql: str, **params: Any) -> Any:
        """One value from the database the commands wrote."""
        found = self.row(sql, **params)
        return found[0] if found is not None else None

    def execute(self, sql: str, **params: Any) -> None:
        """Change the database behind the commands' back (to set up a case)."""
        engine = create_engine(sync_url(self.database_url))
        try:
            with engine.begin() as connection:
                connection.execute(text(sql), params)
        finally:
            engine.dispose()

    def count(self, table: str) -> int:
        """Rows in a table."""
        return int(self.scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names


def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory without ``.env`` and no WENMING_ variables but the test's own."""
    for name in list(os.environ):
        if name.startswith("WENMING_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("WENMING_DATA_DIR", str(data_dir))
    monkeypatch.setenv("WENMING_SECRET_KEY", TEST_SECRET)
    return data_dir


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The command line on a fresh embedded SQLite database in a temporary data directory."""
    return Cli(data_dir=_clean_environment(monkeypatch, tmp_path), backend="sqlite")


@pytest.fixture(params=BACKENDS)
def cli_any(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cli]:
    """The command line on a fresh database of each backend (PostgreSQL: an empty schema)."""
    data_dir = _clean_environment(monkeypatch, tmp_path)
    if request.param == "postgresql":
        recreate_schema(CLI_SCHEMA)
        # libpq reads PGOPTIONS: every connection of the commands works in the schema of its own,
        # so what they commit never meets the rolled-back tests in the public schema.
        monkeypatch.setenv("PGOPTIONS", f"-c search_path={CLI_SCHEMA}")
        monkeypatch.setenv("WENMING_DATABASE_URL", PG_URL)
        yield Cli(data_dir=data_dir, backend="postgresql")
        recreate_schema(CLI_SCHEMA, drop_only=True)
    else:
        yield Cli(data_dir=data_dir, backend="sqlite")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded database seeded by ``wenming demo`` once; tests copy it instead of reseeding."""
    directory = tmp_path_factory.mktemp("demo-template")
    with pytest.MonkeyPatch.context() as monkeypatch:
        data_dir = _clean_environment(monkeypatch, directory)
        result = Cli(data_dir=data_dir, backend="sqlite")("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    return data_dir


@pytest.fixture
def demo_cli(cli: Cli, seeded_template: Path) -> Cli:
    """The command line on a fresh copy of the seeded demo district (embedded SQLite)."""
    shutil.copytree(seeded_template, cli.data_dir)
    return cli
