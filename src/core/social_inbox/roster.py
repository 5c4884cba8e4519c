"""The roster (the system's sheet, `roster.csv`): one row per teammate, with their teams, their
own timezone and working hours (split shifts allowed), whether they are taking threads, and how
many open threads they take at most."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import BAD_ZONE, DAY_NAMES, CalendarError, parse_clock
from backoffice.core.problems import Problem
from backoffice.core.sheet import RawRow, RowReport, Table, is_email, is_slack_user, parse_table

SYSTEM = "social-inbox"
PREFIX = "siu"
SHEET_FILE = "roster.csv"
REQUIRED_COLUMNS = (
    "assignee",
    "name",
    "contact",
    "teams",
    "timezone",
    "working_hours",
    "status",
    "capacity",
)
OPTIONAL_COLUMNS = ("backup", "admin")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
STATUSES = ("active", "away")


@frozen
class Shift:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None: until midnight (24:00)

    def covers(self, local: datetime) -> bool:
        clock = local.time().replace(tzinfo=None)
        if local.weekday() not in self.days or clock < self.start:
            return False
        return self.end is None or clock < self.end


@frozen
class Teammate:
    assignee: str
    name: str
    contact: str  # an e-mail address or a Slack member id
    teams: frozenset[str]
    zone: str
    shifts: tuple[Shift, ...]
    status: str  # active | away
    capacity: int
    line: int
    backup: str = ""
    admin: bool = False  # sees the team's page in the inbox

    def working(self, now: datetime, holidays: Collection[date]) -> bool:
        """Inside one of their shifts, in their own timezone, on a day that is no holiday."""
        local = now.astimezone(ZoneInfo(self.zone))
        return local.date() not in holidays and any(s.covers(local) for s in self.shifts)


_GROUP = re.compile(r"^\s*([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(.+?)\s*$")


def parse_working_hours(text: str) -> tuple[Shift, ...]:
    """`Mon-Fri 09:00-12:00,13:00-18:00; Sat 10:00-14:00`; `Mon-Sun 00:00-24:00` is always."""
    shifts = []
    for group in (g for g in text.split(";") if g.strip()):
        match = _GROUP.match(group)
        if not match:
            raise CalendarError(
                f"{group.strip()!r}: expected days and hours like Mon-Fri 09:00-17:00"
            )
        days = _days(match.group(1), match.group(2) or match.group(1))
        shifts += [_shift(days, span) for span in match.group(3).split(",")]
    if not shifts:
        raise CalendarError("no working hours; write them like Mon-Fri 09:00-17:00")
    return tuple(shifts)


def _days(first: str, last: str) -> frozenset[int]:
    names = [d[:3] for d in DAY_NAMES]
    try:
        start, end = names.index(first.lower()), names.index(last.lower())
    except ValueError:
        raise CalendarError(f"{first}-{last}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun") from None
    return frozenset((start + n) % 7 for n in range((end - start) % 7 + 1))


def _shift(days: frozenset[int], span: str) -> Shift:
    start_text, separator, end_text = span.strip().partition("-")
    if not separator:
        raise CalendarError(f"{span.strip()!r}: expected HH:MM-HH:MM like 09:00-17:00")
    start = parse_clock(start_text)
    end = None if end_text.strip() == "24:00" else parse_clock(end_text)
    if end is not None and end <= start:
        raise CalendarError(f"{span.strip()!r}: a shift ends after it starts (24:00 for midnight)")
    return Shift(days, start, end)


def parse_roster(table: Table, default_zone: str) -> tuple[list[Teammate], list[Problem]]:
    """Teammates from the roster; a bad row is a problem naming its line, the others work."""
    return parse_table(
        table,
        REQUIRED_COLUMNS,
        "assignee",
        lambda row, report: _teammate(row, report, default_zone),
    )


def _teammate(row: RawRow, problem: RowReport, default_zone: str) -> Teammate | None:
    values = row.values
    zone = values.get("timezone") or default_zone
    try:
        ZoneInfo(zone)
    except BAD_ZONE:
        problem("timezone", "unknown timezone; expected a name like Asia/Singapore; skipped")
        return None
    try:
        shifts = parse_working_hours(values.get("working_hours", ""))
    except CalendarError as error:
        problem("working_hours", f"{error}; this teammate gets no threads")
        return None
    contact = values.get("contact", "")
    if not (is_email(contact) or is_slack_user(contact)):
        problem("contact", "not an e-mail address or a Slack member id; this teammate is skipped")
        return None
    capacity = _capacity(values.get("capacity", ""), problem)
    teams = frozenset(t.strip() for t in values.get("teams", "").split(",") if t.strip())
    if capacity is None or not teams:
        if not teams:
            problem("teams", "no team; write one or more, like support, billing")
        return None
    return Teammate(
        assignee=values["assignee"],
        name=values.get("name") or values["assignee"],
        contact=contact,
        teams=teams,
        zone=zone,
        shifts=shifts,
        status=_status(values.get("status", ""), problem),
        capacity=capacity,
        line=row.line,
        backup=values.get("backup", "").strip(),
        admin=values.get("admin", "").strip().casefold() in ("yes", "y", "true", "x", "1"),
    )


def _capacity(text: str, problem: RowReport) -> int | None:
    if not text.strip().isdigit():
        problem("capacity", "not a whole number of open threads; this teammate is skipped")
        return None
    return int(text)


def _status(text: str, problem: RowReport) -> str:
    status = text.strip().casefold() or "active"
    if status not in STATUSES:
        problem("status", "write active or away; taken as away until it is fixed")
        return "away"
    return status


def unknown_teams(teammates: Iterable[Teammate], teams: Collection[str]) -> list[Problem]:
    """Teams the rules route to nobody's roster row names, and roster teams no rule names."""
    return [
        Problem(
            SHEET_FILE,
            mate.line,
            "teams",
            team,
            f"unknown team; the rules route to {', '.join(sorted(teams))}",
        )
        for mate in teammates
        for team in sorted(mate.teams - set(teams))
    ]
