"""The injectable clock: code asks ``Clock.now()`` instead of reading the system time itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        """The frozen time."""
        return self._now

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. ``advance(minutes=5)``."""
        self._now += timedelta(**delta)


def as_utc(value: datetime) -> datetime:
    """A stored datetime as aware UTC (SQLite hands back naive values)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
