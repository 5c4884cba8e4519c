"""EventBridge Scheduler expressions evaluated locally.

The expected instants below are worked out by hand from the calendar and the zones' offsets
(EST = UTC-5, EDT = UTC-4, GMT = UTC, BST = UTC+1), and the properties check results against a
brute-force scan of real minutes, never against the module's own helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core.schedules import (
    At,
    Cron,
    Rate,
    Schedule,
    ScheduleError,
    fires_between,
    next_fire,
    parse,
)

NY, LONDON = "America/New_York", "Europe/London"
AWS_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # EventBridge's 1 ... 7
PY_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # date.weekday()'s 0 ... 6


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def in_utc(fires: list[datetime]) -> list[datetime]:
    return [fire.astimezone(UTC) for fire in fires]


def walls(fires: list[datetime], timezone: str) -> list[str]:
    """Each fire as the local wall clock shows it, e.g. '2026-03-09 02:30'."""
    zone = ZoneInfo(timezone)
    return [fire.astimezone(zone).strftime("%Y-%m-%d %H:%M") for fire in fires]


def first_fire(
    expression: str | Schedule, after: datetime, timezone: str, **kw: datetime
) -> datetime | None:
    """next_fire, in UTC: a fire inside a repeated hour never compares equal to a UTC datetime
    (PEP 495), so the tests compare instants in UTC."""
    fire = next_fire(expression, after, timezone, **kw)
    return fire.astimezone(UTC) if fire else None


def next_fires(
    expression: str, after: datetime, timezone: str, count: int, **kw: datetime
) -> list[datetime | None]:
    out: list[datetime | None] = []
    moment: datetime | None = after
    while moment is not None and len(out) < count:
        moment = next_fire(expression, moment, timezone, **kw)
        out.append(moment.astimezone(UTC) if moment else None)
    return out


# --- the expressions the SAM templates use ------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        # 08:00 EST is 13:00 UTC
        (
            "cron(0 8 * * ? *)",
            NY,
            utc(2026, 1, 10, 12),
            [utc(2026, 1, d, 13) for d in (10, 11, 12)],
        ),
        (
            "cron(0 * * * ? *)",
            NY,
            utc(2026, 1, 10, 12, 30),
            [utc(2026, 1, 10, h) for h in (13, 14, 15)],
        ),
        # Sundays in January 2026: the 4th, 11th, 18th; 18:00 EST is 23:00 UTC
        ("cron(0 18 ? * SUN *)", NY, utc(2026, 1, 1), [utc(2026, 1, d, 23) for d in (4, 11, 18)]),
        # first Mondays of 2026: 5 January, 2 February, 2 March (still EST)
        (
            "cron(0 9 ? * 2#1 *)",
            NY,
            utc(2026, 1, 1),
            [utc(2026, 1, 5, 14), utc(2026, 2, 2, 14), utc(2026, 3, 2, 14)],
        ),
        # Mondays after the clocks go forward in London (29 March): 08:00 BST is 07:00 UTC
        (
            "cron(0 8 ? * MON *)",
            LONDON,
            utc(2026, 3, 25),
            [utc(2026, 3, 30, 7), utc(2026, 4, 6, 7), utc(2026, 4, 13, 7)],
        ),
        ("at(2026-12-01T08:00:00)", NY, utc(2026, 11, 30), [utc(2026, 12, 1, 13), None]),
    ],
)
def test_the_templates_expressions(
    expression: str, timezone: str, after: datetime, expected: list[datetime | None]
) -> None:
    assert next_fires(expression, after, timezone, len(expected)) == expected


def test_rates_count_from_the_start_date_whatever_the_zone() -> None:
    start = utc(2026, 1, 10, 12, 2)
    for zone in (NY, LONDON, "Asia/Kolkata"):
        assert next_fires("rate(5 minutes)", utc(2026, 1, 10, 12), zone, 3, start_date=start) == [
            utc(2026, 1, 10, 12, 2),
            utc(2026, 1, 10, 12, 7),
            utc(2026, 1, 10, 12, 12),
        ]
    hourly = next_fires(
        "rate(1 hour)", utc(2026, 1, 10, 12, 30), NY, 2, start_date=utc(2026, 1, 10)
    )
    assert hourly == [utc(2026, 1, 10, 13), utc(2026, 1, 10, 14)]
    # the start date itself fires; an instant exactly on a fire is not "after" it
    assert first_fire("rate(2 days)", utc(2026, 1, 1), NY, start_date=utc(2026, 1, 1)) == utc(
        2026, 1, 3
    )
    assert first_fire("rate(1 day)", utc(2025, 1, 1), NY, start_date=utc(2026, 1, 1)) == utc(
        2026, 1, 1
    )


def test_results_are_aware_and_in_the_schedules_zone() -> None:
    fire = next_fire("cron(0 8 * * ? *)", utc(2026, 1, 10), NY)
    assert fire is not None
    assert fire.tzinfo == ZoneInfo(NY)
    assert (fire.hour, fire.minute) == (8, 0)
    rate = next_fire("rate(1 hour)", utc(2026, 1, 10), LONDON, start_date=utc(2026, 1, 1))
    assert rate is not None and rate.tzinfo == ZoneInfo(LONDON)


def test_fires_between_takes_the_end_but_not_the_start() -> None:
    hourly = "cron(0 * * * ? *)"
    assert in_utc(fires_between(hourly, utc(2026, 1, 1, 1), utc(2026, 1, 1, 3), "UTC")) == [
        utc(2026, 1, 1, 2),
        utc(2026, 1, 1, 3),
    ]
    # so back-to-back intervals, as a runner checks them, see every fire exactly once
    marks = [
        utc(2026, 1, 1, 0, 0),
        utc(2026, 1, 1, 1, 0),
        utc(2026, 1, 1, 1, 30),
        utc(2026, 1, 1, 4),
    ]
    pieces = [fires_between(hourly, a, b, "UTC") for a, b in pairwise(marks)]
    assert [fire for piece in pieces for fire in piece] == fires_between(
        hourly, marks[0], marks[-1], "UTC"
    )
    assert fires_between(hourly, utc(2026, 1, 1, 3), utc(2026, 1, 1, 1), "UTC") == []


def test_a_parsed_schedule_can_be_passed_instead_of_the_text() -> None:
    schedule = parse("  cron(0 8 * * ? *) ")
    assert isinstance(schedule, Cron)
    assert first_fire(schedule, utc(2026, 1, 10), NY) == utc(2026, 1, 10, 13)
    assert isinstance(parse("rate(1 day)"), Rate)
    assert isinstance(parse("at(2026-12-01T08:00:00)"), At)


# --- the cron syntax ----------------------------------------------------------------------------


def day_walls(expression: str, day: date, timezone: str = "UTC") -> list[str]:
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    fires = fires_between(
        expression,
        start - timedelta(microseconds=1),
        start + timedelta(days=1) - timedelta(microseconds=1),
        timezone,
    )
    return [wall[11:] for wall in walls(fires, timezone)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "cron(0/15 9-10 * * ? *)",
            ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"],
        ),
        # the documentation's own example: 1/10 is minute 1, 11, 21 ...
        ("cron(1/10 7 * * ? *)", ["07:01", "07:11", "07:21", "07:31", "07:41", "07:51"]),
        ("cron(*/20 23 * * ? *)", ["23:00", "23:20", "23:40"]),
        ("cron(5,35 6,18 * * ? *)", ["06:05", "06:35", "18:05", "18:35"]),
        ("cron(10-12 4 * * ? *)", ["04:10", "04:11", "04:12"]),
        ("cron(0 10-20/5 * * ? *)", ["10:00", "15:00", "20:00"]),
        ("cron(0 22-1 * * ? *)", ["00:00", "01:00", "22:00", "23:00"]),  # a range that wraps
    ],
)
def test_minutes_and_hours(expression: str, expected: list[str]) -> None:
    assert day_walls(expression, date(2026, 5, 6)) == expected


def dates_between(expression: str, first: date, last: date, timezone: str = "UTC") -> list[str]:
    zone = ZoneInfo(timezone)
    start = datetime(first.year, first.month, first.day, tzinfo=zone) - timedelta(microseconds=1)
    end = datetime(last.year, last.month, last.day, 23, 59, tzinfo=zone)
    return [wall[:10] for wall in walls(fires_between(expression, start, end, timezone), timezone)]


def test_month_names_lists_and_ranges() -> None:
    months = dates_between("cron(0 12 1 JAN,JUL ? *)", date(2026, 1, 1), date(2027, 12, 31))
    assert months == ["2026-01-01", "2026-07-01", "2027-01-01", "2027-07-01"]
    spring = dates_between("cron(0 12 1 mar-may ? *)", date(2026, 1, 1), date(2026, 12, 31))
    assert spring == ["2026-03-01", "2026-04-01", "2026-05-01"]
    quarters = dates_between("cron(0 12 1 1/3 ? *)", date(2026, 1, 1), date(2026, 12, 31))
    assert quarters == ["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"]


def test_day_names_and_numbers_count_from_sunday() -> None:
    # 4-10 May 2026 runs Monday to Sunday
    week = (date(2026, 5, 4), date(2026, 5, 10))
    assert dates_between("cron(0 9 ? * MON-FRI *)", *week) == [f"2026-05-0{d}" for d in range(4, 9)]
    assert dates_between("cron(0 9 ? * 2-6 *)", *week) == dates_between(
        "cron(0 9 ? * MON-FRI *)", *week
    )
    assert dates_between("cron(0 9 ? * 1,7 *)", *week) == ["2026-05-09", "2026-05-10"]
    assert dates_between("cron(0 9 ? * FRI-MON *)", *week) == [
        "2026-05-04",
        "2026-05-08",
        "2026-05-09",
        "2026-05-10",
    ]
    assert dates_between("cron(0 9 ? * L *)", *week) == ["2026-05-09"]  # L alone: Saturday


def test_years_bound_a_schedule() -> None:
    assert next_fires("cron(0 0 1 1 ? 2027,2029)", utc(2026, 6, 1), "UTC", 3) == [
        utc(2027, 1, 1),
        utc(2029, 1, 1),
        None,
    ]
    # the documentation's example: 10:15 on the last Friday of each month in 2022-2023
    assert next_fires("cron(15 10 ? * 6L 2022-2023)", utc(2023, 10, 1), "UTC", 4) == [
        utc(2023, 10, 27, 10, 15),
        utc(2023, 11, 24, 10, 15),
        utc(2023, 12, 29, 10, 15),
        None,
    ]
    assert first_fire("cron(0 0 * * ? *)", utc(2199, 12, 31, 1), "UTC") is None


def test_days_a_month_lacks_never_fire() -> None:
    assert dates_between("cron(0 0 31 * ? *)", date(2026, 1, 1), date(2026, 6, 30)) == [
        "2026-01-31",
        "2026-03-31",
        "2026-05-31",
    ]
    assert first_fire("cron(0 0 29 2 ? *)", utc(2026, 1, 1), "UTC") == utc(2028, 2, 29)
    assert first_fire("cron(0 0 30 2 ? *)", utc(2026, 1, 1), "UTC") is None


def test_l_is_the_last_day_of_the_month() -> None:
    assert dates_between("cron(0 12 L * ? *)", date(2026, 1, 1), date(2026, 4, 30)) == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]
    assert first_fire("cron(0 12 L 2 ? *)", utc(2027, 3, 1), "UTC") == utc(2028, 2, 29, 12)


def test_5l_is_the_last_thursday() -> None:
    assert dates_between("cron(0 9 ? * 5L *)", date(2026, 1, 1), date(2026, 3, 31)) == [
        "2026-01-29",
        "2026-02-26",
        "2026-03-26",
    ]
    assert dates_between("cron(0 9 ? * THUL *)", date(2026, 11, 1), date(2026, 11, 30)) == [
        "2026-11-26"
    ]


@pytest.mark.parametrize(
    ("expression", "month", "expected"),
    [
        ("cron(0 9 15W * ? *)", (2026, 8), "2026-08-14"),  # Saturday the 15th: Friday before
        ("cron(0 9 15W * ? *)", (2026, 5), "2026-05-15"),  # already a Friday
        ("cron(0 9 1W * ? *)", (2026, 8), "2026-08-03"),  # Saturday the 1st: Monday the 3rd
        ("cron(0 9 1W * ? *)", (2026, 2), "2026-02-02"),  # Sunday the 1st: Monday the 2nd
        ("cron(0 9 31W * ? *)", (2026, 5), "2026-05-29"),  # Sunday the 31st: Friday the 29th
        ("cron(0 9 LW * ? *)", (2026, 1), "2026-01-30"),  # last day a Saturday
        ("cron(0 9 LW * ? *)", (2026, 5), "2026-05-29"),  # last day a Sunday
        ("cron(0 9 LW * ? *)", (2026, 8), "2026-08-31"),  # last day a Monday
    ],
)
def test_w_is_the_nearest_weekday_in_the_same_month(
    expression: str, month: tuple[int, int], expected: str
) -> None:
    year, number = month
    last = date(year + number // 12, number % 12 + 1, 1) - timedelta(days=1)
    assert dates_between(expression, date(year, number, 1), last) == [expected]


def test_31w_skips_months_without_a_31st() -> None:
    assert dates_between("cron(0 9 31W * ? *)", date(2026, 6, 1), date(2026, 7, 31)) == [
        "2026-07-31"
    ]


def test_hash_is_the_nth_weekday_of_the_month() -> None:
    assert dates_between("cron(0 9 ? * MON#1 *)", date(2026, 1, 1), date(2026, 3, 31)) == [
        "2026-01-05",
        "2026-02-02",
        "2026-03-02",
    ]
    # fifth Fridays: 30 January, then none until 29 May
    assert dates_between("cron(0 9 ? * 6#5 *)", date(2026, 1, 1), date(2026, 5, 31)) == [
        "2026-01-30",
        "2026-05-29",
    ]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 8 * * ?)", "expected 6 fields .* found 5"),
        ("cron(60 8 * * ? *)", "minutes field '60': 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours field '24': 24 is outside 0-23"),
        ("cron(0 8 32 * ? *)", "day-of-month field '32': 32 is outside 1-31"),
        ("cron(0 8 * 13 ? *)", "month field '13': 13 is outside 1-12"),
        ("cron(0 8 ? * 0 *)", "day-of-week field '0': 0 is outside 1-7"),
        ("cron(0 8 * * ? 1969)", "year field '1969': 1969 is outside 1970-2199"),
        ("cron(0 8 * * * *)", r"exactly one of day-of-month \('\*'\) and day-of-week \('\*'\)"),
        ("cron(0 8 ? * ? *)", "exactly one of day-of-month"),
        ("cron(? 8 * * ? *)", "minutes field '\\?': only day-of-month and day-of-week take"),
        ("cron(0 8 ? * 2#1,4#3 *)", "day-of-week field '2#1,4#3': a '#' takes one day"),
        ("cron(0 8 ? * 2#6 *)", "day-of-week field '2#6': 6 is outside 1-5"),
        ("cron(0 8 L,15 * ? *)", "day-of-month field 'L,15': 'L', 'W' and '#' stand alone"),
        ("cron(0 8 ? * 5L,6L *)", "day-of-week field '5L,6L': 'L', 'W' and '#' stand alone"),
        ("cron(0 8 1 FOO ? *)", "month field 'FOO': 'FOO' is not a number or a name like JAN"),
        (
            "cron(0 8 ? * FUN *)",
            "day-of-week field 'FUN': 'FUN' is not a number or a name like SUN",
        ),
        ("cron(0 8 * * ? 2030-2020)", "year field '2030-2020': the range runs backwards"),
        ("cron(0/0 8 * * ? *)", "minutes field '0/0': 0 is outside 1-60"),
        ("cron(1- 8 * * ? *)", "minutes field '1-': '' is not a number"),
        ("rate(1 hours)", "rate\\(1 hours\\): a value of 1 takes the unit 'hour'"),
        ("rate(5 hour)", "a value of 5 takes the unit 'hours'"),
        ("rate(0 minutes)", "positive whole number"),
        ("rate(5 weeks)", "expected rate\\(N minutes\\|hours\\|days\\)"),
        ("rate(five minutes)", "expected rate"),
        ("at(2026-12-01 08:00:00)", "expected at\\(yyyy-mm-ddThh:mm:ss\\)"),
        ("at(2026-02-30T08:00:00)", "'2026-02-30T08:00:00' is not a real date and time"),
        ("every day at 8", "is not a schedule expression"),
        ("cron 0 8 * * ? *", "is not a schedule expression"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse(expression)
    with pytest.raises(ValueError, match=message):  # a ScheduleError is a ValueError
        next_fire(expression, utc(2026, 1, 1), "UTC", start_date=utc(2026, 1, 1))


def test_bad_arguments() -> None:
    with pytest.raises(ScheduleError, match="'Mars/Olympus' is not an IANA zone"):
        next_fire("cron(0 8 * * ? *)", utc(2026, 1, 1), "Mars/Olympus")
    with pytest.raises(ScheduleError, match="rate\\(5 minutes\\) counts from the schedule's start"):
        next_fire("rate(5 minutes)", utc(2026, 1, 1), "UTC")
    with pytest.raises(ValueError, match="after must be a timezone-aware datetime"):
        next_fire("cron(0 8 * * ? *)", datetime(2026, 1, 1), "UTC")
    with pytest.raises(ValueError, match="end must be a timezone-aware datetime"):
        fires_between("cron(0 8 * * ? *)", utc(2026, 1, 1), datetime(2026, 1, 2), "UTC")


# --- daylight saving ----------------------------------------------------------------------------
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html: a cron time the
# spring-forward skips does not run that day; a time the fall-back repeats runs once.


def test_spring_forward_skips_a_time_that_does_not_exist() -> None:
    # New York, 8 March 2026: 02:00 EST becomes 03:00 EDT
    fires = fires_between("cron(30 2 * * ? *)", utc(2026, 3, 7), utc(2026, 3, 10), NY)
    assert in_utc(fires) == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 6, 30)]
    # London, 29 March 2026: 01:00 GMT becomes 02:00 BST; 02:30 exists, 01:30 does not
    london = fires_between("cron(30 2 * * ? *)", utc(2026, 3, 28), utc(2026, 3, 30), LONDON)
    assert in_utc(london) == [utc(2026, 3, 28, 2, 30), utc(2026, 3, 29, 1, 30)]
    gap = fires_between("cron(30 1 * * ? *)", utc(2026, 3, 28), utc(2026, 3, 31), LONDON)
    assert in_utc(gap) == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30)]


def test_fall_back_runs_a_repeated_time_once_at_its_first_occurrence() -> None:
    # New York, 1 November 2026: 02:00 EDT becomes 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC
    fires = fires_between("cron(30 1 * * ? *)", utc(2026, 10, 31), utc(2026, 11, 3), NY)
    assert in_utc(fires) == [
        utc(2026, 10, 31, 5, 30),
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
    ]
    # and not again when asked from between the two occurrences
    assert first_fire("cron(30 1 * * ? *)", utc(2026, 11, 1, 6), NY) == utc(2026, 11, 2, 6, 30)
    # London, 25 October 2026: 02:00 BST becomes 01:00 GMT; 01:30 happens at 00:30 and 01:30 UTC
    london = fires_between("cron(30 1 * * ? *)", utc(2026, 10, 24), utc(2026, 10, 27), LONDON)
    assert in_utc(london) == [
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]


@pytest.mark.parametrize(
    ("timezone", "spring", "fall", "gap_hour"),
    [
        (NY, date(2026, 3, 8), date(2026, 11, 1), 2),
        (LONDON, date(2026, 3, 29), date(2026, 10, 25), 1),
    ],
)
def test_an_hourly_cron_across_both_changes(
    timezone: str, spring: date, fall: date, gap_hour: int
) -> None:
    zone = ZoneInfo(timezone)

    def day(on: date) -> list[datetime]:
        start = datetime(on.year, on.month, on.day, tzinfo=zone) - timedelta(microseconds=1)
        end = datetime(on.year, on.month, on.day, 23, 59, tzinfo=zone)
        return in_utc(fires_between("cron(0 * * * ? *)", start, end, timezone))

    short, long = day(spring), day(fall)
    # spring: a 23-hour day, one fire an hour with no hour missing and none doubled
    assert [f.astimezone(zone).hour for f in short] == [h for h in range(24) if h != gap_hour]
    assert {b - a for a, b in pairwise(short)} == {timedelta(hours=1)}
    # fall: a 25-hour day, every wall-clock hour once; the repeated hour is not repeated
    assert [f.astimezone(zone).hour for f in long] == list(range(24))
    steps = [b - a for a, b in pairwise(long)]
    assert sorted(steps) == [timedelta(hours=1)] * 22 + [timedelta(hours=2)]
    assert len(set(short)) == len(short) and len(set(long)) == len(long)


def test_one_offs_in_a_gap_run_at_the_first_valid_minute_and_in_a_fold_at_the_first() -> None:
    assert first_fire("at(2026-03-08T02:30:00)", utc(2026, 1, 1), NY) == utc(
        2026, 3, 8, 7
    )  # 03:00 EDT
    assert first_fire("at(2026-11-01T01:30:00)", utc(2026, 1, 1), NY) == utc(2026, 11, 1, 5, 30)
    assert first_fire("at(2026-11-01T01:30:00)", utc(2026, 11, 1, 5, 30), NY) is None


def test_a_days_rate_is_24_hours_on_the_clock() -> None:
    start = datetime(2026, 3, 7, 8, tzinfo=ZoneInfo(NY))
    fires = fires_between(
        "rate(1 day)", start, start + timedelta(days=2, hours=2), NY, start_date=start
    )
    assert walls(fires, NY) == [
        "2026-03-08 09:00",
        "2026-03-09 09:00",
    ]  # 08:00 EST + 24 h = 09:00 EDT


# --- properties ---------------------------------------------------------------------------------

ZONES = (
    NY,
    LONDON,
    "UTC",
    "Asia/Kolkata",  # +05:30, no daylight saving
    "Australia/Lord_Howe",  # a 30-minute daylight-saving shift
    "America/Santiago",  # clocks change at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
)


@cache
def transitions(timezone: str) -> tuple[datetime, ...]:
    """The instants in 2026-2027 where the zone's offset changes, found by scanning hours."""
    zone, found = ZoneInfo(timezone), []
    moment = utc(2026, 1, 1)
    while moment < utc(2028, 1, 1):
        if (
            moment.astimezone(zone).utcoffset()
            != (moment + timedelta(hours=1)).astimezone(zone).utcoffset()
        ):
            found.append(moment)
        moment += timedelta(hours=1)
    return tuple(found) or (utc(2026, 6, 1),)


@st.composite
def moments(draw: st.DrawFn, timezone: str) -> datetime:
    """An instant, usually within two days of one of the zone's daylight-saving changes."""
    near = draw(st.sampled_from(transitions(timezone)))
    seconds = draw(st.integers(-2 * 86400, 2 * 86400))
    return near + timedelta(seconds=seconds, microseconds=draw(st.sampled_from([0, 1, 500_000])))


CronCase = tuple[str, frozenset[int], frozenset[int], frozenset[int]]


@st.composite
def crons(draw: st.DrawFn) -> CronCase:
    """A cron that fires at least once a week, with the minutes, hours and days it allows."""
    minutes = draw(st.frozensets(st.integers(0, 59), min_size=1, max_size=4))
    hours = draw(
        st.frozensets(st.integers(0, 23), min_size=1, max_size=5) | st.just(frozenset(range(24)))
    )
    days = draw(st.frozensets(st.integers(1, 7), min_size=1, max_size=7))
    hour_text = "*" if len(hours) == 24 else ",".join(map(str, sorted(hours)))
    day_text = ",".join(draw(st.sampled_from([str(d), AWS_DAYS[d - 1]])) for d in sorted(days))
    text = f"cron({','.join(map(str, sorted(minutes)))} {hour_text} ? * {day_text} *)"
    return text, minutes, hours, days


def fires_by_scanning(
    timezone: str,
    after: datetime,
    until: datetime,
    minutes: frozenset[int],
    hours: frozenset[int],
    days: frozenset[int],
) -> list[datetime]:
    """Every real minute in (after, until] whose local reading matches, counting a reading the
    fall-back repeats only the first time (fold 0). Gap readings never occur, so never match."""
    zone, found = ZoneInfo(timezone), []
    moment = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= until:
        local = moment.astimezone(zone)
        day = AWS_DAYS.index(PY_DAYS[local.weekday()]) + 1
        if local.fold == 0 and local.minute in minutes and local.hour in hours and day in days:
            found.append(moment)
        moment += timedelta(minutes=1)
    return found


@settings(max_examples=60, deadline=None)
@given(data=st.data(), cron=crons(), timezone=st.sampled_from(ZONES))
def test_next_fire_is_the_first_matching_minute_strictly_after(
    data: st.DataObject, cron: CronCase, timezone: str
) -> None:
    text, minutes, hours, days = cron
    after = data.draw(moments(timezone))
    fire = next_fire(text, after, timezone)
    assert fire is not None and fire.tzinfo == ZoneInfo(timezone)
    assert fire.astimezone(UTC) > after
    local = fire.astimezone(ZoneInfo(timezone))
    assert local.minute in minutes and local.hour in hours and local.second == 0
    assert AWS_DAYS.index(PY_DAYS[local.weekday()]) + 1 in days
    # nothing fires in between: the scan's first match is the result
    until = fire.astimezone(UTC)
    assert fires_by_scanning(timezone, after, until, minutes, hours, days)[:1] == [until]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), cron=crons(), timezone=st.sampled_from(ZONES), hours=st.integers(1, 72))
def test_fires_between_is_every_match_sorted_once(
    data: st.DataObject, cron: CronCase, timezone: str, hours: int
) -> None:
    text, minute_set, hour_set, days = cron
    start = data.draw(moments(timezone))
    end = start + timedelta(hours=hours)
    fires = in_utc(fires_between(text, start, end, timezone))
    assert fires == sorted(set(fires))
    assert fires == fires_by_scanning(timezone, start, end, minute_set, hour_set, days)


@settings(max_examples=100, deadline=None)
@given(
    value=st.integers(1, 500),
    unit=st.sampled_from(["minute", "hour", "day"]),
    start=st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)),
    offset=st.integers(-(10**7), 10**9),
    timezone=st.sampled_from(ZONES),
)
def test_a_rate_fires_every_period_from_its_start(
    value: int, unit: str, start: datetime, offset: int, timezone: str
) -> None:
    text = f"rate({value} {unit}{'s' if value > 1 else ''})"
    period = (
        value
        * {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}[
            unit
        ]
    )
    after = start + timedelta(seconds=offset)
    fire = next_fire(text, after, timezone, start_date=start)
    assert fire is not None
    assert fire > after and (fire - after <= period or after < start)
    assert (fire - start) % period == timedelta(0) and fire >= start
    assert fire.astimezone(UTC) == first_fire(
        text, after, "UTC", start_date=start
    )  # the zone only shows it


@settings(max_examples=100, deadline=None)
@given(
    weekday=st.integers(1, 7),
    nth=st.integers(1, 5),
    after=st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_hash_picks_the_nth_such_day_and_skips_months_without_one(
    weekday: int, nth: int, after: datetime
) -> None:
    fire = next_fire(f"cron(0 12 ? * {weekday}#{nth} *)", after, "UTC")
    assert fire is not None and fire > after
    assert PY_DAYS[fire.weekday()] == AWS_DAYS[weekday - 1]
    assert (fire.day - 1) // 7 + 1 == nth
    day = after.date() + timedelta(days=1)
    while day < fire.date():  # no earlier day qualifies
        assert not (
            PY_DAYS[day.weekday()] == AWS_DAYS[weekday - 1] and (day.day - 1) // 7 + 1 == nth
        )
        day += timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(
    day=st.integers(1, 31),
    after=st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_w_lands_on_a_weekday_within_two_days_in_the_same_month(day: int, after: datetime) -> None:
    fire = next_fire(f"cron(0 12 {day}W * ? *)", after, "UTC")
    assert fire is not None and fire > after
    assert fire.weekday() < 5
    assert abs(fire.day - day) <= 2
    try:
        wanted = date(fire.year, fire.month, day)
    except ValueError:
        raise AssertionError(f"fired in a month without day {day}: {fire}") from None
    if wanted.weekday() < 5:
        assert fire.day == day


@settings(max_examples=60, deadline=None)
@given(after=st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)))
def test_l_fires_on_the_day_before_the_first(after: datetime) -> None:
    fire = next_fire("cron(0 12 L * ? *)", after, "UTC")
    assert fire is not None and fire > after
    assert (fire + timedelta(days=1)).day == 1
    assert fire - after <= timedelta(days=31)
