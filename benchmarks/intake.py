"""Intake benchmark: the full case report (``POST /api/v1/cases``) against a bare validating POST.

The server is the real application (``create_app``) on the demo district as ``wenming demo``
leaves it (migrated, reference data synced, ``seed_demo`` and ``seed_demo_geography``: 57 units,
721 grids, 1,000 components), plus two benchmark-only routes, all under uvicorn with **two
workers** (``uvicorn --factory --workers 2``, 127.0.0.1, a free port, access log off, periodic
jobs off). Three endpoints are measured side by side on the same server:

``bare``     ``POST /bench/bare``: validates the same ``CaseCreate`` body (and the same
             ``Idempotency-Key`` header) and returns it; no database. The framework's ceiling.
``one-row``  ``POST /bench/rows``: write_path.py's ``async`` route, one row through the product's
             ``DbSession``: the cost of one SQLite write transaction.
``intake``   ``POST /api/v1/cases`` as an anonymous citizen with a distinct ``Idempotency-Key`` per
             request: validate, locate, route, duplicate check, insert case + deadline + event +
             key, build the answer (the case with its timeline, likely duplicates).

Report bodies are drawn before the run: a grid chosen uniformly from the district's 721 grids,
a random point inside its polygon (read from the database), a random public category.

Closed loop (the maximum rate): ``wrk`` with a Lua ``request()`` that cycles through the bodies
and numbers the keys, or the asyncio client in this file (``load`` sub-command) in its own
process, for a fixed duration at a fixed concurrency after a warm-up. Endpoints are interleaved
(their order rotates from repeat to repeat), every repeat starts on a fresh copy of the seeded
database and a fresh server, and the median of the repeats is reported. CPU per request is the
server's (the uvicorn parent and both workers, user + system, all threads).

Open loop (latency at half the load), at two rates: half the target scaled to this machine (500
reports/s where the bare POST does 5,200, so 500 x bare / 5,200 here: where the target applies)
and half the measured maximum (stricter, since the intake beats its target). ``wrk`` cannot hold a
rate (``wrk2`` is not packaged here), so the asyncio client sends requests on a fixed schedule,
``rate`` per second whatever the answers do, over a pool of connections, and measures each
latency from the moment the request was *due*, so a stalled server is not hidden by a client that
waits for it (coordinated omission). The client runs with its garbage collector off, so its own
pauses are not counted as the server's.

``profile`` runs reports one at a time in-process through the ASGI app and tells which step
costs what: SQL statements and wall time per step, and how long the SQLite write lock is held.

    .venv/bin/python benchmarks/intake.py                 # SQLite (about 4 minutes)
    WENMING_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wenming_bench \\
        .venv/bin/python benchmarks/intake.py             # SQLite and PostgreSQL
    .venv/bin/python benchmarks/intake.py profile         # where an intake's time goes

The PostgreSQL database must be disposable: it is emptied (``DROP SCHEMA public CASCADE``) before
and after. Results are printed as Markdown and saved as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import gc
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, status
from shapely.geometry import Point
from sqlalchemy import create_engine, event, func, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent))

from db_layer import WorkerCallCounter
from geo_lookup import reset_postgres
from wenming.cases.api import IdempotencyKeyHeader
from wenming.cases.reference import sync_reference_data
from wenming.cases.schemas import CaseCreate
from wenming.core.config import Environment, Settings
from wenming.core.db import Database, sync_url
from wenming.core.migrate import upgrade
from wenming.demo.geo_seed import seed_demo_geography
from wenming.demo.seed import seed_demo
from wenming.geo.geometry import from_wkb
from wenming.main import create_app
from write_path import (
    BODY as ONE_ROW_BODY,
)
from write_path import (
    HOST,
    BenchBase,
    LoadResult,
    async_router,
    cpu_seconds,
    direct_database,
    free_port,
    percentile,
    read_response,
    version_of,
    wait_until_ready,
)
from write_path import PATH as ONE_ROW_PATH

INTAKE_PATH = "/api/v1/cases"
BARE_PATH = "/bench/bare"
ENDPOINTS = {"bare": BARE_PATH, "one-row": ONE_ROW_PATH, "intake": INTAKE_PATH}
DEFAULT_ENDPOINTS = ("bare", "one-row", "intake")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
WORKERS = 2
TARGET_RPS = 1000.0
# The bare POST's rate with two workers on the machine the targets were set on.
REFERENCE_BARE_RPS = 5200.0
TARGET_RATIO = TARGET_RPS / REFERENCE_BARE_RPS
TARGET_P99_MS = 50.0
SERVER_STOP_TIMEOUT_S = 20.0
# Settings the server's factory reads (its only input: uvicorn imports it in every worker).
ENV_KEYS = ("WENMING_DATABASE_URL", "WENMING_DATA_DIR", "WENMING_SECRET_KEY")


# --- the application under test -----------------------------------------------------------------


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    """Production settings for a throwaway database; no periodic jobs, no ``.env`` file."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.PRODUCTION,
        secret_key=secrets.token_urlsafe(48),
        database_url=database_url,
        data_dir=data_dir,
        periodic_tasks_enabled=False,
    )


def bench_app() -> FastAPI:
    """The uvicorn factory (``intake:bench_app``): the real app plus the benchmark routes.

    Reads the database URL, data directory and secret key from the environment, as every worker
    imports this module afresh.
    """
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.PRODUCTION,
        secret_key=os.environ["WENMING_SECRET_KEY"],
        database_url=os.environ["WENMING_DATABASE_URL"],
        data_dir=Path(os.environ["WENMING_DATA_DIR"]),
        periodic_tasks_enabled=False,
    )
    return build_bench_app(settings)


def build_bench_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """``create_app`` plus the bare route, the one-row route and an info route."""
    app = create_app(settings, database=database)

    @app.post(BARE_PATH, status_code=status.HTTP_201_CREATED, response_model=CaseCreate)
    async def bare(body: CaseCreate, idempotency_key: IdempotencyKeyHeader = None) -> CaseCreate:
        """Validate a report like the real endpoint and send it back: no database."""
        return body

    @app.get("/bench/info")
    async def info() -> dict[str, int | str]:
        """Which process and event loop answered."""
        loop = asyncio.get_running_loop()
        return {"pid": os.getpid(), "loop": f"{type(loop).__module__}.{type(loop).__name__}"}

    app.include_router(async_router())
    return app


# --- the seeded database ------------------------------------------------------------------------


async def seed(database_url: str, data_dir: Path) -> None:
    """What ``wenming db upgrade`` and ``wenming demo`` put in a fresh database."""
    database = Database(bench_settings(database_url, data_dir))
    now = datetime.now(UTC)
    try:
        async with database.session(write=True) as session:
            await sync_reference_data(session, now)
        async with database.session(write=True) as session:
            await seed_demo(session, now)
            await seed_demo_geography(session, now)
    finally:
        await database.dispose()


class SeededDatabase:
    """The demo district, seeded once, handed out fresh for every run."""

    def __init__(self, backend: str, url: str, workdir: Path) -> None:
        self.backend = backend
        self.url = url
        self.workdir = workdir
        self._template = workdir / "template.sqlite3"
        self._runs = 0

    @property
    def template_url(self) -> str:
        """Where the seeded original lives."""
        return f"sqlite:///{self._template}" if self.backend == "sqlite" else self.url

    def prepare(self) -> None:
        """Migrate, sync the reference data, seed the demo district, add the one-row table."""
        if self.backend == "postgresql":
            reset_postgres(self.url)
        url = self.template_url
        upgrade(url)
        asyncio.run(seed(url, self.workdir))
        engine = create_engine(sync_url(url))
        BenchBase.metadata.create_all(engine)
        engine.dispose()
        if self.backend == "sqlite":
            with contextlib.closing(sqlite3.connect(self._template)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def fresh(self) -> str:
        """A database for one run: a copy of the SQLite file, or PostgreSQL without cases."""
        self._runs += 1
        if self.backend == "sqlite":
            path = self.workdir / f"run-{self._runs}.sqlite3"
            shutil.copyfile(self._template, path)
            return f"sqlite:///{path}"
        engine = create_engine(sync_url(self.url))
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE case_record, bench_write RESTART IDENTITY CASCADE"))
        engine.dispose()
        return self.url

    def counts(self, url: str) -> dict[str, int]:
        """Rows written by the run: cases, their events and deadlines, keys, one-row rows."""
        engine = create_engine(sync_url(url))
        tables = ("case_record", "case_event", "case_deadline", "case_idempotency", "bench_write")
        with engine.connect() as conn:
            found = {
                name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
                for name in tables
            }
        engine.dispose()
        return found

    def discard(self) -> None:
        """Leave PostgreSQL empty (SQLite files go with the temporary directory)."""
        if self.backend == "postgresql":
            reset_postgres(self.url)


def report_bodies(url: str, count: int, seed_value: int) -> list[str]:
    """``count`` distinct citizen reports: a uniform grid, a point inside it, a public category."""
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        grids = conn.execute(text("SELECT geometry FROM geo_grid ORDER BY id")).scalars().all()
        categories = conn.execute(
            text(
                "SELECT kind, code FROM case_category WHERE public = :yes AND active = :yes "
                "ORDER BY kind, code"
            ),
            {"yes": True},
        ).all()
    engine.dispose()
    shapes = [from_wkb(bytes(g)) for g in grids]
    rng = random.Random(seed_value)
    bodies = []
    for n in range(count):
        shape = rng.choice(shapes)
        min_lon, min_lat, max_lon, max_lat = shape.bounds
        while True:
            lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
            if shape.contains(Point(lon, lat)):
                break
        kind, code = rng.choice(categories)
        bodies.append(
            json.dumps(
                {
                    "category_kind": kind,
                    "category_code": code,
                    "description": f"路边井盖缺失，过往行人有踩空危险（基准测试 {n}）",
                    "lon": round(lon, 7),
                    "lat": round(lat, 7),
                },
                ensure_ascii=False,
            )
        )
    return bodies


# --- the server ---------------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(
    database_url: str, data_dir: Path, log_path: Path, workers: int = WORKERS
) -> Iterator[tuple[int, int]]:
    """``uvicorn --factory intake:bench_app --workers 2`` in a subprocess; yields port and pid."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        WENMING_DATABASE_URL=database_url,
        WENMING_DATA_DIR=str(data_dir),
        WENMING_SECRET_KEY=secrets.token_urlsafe(48),
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "intake:bench_app",
        "--factory",
        "--app-dir",
        str(Path(__file__).resolve().parent),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir
        )
        try:
            wait_until_ready(process, port, log_path)
            wait_for_workers(port, workers)
            yield port, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_workers(port: int, workers: int, limit_s: float = 30.0) -> None:
    """Wait until every worker answers: the first one up would otherwise take every connection a
    closed-loop client opens at once, and the run would measure one worker."""
    seen: set[int] = set()
    deadline = time.monotonic() + limit_s
    while len(seen) < workers and time.monotonic() < deadline:
        seen |= worker_pids(port, tries=10)
        time.sleep(0.05)
    if len(seen) < workers:
        print(f"warning: {len(seen)} of {workers} workers answered within {limit_s:.0f} s")


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's parent and its workers)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += process_tree(int(child))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


def settle(pid: int, limit_s: float = 30.0) -> float:
    """Wait until the server is idle: requests a load generator gave up on are still being
    served after it stops (a slow endpoint has a backlog). Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        before = tree_cpu_seconds(pid)
        time.sleep(0.5)
        if tree_cpu_seconds(pid) - before < 0.05:
            break
    return time.monotonic() - started


def worker_pids(port: int, tries: int = 40) -> set[int]:
    """The worker processes seen answering ``/bench/info`` (both, when the load spreads)."""
    import urllib.request

    seen: set[int] = set()
    for _ in range(tries):
        with urllib.request.urlopen(f"http://{HOST}:{port}/bench/info", timeout=5) as answer:
            seen.add(int(json.loads(answer.read())["pid"]))
    return seen


# --- load: wrk ----------------------------------------------------------------------------------

WRK_SCRIPT = """
local bodies = {}
local prefix = ""
local path = "/"
local sent = 0

function init(args)
  prefix = args[1]
  path = args[2]
  for line in io.lines(args[3]) do bodies[#bodies + 1] = line end
end

function request()
  sent = sent + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Accept"] = "application/json"
  headers["Idempotency-Key"] = prefix .. sent
  return wrk.format("POST", path, headers, bodies[(sent - 1) % #bodies + 1])
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


def wrk_closed(
    port: int,
    path: str,
    bodies_file: Path,
    prefix: str,
    seconds: float,
    concurrency: int,
    script: Path,
) -> LoadResult:
    """Closed-loop load with one wrk thread for a fixed duration."""
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://{HOST}:{port}{path}",
        "--",
        prefix,
        path,
        str(bodies_file),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("{")), "")
    if not line:
        raise RuntimeError(f"wrk printed no summary: {completed.stderr}")
    summary = json.loads(line)
    elapsed = summary["duration_us"] / 1_000_000
    ok = int(summary["requests"]) - int(summary["status_errors"])
    return LoadResult(
        client="wrk",
        requests=int(summary["requests"]),
        ok=ok,
        errors=int(summary["status_errors"]) + int(summary["socket_errors"]),
        seconds=elapsed,
        rps=ok / elapsed if elapsed else 0.0,
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
    )


# --- load: the asyncio client (closed and open loop) ---------------------------------------------


def request_for(port: int, path: str, body: str, key: str) -> bytes:
    """One raw HTTP/1.1 keep-alive POST."""
    data = body.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nIdempotency-Key: {key}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


@dataclass
class _Tally:
    """Counters shared by the client's connections."""

    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    sent: int = 0


async def _exchange(
    connection: list[Any], port: int, payload: bytes, tally: _Tally, started: float
) -> None:
    """Send one request on a (re)opened connection and record its outcome."""
    try:
        if not connection:
            connection.extend(await asyncio.open_connection(HOST, port))
        reader, writer = connection
        writer.write(payload)
        code = await read_response(reader)
        tally.latencies.append(time.perf_counter() - started)
        if 200 <= code < 300:
            tally.ok += 1
        else:
            tally.errors += 1
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        tally.errors += 1
        if connection:
            connection[1].close()
        connection.clear()


def _result(client: str, tally: _Tally, elapsed: float, unanswered: int) -> LoadResult:
    latencies = sorted(tally.latencies)
    return LoadResult(
        client=client,
        requests=tally.sent,
        ok=tally.ok,
        errors=tally.errors + unanswered,
        seconds=elapsed,
        rps=tally.ok / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p95_ms=percentile(latencies, 0.95) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
    )


async def python_closed(
    port: int, path: str, bodies: list[str], prefix: str, seconds: float, concurrency: int
) -> LoadResult:
    """Closed loop: ``concurrency`` connections send back to back for ``seconds``."""
    tally = _Tally()
    stop_at = time.perf_counter() + seconds

    async def connection() -> None:
        held: list[Any] = []
        while time.perf_counter() < stop_at:
            n = tally.sent
            tally.sent += 1
            payload = request_for(port, path, bodies[n % len(bodies)], f"{prefix}{n + 1}")
            await _exchange(held, port, payload, tally, time.perf_counter())
        if held:
            held[1].close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(connection()) for _ in range(concurrency)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds + 30)
    for task in pending:
        task.cancel()
    return _result("python-closed", tally, time.perf_counter() - started, len(pending))


async def python_open(
    port: int,
    path: str,
    bodies: list[str],
    prefix: str,
    rate: float,
    seconds: float,
    connections: int,
) -> LoadResult:
    """Open loop: one request due every ``1 / rate`` s for ``seconds``, whatever the answers do.

    A due request waits for a free connection if all are busy; its latency counts from the
    moment it was due, so queueing in front of a slow server shows in the percentiles.
    """
    tally = _Tally()
    due: asyncio.Queue[float | None] = asyncio.Queue()
    total = max(1, round(rate * seconds))
    origin = time.perf_counter() + 0.05

    async def schedule() -> None:
        for n in range(total):
            moment = origin + n / rate
            delay = moment - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due.put_nowait(moment)
        for _ in range(connections):
            due.put_nowait(None)

    async def connection() -> None:
        held: list[Any] = []
        while (moment := await due.get()) is not None:
            n = tally.sent
            tally.sent += 1
            payload = request_for(port, path, bodies[n % len(bodies)], f"{prefix}{n + 1}")
            await _exchange(held, port, payload, tally, moment)
        if held:
            held[1].close()

    tasks = [asyncio.create_task(schedule())]
    tasks += [asyncio.create_task(connection()) for _ in range(connections)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds + 60)
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - origin
    return _result("python-open", tally, elapsed, total - tally.ok - tally.errors)


def load_command(args: argparse.Namespace) -> None:
    """The ``load`` sub-command: run the asyncio client, print its result as JSON.

    The client's own garbage collector is off for the run (its start-up objects frozen first):
    a full collection in the client stalls its sends by 40-60 ms, which would be counted as the
    server's latency. A run of a minute leaves too little cyclic garbage to matter.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    bodies = Path(args.bodies).read_text(encoding="utf-8").splitlines()
    if args.rate:
        run: Coroutine[Any, Any, LoadResult] = python_open(
            args.port, args.path, bodies, args.prefix, args.rate, args.seconds, args.concurrency
        )
    else:
        run = python_closed(
            args.port, args.path, bodies, args.prefix, args.seconds, args.concurrency
        )
    print(json.dumps(asdict(asyncio.run(run))))


class Loader:
    """Sends one endpoint's bodies with wrk or with the asyncio client in its own process."""

    def __init__(self, client: str, concurrency: int, workdir: Path) -> None:
        self.client = client
        self.concurrency = concurrency
        self.workdir = workdir
        self.script = workdir / "intake.lua"
        self.script.write_text(WRK_SCRIPT)
        self.bodies: dict[str, Path] = {}

    def set_bodies(self, endpoint: str, bodies: list[str]) -> None:
        """The bodies an endpoint is sent, one JSON document per line."""
        path = self.workdir / f"{endpoint}.bodies"
        path.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        self.bodies[endpoint] = path

    def closed(self, port: int, endpoint: str, seconds: float) -> LoadResult:
        """The maximum rate: back-to-back requests from every connection."""
        prefix = f"{secrets.token_hex(6)}-"
        if self.client == "wrk":
            return wrk_closed(
                port,
                ENDPOINTS[endpoint],
                self.bodies[endpoint],
                prefix,
                seconds,
                self.concurrency,
                self.script,
            )
        return self._python(port, endpoint, prefix, seconds, 0.0)

    def open(self, port: int, endpoint: str, rate: float, seconds: float) -> LoadResult:
        """A fixed arrival rate (always the asyncio client: wrk cannot hold a rate)."""
        return self._python(port, endpoint, f"{secrets.token_hex(6)}-", seconds, rate)

    def _python(
        self, port: int, endpoint: str, prefix: str, seconds: float, rate: float
    ) -> LoadResult:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "load",
            "--port",
            str(port),
            "--path",
            ENDPOINTS[endpoint],
            "--bodies",
            str(self.bodies[endpoint]),
            "--prefix",
            prefix,
            "--seconds",
            str(seconds),
            "--concurrency",
            str(self.concurrency),
            "--rate",
            str(rate),
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 120, check=True
        )
        return LoadResult(**json.loads(completed.stdout.strip().splitlines()[-1]))


# --- orchestration ------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """One measured run of one endpoint."""

    backend: str
    endpoint: str
    mode: str  # "max" (closed loop); "half" or "target" (open loop at half the maximum or target)
    repeat: int
    rate: float  # the open loop's arrival rate (0 for the closed loop)
    load_average: float
    workers_seen: int
    server_cpu_ms_per_request: float
    load: LoadResult


@dataclass
class RowCheck:
    """Rows found after a server run against the requests acknowledged during it."""

    backend: str
    repeat: int
    mode: str
    acknowledged_reports: int
    acknowledged_rows: int
    counts: dict[str, int]
    ok: bool


def measured(
    loader: Loader, port: int, pid: int, run: Callable[[], LoadResult]
) -> tuple[LoadResult, float]:
    """Run a load on an idle server, returning it with the server's CPU ms per answered request
    (CPU spent while the load ran, divided by the answers the load generator saw)."""
    settle(pid)
    before = tree_cpu_seconds(pid)
    load = run()
    cpu = tree_cpu_seconds(pid) - before
    return load, cpu * 1000 / max(1, load.ok + load.errors)


def check_rows(
    database: SeededDatabase, url: str, backend: str, repeat: int, mode: str, acks: dict[str, int]
) -> RowCheck:
    """Every acknowledged report is stored with its event, deadline and key (more may be: wrk
    stops with requests in flight that the server still completes)."""
    counts = database.counts(url)
    reports = acks.get("intake", 0)
    rows = acks.get("one-row", 0)
    ok = (
        counts["case_record"] >= reports
        and counts["case_event"] == counts["case_record"]
        and counts["case_deadline"] == counts["case_record"]
        and counts["case_idempotency"] == counts["case_record"]
        and counts["bench_write"] >= rows
    )
    return RowCheck(backend, repeat, mode, reports, rows, counts, ok)


def progress(record: RunRecord) -> str:
    """One line per finished run."""
    load = record.load
    rate = f" at {record.rate:.0f}/s" if record.rate else ""
    return (
        f"{record.backend:<10} {record.endpoint:<8} {record.mode}{rate} run {record.repeat}: "
        f"{load.rps:7.0f} req/s  p50 {load.p50_ms:7.1f} ms  p95 {load.p95_ms:7.1f} ms  "
        f"p99 {load.p99_ms:7.1f} ms  errors {load.errors}  "
        f"CPU {record.server_cpu_ms_per_request:.2f} ms/req  workers {record.workers_seen}  "
        f"load average {record.load_average:.1f}"
    )


def median_of(records: list[RunRecord], backend: str, endpoint: str, mode: str) -> float:
    """Median throughput of some runs (0 when there are none)."""
    rates = [
        r.load.rps
        for r in records
        if r.backend == backend and r.endpoint == endpoint and r.mode == mode
    ]
    return statistics.median(rates) if rates else 0.0


def measure(args: argparse.Namespace, client: str) -> tuple[list[RunRecord], list[RowCheck]]:
    """Per backend: the closed-loop repeats (endpoints interleaved), then the open-loop repeats
    of the intake at half its median maximum."""
    backends = [("sqlite", "")]
    if args.postgres_url:
        backends.append(("postgresql", args.postgres_url))
    deadline = time.monotonic() + args.max_seconds
    records: list[RunRecord] = []
    checks: list[RowCheck] = []
    with tempfile.TemporaryDirectory(prefix="wenming-intake-bench-") as tmp:
        workdir = Path(tmp)
        loader = Loader(client, args.concurrency, workdir)
        loader.set_bodies("one-row", [ONE_ROW_BODY.decode()])
        for backend, url in backends:
            database = SeededDatabase(backend, url, workdir)
            started = time.monotonic()
            database.prepare()
            bodies = report_bodies(database.template_url, args.bodies, seed_value=20261127)
            for endpoint in ("intake", "bare"):
                loader.set_bodies(endpoint, bodies)
            print(f"{backend}: seeded in {time.monotonic() - started:.1f} s", flush=True)
            try:
                for repeat in range(1, args.repeats + 1):
                    if time.monotonic() > deadline:
                        print(f"time budget of {args.max_seconds:.0f} s spent; stopping early")
                        break
                    shift = (repeat - 1) % len(args.endpoints)
                    order = args.endpoints[shift:] + args.endpoints[:shift]
                    run_records, check = max_runs(args, loader, database, backend, repeat, order)
                    records += run_records
                    checks.append(check)
                # Two open-loop rates: half the measured maximum, and half the target scaled to
                # this machine (the target's ratio to the bare POST measured in the same run).
                rates = {
                    "half": median_of(records, backend, "intake", "max") / 2,
                    "target": TARGET_RATIO * median_of(records, backend, "bare", "max") / 2,
                }
                for mode, rate in rates.items():
                    if not rate or args.half_seconds <= 0:
                        continue
                    for repeat in range(1, args.repeats + 1):
                        if time.monotonic() > deadline:
                            print(f"time budget of {args.max_seconds:.0f} s spent; stopping early")
                            break
                        run_record, check = half_run(
                            args, loader, database, backend, repeat, rate, mode
                        )
                        records.append(run_record)
                        checks.append(check)
            finally:
                database.discard()
    return records, checks


def max_runs(
    args: argparse.Namespace,
    loader: Loader,
    database: SeededDatabase,
    backend: str,
    repeat: int,
    order: list[str],
) -> tuple[list[RunRecord], RowCheck]:
    """One fresh server: warm every endpoint up, then measure each at its maximum rate."""
    url = database.fresh()
    log = database.workdir / f"server-{backend}-max-{repeat}.log"
    records = []
    acks: dict[str, int] = defaultdict(int)
    with running_server(url, database.workdir, log, args.workers) as (port, pid):
        workers = len(worker_pids(port))
        for endpoint in order:
            warm = loader.closed(port, endpoint, args.warmup_seconds)
            acks[endpoint] += warm.ok
            settle(pid)
        for endpoint in order:
            load_average = os.getloadavg()[0]
            load, cpu = measured(
                loader, port, pid, lambda e=endpoint: loader.closed(port, e, args.seconds)
            )
            acks[endpoint] += load.ok
            record = RunRecord(
                backend, endpoint, "max", repeat, 0.0, load_average, workers, cpu, load
            )
            records.append(record)
            print(progress(record), flush=True)
    return records, check_rows(database, url, backend, repeat, "max", acks)


def half_run(
    args: argparse.Namespace,
    loader: Loader,
    database: SeededDatabase,
    backend: str,
    repeat: int,
    rate: float,
    mode: str = "half",
) -> tuple[RunRecord, RowCheck]:
    """One fresh server: warm the intake up, then send reports at a fixed rate."""
    url = database.fresh()
    log = database.workdir / f"server-{backend}-{mode}-{repeat}.log"
    with running_server(url, database.workdir, log, args.workers) as (port, pid):
        workers = len(worker_pids(port))
        warm = loader.closed(port, "intake", args.warmup_seconds)
        load_average = os.getloadavg()[0]
        load, cpu = measured(
            loader, port, pid, lambda: loader.open(port, "intake", rate, args.half_seconds)
        )
    record = RunRecord(backend, "intake", mode, repeat, rate, load_average, workers, cpu, load)
    print(progress(record), flush=True)
    check = check_rows(database, url, backend, repeat, mode, {"intake": warm.ok + load.ok})
    return record, check


# --- report -------------------------------------------------------------------------------------


@dataclass
class Summary:
    """The median of the repeats of one endpoint in one mode on one backend."""

    backend: str
    endpoint: str
    mode: str
    runs: int
    rate: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms_per_request: float
    load_average: float


def summarise(records: list[RunRecord]) -> list[Summary]:
    """Median of each metric over the repeats (errors summed)."""
    keys = dict.fromkeys((r.backend, r.endpoint, r.mode) for r in records)
    summaries = []
    for backend, endpoint, mode in keys:
        runs = [r for r in records if (r.backend, r.endpoint, r.mode) == (backend, endpoint, mode)]
        summaries.append(
            Summary(
                backend=backend,
                endpoint=endpoint,
                mode=mode,
                runs=len(runs),
                rate=statistics.median(r.rate for r in runs),
                rps=statistics.median(r.load.rps for r in runs),
                p50_ms=statistics.median(r.load.p50_ms for r in runs),
                p95_ms=statistics.median(r.load.p95_ms for r in runs),
                p99_ms=statistics.median(r.load.p99_ms for r in runs),
                errors=sum(r.load.errors for r in runs),
                server_cpu_ms_per_request=statistics.median(
                    r.server_cpu_ms_per_request for r in runs
                ),
                load_average=statistics.median(r.load_average for r in runs),
            )
        )
    return summaries


def markdown(summaries: list[Summary], checks: list[RowCheck]) -> str:
    """The two result tables and the verdict against the targets."""
    lines = [
        "| database | endpoint | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req "
        "| req/s ÷ bare | CPU/req ÷ bare | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    maxima = [s for s in summaries if s.mode == "max"]
    for s in maxima:
        bare = next((b for b in maxima if b.backend == s.backend and b.endpoint == "bare"), None)
        ratio = f"{s.rps / bare.rps:.3f}" if bare and bare.rps else "n/a"
        cpu_ratio = (
            f"{s.server_cpu_ms_per_request / bare.server_cpu_ms_per_request:.1f}"
            if bare and bare.server_cpu_ms_per_request
            else "n/a"
        )
        name = f"**{s.endpoint}**" if s.endpoint == "intake" else s.endpoint
        lines.append(
            f"| {s.backend} | {name} | {s.rps:,.0f} | {s.p50_ms:.1f} | {s.p95_ms:.1f} | "
            f"{s.p99_ms:.1f} | {s.errors} | {s.server_cpu_ms_per_request:.2f} | {ratio} | "
            f"{cpu_ratio} | {s.load_average:.1f} |"
        )
    halves = [s for s in summaries if s.mode in ("half", "target")]
    if halves:
        lines += [
            "",
            "| database | endpoint | offered req/s | answered req/s | p50 ms | p95 ms | p99 ms "
            "| errors | server CPU ms/req | load avg |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in halves:
            at = "half the target" if s.mode == "target" else "half the maximum"
            lines.append(
                f"| {s.backend} | {s.endpoint} (open loop, {at}) | {s.rate:,.0f} | {s.rps:,.0f} | "
                f"{s.p50_ms:.1f} | {s.p95_ms:.1f} | {s.p99_ms:.1f} | {s.errors} | "
                f"{s.server_cpu_ms_per_request:.2f} | {s.load_average:.1f} |"
            )
    lines.append("")
    for backend in dict.fromkeys(s.backend for s in summaries):
        intake = next((s for s in maxima if s.backend == backend and s.endpoint == "intake"), None)
        bare = next((s for s in maxima if s.backend == backend and s.endpoint == "bare"), None)
        half = next((s for s in halves if s.backend == backend and s.mode == "half"), None)
        at_target = next((s for s in halves if s.backend == backend and s.mode == "target"), None)
        # The target is stated for a machine where the bare POST does REFERENCE_BARE_RPS; here it
        # is the same ratio to the bare POST measured in the same run.
        scaled = TARGET_RATIO * bare.rps if bare is not None else TARGET_RPS
        if intake is not None and bare is not None:
            ratio = intake.rps / bare.rps
            verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
            lines.append(
                f"- {backend}: intake {intake.rps:,.0f} cases/s, {ratio:.3f} of the bare POST "
                f"({bare.rps:,.0f} req/s); the target ({TARGET_RPS:,.0f} where the bare POST does "
                f"{REFERENCE_BARE_RPS:,.0f}) is a ratio of {TARGET_RATIO:.3f}, {scaled:,.0f} "
                f"cases/s here: {verdict}."
            )
        if at_target is not None:
            verdict = "met" if at_target.p99_ms <= TARGET_P99_MS else "NOT met"
            lines.append(
                f"- {backend}: p99 {at_target.p99_ms:.1f} ms at {at_target.rate:,.0f} reports/s "
                f"(half the target, {TARGET_RPS / 2:,.0f}/s where the bare POST does "
                f"{REFERENCE_BARE_RPS:,.0f}, scaled to this machine) against "
                f"{TARGET_P99_MS:.0f} ms: {verdict}."
            )
        if half is not None:
            within = "within" if half.p99_ms <= TARGET_P99_MS else "above"
            lines.append(
                f"- {backend}: p99 {half.p99_ms:.1f} ms at {half.rate:,.0f} reports/s (half the "
                f"measured maximum, a stricter load), {within} {TARGET_P99_MS:.0f} ms."
            )
    bad = [c for c in checks if not c.ok]
    lines.append(
        "- stored rows: every acknowledged report has its case, event, deadline and key"
        if not bad
        else f"- stored rows: {len(bad)} run(s) failed the check: {[asdict(c) for c in bad]}"
    )
    return "\n".join(lines)


def environment(args: argparse.Namespace, client: str) -> dict[str, Any]:
    """The machine and software the numbers were measured on."""
    wrk_version = ""
    if client == "wrk":
        probe = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        wrk_version = ((probe.stdout or probe.stderr).splitlines() or [""])[0]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "packages": {
            name: version_of(name)
            for name in ("fastapi", "uvicorn", "uvloop", "sqlalchemy", "aiosqlite", "psycopg")
        },
        "client": client,
        "wrk": wrk_version,
        "workers": args.workers,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup_seconds,
        "half_seconds": args.half_seconds,
        "concurrency": args.concurrency,
        "repeats": args.repeats,
        "endpoints": args.endpoints,
        "load_average_start": os.getloadavg(),
    }


def run_command(args: argparse.Namespace) -> None:
    """Measure, print the tables, save the JSON."""
    unknown = [e for e in args.endpoints if e not in ENDPOINTS]
    if unknown or "intake" not in args.endpoints:
        raise SystemExit(f"--endpoints: choose from {', '.join(ENDPOINTS)}, intake included")
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--client wrk: wrk is not installed (apt-get install -y wrk)")
    env = environment(args, client)
    print(
        f"{env['cpus']} CPUs, load average {env['load_average_start'][0]:.1f}, client {client}, "
        f"{args.workers} worker(s), {args.seconds:.0f} s per run at concurrency {args.concurrency} "
        f"(+{args.warmup_seconds:.0f} s warm-up), {args.repeats} repeats",
        flush=True,
    )
    records, checks = measure(args, client)
    summaries = summarise(records)
    table = markdown(summaries, checks)
    print()
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"intake-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "environment": env,
                "summary": [asdict(s) for s in summaries],
                "runs": [asdict(r) for r in records],
                "row_checks": [asdict(c) for c in checks],
            },
            indent=2,
        )
    )
    print(f"\nsaved {out}")
    if not all(c.ok for c in checks):
        raise SystemExit("some acknowledged reports are missing from the database")


# --- profile: where one intake's time goes ------------------------------------------------------


class StepTimer:
    """Wall time and SQL statements per step of an intake, for steps wrapped with ``wrap``."""

    def __init__(self) -> None:
        self.stack: list[str] = ["outside the steps (dependencies, commit)"]
        self._lock_started: float | None = None
        self._statement_started = 0.0
        self.snapshot: tuple[Any, ...] = ({}, {}, {}, {})
        self.reset()

    def reset(self) -> None:
        """Forget what was measured so far (after the warm-up)."""
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.statements: dict[str, int] = defaultdict(int)
        self.statement_wall: dict[str, float] = defaultdict(float)
        self.lock_held = 0.0

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Replace ``owner.name`` (an async function) by a timed copy that counts as ``label``."""
        original = getattr(owner, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            self.stack.append(label)
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - started
                self.calls[label] += 1
                self.stack.pop()

        setattr(owner, name, timed)

    def listen(self, database: Database) -> None:
        """Count statements per innermost step and time the write lock (BEGIN IMMEDIATE to end)."""
        engine = database.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def before(*_args: Any) -> None:
            self._statement_started = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            label = self.stack[-1]
            self.statements[label] += 1
            self.statement_wall[label] += time.perf_counter() - self._statement_started
            if statement.startswith("BEGIN IMMEDIATE"):
                self._lock_started = self._statement_started

        def ended(*_args: Any) -> None:
            if self._lock_started is not None:
                self.lock_held += time.perf_counter() - self._lock_started
                self._lock_started = None

        event.listen(engine, "commit", ended)
        event.listen(engine, "rollback", ended)


def instrument(timer: StepTimer) -> None:
    """Wrap the steps of the report path that exist (timing only; behaviour unchanged)."""
    from wenming.cases import intake, service, views

    steps = [
        (intake, "report", "report()"),
        (service, "prepare", "report: prepare (check, place, route, plan)"),
        (service, "_place", "report: prepare: locate + units"),
        (service, "suggest", "report: prepare: routing suggestion"),
        (intake, "write_group", "report: write a group (case, deadline, event, key)"),
        (intake, "_repeat", "report: answer a repeated key"),
        (service, "find_duplicates", "report: duplicate check (staff)"),
        (views, "detail", "answer: case detail (read back)"),
    ]
    for owner, name, label in steps:
        if hasattr(owner, name):
            timer.wrap(owner, name, label)


@dataclass
class SequentialCost:
    """Mean cost of one request of an endpoint, sent one at a time through the ASGI app."""

    driver: str
    endpoint: str
    requests: int
    wall_us: float
    cpu_us: float
    statements: float
    worker_calls: float
    write_lock_us: float


async def sequential_costs(
    driver: str,
    url: str,
    data_dir: Path,
    bodies: list[str],
    count: int,
    endpoints: list[str],
    timer: StepTimer,
) -> list[SequentialCost]:
    """Each endpoint ``count`` times in turn (after as many warm-up requests), on one app whose
    SQLite statements run through aiosqlite (the product) or in the event loop's thread
    (``direct``, write_path.py's prototype)."""
    import httpx

    settings = bench_settings(url, data_dir)
    database = direct_database(settings) if driver == "direct" else None
    app = build_bench_app(settings, database)
    timer.listen(app.state.db)
    costs = []
    sent = 0
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http,
    ):

        async def send(endpoint: str) -> None:
            nonlocal sent
            sent += 1
            body = ONE_ROW_BODY if endpoint == "one-row" else bodies[sent % len(bodies)].encode()
            answer = await http.post(
                ENDPOINTS[endpoint],
                content=body,
                headers={"Content-Type": "application/json", "Idempotency-Key": f"p-{sent}"},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"{endpoint}: {answer.status_code} {answer.text[:300]}")

        for endpoint in endpoints:
            for _ in range(count):
                await send(endpoint)
            timer.reset()
            with WorkerCallCounter() as calls:
                started, cpu = time.perf_counter(), time.process_time()
                for _ in range(count):
                    await send(endpoint)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            costs.append(
                SequentialCost(
                    driver=driver,
                    endpoint=endpoint,
                    requests=count,
                    wall_us=wall / count * 1e6,
                    cpu_us=cpu / count * 1e6,
                    statements=sum(timer.statements.values()) / count,
                    worker_calls=calls.calls / count,
                    write_lock_us=timer.lock_held / count * 1e6,
                )
            )
            if endpoint == "intake" and driver == "aiosqlite":
                timer.snapshot = copy.deepcopy(
                    (timer.wall, timer.calls, timer.statements, timer.statement_wall)
                )
    await app.state.db.dispose()
    return costs


def profile_command(args: argparse.Namespace) -> None:
    """Print the sequential cost of each endpoint with each SQLite driver, then where an
    intake's time goes step by step."""
    endpoints = ["bare", "one-row", "intake"]
    timer = StepTimer()
    instrument(timer)
    costs: list[SequentialCost] = []
    with tempfile.TemporaryDirectory(prefix="wenming-intake-profile-") as tmp:
        workdir = Path(tmp)
        database = SeededDatabase("sqlite", "", workdir)
        database.prepare()
        bodies = report_bodies(database.template_url, args.bodies, seed_value=20261127)
        for driver in ("aiosqlite", "direct"):
            url = database.fresh()
            costs += uvloop_run(
                sequential_costs(driver, url, workdir, bodies, args.count, endpoints, timer)
            )
        pieces = uvloop_run(piece_costs(database.fresh(), workdir, bodies))
    n = args.count
    print(
        f"{n} requests of each endpoint one at a time (after {n} warm-up requests), in-process "
        f"through the ASGI app on SQLite; load average {os.getloadavg()[0]:.1f}. Mean per "
        "request:\n"
    )
    print(
        "| SQLite driver | endpoint | wall µs | CPU µs | SQL statements | calls to a worker "
        "thread | write lock held µs |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for c in costs:
        print(
            f"| {c.driver} | {c.endpoint} | {c.wall_us:,.0f} | {c.cpu_us:,.0f} | "
            f"{c.statements:.1f} | {c.worker_calls:.0f} | {c.write_lock_us:,.0f} |"
        )
    wall, calls, statements, statement_wall = timer.snapshot
    print(
        "\nThe intake (aiosqlite) step by step. Wall time includes the steps nested inside "
        "(named after a colon); statements count where they ran, in the innermost step.\n"
    )
    print("| step | calls/report | wall µs | SQL statements | SQL execute µs |")
    print("|---|---:|---:|---:|---:|")
    for label in dict.fromkeys([*wall, *statements]):
        print(
            f"| {label} | {calls.get(label, 0) / n:.1f} | {wall.get(label, 0.0) / n * 1e6:,.0f} "
            f"| {statements.get(label, 0) / n:.1f} | "
            f"{statement_wall.get(label, 0.0) / n * 1e6:,.0f} |"
        )
    print("\nPieces of an intake measured alone (mean CPU µs per call, 2,000 calls):\n")
    print("| piece | CPU µs |")
    print("|---|---:|")
    for name, micros in pieces:
        print(f"| {name} | {micros:,.0f} |")


async def piece_costs(url: str, data_dir: Path, bodies: list[str]) -> list[tuple[str, float]]:
    """CPU per call of single statements through the product's session (both SQLite drivers)
    and of the intake's steps that do not touch the database."""
    from wenming.cases import service
    from wenming.cases.calendar import LimitUnit
    from wenming.cases.models import ReferenceVersion
    from wenming.cases.rulebook import rulebook
    from wenming.cases.schemas import CaseCreated
    from wenming.org.models import UnitClosure

    calls = 2000

    async def cpu_async(call: Callable[[], Awaitable[Any]]) -> float:
        for _ in range(200):
            await call()
        started = time.process_time()
        for _ in range(calls):
            await call()
        return (time.process_time() - started) / calls * 1e6

    def cpu(call: Callable[[], Any]) -> float:
        for _ in range(200):
            call()
        started = time.process_time()
        for _ in range(calls):
            call()
        return (time.process_time() - started) / calls * 1e6

    settings = bench_settings(url, data_dir)
    found: list[tuple[str, float]] = []
    statements = {
        "`SELECT 1`": text("SELECT 1"),
        "rulebook version (one value)": select(ReferenceVersion.version).where(
            ReferenceVersion.id == 1
        ),
        "a unit's ancestors (a few rows)": select(UnitClosure.ancestor_id, UnitClosure.depth).where(
            UnitClosure.descendant_id == 20
        ),
    }
    for driver in ("aiosqlite", "direct"):
        database = direct_database(settings) if driver == "direct" else Database(settings)
        async with database.session(write=False) as session:
            for name, statement in statements.items():

                async def rows(session: AsyncSession = session, statement: Any = statement) -> None:
                    (await session.execute(statement)).all()

                found.append((f"{driver}: {name}", await cpu_async(rows)))
            book = await rulebook(session, settings)
        await database.dispose()
    app = build_bench_app(settings)
    import httpx

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http,
    ):
        answer = (
            await http.post(
                INTAKE_PATH,
                content=bodies[0].encode(),
                headers={"Content-Type": "application/json"},
            )
        ).json()
    await app.state.db.dispose()
    body = CaseCreate.model_validate_json(bodies[1])
    created = CaseCreated.model_validate(answer)
    now = datetime.now(UTC)
    found += [
        ("validate the request body", cpu(lambda: CaseCreate.model_validate_json(bodies[1]))),
        ("idempotency hash of the body", cpu(lambda: service._request_hash(body))),
        (
            "working calendar: now + 1 working hour",
            cpu(lambda: book.calendar.add(now, 1, LimitUnit.WORK_HOURS)),
        ),
        (
            "working calendar: now + 1 working day",
            cpu(lambda: book.calendar.add(now, 1, LimitUnit.WORK_DAYS)),
        ),
        ("validate the whole answer", cpu(lambda: CaseCreated.model_validate(answer))),
        ("serialise the whole answer", cpu(created.model_dump_json)),
    ]
    return found


def uvloop_run(coroutine: Awaitable[Any]) -> Any:
    """Run on uvloop when installed, as uvicorn does."""

    async def main() -> Any:
        return await coroutine

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


# --- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The measurement (default), ``profile``, or the ``load`` client it spawns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="measure (the default)")
    profile = sub.add_parser("profile", help="where one intake's time goes, in-process")
    for target in (parser, run, profile):
        target.add_argument(
            "--postgres-url",
            default=os.environ.get("WENMING_BENCH_DATABASE_URL", ""),
            help="a dedicated, disposable PostgreSQL database (default: "
            "$WENMING_BENCH_DATABASE_URL; empty skips PostgreSQL); emptied before and after",
        )
        target.add_argument("--bodies", type=int, default=20_000, help="distinct report bodies")
    profile.add_argument("--count", type=int, default=300, help="requests per endpoint")
    for target in (parser, run):
        target.add_argument("--seconds", type=float, default=10.0, help="seconds per run")
        target.add_argument(
            "--warmup-seconds", type=float, default=3.0, help="warm-up per endpoint"
        )
        target.add_argument(
            "--half-seconds", type=float, default=15.0, help="open-loop run length (0 skips it)"
        )
        target.add_argument("--concurrency", type=int, default=64, help="open connections")
        target.add_argument("--workers", type=int, default=WORKERS, help="uvicorn workers")
        target.add_argument("--repeats", type=int, default=3, help="runs per endpoint (median)")
        target.add_argument(
            "--endpoints",
            nargs="+",
            default=list(DEFAULT_ENDPOINTS),
            help="bare, one-row, intake",
        )
        target.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
        target.add_argument("--max-seconds", type=float, default=900.0, help="whole budget")
    load = sub.add_parser("load", help="asyncio load generator (spawned by run)")
    load.add_argument("--port", type=int, required=True)
    load.add_argument("--path", required=True)
    load.add_argument("--bodies", required=True)
    load.add_argument("--prefix", required=True)
    load.add_argument("--seconds", type=float, required=True)
    load.add_argument("--concurrency", type=int, required=True)
    load.add_argument("--rate", type=float, default=0.0, help="open loop: requests per second")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Dispatch."""
    args = parse_args(argv)
    if args.command == "load":
        load_command(args)
    elif args.command == "profile":
        profile_command(args)
    else:
        run_command(args)


if __name__ == "__main__":
    main()
