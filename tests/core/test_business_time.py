from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core.business_time import (
    Calendar,
    CalendarError,
    business_days_after,
    holiday_dates,
    is_allowed,
    is_business_day,
    is_quiet,
    local_at,
    next_allowed,
    parse_business_days,
    parse_clock,
    parse_quiet_hours,
)

NY = ZoneInfo("America/New_York")
US_NY = holiday_dates("US", "NY", [date(2026, 12, 24)], range(2025, 2028))
OFFICE = Calendar("America/New_York", time(20), time(8), frozenset(range(5)), US_NY)


# --- parsing ------------------------------------------------------------------------------------


def test_parsing_the_settings() -> None:
    assert parse_clock("8:05") == time(8, 5)
    assert parse_quiet_hours("20:00-08:00") == (time(20), time(8))
    assert parse_quiet_hours(" off ") is None
    assert parse_business_days("Mon-Fri") == frozenset(range(5))
    assert parse_business_days("sun - thu") == frozenset({6, 0, 1, 2, 3})
    assert parse_business_days("Monday, Wed,fri") == frozenset({0, 2, 4})


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_clock, "25:00", "HH:MM"),
        (parse_quiet_hours, "20:00", "HH:MM-HH:MM"),
        (parse_quiet_hours, "08:00-08:00", "same time"),
        (parse_business_days, "Mon-Fry", "'Fry' is not a day"),
        (parse_business_days, "", "expected days like Mon-Fri"),
    ],
)
def test_bad_settings_say_what_was_expected(parse, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CalendarError, match=expected):
        parse(text)


def test_holidays_come_from_the_package_plus_extra_dates() -> None:
    assert date(2026, 7, 3) in US_NY  # Independence Day observed on the Friday
    assert date(2026, 12, 25) in US_NY
    assert date(2026, 12, 24) in US_NY  # the business's own extra date
    assert date(2026, 12, 23) not in US_NY
    with pytest.raises(CalendarError, match="XX"):
        holiday_dates("XX", None, [], [2026])


# --- examples -----------------------------------------------------------------------------------


def test_quiet_hours_are_half_open() -> None:
    assert is_quiet(datetime(2026, 12, 1, 20, 0, tzinfo=NY), OFFICE)
    assert is_quiet(datetime(2026, 12, 1, 7, 59, tzinfo=NY), OFFICE)
    assert not is_quiet(datetime(2026, 12, 1, 8, 0, tzinfo=NY), OFFICE)
    lunch = Calendar("America/New_York", time(12), time(13), frozenset(range(7)), frozenset())
    assert is_quiet(datetime(2026, 12, 1, 12, 30, tzinfo=NY), lunch)
    assert not is_quiet(datetime(2026, 12, 1, 13, 0, tzinfo=NY), lunch)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 12, 4, 20, 30, tzinfo=NY), datetime(2026, 12, 7, 8, 0, tzinfo=NY)),
        (datetime(2026, 12, 23, 21, 0, tzinfo=NY), datetime(2026, 12, 28, 8, 0, tzinfo=NY)),
        (datetime(2026, 12, 1, 9, 15, tzinfo=NY), datetime(2026, 12, 1, 9, 15, tzinfo=NY)),
        (datetime(2026, 12, 1, 13, 0, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=NY)),
        (datetime(2026, 10, 31, 12, 0, tzinfo=NY), datetime(2026, 11, 2, 8, 0, tzinfo=NY)),
    ],
)
def test_next_allowed_examples(when: datetime, expected: datetime) -> None:
    result = next_allowed(when, OFFICE)
    assert result == expected and result.tzinfo == NY


def test_dst_gaps_move_forward_and_folds_take_the_first_occurrence() -> None:
    spring = local_at(date(2026, 3, 8), time(2, 30), NY)
    assert (spring.hour, spring.minute, spring.utcoffset()) == (3, 0, timedelta(hours=-4))
    fall = local_at(date(2026, 11, 1), time(1, 30), NY)
    assert fall.utcoffset() == timedelta(hours=-4)
    quiet_ends_in_gap = Calendar(
        "America/New_York", time(0), time(2, 30), frozenset(range(7)), frozenset()
    )
    result = next_allowed(datetime(2026, 3, 8, 1, 0, tzinfo=NY), quiet_ends_in_gap)
    assert result == datetime(2026, 3, 8, 3, 0, tzinfo=NY)


def test_business_days_after_skips_weekends_and_holidays() -> None:
    assert business_days_after(date(2026, 12, 23), 1, OFFICE) == date(2026, 12, 28)
    assert business_days_after(date(2026, 12, 5), 0, OFFICE) == date(2026, 12, 7)
    assert is_business_day(date(2026, 12, 28), OFFICE)


def test_a_calendar_with_no_business_days_is_an_error_not_a_hang() -> None:
    never = Calendar("America/New_York", None, None, frozenset(), frozenset())
    with pytest.raises(CalendarError):
        next_allowed(datetime(2026, 12, 1, 9, tzinfo=NY), never)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        next_allowed(datetime(2026, 12, 1, 9), OFFICE)


# --- properties ---------------------------------------------------------------------------------

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
]

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    quiet = draw(st.none() | st.tuples(clock_times, clock_times).filter(lambda w: w[0] != w[1]))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    holidays = draw(st.frozensets(st.dates(date(2024, 1, 1), date(2031, 1, 31)), max_size=20))
    return Calendar(
        draw(st.sampled_from(ZONES)),
        quiet[0] if quiet else None,
        quiet[1] if quiet else None,
        days,
        holidays,
    )


@settings(max_examples=400, deadline=None)
@given(instants, calendars())
def test_next_allowed_is_the_first_allowed_minute(when: datetime, cal: Calendar) -> None:
    result = next_allowed(when, cal)
    assert result >= when
    assert is_allowed(result, cal)
    assert next_allowed(result, cal) == result
    if result > when:
        # Nothing allowed in between: the minute just before was not allowed either.
        assert result.second == 0 and result.microsecond == 0
        # The real minute before (in UTC): wall-clock arithmetic would land inside a DST gap.
        before = (result.astimezone(UTC) - timedelta(minutes=1)).astimezone(result.tzinfo)
        assert before < when or not is_allowed(before, cal)
        if result - when <= timedelta(hours=6):
            probe = when
            while probe < result:
                assert not is_allowed(probe, cal)
                probe += timedelta(minutes=7)


@settings(max_examples=400, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2030, 12, 31)), clock_times, st.sampled_from(ZONES))
def test_local_at_always_exists_and_never_runs_early(day: date, at: time, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    result = local_at(day, at, zone)
    round_trip = result.astimezone(UTC).astimezone(zone)
    assert round_trip.replace(tzinfo=None) == result.replace(tzinfo=None)
    assert result.replace(tzinfo=None) >= datetime.combine(day, at)
    assert result.replace(tzinfo=None) - datetime.combine(day, at) <= timedelta(hours=1)


@settings(max_examples=300, deadline=None)
@given(instants, calendars())
def test_allowed_means_business_day_and_not_quiet(when: datetime, cal: Calendar) -> None:
    local = when.astimezone(cal.zone)
    assert is_allowed(when, cal) == (is_business_day(local.date(), cal) and not is_quiet(when, cal))


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2030, 1, 1)), st.integers(0, 30), calendars())
def test_business_days_after_counts_business_days(day: date, count: int, cal: Calendar) -> None:
    result = business_days_after(day, count, cal)
    assert is_business_day(result, cal)
    between = [day + timedelta(days=n) for n in range((result - day).days + 1)]
    assert sum(is_business_day(d, cal) for d in between) == count + 1


def _round_trip_local_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`local_at` by its definition alone: the first wall minute at or after `at` that survives
    a round trip through UTC."""
    wall = datetime.combine(day, at, tzinfo=zone).replace(fold=0)
    while wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        wall += timedelta(minutes=1)
    return wall


def _clock_changes(zone: ZoneInfo) -> list[datetime]:
    """The local wall times around which `zone`'s offset changed in 2011 and 2026."""
    found = []
    for year in (2011, 2026):
        at = datetime(year, 1, 1, tzinfo=UTC)
        while at.year == year:
            after = at + timedelta(hours=1)
            if at.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
                found.append(after.astimezone(zone).replace(tzinfo=None))
            at = after
    return found


CHANGING = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Apia")
CHANGES = {name: _clock_changes(ZoneInfo(name)) for name in CHANGING}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CHANGING), st.data(), st.integers(-240, 240))
def test_local_at_is_its_definition_around_every_clock_change(
    name: str, data: st.DataObject, minutes: int
) -> None:
    wall = data.draw(st.sampled_from(CHANGES[name])) + timedelta(minutes=minutes)
    zone = ZoneInfo(name)
    found, expected = (
        local_at(wall.date(), wall.time(), zone),
        _round_trip_local_at(wall.date(), wall.time(), zone),
    )
    assert (found.replace(tzinfo=None), found.fold, found.utcoffset()) == (
        expected.replace(tzinfo=None),
        expected.fold,
        expected.utcoffset(),
    )
