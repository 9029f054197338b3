"""Overdue sweep benchmark: ``cases.sweep.sweep`` over 1,000,000 open cases, against a plain UPDATE.

The database is the demo district as ``wenming demo`` seeds it (intake.py's ``SeededDatabase``),
plus ``--cases`` open cases written straight into ``case_record`` and ``case_deadline`` by two
set-based statements (a recursive CTE on SQLite, ``generate_series`` on PostgreSQL; the plain
indexes are dropped for the build and created again with the same definitions; foreign keys are
checked): real category ids, the demo's grids with their community and street, half of the cases
with a line department responsible and half with their street, one running ``handle`` clock each,
due between 10 minutes and a day away from ``NOW``, escalated every 4 hours once overdue.

Every sweep runs on the data as built (a copy of the SQLite file; PostgreSQL set back by SQL,
untimed), at two moments:

1. ``NOW``, when ``--overdue-percent`` of the clocks (10 % by default) are past due;
2. ``NOW`` + 2 days, when every clock is past due (100 %).

Each measurement, in its own process: first the baseline on the same rows, one plain ``UPDATE
case_deadline SET escalation_level = escalation_level + 1 WHERE next_escalation_at <= :now`` in
one committed transaction (undone, untimed); then the product's ``sweep(database, now,
settings)`` (batches of 20,000, notifications included) with the time per kind of SQL statement;
then a second sweep at the same ``now``, which must escalate nothing, and checks that exactly the
due clocks were escalated, each with one event and an overdue case. A sweep still running after
``--limit`` seconds is stopped; the table then shows how far it got and the time its finished
batches predict for the whole.

Variants (``--variants``; each keeps the change of the one before): ``product`` as it is;
``update-from``, the proposed statement for the cases' update (see ``use_update_from``); SQLite
only, ``+cache`` (a 256 MB page cache) and ``+one-checkpoint`` (no WAL checkpoint at every batch's
commit, one at the end, timed).

    .venv/bin/python benchmarks/sweep.py                        # SQLite (about 5 minutes)
    WENMING_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wenming_bench \\
        .venv/bin/python benchmarks/sweep.py                    # + PostgreSQL (about 8 more)

The PostgreSQL database must be disposable: it is emptied (``DROP SCHEMA public CASCADE``) before
and after. Results are printed as Markdown and saved as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Update

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import SeededDatabase, bench_settings
from wenming.cases import sweep as product_sweep
from wenming.cases.models import Case, CaseDeadline
from wenming.cases.sweep import DEFAULT_BATCH
from wenming.core.db import Database, sync_url
from write_path import version_of

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing
SECOND_SWEEP_AFTER = timedelta(days=2)
ESCALATION_INTERVAL_S = 4 * 3600
TARGET_S = 10.0
BIG_CACHE_KIB = 256 * 1024
HELPER_TABLES = ("bench_place", "bench_category", "bench_department")
# Each variant keeps the changes of the one before. ``product``: the sweep as it is.
# ``update-from``: the proposed statement swapped in (see ``use_update_from``). SQLite only:
# ``+cache``: a 256 MB page cache on the sweep's connections (SQLite's default is 2 MB);
# ``+one-checkpoint``: no automatic WAL checkpoint at every batch's commit, one at the end
# (timed as part of the sweep).
VARIANTS = ("product", "update-from", "update-from+cache", "update-from+cache+one-checkpoint")
SQLITE_ONLY = ("+cache",)


# --- building the open cases ---------------------------------------------------------------------

# Per case number i: the clock is due ``offset(i)`` seconds after ``now`` (negative: overdue),
# between 10 minutes and a day away; ``i % 100 < :pct`` picks the overdue ones.
OFFSET = (
    "(CASE WHEN {i} % 100 < :pct THEN -1 ELSE 1 END) * (600 + (CAST({i} AS BIGINT) * 7919) % 86400)"
)

CASE_COLUMNS = (
    "id, code, source, category_id, description, lon, lat, address, grid_id, unit_id, "
    "street_id, urgency, anonymous, public, state, responsible_unit_id, "
    "responsible_department_id, due_at, overdue, escalation_level, rework_count, "
    "extension_count, reopen_count, supporters, version, created_at, updated_at"
)
CASE_VALUES = (
    "{code}, 'citizen', c.category_id, '示例：基准测试案件（批量生成）', p.lon, p.lat, "
    "'基准测试地址', p.grid_id, p.unit_id, p.street_id, 'normal', FALSE, TRUE, 'dispatched', "
    "CASE WHEN i % 2 = 1 THEN p.street_id END, CASE WHEN i % 2 = 0 THEN d.department_id END, "
    "{due}, FALSE, 0, 0, 0, 0, 0, 1, {created}, {created}"
)
CASE_JOINS = (
    "JOIN bench_place p ON p.k = i % :places "
    "JOIN bench_category c ON c.k = i % :categories "
    "JOIN bench_department d ON d.k = i % :departments"
)
DEADLINE_COLUMNS = (
    "id, case_id, step, amount, unit, started_at, due_at, escalation_level, next_escalation_at, "
    "escalation_interval_seconds"
)


def sqlite_time(seconds: str) -> str:
    """SQL for a stored SQLite timestamp ``seconds`` after the Unix epoch."""
    return f"(strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000')"


def postgres_time(seconds: str) -> str:
    """SQL for a timestamptz ``seconds`` after the Unix epoch."""
    return f"to_timestamp({seconds})"


def insert_cases_sql(backend: str) -> str:
    """One INSERT ... SELECT writing ``:count`` open cases."""
    offset = OFFSET.format(i="i")
    if backend == "sqlite":
        due = sqlite_time(f":now_s + {offset}")
        created = sqlite_time(f":now_s - 86400 + {offset}")
        values = CASE_VALUES.format(code="printf('S%011d', i)", due=due, created=created)
        return (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "  # noqa: S608 - constants only
            f"INSERT INTO case_record ({CASE_COLUMNS}) SELECT i, {values} FROM n {CASE_JOINS}"
        )
    due = postgres_time(f":now_s + {offset}")
    created = postgres_time(f":now_s - 86400 + {offset}")
    values = CASE_VALUES.format(code="'S' || lpad(i::text, 11, '0')", due=due, created=created)
    return (
        f"INSERT INTO case_record ({CASE_COLUMNS}) SELECT i, {values} "  # noqa: S608 - constants only
        f"FROM generate_series(1, :count) AS n(i) {CASE_JOINS}"
    )


def insert_deadlines_sql() -> str:
    """One INSERT ... SELECT giving every benchmark case its running clock."""
    offset = OFFSET.format(i="id")
    return (
        f"INSERT INTO case_deadline ({DEADLINE_COLUMNS}) "  # noqa: S608 - constants only
        f"SELECT id, id, 'handle', 1, 'work_days', created_at, due_at, 0, :now_s + {offset}, "
        f"{ESCALATION_INTERVAL_S} FROM case_record WHERE id <= :count"
    )


@dataclass
class Built:
    """What the build wrote and how long it took."""

    cases: int
    overdue_at_now: int
    seconds: float


def fill_helpers(conn: Connection) -> dict[str, int]:
    """Small lookup tables the build joins: places (grid, community, street), categories and
    departments of the seeded demo district, numbered from 0."""
    for name in HELPER_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(
        text(
            "CREATE TABLE bench_place (k INTEGER PRIMARY KEY, grid_id INTEGER, unit_id INTEGER, "
            "street_id INTEGER, lon FLOAT, lat FLOAT)"
        )
    )
    conn.execute(text("CREATE TABLE bench_category (k INTEGER PRIMARY KEY, category_id INTEGER)"))
    conn.execute(
        text("CREATE TABLE bench_department (k INTEGER PRIMARY KEY, department_id INTEGER)")
    )
    places = conn.execute(
        text(
            "SELECT g.id, g.community_id, u.parent_id, (g.min_lon + g.max_lon) / 2, "
            "(g.min_lat + g.max_lat) / 2 FROM geo_grid g JOIN admin_unit u "
            "ON u.id = g.community_id ORDER BY g.id"
        )
    ).all()
    categories = conn.execute(
        text("SELECT id FROM case_category WHERE active = TRUE ORDER BY id")
    ).all()
    departments = conn.execute(text("SELECT id FROM department ORDER BY id")).all()
    conn.execute(
        text("INSERT INTO bench_place VALUES (:k, :g, :u, :s, :lon, :lat)"),
        [
            {"k": k, "g": g, "u": u, "s": s, "lon": lon, "lat": lat}
            for k, (g, u, s, lon, lat) in enumerate(places)
        ],
    )
    conn.execute(
        text("INSERT INTO bench_category VALUES (:k, :c)"),
        [{"k": k, "c": c} for k, (c,) in enumerate(categories)],
    )
    conn.execute(
        text("INSERT INTO bench_department VALUES (:k, :d)"),
        [{"k": k, "d": d} for k, (d,) in enumerate(departments)],
    )
    return {"places": len(places), "categories": len(categories), "departments": len(departments)}


def secondary_indexes(conn: Connection, backend: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the plain indexes on the two bulk tables (not the primary
    keys and unique constraints, which stay)."""
    if backend == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('case_record', 'case_deadline')"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('case_record', 'case_deadline') AND indexname NOT IN (SELECT conname FROM "
            "pg_constraint)"
        )
    return [(str(name), str(sql)) for name, sql in conn.execute(text(query))]


def build_engine(backend: str, url: str) -> Engine:
    """A synchronous engine for building: foreign keys checked as in production, and on SQLite
    a 256 MB page cache (a build-only setting)."""
    engine = create_engine(sync_url(url))
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
            dbapi_connection.execute(f"PRAGMA cache_size=-{BIG_CACHE_KIB}")

    return engine


def build(backend: str, url: str, count: int, overdue_percent: int) -> Built:
    """Write ``count`` open cases with their clocks, ``overdue_percent`` of them due before
    ``NOW``: the plain indexes are dropped first and created again afterwards (same
    definitions), which is several times faster than maintaining them row by row."""
    engine = build_engine(backend, url)
    params: dict[str, Any] = {"count": count, "pct": overdue_percent, "now_s": int(NOW.timestamp())}
    started = time.perf_counter()
    with engine.begin() as conn:
        params |= fill_helpers(conn)
        indexes = secondary_indexes(conn, backend)
        for name, _sql in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text(insert_cases_sql(backend)), params)
        conn.execute(text(insert_deadlines_sql()), params)
        for _name, sql in indexes:
            conn.execute(text(sql))
        for name in HELPER_TABLES:
            conn.execute(text(f"DROP TABLE {name}"))
        due = conn.execute(
            text("SELECT count(*) FROM case_deadline WHERE next_escalation_at <= :now_s"), params
        ).scalar_one()
    seconds = time.perf_counter() - started
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE case_record"))
            conn.execute(text("VACUUM ANALYZE case_deadline"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return Built(count, int(due), seconds)


class Workspace:
    """The built database, handed out unswept for every measured sweep: a copy of the SQLite
    file, or PostgreSQL set back by SQL (untimed)."""

    def __init__(self, backend: str, url: str, workdir: Path, count: int, pct: int) -> None:
        self.backend = backend
        self.url = url
        self.workdir = workdir
        self.params = {"count": count, "pct": pct, "now_s": int(NOW.timestamp())}
        self._copies = 0
        self._dirty = False

    def fresh(self) -> str:
        """A database in the state the build left."""
        if self.backend == "sqlite":
            self._copies += 1
            source = Path(make_url(self.url).database or "")
            target = self.workdir / f"sweep-{self._copies}.sqlite3"
            for old in self.workdir.glob("sweep-*.sqlite3*"):
                old.unlink()
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        if self._dirty:
            self._restore()
        self._dirty = True
        return self.url

    def _restore(self) -> None:
        offset = OFFSET.format(i="id")
        engine = create_engine(sync_url(self.url))
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM case_event WHERE action = 'escalate'"))
            conn.execute(text("DELETE FROM notification"))
            conn.execute(
                text(
                    "UPDATE case_deadline SET escalation_level = 0, overdue_at = NULL, "  # noqa: S608 - constants only
                    f"escalated_run_id = NULL, next_escalation_at = :now_s + {offset}"
                ),
                self.params,
            )
            conn.execute(text("DELETE FROM case_sweep_run"))
            conn.execute(text("UPDATE case_record SET overdue = FALSE, escalation_level = 0"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table_name in ("case_record", "case_deadline", "case_event", "case_sweep_run"):
                conn.execute(text(f"VACUUM ANALYZE {table_name}"))
        engine.dispose()


# --- one measured sweep (in its own process, so that a run can be stopped) ----------------------


class StatementClock:
    """Wall time per kind of statement on one engine; after each batch's last statement (the
    escalate events) a progress line is printed for the parent process."""

    def __init__(self, database: Database) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.started = time.perf_counter()
        self.batches = 0
        self.escalated = 0
        self._statement_started = 0.0
        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        self._statement_started = time.perf_counter()

    def _after(self, _conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        kind = " ".join(words[:3] if words[0] in ("INSERT", "DELETE") else words[:2])
        self.seconds[kind] += time.perf_counter() - self._statement_started
        if kind == "INSERT INTO case_event":
            self.batches += 1
            self.escalated += max(0, cursor.rowcount)
            progress = {
                "batches": self.batches,
                "escalated": self.escalated,
                "seconds": time.perf_counter() - self.started,
            }
            print(json.dumps({"progress": progress}), flush=True)


async def baseline(database: Database, now: datetime) -> tuple[float, int]:
    """The plain UPDATE over the due clocks, committed; then undone (untimed)."""
    now_s = int(now.timestamp())
    statement = (
        "UPDATE case_deadline SET escalation_level = escalation_level {sign} 1 "
        "WHERE next_escalation_at <= :now_s"
    )
    started = time.perf_counter()
    async with database.session(write=True) as session:
        result = await session.execute(text(statement.format(sign="+")), {"now_s": now_s})
    seconds = time.perf_counter() - started
    async with database.session(write=True) as session:
        await session.execute(text(statement.format(sign="-")), {"now_s": now_s})
    return seconds, int(result.rowcount)  # type: ignore[attr-defined]


def use_update_from() -> None:
    """The proposed change, swapped in for this process only: each batch's cases take their
    level with ``UPDATE case_record ... FROM case_deadline`` instead of a correlated subquery
    (which SQLite answers through the index on ``escalated_run_id``: every case of the batch
    scans the whole batch). Every other statement of the product's sweep runs unchanged."""
    original = product_sweep.escalate_batch

    async def escalate_batch(session: AsyncSession, run_id: int, now: datetime, limit: int) -> int:
        class Swapped:
            """The session, with the one statement replaced."""

            def __getattr__(self, name: str) -> Any:
                return getattr(session, name)

            async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
                if isinstance(statement, Update) and statement.table.name == Case.__tablename__:
                    statement = (
                        update(Case)
                        .where(Case.id == CaseDeadline.case_id)
                        .where(CaseDeadline.escalated_run_id == run_id)
                        .values(overdue=True, escalation_level=CaseDeadline.escalation_level)
                        .execution_options(synchronize_session=False)
                    )
                return await session.execute(statement, *args, **kwargs)

        return await original(Swapped(), run_id, now, limit)  # type: ignore[arg-type]

    product_sweep.escalate_batch = escalate_batch


async def measure_sweep(variant: str, url: str, data_dir: Path, now: datetime) -> dict[str, Any]:
    """Baseline, sweep and repeated sweep at one ``now`` on one database, with checks."""
    if variant != "product":
        use_update_from()
    settings = bench_settings(url, data_dir)
    database = Database(settings)
    pragmas = []
    if "+cache" in variant:
        pragmas.append(f"PRAGMA cache_size=-{BIG_CACHE_KIB}")
    if "+one-checkpoint" in variant:
        pragmas.append("PRAGMA wal_autocheckpoint=0")
    if pragmas and database.backend == "sqlite":

        @event.listens_for(database.engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            for pragma in pragmas:
                dbapi_connection.execute(pragma)

    count = "SELECT count(*) FROM {table} WHERE {where}"
    try:
        async with database.session(write=False) as session:
            due = int(
                (
                    await session.execute(
                        text(count.format(table="case_deadline", where="next_escalation_at <= :n")),
                        {"n": int(now.timestamp())},
                    )
                ).scalar_one()
            )
        baseline_s, baseline_rows = await baseline(database, now)
        print(json.dumps({"baseline": baseline_s}), flush=True)
        clock = StatementClock(database)
        cpu = time.process_time()
        started = time.perf_counter()
        report = await product_sweep.sweep(database, now, settings)
        if "+one-checkpoint" in variant:
            async with database.session(write=False) as session:
                await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        sweep_s = time.perf_counter() - started
        sweep_cpu_s = time.process_time() - cpu
        statements = dict(clock.seconds)
        started = time.perf_counter()
        again = await product_sweep.sweep(database, now, settings)
        repeat_s = time.perf_counter() - started
        async with database.session(write=False) as session:
            events = (
                await session.execute(
                    text(count.format(table="case_event", where="action = 'escalate'"))
                )
            ).scalar_one()
            overdue = (
                await session.execute(text(count.format(table="case_record", where="overdue")))
            ).scalar_one()
    finally:
        await database.dispose()
    problems = []
    if again.escalated:
        problems.append(f"a second sweep at the same now escalated {again.escalated}")
    if not report.escalated == baseline_rows == due == events == overdue:
        problems.append(
            f"{due} clocks due; sweep escalated {report.escalated}, plain UPDATE touched "
            f"{baseline_rows}, {events} escalate events, {overdue} overdue cases"
        )
    return {
        "due": due,
        "baseline_s": baseline_s,
        "sweep_s": sweep_s,
        "sweep_cpu_s": sweep_cpu_s,
        "escalated": report.escalated,
        "notified": report.notified,
        "batches": clock.batches,
        "batches_s": sweep_s,
        "repeat_s": repeat_s,
        "repeat_escalated": again.escalated,
        "statements": statements,
        "problems": problems,
    }


def measure_command(args: argparse.Namespace) -> None:
    """The ``measure`` sub-command: one sweep, progress and result as JSON lines."""
    now = datetime.fromisoformat(args.now)
    result = asyncio.run(measure_sweep(args.variant, args.url, Path(args.data_dir), now))
    print(json.dumps({"result": result}), flush=True)


@dataclass
class SweepTiming:
    """One measured sweep: its variant and ``now``, the baseline, and what the sweep did (or,
    when stopped at the time limit, how far it got)."""

    backend: str
    variant: str
    now: str
    due: int
    finished: bool
    baseline_s: float
    sweep_s: float
    escalated: int
    batches: int
    batches_s: float = 0.0
    sweep_cpu_s: float = 0.0
    repeat_s: float = 0.0
    repeat_escalated: int = 0
    notified: int = 0
    statements: dict[str, float] = field(default_factory=dict)
    load_average: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def estimated_s(self) -> float:
        """The measured time, or for a stopped run the time its finished batches predict."""
        if self.finished or not self.batches:
            return self.sweep_s
        batches = -(-self.due // DEFAULT_BATCH)
        return self.batches_s / self.batches * batches


def messages(
    process: subprocess.Popen[bytes], until: Callable[[], float]
) -> Iterator[dict[str, Any]]:
    """JSON lines from a process's stdout until it ends or ``until()`` (a monotonic deadline)
    passes; then it is killed."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    pending = b""
    while True:
        ready, _, _ = select.select([descriptor], [], [], max(0.0, until() - time.monotonic()))
        if not ready:
            process.kill()
            return
        chunk = os.read(descriptor, 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield json.loads(line)


def run_sweep(
    backend: str, variant: str, url: str, workdir: Path, now: datetime, limit_s: float, due: int
) -> SweepTiming:
    """Run ``measure`` in a subprocess and stop it once the sweep has run ``limit_s`` seconds
    (the baseline before it is not counted; the whole process gets at most 15 minutes)."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "measure",
        "--variant",
        variant,
        "--url",
        url,
        "--data-dir",
        str(workdir),
        "--now",
        now.isoformat(),
    ]
    load_average = os.getloadavg()[0]
    deadline = [time.monotonic() + 900.0]
    baseline_s = 0.0
    sweep_started = 0.0
    progress: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, bufsize=0) as process:
        for message in messages(process, lambda: deadline[0]):
            if "baseline" in message:
                baseline_s = float(message["baseline"])
                sweep_started = time.monotonic()
                deadline[0] = sweep_started + limit_s
            elif "progress" in message:
                progress = message["progress"]
            elif "result" in message:
                result = message["result"]
        process.wait()
    if result is None:
        return SweepTiming(
            backend=backend,
            variant=variant,
            now=now.isoformat(),
            due=due,
            finished=False,
            baseline_s=baseline_s,
            sweep_s=time.monotonic() - sweep_started if sweep_started else 0.0,
            escalated=int(progress.get("escalated", 0)),
            batches=int(progress.get("batches", 0)),
            batches_s=float(progress.get("seconds", 0.0)),
            load_average=load_average,
        )
    return SweepTiming(
        backend=backend,
        variant=variant,
        now=now.isoformat(),
        finished=True,
        load_average=load_average,
        **result,
    )


# --- report ------------------------------------------------------------------------------------


def shown_seconds(timing: SweepTiming) -> str:
    """The sweep's time, or for a stopped run what it reached and what that predicts."""
    if timing.finished:
        return f"**{timing.sweep_s:.2f}**"
    if not timing.batches:
        return f"> {timing.sweep_s:.0f} (stopped; no batch of {DEFAULT_BATCH:,} done)"
    return (
        f"> {timing.sweep_s:.0f} (stopped after {timing.batches} of "
        f"{-(-timing.due // DEFAULT_BATCH)} batches; about {timing.estimated_s:,.0f} in all)"
    )


def markdown(builds: dict[str, Built], timings: list[SweepTiming]) -> str:
    """The results table, the time per statement and the verdict."""
    lines = [
        "| database | variant | due / open cases | sweep s | escalated/s | plain UPDATE s "
        "| sweep ÷ UPDATE | repeat sweep s | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        cases = builds[t.backend].cases
        rate = f"{t.escalated / t.batches_s:,.0f}" if t.batches_s and t.escalated else "n/a"
        ratio = "n/a"
        if t.baseline_s:
            sign = "" if t.finished else ("≈ " if t.batches else "> ")
            ratio = f"{sign}{t.estimated_s / t.baseline_s:.1f}"
        repeat = f"{t.repeat_s:.3f}" if t.finished else "n/a"
        lines.append(
            f"| {t.backend} | {t.variant} | {t.due:,} / {cases:,} ({t.due / cases:.0%}) | "
            f"{shown_seconds(t)} | {rate} | {t.baseline_s:.2f} | {ratio} | {repeat} | "
            f"{t.load_average:.1f} |"
        )
    finished = [t for t in timings if t.finished]
    if finished:
        kinds = sorted(
            {k for t in finished for k in t.statements},
            key=lambda k: -max(t.statements.get(k, 0.0) for t in finished),
        )[:5]
        lines += ["", "Seconds per kind of statement inside the finished sweeps:", ""]
        lines.append("| database | variant | due | " + " | ".join(f"`{k}`" for k in kinds) + " |")
        lines.append("|---|---|---:|" + "---:|" * len(kinds))
        for t in finished:
            cells = " | ".join(f"{t.statements.get(k, 0.0):.2f}" for k in kinds)
            lines.append(f"| {t.backend} | {t.variant} | {t.due:,} | {cells} |")
    lines.append("")
    for backend, built in builds.items():
        lines.append(
            f"- {backend}: {built.cases:,} open cases and their clocks written in "
            f"{built.seconds:.1f} s."
        )
    for t in timings:
        verdict = "met" if t.finished and t.sweep_s <= TARGET_S else "NOT met"
        if t.finished:
            took = f"{t.sweep_s:,.1f} s"
        elif t.batches:
            took = f"about {t.estimated_s:,.0f} s (estimated from {t.batches} batches)"
        else:
            took = f"more than {t.sweep_s:,.0f} s"
        lines.append(
            f"- {t.backend}, {t.variant}, {t.due:,} due: {took} against the target of "
            f"{TARGET_S:.0f} s: {verdict}."
        )
    problems = [f"{t.backend} {t.variant} {t.due:,}: {p}" for t in timings for p in t.problems]
    lines += [f"- CHECK FAILED: {p}" for p in problems] or [
        "- checks: every finished sweep escalated exactly the due clocks (one event and one "
        "overdue case each); the repeated sweep at the same `now` escalated nothing."
    ]
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> None:
    """Build once per backend, then every variant at both moments, each on the unswept data."""
    backends = [("sqlite", "")] if not args.skip_sqlite else []
    if args.postgres_url:
        backends.append(("postgresql", args.postgres_url))
    env = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "packages": {n: version_of(n) for n in ("sqlalchemy", "aiosqlite", "psycopg")},
        "cases": args.cases,
        "overdue_percent": args.overdue_percent,
        "batch": DEFAULT_BATCH,
        "variants": args.variants,
        "limit_s": args.limit,
        "load_average_start": os.getloadavg(),
    }
    print(
        f"{env['cpus']} CPUs, load average {env['load_average_start'][0]:.1f}; "
        f"{args.cases:,} open cases, {args.overdue_percent} % overdue, then 100 %; variants "
        f"{', '.join(args.variants)}; a sweep is stopped after {args.limit:.0f} s",
        flush=True,
    )
    builds: dict[str, Built] = {}
    timings: list[SweepTiming] = []
    with tempfile.TemporaryDirectory(prefix="wenming-sweep-bench-") as tmp:
        workdir = Path(tmp)
        for backend, url in backends:
            seeded = SeededDatabase(backend, url, workdir)
            try:
                started = time.monotonic()
                seeded.prepare()
                print(f"{backend}: seeded in {time.monotonic() - started:.1f} s", flush=True)
                built = build(backend, seeded.template_url, args.cases, args.overdue_percent)
                builds[backend] = built
                print(
                    f"{backend}: {built.cases:,} open cases written in {built.seconds:.1f} s",
                    flush=True,
                )
                space = Workspace(
                    backend, seeded.template_url, workdir, args.cases, args.overdue_percent
                )
                stopped: set[str] = set()
                for now in (NOW, NOW + SECOND_SWEEP_AFTER):
                    due = built.overdue_at_now if now == NOW else built.cases
                    for variant in args.variants:
                        if backend != "sqlite" and any(m in variant for m in SQLITE_ONLY):
                            continue
                        if variant in stopped:
                            print(f"{backend} {variant}: skipped at {due:,} due (stopped before)")
                            continue
                        timing = run_sweep(
                            backend, variant, space.fresh(), workdir, now, args.limit, due
                        )
                        timings.append(timing)
                        if not timing.finished:
                            stopped.add(variant)
                        print(
                            f"{backend} {variant} {due:,} due: sweep {shown_seconds(timing)} s, "
                            f"plain UPDATE {timing.baseline_s:.2f} s, statements "
                            + ", ".join(f"{k} {v:.2f}" for k, v in timing.statements.items()),
                            flush=True,
                        )
            finally:
                seeded.discard()
    table = markdown(builds, timings)
    print()
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"sweep-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "environment": env,
                "builds": {k: asdict(v) for k, v in builds.items()},
                "timings": [asdict(t) | {"estimated_s": t.estimated_s} for t in timings],
            },
            indent=2,
        )
    )
    print(f"\nsaved {out}")
    if any(t.problems for t in timings):
        raise SystemExit("a check failed (see the table)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The measurement (default), or the ``measure`` sub-command it spawns."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    measure = sub.add_parser("measure", help="one sweep (spawned by the run)")
    measure.add_argument("--variant", choices=VARIANTS, required=True)
    measure.add_argument("--url", required=True)
    measure.add_argument("--data-dir", required=True)
    measure.add_argument("--now", required=True)
    parser.add_argument("--cases", type=int, default=1_000_000, help="open cases to sweep over")
    parser.add_argument(
        "--overdue-percent", type=int, default=10, help="share overdue at the first sweep (1-99)"
    )
    parser.add_argument(
        "--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), help="sweeps to run"
    )
    parser.add_argument(
        "--limit", type=float, default=40.0, help="seconds after which a sweep is stopped"
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("WENMING_BENCH_DATABASE_URL", ""),
        help="a dedicated, disposable PostgreSQL database (default: $WENMING_BENCH_DATABASE_URL; "
        "empty skips PostgreSQL); emptied before and after",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.overdue_percent <= 99:
        parser.error("--overdue-percent must lie between 1 and 99")
    return args


def main(argv: list[str] | None = None) -> None:
    """Dispatch."""
    args = parse_args(argv)
    if args.command == "measure":
        measure_command(args)
    else:
        run_command(args)


if __name__ == "__main__":
    main()
