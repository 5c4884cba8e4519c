"""EventBridge Scheduler expressions — `cron(...)`, `rate(...)`, `at(...)` — evaluated locally.

The SAM templates give each schedule an expression and a `ScheduleExpressionTimezone`; the
long-running `backoffice run` keeps the same schedules on one machine, so it needs to know when
each one fires without asking AWS. Everything here is pure: time only comes in as a parameter.

Written by hand because no well-kept Python library evaluates AWS's dialect in a time zone:
croniter, cronsim and python-crontab speak Unix cron (five fields, no `?`, `W`, year, and
Sunday = 0); pyawscron and aws-croniter parse the six-field AWS syntax but compute in UTC only
(aws-croniter refuses any other tzinfo), so neither applies `ScheduleExpressionTimezone` or
EventBridge's daylight-saving rules, neither knows `rate()` or `at()`, and neither is typed.

Rules, from the AWS documentation:
- cron fields (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html and
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html): minutes
  0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT with
  1 = Sunday, year 1970-2199; exactly one of day-of-month and day-of-week is `?`; `L`, `W`, `#`
  as in Quartz, whose syntax AWS's follows (`L` alone in day-of-week is Saturday, `5L` the last
  Thursday of the month, `LW` the last weekday; `W` never leaves the month); a `#` stands alone.
- daylight saving (same page, "Daylight savings time on EventBridge Scheduler"): a cron time that
  does not exist because clocks moved forward is skipped that day; a cron time that happens twice
  because clocks moved back runs once, at its first occurrence.
- `rate(N unit)` runs at the schedule's StartDate and every N units after it; a day is 24 hours
  on the clock, whatever daylight saving does to the calendar day.
- `at()` is a local wall time in the zone. What AWS does with an `at()` inside a spring-forward
  gap is not documented: here it runs at the first valid minute after the gap (so a one-off is
  never lost), and an `at()` in a repeated hour runs at its first occurrence.

Results are aware datetimes in the schedule's zone. Compare them in UTC (`.astimezone(UTC)`):
Python compares two datetimes that share a tzinfo by wall time and ignores `fold`.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import assert_never
from zoneinfo import ZoneInfo

import attrs
from attrs import frozen

from backoffice.core.business_time import BAD_ZONE

FIRST_YEAR, LAST_YEAR = 1970, 2199
MONTH_NAMES = {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6}
MONTH_NAMES |= {"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


class ScheduleError(ValueError):
    """A schedule expression, or its time zone, that EventBridge Scheduler would not accept."""


# --- the parsed values ---------------------------------------------------------------------------


@frozen
class MonthDays:
    """Day-of-month numbers, lists, ranges and steps (a day a month lacks never fires)."""

    days: frozenset[int]

    def days_in(self, year: int, month: int) -> list[int]:
        return sorted(day for day in self.days if day <= _month_length(year, month))


@frozen
class LastDayOfMonth:
    """Day-of-month `L`."""

    def days_in(self, year: int, month: int) -> list[int]:
        return [_month_length(year, month)]


@frozen
class NearestWeekday:
    """Day-of-month `15W` (day 15) or `LW` (day None: the month's last day)."""

    day: int | None

    def days_in(self, year: int, month: int) -> list[int]:
        day = _month_length(year, month) if self.day is None else self.day
        if day > _month_length(year, month):
            return []
        return [_nearest_weekday(year, month, day)]


@frozen
class WeekDays:
    """Day-of-week numbers, 1 = Sunday ... 7 = Saturday."""

    days: frozenset[int]

    def days_in(self, year: int, month: int) -> list[int]:
        every = range(1, _month_length(year, month) + 1)
        return [day for day in every if _weekday(date(year, month, day)) in self.days]


@frozen
class LastWeekdayOf:
    """Day-of-week `5L`: the last Thursday of the month."""

    weekday: int

    def days_in(self, year: int, month: int) -> list[int]:
        return WeekDays(frozenset({self.weekday})).days_in(year, month)[-1:]


@frozen
class NthWeekday:
    """Day-of-week `2#1`: the first Monday of the month (none when the month has no such day)."""

    weekday: int
    nth: int

    def days_in(self, year: int, month: int) -> list[int]:
        days = WeekDays(frozenset({self.weekday})).days_in(year, month)
        return days[self.nth - 1 : self.nth]


DayRule = MonthDays | LastDayOfMonth | NearestWeekday | WeekDays | LastWeekdayOf | NthWeekday


@frozen
class Cron:
    expression: str
    times: tuple[tuple[int, int], ...] = attrs.field(repr=False)  # (hour, minute), sorted
    days: DayRule = attrs.field(repr=False)
    months: frozenset[int] = attrs.field(repr=False)
    years: frozenset[int] = attrs.field(repr=False)


@frozen
class Rate:
    expression: str
    every: timedelta


@frozen
class At:
    expression: str
    wall: datetime  # naive: a wall-clock time in the schedule's zone


Schedule = Cron | Rate | At


# --- parsing -------------------------------------------------------------------------------------


def parse(expression: str) -> Schedule:
    """The schedule an expression describes; ScheduleError says what is wrong with a bad one."""
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        return _parse_cron(text, text[5:-1])
    if text.startswith("rate(") and text.endswith(")"):
        return _parse_rate(text, text[5:-1])
    if text.startswith("at(") and text.endswith(")"):
        return _parse_at(text, text[3:-1])
    raise ScheduleError(
        f"{expression!r} is not a schedule expression: expected cron(...), rate(...) or at(...)"
    )


_RATE = re.compile(r"^\s*(\d+)\s+([a-z]+?)(s?)\s*$")


def _parse_rate(expression: str, body: str) -> Rate:
    match = _RATE.match(body)
    if not match or match.group(2) not in RATE_UNITS:
        raise ScheduleError(
            f"{expression}: expected rate(N minutes|hours|days), like rate(5 minutes)"
        )
    value, unit, plural = int(match.group(1)), match.group(2), match.group(3)
    if value < 1:
        raise ScheduleError(f"{expression}: the value must be a positive whole number")
    if (value == 1) == bool(plural):
        wanted = unit if value == 1 else unit + "s"
        raise ScheduleError(f"{expression}: a value of {value} takes the unit {wanted!r}")
    return Rate(expression, value * RATE_UNITS[unit])


_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


def _parse_at(expression: str, body: str) -> At:
    if not _AT.match(body):
        raise ScheduleError(f"{expression}: expected at(yyyy-mm-ddThh:mm:ss)")
    try:
        return At(expression, datetime.fromisoformat(body))
    except ValueError as error:
        raise ScheduleError(
            f"{expression}: {body!r} is not a real date and time ({error})"
        ) from None


@frozen
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]
    wraps: bool = True  # a range like FRI-MON or 22-2 goes round, as in Quartz

    @property
    def size(self) -> int:
        return self.high - self.low + 1


MINUTES = _Field("minutes", 0, 59, {})
HOURS = _Field("hours", 0, 23, {})
DAY_OF_MONTH = _Field("day-of-month", 1, 31, {})
MONTH = _Field("month", 1, 12, MONTH_NAMES)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, DAY_NAMES)
YEAR = _Field("year", FIRST_YEAR, LAST_YEAR, {}, wraps=False)


def _parse_cron(expression: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"{expression}: expected 6 fields (minutes hours day-of-month month day-of-week year),"
            f" found {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    return Cron(
        expression=expression,
        times=_times(_values(expression, HOURS, hours), _values(expression, MINUTES, minutes)),
        days=_day_rule(expression, day_of_month, day_of_week),
        months=_values(expression, MONTH, month),
        years=_values(expression, YEAR, year),
    )


def _times(hours: frozenset[int], minutes: frozenset[int]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((hour, minute) for hour in hours for minute in minutes))


def _values(expression: str, field: _Field, text: str) -> frozenset[int]:
    """The values a plain field allows: `*`, numbers or names, lists, ranges and `/` steps."""
    if text == "?":
        raise ScheduleError(
            f"{expression}: {field.name} field '?': only day-of-month and day-of-week take '?'"
        )
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item_values(expression, field, text, item))
    return frozenset(values)


def _item_values(expression: str, field: _Field, text: str, item: str) -> list[int]:
    base, slash, step_text = item.partition("/")
    step = _number(expression, field, text, step_text, (1, field.size)) if slash else 1
    if base == "*":
        first, last = field.low, field.high
    else:
        start_text, dash, end_text = base.partition("-")
        first = _number(expression, field, text, start_text)
        last = _number(expression, field, text, end_text) if dash else first
        last = field.high if slash and not dash else last
    if last < first and not field.wraps:
        raise ScheduleError(f"{expression}: {field.name} field {text!r}: the range runs backwards")
    span = (last - first) % field.size
    return [
        field.low + (first - field.low + offset) % field.size for offset in range(0, span + 1, step)
    ]


def _number(
    expression: str, field: _Field, text: str, item: str, bounds: tuple[int, int] | None = None
) -> int:
    low, high = bounds or (field.low, field.high)
    if bounds is None and item.upper() in field.names:
        return field.names[item.upper()]
    if not item.isdigit():
        raise ScheduleError(
            f"{expression}: {field.name} field {text!r}: {_not_a_value(field, item)}"
        )
    if not low <= int(item) <= high:
        raise ScheduleError(
            f"{expression}: {field.name} field {text!r}: {item} is outside {low}-{high}"
        )
    return int(item)


def _not_a_value(field: _Field, item: str) -> str:
    if field in (DAY_OF_MONTH, DAY_OF_WEEK) and any(mark in item.upper() for mark in "LW#"):
        return "'L', 'W' and '#' stand alone, never in a list, range or step"
    kind = f"a number or a name like {next(iter(field.names))}" if field.names else "a number"
    return f"{item!r} is not {kind}"


def _day_rule(expression: str, day_of_month: str, day_of_week: str) -> DayRule:
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(
            f"{expression}: exactly one of day-of-month ({day_of_month!r}) and day-of-week"
            f" ({day_of_week!r}) must be '?'"
        )
    if day_of_month == "?":
        return _day_of_week_rule(expression, day_of_week)
    return _day_of_month_rule(expression, day_of_month)


def _day_of_month_rule(expression: str, text: str) -> DayRule:
    upper = text.upper()
    if upper == "L":
        return LastDayOfMonth()
    if upper == "LW":
        return NearestWeekday(None)
    if upper.endswith("W") and upper[:-1].isdigit():
        return NearestWeekday(_number(expression, DAY_OF_MONTH, text, upper[:-1]))
    return MonthDays(_values(expression, DAY_OF_MONTH, text))


def _day_of_week_rule(expression: str, text: str) -> DayRule:
    upper = text.upper()
    if upper == "L":
        return WeekDays(frozenset({DAY_NAMES["SAT"]}))
    if "#" in text:
        return _nth_weekday(expression, text)
    if upper.endswith("L") and not any(mark in text for mark in ",-/"):
        return LastWeekdayOf(_number(expression, DAY_OF_WEEK, text, upper[:-1]))
    return WeekDays(_values(expression, DAY_OF_WEEK, text))


def _nth_weekday(expression: str, text: str) -> NthWeekday:
    weekday_text, _, nth_text = text.partition("#")
    if any(mark in text for mark in ",-/"):
        raise ScheduleError(
            f"{expression}: day-of-week field {text!r}: a '#' takes one day, like 2#1"
            " (first Monday), and nothing else in the field"
        )
    weekday = _number(expression, DAY_OF_WEEK, text, weekday_text)
    return NthWeekday(weekday, _number(expression, DAY_OF_WEEK, text, nth_text, (1, 5)))


def zone_named(timezone: str) -> ZoneInfo:
    """The IANA zone a schedule runs in; ScheduleError when there is no such zone."""
    try:
        return ZoneInfo(timezone)
    except BAD_ZONE:
        raise ScheduleError(
            f"time zone {timezone!r} is not an IANA zone name like America/New_York"
        ) from None


# --- when a schedule fires -----------------------------------------------------------------------


def next_fire(
    expression: str | Schedule,
    after: datetime,
    timezone: str,
    *,
    start_date: datetime | None = None,
) -> datetime | None:
    """The first fire strictly after `after`, aware in `timezone`; None once the schedule is over.

    `start_date` is EventBridge's StartDate: a `rate()` fires at it and every period after it,
    so a rate needs one. Cron and `at()` schedules do not use it."""
    schedule = parse(expression) if isinstance(expression, str) else expression
    zone = zone_named(timezone)
    moment = _utc(after, "after")
    match schedule:
        case Cron():
            return _next_cron(schedule, moment, zone)
        case Rate():
            return _next_rate(schedule, moment, _rate_start(schedule, start_date), zone)
        case At():
            return _next_at(schedule, moment, zone)
        case _:
            assert_never(schedule)


def fires_between(
    expression: str | Schedule,
    start: datetime,
    end: datetime,
    timezone: str,
    *,
    start_date: datetime | None = None,
) -> list[datetime]:
    """Every fire in the half-open interval (start, end], in order: strictly after `start` (like
    next_fire), up to and including `end`, so back-to-back intervals never fire twice."""
    schedule = parse(expression) if isinstance(expression, str) else expression
    stop = _utc(end, "end")
    fires: list[datetime] = []
    fire = next_fire(schedule, start, timezone, start_date=start_date)
    while fire is not None and fire.astimezone(UTC) <= stop:
        fires.append(fire)
        fire = next_fire(schedule, fire, timezone, start_date=start_date)
    return fires


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def _next_cron(cron: Cron, after: datetime, zone: ZoneInfo) -> datetime | None:
    local = after.astimezone(zone)
    for day in _cron_days(cron, local.date()):
        first = bisect_left(cron.times, (local.hour, local.minute)) if day == local.date() else 0
        for hour, minute in cron.times[first:]:
            fire = _cron_instant(datetime(day.year, day.month, day.day, hour, minute), zone)
            if fire is not None and fire.astimezone(UTC) > after:
                return fire
    return None


def _cron_days(cron: Cron, first: date) -> Iterator[date]:
    """The days, from `first` on, whose year, month and day the expression allows."""
    year, month = first.year, first.month
    while year <= LAST_YEAR:
        if year in cron.years and month in cron.months:
            for day in cron.days.days_in(year, month):
                if date(year, month, day) >= first:
                    yield date(year, month, day)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)


def _cron_instant(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """When a cron wall time happens: None inside a spring-forward gap (EventBridge skips it), the
    first occurrence inside a fall-back fold (EventBridge runs it once). fold=0 is the first."""
    fire = wall.replace(tzinfo=zone, fold=0)
    return fire if _exists(fire) else None


def _exists(local: datetime) -> bool:
    """Whether a local wall time is really shown by the clocks (not skipped by a gap)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0)


def _rate_start(rate: Rate, start_date: datetime | None) -> datetime:
    if start_date is None:
        raise ScheduleError(f"{rate.expression} counts from the schedule's start: pass start_date")
    return _utc(start_date, "start_date")


def _next_rate(rate: Rate, after: datetime, start: datetime, zone: ZoneInfo) -> datetime:
    """start, start + N, start + 2N, ...: the first strictly after `after`. Measured in elapsed
    time (UTC), so the zone and daylight saving change only how the result is shown."""
    if after < start:
        return start.astimezone(zone)
    periods = (after - start) // rate.every + 1
    return (start + periods * rate.every).astimezone(zone)


def _next_at(at: At, after: datetime, zone: ZoneInfo) -> datetime | None:
    fire = _at_instant(at.wall, zone)
    return fire if fire.astimezone(UTC) > after else None


def _at_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A one-off's wall time: its first occurrence, or the first valid minute after a gap."""
    fire = wall.replace(tzinfo=zone, fold=0)
    if _exists(fire):
        return fire
    minute = fire.replace(second=0) + timedelta(minutes=1)
    while not _exists(minute):
        minute += timedelta(minutes=1)
    return minute


# --- calendar helpers ----------------------------------------------------------------------------


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _weekday(day: date) -> int:
    """EventBridge's day-of-week number: 1 = Sunday ... 7 = Saturday."""
    return day.isoweekday() % 7 + 1


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """The Monday-to-Friday day nearest `day` without leaving the month (Quartz's `W`)."""
    weekday = date(year, month, day).isoweekday()
    if weekday == 6:  # Saturday: the Friday before, or the Monday after the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 7:  # Sunday: the Monday after, or the Friday before the month's last day
        return day + 1 if day < _month_length(year, month) else day - 2
    return day
