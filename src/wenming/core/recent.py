"""A value read from the database that may be slightly stale: re-read at most once per bound.

Hot paths (case intake) answer from such values instead of querying on every request. While one
caller re-reads, the others keep the previous value rather than queueing, so a value is at most
the bound plus one read old. A bound of zero re-reads on every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.deps import SessionOpener

T = TypeVar("T")


@dataclass(frozen=True)
class Stamped(Generic[T]):
    """A value and the moment it was read."""

    value: T
    read_at: datetime


class Recent(Generic[T]):
    """The most recent value of one read, shared by the requests of a process."""

    def __init__(self, read: Callable[[AsyncSession], Awaitable[T]]) -> None:
        """``read`` produces the value from a session."""
        self._read = read
        self._stamped: Stamped[T] | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.reads = 0

    def _refresh_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    def fresh(self, now: datetime, max_staleness: timedelta) -> T | None:
        """The value if it was read less than ``max_staleness`` ago."""
        stamped = self._stamped
        if stamped is None or not timedelta(0) <= now - stamped.read_at < max_staleness:
            return None  # never read, too old, or the clock went back since
        return stamped.value

    async def get(self, open_session: SessionOpener, now: datetime, max_staleness: timedelta) -> T:
        """A value no older than ``max_staleness``, re-read through a new session if needed."""
        value = self.fresh(now, max_staleness)
        if value is not None:
            return value
        lock = self._refresh_lock()
        if lock.locked() and self._stamped is not None and max_staleness > timedelta(0):
            return self._stamped.value
        async with lock:
            value = self.fresh(now, max_staleness)
            if value is not None:
                return value
            async with open_session() as session:
                value = await self._read(session)
            self._stamped = Stamped(value, now)
            self.reads += 1
            return value
