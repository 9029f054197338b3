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


async def test_a_gate_held_elsewhere_in_this_process_holds_up_a_writer(
    db: Database, tmp_path: Path
) -> None:
    gate = sqlite_gate(db.url)
    assert gate is not None
    async with gate.held():
        writing = asyncio.create_task(insert(db, 1))
        done, _pending = await asyncio.wait({writing}, timeout=0.5)
        assert done == set()  # SQLite itself is free: only the gate holds it up
    await writing
    assert await rows(db) == [1]


def probe(lock_path: Path) -> str:
    """Whether another process finds the gate taken ("busy") or free."""
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(lock_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("free")
"""


async def test_a_wait_past_the_timeout_fails_like_sqlite_and_never_frees_a_later_holder(
    tmp_path: Path,
) -> None:
    gate = WriteGate(tmp_path / "timeout.sqlite3", timeout_s=0.2)
    with held_elsewhere(gate.path), pytest.raises(OperationalError, match="database is locked"):
        async with gate.held():
            pytest.fail("entered a gate another process holds")
    # The abandoned wait takes the lock when the other process leaves, and lets go of it; a
    # later holder in this process keeps the lock for its whole block all the same.
    async with gate.held():
        await asyncio.sleep(0.3)
        assert probe(gate.path) == "busy"
    assert probe(gate.path) == "free"


async def test_a_gate_that_cannot_open_its_file_leaves_the_locking_to_sqlite(
    tmp_path: Path,
) -> None:
    gate = WriteGate(tmp_path / "missing" / "x.sqlite3", timeout_s=0.2)
    (tmp_path / "missing").write_text("a file where the directory should be")
    async with gate.held():
        pass
    assert gate.usable is False
