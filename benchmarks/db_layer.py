"""Cost of one write transaction in the database layer alone, without HTTP.

Writes one row per transaction, one transaction after the other, through:

``aiosqlite``  the product's ``Database.session(write=True)`` on SQLite (one aiosqlite worker
               thread per connection; every call crosses to it and back),
``direct``     the same ``AsyncSession`` API over SQLite statements run in the event loop's own
               thread (``DirectConnection`` in write_path.py),
``sync``       a synchronous SQLAlchemy ``Session`` with the same SQLite set-up,

and reports wall time and CPU time per transaction, and for ``aiosqlite`` how many calls cross to
its worker thread per transaction. It isolates what write_path.py measures end to end.

    .venv/bin/python benchmarks/db_layer.py [--transactions 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.orm import sessionmaker

from wenming.core.config import Environment, Settings
from wenming.core.db import WRITE_OPTION, Database

sys.path.insert(0, str(Path(__file__).resolve().parent))

from write_path import BenchDatabase, BenchRow, direct_database, sync_engine_for

WARMUP = 100


@dataclass
class Cost:
    """Per-transaction cost of one way of writing."""

    name: str
    wall_us: float
    cpu_us: float
    worker_calls: float | None = None


def cpu_seconds() -> float:
    """User and system CPU time of this process so far."""
    times = os.times()
    return times.user + times.system


def settings_for(url: str) -> Settings:
    """Settings pointing at one benchmark database."""
    return Settings(env=Environment.TEST, secret_key="x" * 48, database_url=url)


class WorkerCallCounter:
    """Counts the calls aiosqlite hands to its worker threads."""

    def __init__(self) -> None:
        self.calls = 0
        self._original: Any = aiosqlite.Connection._execute

    def __enter__(self) -> WorkerCallCounter:
        original = self._original

        async def counted(connection: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
            self.calls += 1
            return await original(connection, fn, *args, **kw)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign]


async def async_cost(name: str, database: Database, transactions: int) -> Cost:
    """Sequential one-row write transactions through an async ``Database``."""

    async def write_one() -> None:
        async with database.session(write=True) as session:
            session.add(BenchRow(title="a", note="b", created_at=datetime.now(UTC)))
            await session.flush()

    for _ in range(WARMUP):
        await write_one()
    with WorkerCallCounter() as counter:
        started, cpu = time.perf_counter(), cpu_seconds()
        for _ in range(transactions):
            await write_one()
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    await database.dispose()
    calls = counter.calls / transactions if counter.calls else None
    return Cost(name, wall / transactions * 1e6, cpu / transactions * 1e6, calls)


def sync_cost(url: str, transactions: int) -> Cost:
    """Sequential one-row write transactions through a sync ``Session``."""
    engine = sync_engine_for(url, pool_size=1)
    sessions = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}))

    def write_one() -> None:
        with sessions() as session, session.begin():
            session.add(BenchRow(title="a", note="b", created_at=datetime.now(UTC)))
            session.flush()

    for _ in range(WARMUP):
        write_one()
    started, cpu = time.perf_counter(), cpu_seconds()
    for _ in range(transactions):
        write_one()
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    engine.dispose()
    return Cost("sync", wall / transactions * 1e6, cpu / transactions * 1e6)


def run_async(coroutine: Awaitable[Cost]) -> Cost:
    """Run on uvloop when installed, as uvicorn does."""

    async def main() -> Cost:
        return await coroutine

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


def main() -> None:
    """Measure the three ways and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transactions", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wenming-bench-") as tmp:
        workdir = Path(tmp)
        database = BenchDatabase("sqlite", "", workdir)
        database.prepare()

        def fresh() -> str:
            return database.fresh()

        costs = [
            run_async(async_cost("aiosqlite", Database(settings_for(fresh())), args.transactions)),
            run_async(
                async_cost("direct", direct_database(settings_for(fresh())), args.transactions)
            ),
            sync_cost(fresh(), args.transactions),
        ]
    print(f"{args.transactions} sequential one-row write transactions on SQLite")
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs\n")
    print("| way | wall µs/tx | CPU µs/tx | calls to a worker thread per tx |")
    print("|---|---:|---:|---:|")
    for cost in costs:
        calls = f"{cost.worker_calls:.0f}" if cost.worker_calls is not None else "0"
        print(f"| {cost.name} | {cost.wall_us:.0f} | {cost.cpu_us:.0f} | {calls} |")


if __name__ == "__main__":
    main()
