"""SQLite's write lock across processes, taken so that a waiting writer wakes as soon as it is free.

SQLite admits one writer at a time. A writer that finds the lock taken sleeps in SQLite's busy
handler for 1, 2, 5 ... up to 100 ms between tries, so with two server processes a report can wait
a hundred milliseconds for a lock that was free after one. Writers therefore first take an
exclusive advisory lock (``flock``) on a file beside the database: the kernel wakes the next
waiter the moment the holder lets go. Processes that skip the gate (migrations, a command-line
import) still get SQLite's own locking, only without the prompt hand-over.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError

GATE_SUFFIX = "-writers.lock"


class WriteGate:
    """An exclusive lock on ``<database>-writers.lock`` for one process's writers in turn.

    Each gate opens its own descriptor, so two gates exclude each other even in one process; a
    process's own writers are already queued one at a time by the caller.
    """

    def __init__(self, database_path: Path, timeout_s: float) -> None:
        """A gate for the SQLite file at ``database_path``; waits at most ``timeout_s``."""
        self.path = database_path.with_name(database_path.name + GATE_SUFFIX)
        self.timeout_s = timeout_s
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        # Opened on first use, and again in a forked child: a descriptor inherited across a fork
        # shares its lock with the parent.
        if self._fd is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    async def acquire(self) -> None:
        """Take the lock, waiting in a worker thread if another process holds it; a wait longer
        than the timeout fails as SQLite's own does ("database is locked")."""
        fd = self._descriptor()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), self.timeout_s)
        except BaseException:
            # Timed out or cancelled: whenever the blocked call does get the lock, let it go.
            waiting.add_done_callback(lambda done: _release_if_taken(fd, done))
            raise

    def release(self) -> None:
        """Let the next writer in."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """The lock for the duration of the block."""
        try:
            await self.acquire()
        except TimeoutError as error:
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            ) from error
        try:
            yield
        finally:
            self.release()

    def close(self) -> None:
        """Close the descriptor (which also lets go of the lock)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _release_if_taken(fd: int, done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is None:
        fcntl.flock(fd, fcntl.LOCK_UN)
