"""The social scheduler's quick ways agree with the general ones they stand in for: a post's
minute (`DueMinutes` beside `next_allowed`), a sheet's local date and time (beside `local_at`),
the moved-post reports of a plan (beside `moved` for each post), and the minute as text (beside
strftime). Times are drawn around the zones' clock changes, where the quick ways step aside."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import social_scheduler as ss
from backoffice.core.business_time import Calendar, CalendarError, local_at, next_allowed
from backoffice.core.social_scheduler.plan import ALL_DAYS, DueMinutes, _minute_text

ZONES = (
    "Asia/Singapore",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour change
    "America/St_Johns",
    "Pacific/Apia",  # skipped a whole day at the end of 2011
    "UTC",
)


def _changes(zone: str) -> list[datetime]:
    """The instants the zone's offset changes, hour by hour, 2011 and 2026."""
    tz, found = ZoneInfo(zone), []
    for year in (2011, 2026):
        at = datetime(year, 1, 1, tzinfo=UTC)
        while at.year == year:
            after = at + timedelta(hours=1)
            if at.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
                found.append(after)
            at = after
    return found


CHANGES = {zone: _changes(zone) for zone in ZONES}


@st.composite
def walls(draw: st.DrawFn, zone: str, edges: tuple[time, ...] = ()) -> list[datetime]:
    """Wall times in `zone` a few days around one moment, often a clock change: on its days,
    at the window's edges and a minute either side, anywhere else, any fold, maybe seconds."""
    changes = CHANGES[zone]
    if changes and draw(st.booleans()):
        base = draw(st.sampled_from(changes)).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    else:
        base = draw(st.datetimes(datetime(2011, 1, 1), datetime(2027, 12, 31)))
    base = base.replace(second=0, microsecond=0)
    found = []
    for _ in range(draw(st.integers(1, 12))):
        day = base.date() + timedelta(days=draw(st.integers(-2, 2)))
        if edges and draw(st.booleans()):
            edge = datetime.combine(day, draw(st.sampled_from(edges)))
            wall = edge + timedelta(minutes=draw(st.integers(-1, 1)))
        else:
            wall = base + timedelta(minutes=draw(st.integers(-300, 300)))
        if draw(st.integers(0, 4)) == 0:
            wall = wall.replace(
                second=draw(st.integers(0, 59)), microsecond=draw(st.integers(0, 9))
            )
        found.append(wall)
    return found


clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 29, 30, 59]))


@st.composite
def calendars(draw: st.DrawFn, zone: str) -> Calendar:
    window = draw(st.one_of(st.none(), st.tuples(clocks, clocks)))
    quiet = (window[1], window[0]) if window else (None, None)
    if draw(st.integers(0, 5)) == 0:  # quiet from a second into a minute
        quiet = (time(8, 0, 30), time(20, 0)) if window else quiet
    days = draw(st.one_of(st.just(ALL_DAYS), st.frozensets(st.integers(0, 6), min_size=1)))
    start = draw(st.dates(date(2011, 1, 1), date(2027, 12, 31)))
    blackouts = draw(st.frozensets(st.integers(0, 40), max_size=6))
    holidays = frozenset(start + timedelta(days=n) for n in blackouts)
    return Calendar(zone, quiet[0], quiet[1], days, holidays)


Outcome = tuple[object, ...]


def _key(at: datetime) -> Outcome:
    """Equal as instants and as wall clocks, fold and zone included (`==` of two times in one
    zone compares their wall clocks only)."""
    return (at.replace(tzinfo=None), at.fold, at.utcoffset(), at.tzinfo)


def _general(at: datetime, calendar: Calendar) -> Outcome:
    try:
        return _key(next_allowed(at.replace(second=0, microsecond=0), calendar))
    except CalendarError:
        return ("no allowed minute",)


def _quick(due_of: DueMinutes, at: datetime) -> Outcome:
    try:
        return _key(due_of(at))
    except CalendarError:
        return ("no allowed minute",)


@settings(max_examples=300)
@given(st.data())
def test_the_minutes_of_many_posts_are_next_allowed_s_for_each(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    calendar = data.draw(calendars(zone))
    due_of = DueMinutes(calendar)
    edges = tuple(t for t in (calendar.quiet_start, calendar.quiet_end) if t is not None)
    drawn = data.draw(walls(zone, edges))
    folds = data.draw(st.lists(st.integers(0, 1), min_size=len(drawn), max_size=len(drawn)))
    elsewhere = data.draw(st.integers(0, 5)) == 0  # a post written with another zone's offset
    times = [
        w.replace(tzinfo=UTC if elsewhere else ZoneInfo(zone), fold=f)
        for w, f in zip(drawn, folds, strict=True)
    ]
    expected = [_general(at, calendar) for at in times]
    # One by one, then all at once, through the same caches.
    assert [_quick(due_of, at) for at in times] == expected
    if all(len(outcome) > 1 for outcome in expected):
        posts = [ss.Post(f"p{n}", "x", ("a",), "", at, True, n) for n, at in enumerate(times)]
        assert [_key(due) for due in due_of.of_posts(posts)] == expected


@given(st.data())
def test_a_local_date_and_time_is_local_at_s_instant(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    [wall, *_] = data.draw(walls(zone))
    text = wall.isoformat(sep=data.draw(st.sampled_from([" ", "T"])))
    expected = local_at(wall.date(), wall.time().replace(second=0, microsecond=0), ZoneInfo(zone))
    assert _key(ss.parse_publish_at(text, ZoneInfo(zone), True)) == _key(expected)


@given(st.data())
def test_a_plan_reports_each_moved_post_as_moved_says(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    rules = ss.load_rules(
        """
[channels.site]
kind = "webhook"
endpoint = "https://example.com/hook"
max_chars = 80

[posting]
window = "08:00-20:00"
blackout_days = ["2026-12-25"]
"""
    )
    drawn = data.draw(walls(zone, (time(8, 0), time(20, 0))))
    posts = [
        ss.Post(f"p{n}", "x", ("site",), "", w.replace(tzinfo=ZoneInfo(zone)), False, n)
        for n, w in enumerate(drawn)
    ]
    now = datetime(2026, 12, 1, 7, 0, tzinfo=ZoneInfo(zone))
    plan = ss.plan_tick(posts, ss.State({}, {}), rules, {}, now, now, "o@example.com")
    calendar = ss.posting_calendar(rules.posting, zone)
    expected = []
    for p in posts:
        due = ss.due_minute(p, calendar)
        if due != p.publish_at:
            expected.append(ss.moved(p, due))
    assert list(plan.problems) == expected


@given(st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Asia/Singapore")])))
def test_the_minute_as_text_is_strftime_s(at: datetime) -> None:
    assert _minute_text(at) == f"{at:%Y-%m-%d %H:%M}"
