"""The working calendar: when a case's time limit runs out, counted in working or calendar time.

Pure arithmetic, no I/O besides reading the bundled data files. Instants come in and go out as
timezone-aware UTC datetimes (a naive value is read as UTC, as SQLite hands them back); every
calculation happens on the local wall clock of the calendar's time zone (``Asia/Shanghai`` by
default).

Units of a time limit (``LimitUnit``):

* ``MINUTES`` - elapsed time: ``start + N minutes``, whatever the day.
* ``DAYS`` (自然日) - calendar days: the same local wall-clock time N days later, so the result is
  correct across a daylight-saving change; weekends and holidays are ignored.
* ``WORK_HOURS`` (工作时) - N hours of working time, counted only inside the working periods
  (e.g. ``08:30-12:00,13:30-17:30``) of working days. A clock started outside working time (a
  night, the lunch break, a weekend, a holiday) starts at the next working period's start; a
  start exactly at a period's end counts as outside. A limit that runs out exactly at a period's
  end is due at that end, not at the next morning.
* ``WORK_DAYS`` (工作日) - N times the working time of one working day (7.5 h for the default
  periods), counted the same way. A case reported Friday 16:00 with one working day is due
  Monday 16:00 when Monday is a working day; one reported on a Saturday is due at the end of the
  next working day's last period.

A working day is Monday to Friday unless it is a public holiday (法定节假日), or a Saturday or
Sunday that is a make-up working day (调休上班). Working time is measured on the local wall
clock inside the periods; periods are half-open ``[start, end)``.

Pausing (挂账): ``remaining_seconds`` tells what is left of a limit when its clock stops - working
seconds for the work units, elapsed seconds for ``MINUTES`` and ``DAYS`` - and is negative when the
limit had already run out (by ``due - now`` in elapsed seconds, or minus the working seconds from
``due`` to ``now``). ``resume`` turns it back into a due time when the clock restarts: a positive
remainder is added from ``now`` (working units start at the next working period), zero is due
``now``, and a negative remainder is counted backwards, so an overdue case stays overdue by the
same amount.

Every day loop gives up with ``ValueError`` once it has seen no working day for three years (a
calendar that marks everything as holiday), instead of looping forever. Adding N working days
walks at most one step per calendar day, and counting working time between two instants uses
closed-form weekday arithmetic plus a binary search over the calendar's exceptions, so neither
depends on the length of the limit in minutes.

Bundled data: ``wenming/data/calendar/<year>.csv`` (``date,kind,name``; ``holiday`` rows for
every day off of a holiday block, weekend days included; ``workday`` rows for make-up working days
on a weekend), transcribed from the State Council notices (国务院办公厅关于部分节假日安排的通知):

* 2025 - 国办发明电〔2024〕12号 of 2024-11-12:
  https://www.gov.cn/zhengce/content/202411/content_6986382.htm
  (full text as relayed by Xinhua: https://m.gmw.cn/2024-11/12/content_1303894933.htm)
* 2026 - notice of 2025-11-04:
  https://www.gov.cn/zhengce/content/202511/content_7047090.htm
  (full text as relayed by Xinhua: https://politics.gmw.cn/2025-11/04/content_38391083.htm)

A year is added only once its notice is published (usually in November of the year before).
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wenming.core.clock import as_utc
from wenming.core.errors import InvalidInput

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_WORK_HOURS = "08:30-12:00,13:30-17:30"
CALENDAR_HEADER = ("date", "kind", "name")

_PERIOD = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MIDNIGHT = time(0, 0)
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_ZERO = timedelta(0)
# A calendar that shows no working day for this long is misconfigured.
_MAX_IDLE = timedelta(days=3 * 366)


class LimitUnit(StrEnum):
    """The unit a time limit is expressed in."""

    MINUTES = "minutes"
    WORK_HOURS = "work_hours"
    WORK_DAYS = "work_days"
    DAYS = "days"


WORKING_UNITS = frozenset({LimitUnit.WORK_HOURS, LimitUnit.WORK_DAYS})


class DayKind(StrEnum):
    """What a calendar row says about its date: a day off, or a make-up working day."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclass(frozen=True)
class CalendarDay:
    """One exception to the Monday-to-Friday week: a holiday or a make-up working day."""

    day: date
    kind: DayKind
    name: str


def _parse_clock(hour: str, minute: str, part: str) -> time:
    """A time of day from its digits, refusing 24:00 and out-of-range values."""
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise InvalidInput(f"'{part}' has an impossible time of day", field="work_hours")
    return time(h, m)


def parse_work_hours(text: str) -> tuple[tuple[time, time], ...]:
    """Working periods from ``"08:30-12:00,13:30-17:30"``: in order, each ending after it starts,
    none overlapping the one before."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip():
        raise InvalidInput(
            "working hours are empty; give periods like 08:30-12:00,13:30-17:30",
            field="work_hours",
        )
    periods: list[tuple[time, time]] = []
    for part in parts:
        match = _PERIOD.fullmatch(part)
        if match is None:
            raise InvalidInput(f"'{part}' is not a period HH:MM-HH:MM", field="work_hours")
        start = _parse_clock(match[1], match[2], part)
        end = _parse_clock(match[3], match[4], part)
        if end <= start:
            raise InvalidInput(f"period {part} does not end after it starts", field="work_hours")
        if periods and start < periods[-1][1]:
            raise InvalidInput(
                f"period {part} starts before the previous period ends; "
                "list periods in order without overlap",
                field="work_hours",
            )
        periods.append((start, end))
    return tuple(periods)


def _calendar_error(line: int, problem: str) -> InvalidInput:
    return InvalidInput(f"line {line}: {problem}", field="calendar")


def parse_calendar_csv(text: str) -> list[CalendarDay]:
    """Calendar rows from CSV text with the header ``date,kind,name``; blank lines are skipped,
    every other problem is refused naming its line."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        raise InvalidInput(
            "calendar file is empty; expected the header date,kind,name", field="calendar"
        )
    if tuple(f.strip() for f in next(csv.reader([lines[0]]))) != CALENDAR_HEADER:
        raise _calendar_error(1, f"expected the header date,kind,name, got '{lines[0].strip()}'")
    days: list[CalendarDay] = []
    seen: dict[date, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [f.strip() for f in next(csv.reader([line]))]
        if len(fields) != 3:
            raise _calendar_error(number, f"expected 3 fields date,kind,name, got {len(fields)}")
        raw_day, raw_kind, name = fields
        if not _ISO_DATE.fullmatch(raw_day):
            raise _calendar_error(number, f"'{raw_day}' is not a date YYYY-MM-DD")
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise _calendar_error(number, f"'{raw_day}' is not a date YYYY-MM-DD") from None
        try:
            kind = DayKind(raw_kind)
        except ValueError:
            raise _calendar_error(number, f"kind '{raw_kind}' must be holiday or workday") from None
        if not name:
            raise _calendar_error(number, "name is empty")
        if kind is DayKind.WORKDAY and day.weekday() < 5:
            raise _calendar_error(
                number, f"{day} is a weekday; a make-up workday falls on a Saturday or Sunday"
            )
        if day in seen:
            raise _calendar_error(number, f"{day} already appears on line {seen[day]}")
        seen[day] = number
        days.append(CalendarDay(day, kind, name))
    return days


@cache
def _bundled() -> tuple[CalendarDay, ...]:
    folder = resources.files("wenming").joinpath("data", "calendar")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".csv")),
        key=lambda entry: entry.name,
    )
    days = [day for entry in files for day in parse_calendar_csv(entry.read_text("utf-8"))]
    return tuple(sorted(days, key=lambda d: d.day))


def bundled_calendar_days() -> list[CalendarDay]:
    """Every row of the packaged official calendars (one CSV per year), ordered by date."""
    return list(_bundled())


def _seconds_of_day(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)


def _weekdays_between(first: date, stop: date) -> int:
    """How many Mondays to Fridays lie in ``[first, stop)``."""
    days = (stop - first).days
    if days <= 0:
        return 0
    weeks, extra = divmod(days, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for i in range(extra) if (start + i) % 7 < 5)


def _count_in(sorted_days: tuple[date, ...], first: date, stop: date) -> int:
    """How many of ``sorted_days`` lie in ``[first, stop)``."""
    return bisect_left(sorted_days, stop) - bisect_left(sorted_days, first)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working periods of a day plus the holidays and make-up days of a time zone's calendar;
    computes due times and what is left of a paused limit."""

    tz: ZoneInfo
    periods: tuple[tuple[time, time], ...]
    holidays: frozenset[date]
    workdays: frozenset[date]
    _spans: tuple[tuple[timedelta, timedelta], ...] = field(init=False, repr=False, compare=False)
    _day_length: timedelta = field(init=False, repr=False, compare=False)
    _weekday_holidays: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _weekend_workdays: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a working calendar needs at least one working period")
        spans = tuple((_seconds_of_day(s), _seconds_of_day(e)) for s, e in self.periods)
        if any(end <= start for start, end in spans) or any(
            start < previous_end for (_, previous_end), (start, _) in pairwise(spans)
        ):
            raise ValueError("working periods must be ordered, non-empty and must not overlap")
        object.__setattr__(self, "_spans", spans)
        object.__setattr__(self, "_day_length", sum((e - s for s, e in spans), _ZERO))
        object.__setattr__(
            self, "_weekday_holidays", tuple(sorted(d for d in self.holidays if d.weekday() < 5))
        )
        object.__setattr__(
            self,
            "_weekend_workdays",
            tuple(sorted(d for d in self.workdays if d.weekday() >= 5 and d not in self.holidays)),
        )

    @classmethod
    def build(cls, tz: str, work_hours: str, days: Iterable[CalendarDay]) -> WorkingCalendar:
        """A calendar from settings-style text and calendar rows; refuses an unknown time zone and
        a date that is both a holiday and a make-up workday."""
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone '{tz}'", field="timezone") from None
        periods = parse_work_hours(work_hours)
        holidays: set[date] = set()
        workdays: set[date] = set()
        for row in days:
            (holidays if row.kind is DayKind.HOLIDAY else workdays).add(row.day)
        clash = sorted(holidays & workdays)
        if clash:
            raise InvalidInput(
                f"{clash[0]} is both a holiday and a make-up workday", field="calendar"
            )
        return cls(zone, periods, frozenset(holidays), frozenset(workdays))

    @property
    def working_day_seconds(self) -> int:
        """The working time of one working day, in seconds (27,000 for the default periods)."""
        return self._day_length // _ONE_SECOND

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday unless a holiday; Saturday and Sunday only when a make-up workday."""
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.workdays

    def add(self, start: datetime, amount: int, unit: LimitUnit) -> datetime:
        """The due time of a limit of ``amount`` ``unit`` whose clock starts at ``start`` (UTC)."""
        if amount < 0:
            raise ValueError("a time limit cannot be negative")
        if unit is LimitUnit.MINUTES:
            return as_utc(start) + timedelta(minutes=amount)
        if unit is LimitUnit.DAYS:
            return self._utc(self._local(start) + timedelta(days=amount))
        if unit is LimitUnit.WORK_HOURS:
            return self.add_working_seconds(start, amount * 3600)
        return self.add_working_seconds(start, amount * self.working_day_seconds)

    def working_seconds_between(self, start: datetime, end: datetime) -> int:
        """Whole working seconds from ``start`` to ``end``; 0 when ``end`` is not later."""
        if as_utc(end) <= as_utc(start):
            return 0
        first, last = self._local(start), self._local(end)
        first_day, last_day = first.date(), last.date()
        first_off = first - datetime.combine(first_day, _MIDNIGHT)
        last_off = last - datetime.combine(last_day, _MIDNIGHT)
        if first_day == last_day:
            if not self.is_working_day(first_day):
                return 0
            total = self._worked_until(last_off) - self._worked_until(first_off)
        else:
            total = _ZERO
            if self.is_working_day(first_day):
                total += self._day_length - self._worked_until(first_off)
            total += self._day_length * self._working_days_between(first_day + _ONE_DAY, last_day)
            if self.is_working_day(last_day):
                total += self._worked_until(last_off)
        return max(total // _ONE_SECOND, 0)

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The instant when ``seconds`` of working time have passed since ``start``; a start
        outside working time counts from the next working period, and an end exactly at a
        period's end stays there."""
        if seconds < 0:
            raise ValueError("working seconds to add cannot be negative")
        local = self._local(start)
        day = local.date()
        offset = local - datetime.combine(day, _MIDNIGHT)
        remaining = timedelta(seconds=seconds)
        if self.is_working_day(day):
            for span_start, span_end in self._spans:
                if offset >= span_end:
                    continue
                begin = max(offset, span_start)
                available = span_end - begin
                if remaining <= available:
                    return self._at(day, begin + remaining)
                remaining -= available
        last_working = day
        while True:
            day += _ONE_DAY
            if not self.is_working_day(day):
                if day - last_working > _MAX_IDLE:
                    raise ValueError(
                        f"no working day within three years after {last_working}; "
                        "the working calendar is misconfigured"
                    )
                continue
            last_working = day
            if remaining > self._day_length:
                remaining -= self._day_length
                continue
            for span_start, span_end in self._spans:
                available = span_end - span_start
                if remaining <= available:
                    return self._at(day, span_start + remaining)
                remaining -= available

    def subtract_working_seconds(self, end: datetime, seconds: int) -> datetime:
        """The instant ``seconds`` of working time before ``end``: the mirror of
        ``add_working_seconds`` (a result exactly at a period's start stays there)."""
        if seconds < 0:
            raise ValueError("working seconds to subtract cannot be negative")
        if seconds == 0:
            return as_utc(end)
        local = self._local(end)
        day = local.date()
        offset = local - datetime.combine(day, _MIDNIGHT)
        remaining = timedelta(seconds=seconds)
        if self.is_working_day(day):
            for span_start, span_end in reversed(self._spans):
                if offset <= span_start:
                    continue
                finish = min(offset, span_end)
                available = finish - span_start
                if remaining <= available:
                    return self._at(day, finish - remaining)
                remaining -= available
        last_working = day
        while True:
            day -= _ONE_DAY
            if not self.is_working_day(day):
                if last_working - day > _MAX_IDLE:
                    raise ValueError(
                        f"no working day within three years before {last_working}; "
                        "the working calendar is misconfigured"
                    )
                continue
            last_working = day
            if remaining > self._day_length:
                remaining -= self._day_length
                continue
            for span_start, span_end in reversed(self._spans):
                available = span_end - span_start
                if remaining <= available:
                    return self._at(day, span_end - remaining)
                remaining -= available

    def remaining_seconds(self, now: datetime, due: datetime, unit: LimitUnit) -> int:
        """What is left of a limit at ``now`` when its clock is paused: working seconds for work
        units, elapsed seconds otherwise; negative when the limit has already run out."""
        if unit in WORKING_UNITS:
            if as_utc(due) >= as_utc(now):
                return self.working_seconds_between(now, due)
            return -self.working_seconds_between(due, now)
        return (as_utc(due) - as_utc(now)) // _ONE_SECOND

    def resume(self, now: datetime, remaining_seconds: int, unit: LimitUnit) -> datetime:
        """The new due time when a paused clock restarts at ``now`` with ``remaining_seconds``
        (as ``remaining_seconds`` returned them) left."""
        if unit not in WORKING_UNITS:
            return as_utc(now) + timedelta(seconds=remaining_seconds)
        if remaining_seconds > 0:
            return self.add_working_seconds(now, remaining_seconds)
        return self.subtract_working_seconds(now, -remaining_seconds)

    def _working_days_between(self, first: date, stop: date) -> int:
        """How many working days lie in ``[first, stop)``, without visiting each day."""
        if stop <= first:
            return 0
        return (
            _weekdays_between(first, stop)
            - _count_in(self._weekday_holidays, first, stop)
            + _count_in(self._weekend_workdays, first, stop)
        )

    def _worked_until(self, offset: timedelta) -> timedelta:
        """Working time of a working day from midnight up to ``offset`` past midnight."""
        total = _ZERO
        for span_start, span_end in self._spans:
            if offset <= span_start:
                break
            total += min(offset, span_end) - span_start
        return total

    def _local(self, instant: datetime) -> datetime:
        """The local wall-clock time of an instant, as a naive datetime."""
        return as_utc(instant).astimezone(self.tz).replace(tzinfo=None)

    def _utc(self, local: datetime) -> datetime:
        """The UTC instant of a local wall-clock time."""
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def _at(self, day: date, offset: timedelta) -> datetime:
        return self._utc(datetime.combine(day, _MIDNIGHT) + offset)
