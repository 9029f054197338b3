"""The SQLite writers' gate: writers of different processes take turns at an advisory lock beside
the database file, and a waiter gets in as soon as the holder lets go."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.conftest import TEST_SECRET
from wenming.core.config import Environment, Settings
from wenming.core.db import Database, sqlite_gate
from wenming.core.writegate import GATE_SUFFIX, WriteGate

# Another process holds the gate until its standard input closes.
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def held_elsewhere(lock_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding the gate's lock; it lets go when the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=10)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(tmp_path)
    async with database.session() as session:
        await session.execute(text("CREATE TABLE gate_row (n INTEGER)"))
    yield database
    await database.dispose()


def open_database(tmp_path: Path) -> Database:
    return Database(
        Settings(
            env=Environment.TEST,
            secret_key=TEST_SECRET,
            database_url=f"sqlite:///{tmp_path / 'gate.sqlite3'}",
            data_dir=tmp_path / "data",
        )
    )


async def insert(db: Database, n: int) -> None:
    async with db.session() as session:
        await session.execute(text("INSERT INTO gate_row (n) VALUES (:n)"), {"n": n})


async def rows(db: Database) -> list[int]:
    async with db.session(write=False) as session:
        return list((await session.execute(text("SELECT n FROM gate_row ORDER BY n"))).scalars())


def test_only_a_sqlite_file_has_a_gate(tmp_path: Path) -> None:
    gate = sqlite_gate(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert gate is not None
    assert gate.path == (tmp_path / "a.sqlite3").resolve().with_name("a.sqlite3" + GATE_SUFFIX)
    assert sqlite_gate("sqlite:///:memory:") is None
    assert sqlite_gate("postgresql://wenming@127.0.0.1:5432/wenming") is None


async def test_a_writer_waits_for_another_process_and_goes_in_when_it_lets_go(
    db: Database, tmp_path: Path
) -> None:
    gate = sqlite_gate(db.url)
    assert gate is not None
    with held_elsewhere(gate.path):
        writing = asyncio.create_task(insert(db, 1))
        done, _pending = await asyncio.wait({writing}, timeout=0.5)
        assert done == set()  # still at the gate
        assert await rows(db) == []  # readers are never held up
    await writing
    assert await rows(db) == [1]


async def test_two_databases_in_one_process_take_turns(db: Database, tmp_path: Path) -> None:
    other = open_database(tmp_path)
    try:
        released = asyncio.Event()

        async def slow_writer() -> None:
            async with db.session() as session:
                await session.execute(text("INSERT INTO gate_row (n) VALUES (1)"))
                await released.wait()

        first = asyncio.create_task(slow_writer())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(insert(other, 2))
        done, _pending = await asyncio.wait({second}, timeout=0.3)
        assert done == set()
        released.set()
        await asyncio.gather(first, second)
        assert await rows(db) == [1, 2]
    finally:
        await other.dispose()


async def test_a_wait_past_the_timeout_fails_like_sqlite_and_leaves_the_gate_usable(
    tmp_path: Path,
) -> None:
    database = tmp_path / "timeout.sqlite3"
    gate = WriteGate(database, timeout_s=0.2)
    with held_elsewhere(gate.path), pytest.raises(OperationalError, match="database is locked"):
        async with gate.held():
            pytest.fail("entered a gate another process holds")
    # The abandoned wait took the lock when the holder left, and let it go again.
    for _ in range(50):
        await asyncio.sleep(0.02)
        other = WriteGate(database, timeout_s=0.2)
        try:
            async with other.held():
                break
        except OperationalError:
            continue
        finally:
            other.close()
    else:
        pytest.fail("the gate stayed shut after its holder left")
    gate.close()
