"""Write-path benchmark: one-row POSTs through Wenming's execution model against a sync baseline.

Every variant is the real application (``create_app``: settings, error handler, routers) plus one
benchmark-only route, ``POST /bench/rows``, that validates a small JSON body and writes one row
into the benchmark-only table ``bench_write``. The variants differ only in how that row is written:

``async``       Wenming's choice: an ``async def`` endpoint with the product's ``DbSession``
                dependency (``Database.session``: aiosqlite / psycopg async, ``BEGIN IMMEDIATE``
                for writes on SQLite, commit at the edge with ``scope="function"``).
``threadpool``  The baseline: a plain ``def`` endpoint that opens a synchronous SQLAlchemy
                ``Session``, writes and commits; FastAPI runs it in its default threadpool.
``inline``      A synchronous ``Session`` called directly inside an ``async def`` endpoint,
                blocking the event loop for the length of each transaction.

Variants run only when named with ``--variants`` (the investigation of the execution model;
docs/performance.md). Each ``async-*`` step keeps the change of the one before:

``async-clock``      ``async`` with the clock dependency as ``async def`` (the product's
                     ``get_clock`` is a ``def``, which FastAPI calls in its threadpool).
``async-serial``     SQLite only: plus an in-process lock that queues write transactions before
                     ``BEGIN IMMEDIATE`` instead of letting them poll in SQLite's busy handler.
``async-direct``     SQLite only: plus SQLite statements run in the event loop's own thread
                     (``DirectConnection``) instead of one aiosqlite worker thread per connection.
``threadpool-edge``  the edge-commit habit done synchronously: a ``def`` endpoint and a ``def``
                     dependency that commits after the response is built. With more concurrent
                     requests than threadpool slots it stalls: the transaction holding the database
                     waits for a slot that the requests waiting for the database hold.
``no-db``            the same request and answer without a database: the ceiling of the machine.

All variants use the same pool size and, on SQLite, the product's own connection set-up
(``configure_sqlite``: WAL, foreign keys, ``synchronous=NORMAL``, busy timeout, ``BEGIN
IMMEDIATE``). Each variant runs under uvicorn (one worker, a subprocess, 127.0.0.1, a free port)
and is driven by a closed-loop load generator with a fixed number of requests at a fixed
concurrency: ``wrk`` when installed, otherwise the asyncio client in this file (``load``
sub-command) in its own process. Warm-up requests precede every measurement; every run is
repeated and the median is reported, together with the ratios against the baseline. Besides
throughput and latency, the server's CPU time (user + system, all threads) during the measured
requests is reported per request: it depends far less on other load on the machine.

SQLite always runs, in a temporary file built by the real migrations. PostgreSQL runs when a URL
is given with ``--postgres-url`` or ``WENMING_BENCH_DATABASE_URL``; point it at a dedicated,
disposable database: the benchmark migrates it and creates, empties and finally drops the table
``bench_write`` there.

    .venv/bin/python benchmarks/write_path.py                  # SQLite, the default variants
    WENMING_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wenming_bench \\
        .venv/bin/python benchmarks/write_path.py              # SQLite and PostgreSQL

Results are printed as Markdown and saved as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import Engine, Integer, MetaData, String, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from wenming.core.clock import Clock
from wenming.core.config import Environment, Settings
from wenming.core.db import WRITE_OPTION, Database, configure_sqlite, is_sqlite, sync_url
from wenming.core.deps import AppClock, DbSession, get_clock, is_write_request
from wenming.core.migrate import upgrade
from wenming.core.types import UTCDateTime
from wenming.main import create_app

HOST = "127.0.0.1"
PATH = "/bench/rows"
BODY = json.dumps(
    {"title": "井盖缺失 missing manhole cover", "note": "北一路与中心街交叉口东南角"},
    ensure_ascii=False,
).encode()
VARIANTS = (
    "async",
    "threadpool",
    "inline",
    "async-clock",
    "async-serial",
    "async-direct",
    "threadpool-edge",
    "no-db",
)
DEFAULT_VARIANTS = ("async", "threadpool", "inline")
SYNC_VARIANTS = frozenset({"threadpool", "inline", "threadpool-edge"})
# Investigation steps, each adding one change to the one before: an async clock dependency, then
# an in-process SQLite write lock, then SQLite statements run in the event loop's thread.
ASYNC_CLOCK_VARIANTS = frozenset({"async-clock", "async-serial", "async-direct"})
SQLITE_ONLY_VARIANTS = frozenset({"async-serial", "async-direct"})
BASELINE = "threadpool"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 15.0


class BenchBase(DeclarativeBase):
    """Metadata of the benchmark-only table, kept apart from the product's models."""

    metadata = MetaData()


class BenchRow(BenchBase):
    """One written row: the unit of work every variant performs per request."""

    __tablename__ = "bench_write"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RowIn(BaseModel):
    """The POSTed body, validated like any product payload."""

    title: str = Field(min_length=1, max_length=100)
    note: str = Field(max_length=500)


class RowOut(BaseModel):
    """The answer: the id of the stored row."""

    id: int


# --- the applications under test -------------------------------------------------------------


def sync_engine_for(url: str, pool_size: int) -> Engine:
    """A synchronous engine with the same pool size and SQLite set-up as the product's engine."""
    if is_sqlite(url):
        engine = create_engine(sync_url(url), pool_size=pool_size, max_overflow=0)
        configure_sqlite(engine)
        return engine
    return create_engine(
        sync_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def async_router() -> APIRouter:
    """Wenming's execution model: ``async def`` and the product's unit-of-work dependency."""
    router = APIRouter()

    @router.post(PATH, status_code=status.HTTP_201_CREATED)
    async def write_row(body: RowIn, session: DbSession, clock: AppClock) -> RowOut:
        """Store one row; the dependency commits after the endpoint returns."""
        row = BenchRow(title=body.title, note=body.note, created_at=clock.now())
        session.add(row)
        await session.flush()
        return RowOut(id=row.id)

    return router


def sync_write_sessions(request: Request) -> sessionmaker[Session]:
    """The synchronous write-session factory stored on the app."""
    factory: sessionmaker[Session] = request.app.state.sync_write_sessions
    return factory


def threadpool_router() -> APIRouter:
    """The baseline: a ``def`` endpoint that opens, uses and commits a sync session itself."""
    router = APIRouter()

    @router.post(PATH, status_code=status.HTTP_201_CREATED)
    def write_row(body: RowIn, request: Request) -> RowOut:
        """Store and commit one row inside one threadpool call."""
        with sync_write_sessions(request)() as session, session.begin():
            row = BenchRow(title=body.title, note=body.note, created_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            row_id = row.id
        return RowOut(id=row_id)

    return router


def sync_session(request: Request) -> Iterator[Session]:
    """A sync unit of work committed at the edge by a ``def`` dependency (threadpool)."""
    with sync_write_sessions(request)() as session, session.begin():
        yield session


SyncSession = Annotated[Session, Depends(sync_session, scope="function")]


def threadpool_edge_router() -> APIRouter:
    """Wenming's edge-commit habit done synchronously: ``def`` endpoint, ``def`` dependency.

    The transaction stays open until FastAPI has validated the response, and for a ``def``
    endpoint that validation waits for a threadpool slot of its own.
    """
    router = APIRouter()

    @router.post(PATH, status_code=status.HTTP_201_CREATED)
    def write_row(body: RowIn, session: SyncSession) -> RowOut:
        """Store one row; the dependency commits in a worker thread after the response is built."""
        row = BenchRow(title=body.title, note=body.note, created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        return RowOut(id=row.id)

    return router


async def serialized_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The product's unit of work, with SQLite writers queued on an in-process lock first.

    Only one write transaction per process then asks SQLite for its lock; the others wait in
    the event loop (first come, first served) instead of sleeping in SQLite's busy handler.
    """
    database: Database = request.app.state.db
    write = is_write_request(request)
    if write and database.backend == "sqlite":
        async with request.app.state.write_lock, database.session(write=True) as session:
            yield session
    else:
        async with database.session(write=write) as session:
            yield session


SerializedSession = Annotated[AsyncSession, Depends(serialized_session, scope="function")]


def async_serial_router() -> APIRouter:
    """The ``async`` variant with SQLite writes queued on an in-process lock."""
    router = APIRouter()

    @router.post(PATH, status_code=status.HTTP_201_CREATED)
    async def write_row(body: RowIn, session: SerializedSession, clock: AppClock) -> RowOut:
        """Store one row; the dependency commits and then lets the next writer in."""
        row = BenchRow(title=body.title, note=body.note, created_at=clock.now())
        session.add(row)
        await session.flush()
        return RowOut(id=row.id)

    return router


def no_db_router() -> APIRouter:
    """The ceiling of this machine: the same request and answer without touching a database."""
    router = APIRouter()
    counter = iter(range(1, sys.maxsize))

    @router.post(PATH, status_code=status.HTTP_201_CREATED)
    async def write_row(body: RowIn) -> RowOut:
        """Validate the body and answer with a made-up id."""
        return RowOut(id=next(counter))

    return router


def inline_router() -> APIRouter:
    """A sync session used directly inside ``async def``: the event loop waits for the database."""
    router = APIRouter()

    @router.post(PATH, status_code=status.HTTP_201_CREATED)
    async def write_row(body: RowIn, request: Request) -> RowOut:
        """Store and commit one row without leaving the event loop's thread."""
        with sync_write_sessions(request)() as session, session.begin():
            row = BenchRow(title=body.title, note=body.note, created_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            row_id = row.id
        return RowOut(id=row_id)

    return router


# --- investigation: SQLite statements run in the event loop's own thread ----------------------


class DirectCursor:
    """The cursor surface SQLAlchemy's aiosqlite adapter uses, without a worker thread."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> DirectCursor:
        return self

    @property
    def description(self) -> Any:
        """Column descriptions of the last statement."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Row id of the last insert."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows fetched per fetchmany()."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, operation: str, parameters: Any = ()) -> DirectCursor:
        """Run one statement at once."""
        self._cursor.execute(operation, parameters)
        return self

    async def executemany(self, operation: str, parameters: Any) -> DirectCursor:
        """Run one statement for many parameter sets at once."""
        self._cursor.executemany(operation, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next rows."""
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()


class _ImmediateQueue:
    """Stands in for aiosqlite's job queue: runs each job on the spot."""

    def put_nowait(self, job: tuple[asyncio.Future[Any] | None, Any]) -> None:
        """Run a job and settle its future."""
        future, function = job
        result = function()
        if future is not None:
            future.set_result(result)


class DirectConnection:
    """An aiosqlite-shaped connection whose calls run inline: no thread hop per statement.

    Safe only if a write never waits for SQLite's lock inside the event loop, hence always used
    behind the in-process write lock (``serialized_session``).
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._tx = _ImmediateQueue()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        """The sqlite3 module's transaction handling (None: off)."""
        return self._conn.isolation_level

    def cursor(self) -> DirectCursor:
        """A new cursor."""
        return DirectCursor(self._conn.cursor())

    async def commit(self) -> None:
        """Commit."""
        self._conn.commit()

    async def rollback(self) -> None:
        """Roll back."""
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register an SQL function."""
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def direct_database(settings: Settings) -> Database:
    """The product's Database with its SQLite engine swapped for the inline adapter."""
    database = Database(settings)
    path = make_url(database.url).database or ""

    async def connect() -> DirectConnection:
        return DirectConnection(sqlite3.connect(path, check_same_thread=False))

    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}",
        async_creator=connect,
        pool_size=settings.db_pool_size,
        max_overflow=0,
    )
    configure_sqlite(engine.sync_engine)
    database.engine = engine
    database.read_sessions = async_sessionmaker(engine, expire_on_commit=False)
    database.write_sessions = async_sessionmaker(
        engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
    )
    return database


ROUTERS = {
    "async": async_router,
    "threadpool": threadpool_router,
    "inline": inline_router,
    "threadpool-edge": threadpool_edge_router,
    "async-clock": async_router,
    "async-serial": async_serial_router,
    "async-direct": async_serial_router,
    "no-db": no_db_router,
}


async def async_clock(request: Request) -> Clock:
    """The app's clock, as an ``async def`` dependency that FastAPI calls in the event loop.

    The product's ``get_clock`` is a plain ``def``, which FastAPI runs in its threadpool.
    """
    clock: Clock = request.app.state.clock
    return clock


def build_app(variant: str, database_url: str, pool_size: int, data_dir: Path) -> FastAPI:
    """The real Wenming application plus the benchmark route of one variant."""
    settings = Settings(
        env=Environment.PRODUCTION,
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        data_dir=data_dir,
        db_pool_size=pool_size,
    )
    database = None
    if variant == "async-direct":
        if not is_sqlite(database_url):
            raise SystemExit("variant async-direct is for SQLite only")
        database = direct_database(settings)
    app = create_app(settings, database=database)
    app.state.write_lock = asyncio.Lock()
    if variant in ASYNC_CLOCK_VARIANTS:
        app.dependency_overrides[get_clock] = async_clock

    @app.get("/bench/info")
    async def info() -> dict[str, str]:
        """Which event loop serves this process."""
        loop = asyncio.get_running_loop()
        return {"loop": f"{type(loop).__module__}.{type(loop).__name__}"}

    if variant in SYNC_VARIANTS:
        engine = sync_engine_for(database_url, pool_size)
        app.state.sync_write_sessions = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
    app.include_router(ROUTERS[variant]())
    return app


def serve(args: argparse.Namespace) -> None:
    """Run one variant under uvicorn: one worker, loopback only, access log off."""
    import uvicorn

    app = build_app(args.variant, args.database_url, args.pool_size, Path(args.data_dir))
    uvicorn.run(
        app,
        host=HOST,
        port=args.port,
        workers=1,
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
    )


# --- the load generators ---------------------------------------------------------------------


@dataclass
class LoadResult:
    """What one measured load run produced."""

    client: str
    requests: int
    ok: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty list)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def request_bytes(port: int) -> bytes:
    """The raw HTTP/1.1 keep-alive request every load request sends."""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    )
    return head.encode() + BODY


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_code = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status_code


@dataclass
class _LoadState:
    """Shared counters of the asyncio client's connections."""

    remaining: int
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0


async def _connection(port: int, payload: bytes, state: _LoadState) -> None:
    """One keep-alive connection sending requests back to back until the budget is spent."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while state.remaining > 0:
        state.remaining -= 1
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            started = time.perf_counter()
            writer.write(payload)
            status_code = await read_response(reader)
            state.latencies.append(time.perf_counter() - started)
            if 200 <= status_code < 300:
                state.ok += 1
            else:
                state.errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            state.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def python_load(port: int, requests: int, concurrency: int, timeout_s: float) -> LoadResult:
    """Closed-loop load from ``concurrency`` connections until ``requests`` have been sent."""
    state = _LoadState(remaining=requests)
    payload = request_bytes(port)
    started = time.perf_counter()
    tasks = [asyncio.create_task(_connection(port, payload, state)) for _ in range(concurrency)]
    _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - started
    unanswered = requests - state.ok - state.errors
    latencies = sorted(state.latencies)
    return LoadResult(
        client="python-asyncio",
        requests=requests,
        ok=state.ok,
        errors=state.errors + max(0, unanswered),
        seconds=elapsed,
        rps=state.ok / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
    )


def load_command(args: argparse.Namespace) -> None:
    """The ``load`` sub-command: run the asyncio client and print its result as JSON."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(python_load(args.port, args.requests, args.concurrency, args.timeout))
    print(json.dumps(asdict(result)))


WRK_SCRIPT = """
local budget = 0
local seen = 0

function init(args)
  budget = tonumber(args[1])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  wrk.body = args[2]
end

function response(status, headers, body)
  seen = seen + 1
  if seen == budget then
    io.write("budget reached\\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_load(
    port: int, requests: int, concurrency: int, timeout_s: float, script: Path
) -> LoadResult:
    """Closed-loop load with one wrk thread, stopped as soon as ``requests`` have been answered.

    wrk itself only knows durations: the script announces when its budget is spent and wrk is
    then interrupted (SIGINT), which makes it stop at once and print its summary.
    """
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{int(timeout_s)}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://{HOST}:{port}{PATH}",
        "--",
        str(requests),
        BODY.decode(),
    ]
    summary_line = ""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("budget reached"):
                process.send_signal(signal.SIGINT)
            elif line.startswith("{"):
                summary_line = line
        process.wait(timeout=30)
        error_output = process.stderr.read() if process.stderr else ""
    if not summary_line:
        raise RuntimeError(f"wrk printed no summary: {error_output}")
    summary = json.loads(summary_line)
    seconds = summary["duration_us"] / 1_000_000
    errors = int(summary["status_errors"]) + int(summary["socket_errors"])
    ok = int(summary["requests"]) - int(summary["status_errors"])
    return LoadResult(
        client="wrk",
        requests=int(summary["requests"]),
        ok=ok,
        errors=errors,
        seconds=seconds,
        rps=ok / seconds if seconds else 0.0,
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
    )


# --- orchestration ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(
    variant: str, database_url: str, pool_size: int, data_dir: Path, log_path: Path
) -> Iterator[tuple[int, int]]:
    """Start one variant under uvicorn in a subprocess, wait until it answers, stop it after.

    Yields the port and the server's process id.
    """
    port = free_port()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "serve",
        "--variant",
        variant,
        "--database-url",
        database_url,
        "--pool-size",
        str(pool_size),
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(process, port, log_path)
            yield port, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def server_event_loop(port: int) -> str:
    """The event loop class the server runs on (uvloop when uvicorn found it)."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/bench/info", timeout=5) as answer:
        loop: str = json.loads(answer.read())["loop"]
        return loop


def wait_until_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Poll /healthz until the server answers 200; fail with its log if it dies or stalls."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {SERVER_START_TIMEOUT_S:.0f} s")


class BenchDatabase:
    """A migrated database holding the benchmark table, reset before every run."""

    def __init__(self, backend: str, url: str, workdir: Path) -> None:
        self.backend = backend
        self.url = url
        self.workdir = workdir
        self._template = workdir / "template.sqlite3"
        self._runs = 0

    def prepare(self) -> None:
        """Run the real migrations and add the benchmark-only table."""
        target = f"sqlite:///{self._template}" if self.backend == "sqlite" else self.url
        upgrade(target)
        engine = create_engine(sync_url(target))
        BenchBase.metadata.drop_all(engine)
        BenchBase.metadata.create_all(engine)
        engine.dispose()

    def fresh(self) -> str:
        """A database for one run: a copy of the migrated SQLite file, or PostgreSQL emptied."""
        self._runs += 1
        if self.backend == "sqlite":
            path = self.workdir / f"run-{self._runs}.sqlite3"
            shutil.copyfile(self._template, path)
            return f"sqlite:///{path}"
        engine = create_engine(sync_url(self.url))
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE bench_write RESTART IDENTITY"))
        engine.dispose()
        return self.url

    def count_rows(self, url: str) -> int:
        """How many rows the benchmark table holds."""
        engine = create_engine(sync_url(url))
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(BenchRow)) or 0
        engine.dispose()
        return int(count)

    def discard(self) -> None:
        """Drop the benchmark table from PostgreSQL (SQLite files go with the temp dir)."""
        if self.backend == "postgresql":
            engine = create_engine(sync_url(self.url))
            BenchBase.metadata.drop_all(engine)
            engine.dispose()


@dataclass
class RunRecord:
    """One measured run of one variant on one backend."""

    backend: str
    variant: str
    repeat: int
    rows_checked: bool
    load_average: float
    event_loop: str
    server_cpu_ms_per_request: float
    load: LoadResult


class Loader:
    """Drives a running server with wrk or with the asyncio client in a separate process."""

    def __init__(self, client: str, concurrency: int, timeout_s: float, workdir: Path) -> None:
        self.client = client
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.script = workdir / "write_path.lua"
        self.script.write_text(WRK_SCRIPT)

    def run(self, port: int, requests: int) -> LoadResult:
        """Send ``requests`` POSTs at the configured concurrency and measure them."""
        if self.client == "wrk":
            return wrk_load(port, requests, self.concurrency, self.timeout_s, self.script)
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "load",
            "--port",
            str(port),
            "--requests",
            str(requests),
            "--concurrency",
            str(self.concurrency),
            "--timeout",
            str(self.timeout_s),
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=self.timeout_s + 30, check=True
        )
        return LoadResult(**json.loads(completed.stdout.strip().splitlines()[-1]))


def measure(args: argparse.Namespace) -> list[RunRecord]:
    """Every backend x repeat x variant, variants interleaved so that drift hits them alike."""
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--client wrk: wrk is not installed (apt-get install -y wrk)")
    backends = [("sqlite", "")]
    if args.postgres_url:
        backends.append(("postgresql", args.postgres_url))
    deadline = time.monotonic() + args.max_seconds
    records: list[RunRecord] = []
    with tempfile.TemporaryDirectory(prefix="wenming-bench-") as tmp:
        workdir = Path(tmp)
        loader = Loader(client, args.concurrency, args.run_timeout, workdir)
        for backend, url in backends:
            database = BenchDatabase(backend, url, workdir)
            database.prepare()
            try:
                for repeat in range(1, args.repeats + 1):
                    for variant in args.variants:
                        if backend != "sqlite" and variant in SQLITE_ONLY_VARIANTS:
                            continue
                        if time.monotonic() > deadline:
                            print(f"time budget of {args.max_seconds} s spent; stopping early")
                            return records
                        record = measure_one(args, loader, database, backend, variant, repeat)
                        records.append(record)
                        print(format_progress(record), flush=True)
            finally:
                database.discard()
    return records


def measure_one(
    args: argparse.Namespace,
    loader: Loader,
    database: BenchDatabase,
    backend: str,
    variant: str,
    repeat: int,
) -> RunRecord:
    """Start a variant on a fresh database, warm it up, measure it, check the rows it wrote."""
    url = database.fresh()
    load_average = os.getloadavg()[0]
    log_path = database.workdir / f"server-{backend}-{variant}-{repeat}.log"
    with running_server(variant, url, args.pool_size, database.workdir, log_path) as server:
        port, pid = server
        event_loop = server_event_loop(port)
        warmup = loader.run(port, args.warmup)
        cpu_before = cpu_seconds(pid)
        load = loader.run(port, args.requests)
        server_cpu = cpu_seconds(pid) - cpu_before
    rows = database.count_rows(url)
    return RunRecord(
        backend=backend,
        variant=variant,
        repeat=repeat,
        rows_checked=rows >= (0 if variant == "no-db" else warmup.ok + load.ok),
        load_average=load_average,
        event_loop=event_loop,
        server_cpu_ms_per_request=server_cpu * 1000 / max(1, load.ok + load.errors),
        load=load,
    )


def format_progress(record: RunRecord) -> str:
    """One line per finished run."""
    load = record.load
    return (
        f"{record.backend:<10} {record.variant:<10} run {record.repeat}: {load.rps:7.0f} req/s  "
        f"p50 {load.p50_ms:6.1f} ms  p95 {load.p95_ms:6.1f} ms  p99 {load.p99_ms:6.1f} ms  "
        f"errors {load.errors}  server CPU {record.server_cpu_ms_per_request:.2f} ms/req  "
        f"rows ok: {record.rows_checked}  load average {record.load_average:.1f}"
    )


@dataclass
class Summary:
    """The median of the repeated runs of one variant on one backend."""

    backend: str
    variant: str
    runs: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms_per_request: float
    load_average: float
    rows_checked: bool


def summarise(records: list[RunRecord]) -> list[Summary]:
    """Median of each metric over the repeats (errors summed; row checks must all pass)."""
    summaries = []
    keys = dict.fromkeys((r.backend, r.variant) for r in records)
    for backend, variant in keys:
        runs = [r for r in records if r.backend == backend and r.variant == variant]
        summaries.append(
            Summary(
                backend=backend,
                variant=variant,
                runs=len(runs),
                rps=statistics.median(r.load.rps for r in runs),
                p50_ms=statistics.median(r.load.p50_ms for r in runs),
                p95_ms=statistics.median(r.load.p95_ms for r in runs),
                p99_ms=statistics.median(r.load.p99_ms for r in runs),
                errors=sum(r.load.errors for r in runs),
                server_cpu_ms_per_request=statistics.median(
                    r.server_cpu_ms_per_request for r in runs
                ),
                load_average=statistics.median(r.load_average for r in runs),
                rows_checked=all(r.rows_checked for r in runs),
            )
        )
    return summaries


def markdown_table(summaries: list[Summary]) -> str:
    """The results as the Markdown table docs/performance.md records."""
    lines = [
        "| database | variant | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req | "
        "req/s vs baseline | p99 vs baseline | CPU/req vs baseline | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for summary in summaries:
        base = next(
            (s for s in summaries if s.backend == summary.backend and s.variant == BASELINE), None
        )
        rps_ratio = f"{summary.rps / base.rps:.2f}x" if base and base.rps else "n/a"
        p99_ratio = f"{summary.p99_ms / base.p99_ms:.2f}x" if base and base.p99_ms else "n/a"
        cpu_ratio = (
            f"{summary.server_cpu_ms_per_request / base.server_cpu_ms_per_request:.2f}x"
            if base and base.server_cpu_ms_per_request
            else "n/a"
        )
        lines.append(
            f"| {summary.backend} | {summary.variant} | {summary.rps:,.0f} | "
            f"{summary.p50_ms:.1f} | {summary.p95_ms:.1f} | {summary.p99_ms:.1f} | "
            f"{summary.errors} | {summary.server_cpu_ms_per_request:.2f} | {rps_ratio} | "
            f"{p99_ratio} | {cpu_ratio} | {summary.load_average:.1f} |"
        )
    return "\n".join(lines)


def version_of(package: str) -> str:
    """An installed package's version, or 'absent'."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def environment(args: argparse.Namespace, client: str) -> dict[str, Any]:
    """The machine and software the numbers were measured on."""
    wrk_version = ""
    if client == "wrk":
        probe = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        wrk_version = ((probe.stdout or probe.stderr).splitlines() or [""])[0]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "packages": {
            name: version_of(name)
            for name in (
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "sqlalchemy",
                "aiosqlite",
                "psycopg",
                "anyio",
            )
        },
        "client": client,
        "wrk": wrk_version,
        "requests": args.requests,
        "warmup": args.warmup,
        "concurrency": args.concurrency,
        "repeats": args.repeats,
        "pool_size": args.pool_size,
    }


def run_command(args: argparse.Namespace) -> None:
    """The default command: measure, print the table, save JSON."""
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    env = environment(args, client)
    print(
        f"{env['cpus']} CPUs, Python {env['python']}, client {client}, "
        f"{args.requests} requests x {args.repeats} at concurrency {args.concurrency} "
        f"(+{args.warmup} warm-up), pool size {args.pool_size}",
        flush=True,
    )
    records = measure(args)
    summaries = summarise(records)
    table = markdown_table(summaries)
    print()
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"write_path-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "environment": env,
                "summary": [asdict(s) for s in summaries],
                "runs": [asdict(r) for r in records],
            },
            indent=2,
        )
    )
    print(f"\nsaved {out}")
    if not all(s.rows_checked for s in summaries):
        raise SystemExit("some acknowledged writes are missing from the table")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the default measurement, or the ``serve`` / ``load`` sub-commands it spawns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="measure (the default)")
    for target in (parser, run):
        target.add_argument("--requests", type=int, default=6000, help="measured requests per run")
        target.add_argument("--warmup", type=int, default=1000, help="warm-up requests per run")
        target.add_argument("--concurrency", type=int, default=64, help="open connections")
        target.add_argument("--repeats", type=int, default=3, help="runs per variant (median)")
        target.add_argument("--pool-size", type=int, default=Settings().db_pool_size)
        target.add_argument(
            "--variants", nargs="+", default=list(DEFAULT_VARIANTS), help="variants to run"
        )
        target.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
        target.add_argument(
            "--postgres-url",
            default=os.environ.get("WENMING_BENCH_DATABASE_URL", ""),
            help="a dedicated PostgreSQL database (default: $WENMING_BENCH_DATABASE_URL; "
            "empty skips PostgreSQL)",
        )
        target.add_argument("--run-timeout", type=float, default=120.0, help="seconds per run")
        target.add_argument("--max-seconds", type=float, default=1500.0, help="whole budget")

    serve_parser = sub.add_parser("serve", help="serve one variant (spawned by run)")
    serve_parser.add_argument("--variant", choices=VARIANTS, required=True)
    serve_parser.add_argument("--database-url", required=True)
    serve_parser.add_argument("--pool-size", type=int, required=True)
    serve_parser.add_argument("--data-dir", required=True)
    serve_parser.add_argument("--port", type=int, required=True)

    load_parser = sub.add_parser("load", help="asyncio load generator (spawned by run)")
    load_parser.add_argument("--port", type=int, required=True)
    load_parser.add_argument("--requests", type=int, required=True)
    load_parser.add_argument("--concurrency", type=int, required=True)
    load_parser.add_argument("--timeout", type=float, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Dispatch to the measurement or to one of the sub-commands it spawns."""
    args = parse_args(argv)
    if args.command == "serve":
        serve(args)
    elif args.command == "load":
        load_command(args)
    else:
        run_command(args)


if __name__ == "__main__":
    main()
