"""What every command shares: reading the configuration, running a unit of work, failing clearly.

A command is an edge: it opens one database session, lets the services flush, and commits at the
end (or rolls back on any error). Refusals print one message naming what to fix and exit with
status 2; nothing is half-written.
"""

from __future__ import annotations

import asyncio
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.config import ConfigurationError, Settings
from wenming.core.db import Database, is_sqlite, sync_url
from wenming.core.errors import WenmingError
from wenming.core.migrate import alembic_config

T = TypeVar("T")

REFUSED = 2
# How the services' field names read as command-line options.
FIELD_OPTIONS: dict[str, str] = {
    "username": "--username",
    "role": "--role",
    "unit_code": "--unit",
    "department_code": "--department",
    "password": "--password",
    "phone": "--phone",
    "display_name": "--display-name",
    "name": "--label",
}


def new_app(help_text: str) -> typer.Typer:
    """A Typer app with the house settings: no locals in tracebacks, help on a bare call."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
    )


def fail(message: str) -> NoReturn:
    """Print a refusal on standard error and exit with status 2."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(REFUSED)


def report_refused_import(source: str, problems: Sequence[object]) -> NoReturn:
    """Print every problem of a refused import, each prefixed by its source, then exit with 2."""
    for problem in problems:
        typer.echo(f"{source} {problem}", err=True)
    count = len(problems)
    typer.echo(
        f"Nothing was imported: {count} problem{'s' if count != 1 else ''}. "
        "Fix them and run the import again.",
        err=True,
    )
    raise typer.Exit(REFUSED)


def load_settings() -> Settings:
    """The configuration from the environment and ``.env``; refuses an unusable one."""
    try:
        return Settings()
    except ConfigurationError as exc:
        fail(str(exc))
    except ValidationError as exc:
        problems = "; ".join(
            f"WENMING_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        fail(f"the configuration is invalid: {problems}")


def shown_url(settings: Settings) -> str:
    """The database URL for messages, with any password hidden."""
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def describe(error: WenmingError) -> str:
    """A domain error as a command-line message, naming the option to fix when there is one."""
    field = getattr(error, "field", None) or error.extensions.get("field")
    option = FIELD_OPTIONS.get(field) if isinstance(field, str) else None
    return f"{option}: {error.detail}" if option else error.detail


def run_in_session(
    settings: Settings,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    write: bool = True,
    reraise: tuple[type[WenmingError], ...] = (),
) -> T:
    """Run async work in one session that commits on success; refusals exit with status 2.

    Errors of the ``reraise`` types propagate for the command to report in its own way.
    """

    async def main() -> T:
        database = Database(settings)
        try:
            async with database.session(write=write) as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except reraise:
        raise
    except WenmingError as exc:
        fail(describe(exc))
    except DBAPIError as exc:
        fail(f"the database at {shown_url(settings)} refused the work: {exc.orig}")


def head_revision(settings: Settings) -> str:
    """The newest migration this version of Wenming ships."""
    script = ScriptDirectory.from_config(alembic_config(settings.resolved_database_url))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("the packaged migrations have no head revision")
    return head


def current_revision(settings: Settings) -> str | None:
    """The migration the database is at; None for an empty or missing database."""
    url = settings.resolved_database_url
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:" and not Path(database).exists():
            return None
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as exc:
        fail(f"cannot reach the database at {shown_url(settings)}: {exc.orig}")
    finally:
        engine.dispose()


def require_current_schema(settings: Settings) -> None:
    """Refuse to work on a database whose schema is missing or older than the code."""
    current = current_revision(settings)
    head = head_revision(settings)
    if current is None:
        fail(
            f"the database at {shown_url(settings)} has no Wenming schema yet; "
            "run `wenming db upgrade` first (or `wenming demo` for the demo district)"
        )
    if current != head:
        fail(
            f"the database at {shown_url(settings)} is at schema revision {current}, but this "
            f"version of Wenming needs {head}; run `wenming db upgrade` first"
        )


def read_secret_line() -> str:
    """One line from standard input without its line ending (for scripts piping a password)."""
    return sys.stdin.readline().rstrip("\r\n")


def display_width(text: str) -> int:
    """Columns a text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table whose columns line up with Chinese and Latin text alike."""
    widths = [max(display_width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell + " " * (w - display_width(cell)) for cell, w in zip(cells, widths, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
