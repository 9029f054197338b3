"""A value read from the database that may be slightly stale: re-read at most once per bound.

Hot paths (case intake, point lookup) answer from such values instead of querying on every
request. Once half the bound has passed, the next caller starts a re-read in the background and
is answered at once from the current value, so under steady traffic no request waits for a
re-read. Only a value older than the bound (after a quiet spell) is re-read while the caller
waits; callers arriving during that re-read keep the previous value rather than queueing. A value
is thus at most the bound plus one read old, and a bound of zero re-reads on every call.

A value may come with a stamp: a cheap read (a version counter) that changes whenever the value
would. A re-read then reads the stamp first and reads the value itself only if the stamp moved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from wenming.core.deps import SessionOpener

T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stamped(Generic[T]):
    """A value and the moment it was read."""

    value: T
    read_at: datetime


class Recent(Generic[T]):
    """The most recent value of one read, shared by the requests of a process."""

    def __init__(
        self,
        read: Callable[[AsyncSession], Awaitable[T]],
        stamp: Callable[[AsyncSession], Awaitable[Hashable]] | None = None,
    ) -> None:
        """``read`` produces the value from a session; ``stamp``, if given, tells whether it
        can have changed since."""
        self._read = read
        self._stamp = stamp
        self._stamp_seen: Hashable = None
        self._stamped: Stamped[T] | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._ahead: asyncio.Task[None] | None = None
        self.reads = 0  # re-reads, of the stamp alone or of the value
        self.loads = 0  # reads of the value itself

    def _refresh_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    @property
    def read_at(self) -> datetime | None:
        """When the current value was read (None before the first read)."""
        return self._stamped.read_at if self._stamped is not None else None

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
            if self._stamped is not None and now - self._stamped.read_at >= max_staleness / 2:
                self._read_ahead(open_session, now)
            return value
        lock = self._refresh_lock()
        if lock.locked() and self._stamped is not None and max_staleness > timedelta(0):
            return self._stamped.value
        async with lock:
            value = self.fresh(now, max_staleness)
            if value is not None:
                return value
            return await self._reread(open_session, now)

    def ahead(self) -> asyncio.Task[None] | None:
        """The background re-read under way, if any (tests await it)."""
        ahead = self._ahead
        if ahead is None or ahead.done() or ahead.get_loop() is not asyncio.get_running_loop():
            return None  # none, finished, or left pending on a loop that has ended
        return ahead

    def _read_ahead(self, open_session: SessionOpener, now: datetime) -> None:
        if self.ahead() is not None or self._refresh_lock().locked():
            return
        self._ahead = asyncio.get_running_loop().create_task(self._background(open_session, now))

    async def _background(self, open_session: SessionOpener, now: datetime) -> None:
        async with self._refresh_lock():
            stamped = self._stamped
            if stamped is not None and stamped.read_at >= now:
                return  # read meanwhile
            try:
                await self._reread(open_session, now)
            except Exception:
                # The current value stays; a caller past the bound will read and see the error.
                logger.warning("reading ahead failed; the previous value stays", exc_info=True)

    async def _reread(self, open_session: SessionOpener, now: datetime) -> T:
        stamp: Hashable = None
        async with open_session() as session:
            if self._stamp is not None:
                stamp = await self._stamp(session)
                if self._stamped is not None and stamp == self._stamp_seen:
                    value = self._stamped.value
                    self._stamped = Stamped(value, now)
                    self.reads += 1
                    return value
            value = await self._read(session)
        self._stamped = Stamped(value, now)
        self._stamp_seen = stamp
        self.reads += 1
        self.loads += 1
        return value
