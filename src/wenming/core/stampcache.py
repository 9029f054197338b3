"""Values built from the database for a version stamp, kept per database in this process.

An in-memory index (grids, gazetteer) or the rulebook is rebuilt only when the stamp a session
reads has moved. Sessions of one engine (every request of a ``Database``) share one cache; a
session bound to a single connection (a test's transaction) gets that connection's own, which
ends with the connection.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

S = TypeVar("S")
V = TypeVar("V")
C = TypeVar("C")


class StampedCache(Generic[S, V]):
    """The value built for the newest stamp seen; concurrent requests for one stamp build once."""

    def __init__(
        self,
        build: Callable[[AsyncSession, S], Awaitable[V]],
        stamp_of: Callable[[V], S],
        at_least: Callable[[S, S], bool],
    ) -> None:
        """``build`` makes the value for a stamp; ``stamp_of`` tells a value's stamp;
        ``at_least(a, b)`` whether stamp ``a`` is as new as ``b`` or newer."""
        self._build = build
        self._stamp_of = stamp_of
        self._at_least = at_least
        self._value: V | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.builds = 0

    @property
    def current(self) -> V | None:
        """The value built last for the newest stamp (possibly stale: check its stamp)."""
        return self._value

    def _build_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    async def for_stamp(self, session: AsyncSession, stamp: S) -> V:
        """The value for a stamp already read in this session, built when needed.

        A value for an older stamp than the kept one (a reader with an old snapshot) is built for
        that caller only and does not replace the newer one.
        """
        value = self._value
        if value is not None and self._stamp_of(value) == stamp:
            return value
        async with self._build_lock():
            value = self._value
            if value is not None and self._stamp_of(value) == stamp:
                return value
            built = await self._build(session, stamp)
            self.builds += 1
            if value is None or self._at_least(stamp, self._stamp_of(value)):
                self._value = built
            return built


class PerDatabase(Generic[C]):
    """One cache per database a session talks to, made on first use."""

    def __init__(self, make: Callable[[], C]) -> None:
        """``make`` makes an empty cache."""
        self._make = make
        self._caches: weakref.WeakKeyDictionary[Any, C] = weakref.WeakKeyDictionary()
        self._unbound = make()

    def of(self, session: AsyncSession) -> C:
        """The cache of the session's database (per engine pool, or per bound connection)."""
        bind = session.bind
        owner: Any
        if isinstance(bind, AsyncEngine):
            owner = bind.sync_engine.pool
        elif isinstance(bind, AsyncConnection):
            owner = bind
        else:
            return self._unbound
        cache = self._caches.get(owner)
        if cache is None:
            cache = self._caches[owner] = self._make()
        return cache
