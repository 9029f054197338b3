"""Database engines and sessions for SQLite (embedded) and PostgreSQL (scale).

The request path is asynchronous (aiosqlite / psycopg async): no request holds a threadpool
thread while it waits for the database, and SQLite writers queue in arrival order. See
docs/performance.md for the measurement behind this choice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from wenming.core.config import Settings
from wenming.core.writegate import WriteGate

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "wenming_write"
SQLITE_BUSY_TIMEOUT_MS = 5000


class Base(DeclarativeBase):
    """Declarative base of every model; constraint names are stable across both databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str | URL) -> bool:
    """Whether a URL points at SQLite."""
    return make_url(str(url)).get_backend_name() == "sqlite"


def async_url(url: str) -> URL:
    """The URL with the asynchronous driver of its backend (aiosqlite or psycopg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"Unsupported database {backend!r} in WENMING_DATABASE_URL; use sqlite:/// or postgresql://"
    )


def sync_url(url: str) -> URL:
    """The URL with the synchronous driver of its backend, used by migrations and the CLI."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"Unsupported database {backend!r} in WENMING_DATABASE_URL; use sqlite:/// or postgresql://"
    )


def configure_sqlite(sync_engine: Any) -> None:
    """Turn on WAL and foreign keys, and let write transactions take the lock up front.

    pysqlite's own transaction handling is switched off so that SAVEPOINTs work and so that a
    write transaction begins with ``BEGIN IMMEDIATE``: a deferred transaction that later tries to
    write can fail with SQLITE_BUSY at once, whatever the busy timeout.
    """

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def sqlite_gate(url: str) -> WriteGate | None:
    """The writers' gate of a SQLite database file (none for PostgreSQL or an in-memory one)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return WriteGate(Path(database).resolve(), SQLITE_BUSY_TIMEOUT_MS / 1000)


def create_engine_for(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An asynchronous engine for a canonical database URL."""
    target = async_url(url)
    if is_sqlite(target):
        database = target.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, echo=echo, pool_size=pool_size, max_overflow=0)
        configure_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(
        target, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


async def _pragma(connection: AsyncConnection, name: str, value: int | str | None = None) -> int:
    """Read (``value`` None) or set a SQLite PRAGMA on the driver's connection itself, outside any
    transaction SQLAlchemy would begin; returns the first value the PRAGMA answers."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    statement = f"PRAGMA {name}" if value is None else f"PRAGMA {name}={value}"
    if value is not None and not isinstance(value, int):
        statement = f"PRAGMA {name}({value})"
    cursor = await driver.execute(statement)
    row = await cursor.fetchone()
    await cursor.close()
    return int(row[0]) if row else 0


T = TypeVar("T")


class WriteRunner(Protocol):
    """Runs ``work(connection)`` in a write transaction and commits it (rolls back on error)."""

    def __call__(self, work: Callable[[Connection], T]) -> Awaitable[T]:
        """The work's result, once committed."""
        ...


def session_runner(
    open_session: Callable[[], AbstractAsyncContextManager[AsyncSession]],
) -> WriteRunner:
    """A ``WriteRunner`` over an opener of asynchronous units of work (tests bind it to their
    transaction): the work runs on the session's connection, statement by statement."""

    async def run(work: Callable[[Connection], T]) -> T:
        async with open_session() as session:
            return await session.run_sync(lambda sync: work(sync.connection()))

    return run


class Database:
    """One engine with its two session factories: read (deferred) and write (immediate)."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.resolved_database_url
        self.engine = create_engine_for(
            self.url, pool_size=settings.db_pool_size, echo=settings.db_echo
        )
        self.read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        # SQLite admits one writer at a time. Queueing this process's writers here, instead of
        # letting each take a pooled connection and spin in SQLite's busy handler while the
        # holder waits for its turn on the event loop, keeps the write lock's hold time short.
        self._sqlite_writers = asyncio.Lock() if self.backend == "sqlite" else None
        # ... and the processes' writers queue at a gate that wakes the next one promptly.
        self._gate = sqlite_gate(self.url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return make_url(self.url).get_backend_name()

    @asynccontextmanager
    async def session(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """The edge's unit of work: commit on success, roll back on any error."""
        if write and self._sqlite_writers is not None:
            async with (
                self._sqlite_writers,
                self._gated(),
                self.write_sessions() as session,
                session.begin(),
            ):
                yield session
            return
        factory = self.write_sessions if write else self.read_sessions
        async with factory() as session, session.begin():
            yield session

    @asynccontextmanager
    async def bulk_writer(
        self, sqlite_pragmas: dict[str, int], *, checkpoint: bool = False
    ) -> AsyncIterator[Callable[[], AbstractAsyncContextManager[AsyncSession]]]:
        """Write units of work on one connection set up for a long series of large writes.

        On SQLite the connection gets ``sqlite_pragmas`` (a larger page cache, say) for the
        series and its old values back afterwards; with ``checkpoint`` the write-ahead log is not
        checkpointed at every commit but once, passively, at the end, so pages that several
        units of work touch are written back once. The settings are made outside any
        transaction; a connection whose settings could not be restored is discarded, never
        returned to the pool. Other backends get ordinary write sessions.
        """
        if self._sqlite_writers is None:
            yield lambda: self.session(write=True)
            return
        writers = self._sqlite_writers
        settings = dict(sqlite_pragmas)
        if checkpoint:
            settings["wal_autocheckpoint"] = 0
        async with self.engine.connect() as plain:
            before = {name: await _pragma(plain, name) for name in settings}
            restored = False
            try:
                for name, value in settings.items():
                    await _pragma(plain, name, value)

                @asynccontextmanager
                async def unit_of_work() -> AsyncIterator[AsyncSession]:
                    async with writers, self._gated():
                        await plain.execution_options(**{WRITE_OPTION: True})
                        try:
                            async with (
                                AsyncSession(bind=plain, expire_on_commit=False) as session,
                                session.begin(),
                            ):
                                yield session
                        finally:
                            await plain.execution_options(**{WRITE_OPTION: False})

                yield unit_of_work
                for name, value in before.items():
                    await _pragma(plain, name, value)
                restored = True
                if checkpoint:
                    async with writers:
                        await _pragma(plain, "wal_checkpoint", "PASSIVE")
            finally:
                if not restored:
                    await plain.invalidate()

    @cached_property
    def sync_engine(self) -> Engine:
        """The synchronous twin of the engine, for run_write (made on first use: the CLI, the
        sweep and migrations never need it)."""
        engine = create_engine(
            sync_url(self.url), pool_size=2, max_overflow=2, pool_pre_ping=not is_sqlite(self.url)
        )
        if self.backend == "sqlite":
            configure_sqlite(engine)
        return engine

    def _write_now(self, work: Callable[[Connection], T]) -> T:
        with self.sync_engine.connect() as connection:
            connection = connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                return work(connection)

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction on a synchronous connection in a worker thread,
        committed before this returns: one hop for the whole transaction, so a busy event loop
        does not delay each statement. SQLite's writers in this process still queue here."""
        if self._sqlite_writers is None:
            return await asyncio.to_thread(self._write_now, work)
        async with self._sqlite_writers, self._gated():
            running = asyncio.ensure_future(asyncio.to_thread(self._write_now, work))
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                # The transaction goes on in its thread: keep both locks until it has ended.
                with contextlib.suppress(BaseException):
                    await running
                raise

    def _gated(self) -> AbstractAsyncContextManager[None]:
        """The cross-process writers' gate of a SQLite file, or nothing."""
        return self._gate.held() if self._gate is not None else nullcontext()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if "sync_engine" in self.__dict__:
            self.sync_engine.dispose()
