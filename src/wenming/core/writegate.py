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
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.exc import OperationalError

GATE_SUFFIX = "-writers.lock"
DEFAULT_MODE = 0o644

logger = logging.getLogger(__name__)


class WriteGate:
    """An exclusive lock on ``<database>-writers.lock``, taken by one writer at a time.

    Every holder opens the file anew, so the lock belongs to that holder alone: two gates, or a
    gate and an abandoned wait, exclude each other even in one process, and closing the file is
    what lets go. A process's own writers are already queued one at a time by the caller.
    """

    def __init__(self, database_path: Path, timeout_s: float) -> None:
        """A gate for the SQLite file at ``database_path``; waits at most ``timeout_s``."""
        self.path = database_path.with_name(database_path.name + GATE_SUFFIX)
        self.database_path = database_path
        self.timeout_s = timeout_s
        self.usable = True
        self._mode: int | None = None

    def _open(self) -> int | None:
        """A new descriptor of the lock file, with the database's own permissions; None (and
        no gate, only SQLite's locking) when the file cannot be opened."""
        if self._mode is None:
            try:
                self._mode = stat.S_IMODE(os.stat(self.database_path).st_mode)
            except OSError:
                self._mode = DEFAULT_MODE
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self._mode)
        except OSError as error:
            if self.usable:
                logger.warning("no writers' gate at %s (%s); SQLite locks alone", self.path, error)
            self.usable = False
            return None

    async def acquire(self) -> int | None:
        """Take the lock and return the descriptor that holds it (None without a gate). A wait
        runs in a thread of its own; one longer than the timeout fails as SQLite's own does."""
        fd = self._open()
        if fd is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        wait = _Wait(fd, asyncio.get_running_loop())
        threading.Thread(target=wait.run, name="sqlite-writers-gate", daemon=True).start()
        try:
            await asyncio.wait_for(wait.taken, self.timeout_s)
        except BaseException:
            wait.abandon()
            raise
        return fd

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """The lock for the duration of the block."""
        try:
            fd = await self.acquire()
        except TimeoutError as error:
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            ) from error
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)  # closing the holder's own file lets go of its lock


class _Wait:
    """One blocked ``flock`` in a daemon thread, whose waiter may give up on it: whichever of
    the two comes second closes the descriptor, so an abandoned wait never keeps the lock."""

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = fd
        self.loop = loop
        self.taken: asyncio.Future[None] = loop.create_future()
        self._guard = threading.Lock()
        self._state = "waiting"  # waiting | taken | abandoned

    def run(self) -> None:
        with self._guard:
            if self._state == "abandoned":
                os.close(self.fd)
                return
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        with self._guard:
            if self._state == "abandoned":
                os.close(self.fd)
                return
            self._state = "taken"
        try:
            self.loop.call_soon_threadsafe(_settle, self.taken)
        except RuntimeError:  # the loop is gone: nobody will use or close the lock
            self.abandon()

    def abandon(self) -> None:
        """The waiter gives up (timed out or cancelled)."""
        with self._guard:
            state, self._state = self._state, "abandoned"
        if state == "taken":
            os.close(self.fd)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
