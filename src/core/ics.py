"""Calendar files (RFC 5545) for "add to calendar", built with the icalendar package."""

from __future__ import annotations

from datetime import datetime, timedelta


def event_ics(
    uid: str,
    summary: str,
    start: datetime,
    duration_min: int,
    stamp: datetime,
    location: str = "",
    description: str = "",
) -> bytes:
    """One event; times are written in UTC so every calendar shows the right local time."""
    from icalendar import Calendar, Event

    if start.tzinfo is None or stamp.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    calendar = Calendar()
    calendar.add("prodid", "-//backoffice//appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=duration_min))
    event.add("dtstamp", stamp)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
