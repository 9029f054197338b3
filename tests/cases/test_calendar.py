"""Working-time arithmetic: weekends, the 2026 holidays and make-up days of the bundled calendar,
starts outside working hours, period ends, calendar units, pause and resume, and the parsers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from wenming.cases.calendar import (
    CalendarDay,
    DayKind,
    LimitUnit,
    WorkingCalendar,
    bundled_calendar_days,
    parse_calendar_csv,
    parse_work_hours,
)
from wenming.core.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = "08:30-12:00,13:30-17:30"
CAL = WorkingCalendar.build("Asia/Shanghai", HOURS, bundled_calendar_days())
WD = LimitUnit.WORK_DAYS
WH = LimitUnit.WORK_HOURS


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the UTC instant the calendar takes and returns."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_working_days_follow_weekends_holidays_and_make_up_days() -> None:
    assert CAL.is_working_day(date(2026, 3, 13))  # Friday
    assert not CAL.is_working_day(date(2026, 3, 14))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 15))  # Sunday
    assert not CAL.is_working_day(date(2026, 10, 1))  # Thursday, 国庆节
    assert not CAL.is_working_day(date(2026, 2, 23))  # Monday, last day of 春节
    assert CAL.is_working_day(date(2026, 2, 14))  # Saturday, 调休 for 春节
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday, 调休 for 国庆节
    assert CAL.is_working_day(date(2025, 1, 26))  # Sunday, 调休 for 春节 2025
    assert CAL.working_day_seconds == 27_000


def test_work_hours_skip_the_weekend() -> None:
    due = CAL.add(at(2026, 3, 13, 16), 4, WH)
    assert due == at(2026, 3, 16, 11)
    assert due.tzinfo is UTC


def test_work_hours_skip_the_national_day_block() -> None:
    assert CAL.add(at(2026, 9, 30, 16), 4, WH) == at(2026, 10, 8, 11)


def test_work_days_skip_the_spring_festival_block() -> None:
    assert CAL.add(at(2026, 2, 14, 16), 1, WD) == at(2026, 2, 24, 16)


def test_make_up_saturday_and_sunday_count_as_working() -> None:
    assert CAL.add(at(2026, 2, 13, 16), 1, WD) == at(2026, 2, 14, 16)
    assert CAL.add(at(2026, 9, 19, 10), 2, WH) == at(2026, 9, 20, 10, 30)


def test_start_before_work_starts_at_the_first_period() -> None:
    assert CAL.add(at(2026, 3, 10, 7), 2, WH) == at(2026, 3, 10, 10, 30)


def test_start_in_the_evening_starts_next_morning() -> None:
    assert CAL.add(at(2026, 3, 10, 20), 2, WH) == at(2026, 3, 11, 10, 30)


def test_start_at_lunch_starts_after_lunch() -> None:
    assert CAL.add(at(2026, 3, 10, 12, 30), 1, WH) == at(2026, 3, 10, 14, 30)
    assert CAL.add(at(2026, 3, 10, 12), 1, WH) == at(2026, 3, 10, 14, 30)


def test_start_exactly_at_the_end_of_the_day_starts_next_morning() -> None:
    assert CAL.add(at(2026, 3, 10, 17, 30), 1, WH) == at(2026, 3, 11, 9, 30)


def test_limit_ending_exactly_at_a_period_end_stays_there() -> None:
    assert CAL.add(at(2026, 3, 10, 14, 30), 3, WH) == at(2026, 3, 10, 17, 30)
    assert CAL.add_working_seconds(at(2026, 3, 10, 8, 30), 12_600) == at(2026, 3, 10, 12)
    assert CAL.add(at(2026, 3, 10, 8, 30), 1, WD) == at(2026, 3, 10, 17, 30)


def test_one_work_day_from_friday_afternoon_is_monday_afternoon() -> None:
    assert CAL.add(at(2026, 3, 13, 16), 1, WD) == at(2026, 3, 16, 16)


def test_one_work_day_from_saturday_ends_with_the_next_working_day() -> None:
    assert CAL.add(at(2026, 3, 14, 10), 1, WD) == at(2026, 3, 16, 17, 30)


def test_many_work_days() -> None:
    assert CAL.add(at(2026, 3, 2, 9), 20, WD) == at(2026, 3, 30, 9)
    # Thu 2, Fri 3, (Mon 6 清明节), Tue 7, Wed 8, Thu 9.
    assert CAL.add(at(2026, 4, 1, 9), 5, WD) == at(2026, 4, 9, 9)


def test_zero_work_hours_outside_working_time_is_the_next_period_start() -> None:
    assert CAL.add(at(2026, 3, 14, 10), 0, WH) == at(2026, 3, 16, 8, 30)
    assert CAL.add(at(2026, 3, 16, 10), 0, WH) == at(2026, 3, 16, 10)


def test_calendar_days_and_minutes_ignore_holidays() -> None:
    assert CAL.add(at(2026, 9, 30, 10), 3, LimitUnit.DAYS) == at(2026, 10, 3, 10)
    assert CAL.add(at(2026, 10, 1, 23, 30), 90, LimitUnit.MINUTES) == at(2026, 10, 2, 1)


def test_calendar_days_keep_the_local_time_across_a_daylight_saving_change() -> None:
    berlin = WorkingCalendar.build("Europe/Berlin", HOURS, [])
    start = datetime(2026, 3, 28, 11, tzinfo=UTC)  # 12:00 CET
    assert berlin.add(start, 1, LimitUnit.DAYS) == datetime(2026, 3, 29, 10, tzinfo=UTC)


def test_naive_input_is_read_as_utc() -> None:
    naive = datetime(2026, 3, 13, 8)  # 16:00 in Shanghai
    assert CAL.add(naive, 4, WH) == at(2026, 3, 16, 11)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="a time limit cannot be negative"):
        CAL.add(at(2026, 3, 10, 9), -1, WH)
    with pytest.raises(ValueError, match="working seconds to add cannot be negative"):
        CAL.add_working_seconds(at(2026, 3, 10, 9), -1)


def test_working_seconds_between() -> None:
    assert CAL.working_seconds_between(at(2026, 3, 13, 16), at(2026, 3, 16, 11)) == 14_400
    assert CAL.working_seconds_between(at(2026, 3, 10, 11), at(2026, 3, 10, 14)) == 5_400
    # Fri 13 and the make-up Sat 14 in full, the 春节 block not at all, Tue 24 in full.
    assert CAL.working_seconds_between(at(2026, 2, 13, 8), at(2026, 2, 25, 8)) == 81_000
    assert CAL.working_seconds_between(at(2026, 2, 16, 9), at(2026, 2, 20, 9)) == 0
    assert CAL.working_seconds_between(at(2026, 3, 16, 11), at(2026, 3, 13, 16)) == 0


def test_pause_and_resume_working_time() -> None:
    paused_at = at(2026, 3, 13, 17)
    due = at(2026, 3, 16, 10)
    left = CAL.remaining_seconds(paused_at, due, WH)
    assert left == 7_200
    assert CAL.resume(at(2026, 3, 23, 9), left, WH) == at(2026, 3, 23, 11)
    assert CAL.resume(at(2026, 3, 21, 15), left, WD) == at(2026, 3, 23, 10, 30)


def test_pause_and_resume_wall_time() -> None:
    left = CAL.remaining_seconds(at(2026, 3, 13, 17), at(2026, 3, 13, 17, 45), LimitUnit.MINUTES)
    assert left == 2_700
    resumed = CAL.resume(at(2026, 3, 14, 10), left, LimitUnit.MINUTES)
    assert resumed == at(2026, 3, 14, 10, 45)
    assert CAL.remaining_seconds(at(2026, 9, 30, 10), at(2026, 10, 3, 10), LimitUnit.DAYS) == (
        259_200
    )


def test_remaining_is_negative_when_overdue_and_resume_keeps_it_overdue() -> None:
    due = at(2026, 3, 13, 16)
    now = at(2026, 3, 16, 9)
    left = CAL.remaining_seconds(now, due, WH)
    assert left == -7_200
    # 1.5 h back to Tuesday 08:30, the other 0.5 h back from Monday 17:30.
    assert CAL.resume(at(2026, 3, 17, 10), left, WH) == at(2026, 3, 16, 17)
    assert CAL.remaining_seconds(now, due, LimitUnit.MINUTES) == -234_000
    assert CAL.resume(at(2026, 3, 17, 10), -3_600, LimitUnit.DAYS) == at(2026, 3, 17, 9)


def test_nothing_left_resumes_due_now() -> None:
    due = at(2026, 3, 13, 17, 30)
    now = at(2026, 3, 14, 10)
    assert CAL.remaining_seconds(now, due, WH) == 0
    assert CAL.resume(at(2026, 3, 15, 10), 0, WH) == at(2026, 3, 15, 10)


def test_subtract_working_seconds_mirrors_add() -> None:
    assert CAL.subtract_working_seconds(at(2026, 3, 16, 11), 14_400) == at(2026, 3, 13, 16)
    assert CAL.subtract_working_seconds(at(2026, 3, 10, 14, 30), 3_600) == at(2026, 3, 10, 13, 30)
    assert CAL.subtract_working_seconds(at(2026, 3, 10, 14), 3_600) == at(2026, 3, 10, 11, 30)
    assert CAL.subtract_working_seconds(at(2026, 3, 10, 12), 12_600) == at(2026, 3, 10, 8, 30)


def test_a_calendar_without_working_days_fails_instead_of_looping() -> None:
    every_day = frozenset(date(2022, 1, 1) + timedelta(days=i) for i in range(10 * 366))
    closed = WorkingCalendar(SHANGHAI, parse_work_hours(HOURS), every_day, frozenset())
    with pytest.raises(ValueError, match="no working day within three years after 2026-01-01"):
        closed.add(at(2026, 1, 1, 9), 1, WH)
    with pytest.raises(ValueError, match="no working day within three years before 2026-01-01"):
        closed.resume(at(2026, 1, 1, 9), -60, WH)


def test_parse_work_hours() -> None:
    assert parse_work_hours(" 08:30-12:00 , 13:30-17:30 ") == (
        (time(8, 30), time(12)),
        (time(13, 30), time(17, 30)),
    )
    assert parse_work_hours("9:00-17:00") == ((time(9), time(17)),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "working hours are empty; give periods like 08:30-12:00,13:30-17:30"),
        ("8.30-12", "'8.30-12' is not a period HH:MM-HH:MM"),
        ("08:30-12:00,", "'' is not a period HH:MM-HH:MM"),
        ("08:30-24:00", "'08:30-24:00' has an impossible time of day"),
        ("12:00-08:30", "period 12:00-08:30 does not end after it starts"),
        ("09:00-09:00", "period 09:00-09:00 does not end after it starts"),
        (
            "08:30-12:00,11:00-17:30",
            "period 11:00-17:30 starts before the previous period ends; "
            "list periods in order without overlap",
        ),
        (
            "13:30-17:30,08:30-12:00",
            "period 08:30-12:00 starts before the previous period ends; "
            "list periods in order without overlap",
        ),
    ],
)
def test_parse_work_hours_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_work_hours(text)
    assert caught.value.detail == message
    assert caught.value.field == "work_hours"


def test_parse_calendar_csv() -> None:
    text = "\ufeffdate,kind,name\n2026-10-01,holiday,国庆节\n\n2026-10-10, workday ,国庆节\n"
    assert parse_calendar_csv(text) == [
        CalendarDay(date(2026, 10, 1), DayKind.HOLIDAY, "国庆节"),
        CalendarDay(date(2026, 10, 10), DayKind.WORKDAY, "国庆节"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "calendar file is empty; expected the header date,kind,name"),
        ("day,kind,name\n", "line 1: expected the header date,kind,name, got 'day,kind,name'"),
        ("date,kind,name\n2026-10-01,holiday\n", "line 2: expected 3 fields date,kind,name, got 2"),
        (
            "date,kind,name\n2026/10/01,holiday,国庆节\n",
            "line 2: '2026/10/01' is not a date YYYY-MM-DD",
        ),
        (
            "date,kind,name\n2026-02-30,holiday,春节\n",
            "line 2: '2026-02-30' is not a date YYYY-MM-DD",
        ),
        (
            "date,kind,name\n2026-10-01,off,国庆节\n",
            "line 2: kind 'off' must be holiday or workday",
        ),
        ("date,kind,name\n2026-10-01,holiday,\n", "line 2: name is empty"),
        (
            "date,kind,name\n2026-10-09,workday,国庆节\n",
            "line 2: 2026-10-09 is a weekday; a make-up workday falls on a Saturday or Sunday",
        ),
        (
            "date,kind,name\n2026-10-01,holiday,国庆节\n2026-10-02,holiday,国庆节\n"
            "2026-10-01,holiday,国庆节\n",
            "line 4: 2026-10-01 already appears on line 2",
        ),
    ],
)
def test_parse_calendar_csv_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_calendar_csv(text)
    assert caught.value.detail == message
    assert caught.value.field == "calendar"


def test_build_refuses_an_unknown_zone_and_a_contradictory_date() -> None:
    with pytest.raises(InvalidInput) as caught:
        WorkingCalendar.build("Mars/Olympus", HOURS, [])
    assert caught.value.detail == "unknown time zone 'Mars/Olympus'"
    assert caught.value.field == "timezone"
    both = [
        CalendarDay(date(2026, 10, 10), DayKind.HOLIDAY, "国庆节"),
        CalendarDay(date(2026, 10, 10), DayKind.WORKDAY, "国庆节"),
    ]
    with pytest.raises(InvalidInput) as caught:
        WorkingCalendar.build("Asia/Shanghai", HOURS, both)
    assert caught.value.detail == "2026-10-10 is both a holiday and a make-up workday"


def test_bundled_calendar_holds_the_official_2025_and_2026_arrangements() -> None:
    days = bundled_calendar_days()
    assert CalendarDay(date(2026, 10, 1), DayKind.HOLIDAY, "国庆节") in days
    assert CalendarDay(date(2026, 2, 14), DayKind.WORKDAY, "春节") in days
    assert CalendarDay(date(2025, 1, 28), DayKind.HOLIDAY, "春节") in days
    assert CalendarDay(date(2025, 10, 11), DayKind.WORKDAY, "国庆节、中秋节") in days
    by_year = {
        (year, kind): sum(1 for d in days if d.day.year == year and d.kind is kind)
        for year in (2025, 2026)
        for kind in DayKind
    }
    assert by_year == {
        (2025, DayKind.HOLIDAY): 28,
        (2025, DayKind.WORKDAY): 5,
        (2026, DayKind.HOLIDAY): 33,
        (2026, DayKind.WORKDAY): 6,
    }
    assert [d.day for d in days] == sorted({d.day for d in days})
    assert {d.day.year for d in days} == {2025, 2026}
