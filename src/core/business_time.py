"""Business time: quiet hours, business days and holidays, and the next minute a message may go out.

All wall-clock reasoning happens in the calendar's zone with `zoneinfo`. Local times that do not
exist (inside a spring-forward gap) move forward to the first valid minute; ambiguous ones (inside
a fall-back fold) take their first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import frozen

# What ZoneInfo raises for a name that is no zone: unknown, malformed, a folder of zones
# ("Europe"), or too long for the file system.
BAD_ZONE = (ZoneInfoNotFoundError, ValueError, OSError)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEARCH_DAYS = 400


class CalendarError(ValueError):
    """A setting of the business calendar that cannot be understood."""


@frozen
class Calendar:
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    business_days: frozenset[int]
    holidays: frozenset[date]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --- parsing the settings ----------------------------------------------------------------------

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_clock(text: str) -> time:
    match = _CLOCK.match(text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise CalendarError(f"{text!r} is not a time of day; expected HH:MM like 08:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    if text.strip().lower() in ("", "none", "off"):
        return None
    window = parse_span(text, f"quiet_hours {text!r}: expected HH:MM-HH:MM like 20:00-08:00")
    if window[0] == window[1]:
        raise CalendarError(f"quiet_hours {text!r}: start and end are the same time")
    return window


def parse_span(text: str, expected: str) -> tuple[time, time]:
    """`HH:MM-HH:MM` as two times of day; CalendarError(expected) when it is not."""
    start, separator, end = text.partition("-")
    try:
        if not separator:
            raise CalendarError(text)
        return parse_clock(start), parse_clock(end)
    except CalendarError:
        raise CalendarError(expected) from None


def parse_business_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, dash, last = (s.strip() for s in part.partition("-"))
        start = _day(first, text)
        if not dash:
            days.add(start)
            continue
        end = _day(last, text)
        span = (end - start) % 7
        days.update((start + offset) % 7 for offset in range(span + 1))
    if not days:
        raise CalendarError(f"business_days {text!r}: expected days like Mon-Fri or Mon,Wed,Fri")
    return frozenset(days)


def _day(name: str, text: str) -> int:
    lowered = name.lower()
    for index, full in enumerate(DAY_NAMES):
        if len(lowered) >= 3 and full.startswith(lowered):
            return index
    raise CalendarError(f"business_days {text!r}: {name!r} is not a day; expected Mon..Sun")


def holiday_dates(
    country: str | None, subdivision: str | None, extra: Iterable[date], years: Iterable[int]
) -> frozenset[date]:
    """Public holidays from the `holidays` package, plus the business's own extra dates."""
    dates = set(extra)
    if country:
        import holidays

        try:
            calendar = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
        except NotImplementedError:
            raise CalendarError(f"holidays: unknown country {country!r}") from None
        except ValueError as error:
            raise CalendarError(f"holidays: {error}") from None
        dates.update(calendar.keys())
    return frozenset(dates)


# --- wall-clock time ---------------------------------------------------------------------------


def local_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant a wall clock shows `at` on `day`; gaps move forward, folds take the first."""
    at = at.replace(fold=0) if at.fold else at
    # Outside a clock change both readings of a wall time (fold 0 and 1) have one offset: the
    # time exists once, as written. That is all but a few hours a year, and this check costs a
    # fifth of the round trip through UTC below (a sheet of signups or posts asks per row).
    if zone.utcoffset(datetime.combine(day, at)) == zone.utcoffset(
        datetime.combine(day, _second_reading(at))
    ):
        return datetime.combine(day, at, zone)
    wall = datetime.combine(day, at, zone)
    if _exists(wall):
        return wall
    # Inside a gap: the first valid minute is where the clock lands after jumping forward.
    probe = wall
    while not _exists(probe):
        probe += timedelta(minutes=1)
    return probe


@lru_cache(maxsize=2048)
def _second_reading(at: time) -> time:
    """The time of day read as its second occurrence (fold 1), made once per time of day: a
    sheet repeats its times, and making one is the slowest step of the check."""
    return at.replace(fold=1)


def _exists(wall: datetime) -> bool:
    return wall.astimezone(UTC).astimezone(wall.tzinfo).replace(tzinfo=None) == wall.replace(
        tzinfo=None
    )


def is_quiet(when: datetime, cal: Calendar) -> bool:
    if cal.quiet_start is None or cal.quiet_end is None:
        return False
    clock = _local(when, cal).time().replace(tzinfo=None)
    start, end = cal.quiet_start, cal.quiet_end
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def is_business_day(day: date, cal: Calendar) -> bool:
    return day.weekday() in cal.business_days and day not in cal.holidays


def is_allowed(when: datetime, cal: Calendar) -> bool:
    return is_business_day(_local(when, cal).date(), cal) and not is_quiet(when, cal)


def next_allowed(when: datetime, cal: Calendar) -> datetime:
    """`when` if a message may go out then, else the first minute after it when one may."""
    local = _local(when, cal)
    if is_allowed(local, cal):
        return local
    if not cal.business_days:
        raise CalendarError("business_days is empty: no message could ever be delivered")
    day = local.date()
    for _ in range(SEARCH_DAYS):
        for candidate in _openings(day, cal):
            if candidate > local and is_allowed(candidate, cal):
                return candidate
        day += timedelta(days=1)
    raise CalendarError(f"no business minute in the {SEARCH_DAYS} days after {local.isoformat()}")


def _openings(day: date, cal: Calendar) -> list[datetime]:
    """The instants on `day` when delivery may start: midnight, and the end of quiet hours."""
    if not is_business_day(day, cal):
        return []
    zone = cal.zone
    starts = [local_at(day, time(0, 0), zone)]
    if cal.quiet_end is not None:
        starts.append(local_at(day, cal.quiet_end, zone))
    return sorted(starts)


def business_days_after(day: date, count: int, cal: Calendar) -> date:
    """The business day `count` business days after `day` (0: the first on or after `day`)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    if not cal.business_days:
        raise CalendarError("business_days is empty")
    current = day
    while not is_business_day(current, cal):
        current += timedelta(days=1)
    for _ in range(count):
        current += timedelta(days=1)
        while not is_business_day(current, cal):
            current += timedelta(days=1)
    return current


def _local(when: datetime, cal: Calendar) -> datetime:
    if when.tzinfo is None:
        raise ValueError("business time needs an aware datetime")
    return when.astimezone(cal.zone)


def business_minutes_after(start: datetime, minutes: int, cal: Calendar) -> datetime:
    """The instant `minutes` of business time after `start`: quiet hours, days off and
    holidays do not count (an SLA of 4 hours given on Friday evening runs out on Monday)."""
    when, left = next_allowed(start, cal), timedelta(minutes=minutes)
    while left > timedelta(0):
        stretch = _stretch_end(when, cal) - when
        if stretch >= left:
            return when + left
        left -= stretch
        when = next_allowed(when + stretch, cal)
    return when


def _stretch_end(when: datetime, cal: Calendar) -> datetime:
    """Where the allowed stretch holding `when` ends: the start of quiet hours, or midnight."""
    local = _local(when, cal)
    ends = [local_at(local.date() + timedelta(days=1), time(0, 0), cal.zone)]
    if cal.quiet_start is not None:
        quiet = local_at(local.date(), cal.quiet_start, cal.zone)
        ends.append(quiet if quiet > local else ends[0])
    return min(ends)
