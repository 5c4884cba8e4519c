"""Calendars people already keep: events tagged for a system become proposals."""

from __future__ import annotations

from typing import Protocol

from attrs import frozen


@frozen
class CalendarEvent:
    event_id: str
    calendar_id: str
    summary: str
    description: str
    start: str  # YYYY-MM-DD, or an RFC 3339 instant for timed events
    status: str  # "confirmed", "tentative" or "cancelled"
    creator: str = ""  # the email address of whoever made the event


@frozen
class Changes:
    events: tuple[CalendarEvent, ...]
    sync_token: str
    full: bool  # a full listing (first run, or the previous token had expired)


class Calendar(Protocol):
    def changes(self, calendar_id: str, sync_token: str | None) -> Changes:
        """Events changed since `sync_token`, or every event when it is None or expired."""
