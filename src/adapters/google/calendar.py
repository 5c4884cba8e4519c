"""Google Calendar: tagged events, read incrementally with a sync token."""

from __future__ import annotations

from typing import Any

from backoffice.adapters.google.errors import GoogleApiError, execute
from backoffice.ports.calendar import CalendarEvent, Changes


class GoogleCalendar:
    """`events.list` with singleEvents and paging. The first run lists everything and keeps
    the sync token; later runs ask only for changes. Google refuses `q` together with a sync
    token, so the tag is matched here, on the events returned. A 410 means the token expired:
    the listing starts over."""

    def __init__(self, service: Any) -> None:
        self.events = service.events()

    def changes(self, calendar_id: str, sync_token: str | None) -> Changes:
        if sync_token:
            try:
                return self._list(calendar_id, {"syncToken": sync_token}, full=False)
            except GoogleApiError as error:
                if error.status != 410:
                    raise
        return self._list(calendar_id, {}, full=True)

    def _list(self, calendar_id: str, extra: dict[str, str], full: bool) -> Changes:
        found: list[CalendarEvent] = []
        page_token = None
        while True:
            request = self.events.list(
                calendarId=calendar_id,
                singleEvents=True,
                maxResults=250,
                pageToken=page_token,
                **extra,
            )
            page = execute(request, "events.list", calendar_id)
            found += [_event(calendar_id, raw) for raw in page.get("items", [])]
            page_token = page.get("nextPageToken")
            if not page_token:
                return Changes(tuple(found), str(page.get("nextSyncToken", "")), full)


def _event(calendar_id: str, raw: dict[str, Any]) -> CalendarEvent:
    start = raw.get("start", {})
    return CalendarEvent(
        event_id=str(raw["id"]),
        calendar_id=calendar_id,
        summary=str(raw.get("summary", "")),
        description=str(raw.get("description", "")),
        start=str(start.get("date") or start.get("dateTime") or ""),
        status=str(raw.get("status", "confirmed")),
        creator=str(raw.get("creator", {}).get("email", "")),
    )
