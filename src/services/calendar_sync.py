"""The calendar lane: events tagged for a system (e.g. #expires) become proposals, once each."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from backoffice.ports import Blobs
from backoffice.ports.calendar import Calendar, CalendarEvent

STATE_KEY = "calendar-sync.json"


def sync(
    calendar: Calendar,
    blobs: Blobs,
    calendar_ids: Sequence[str],
    tag: str,
    on_event: Callable[[CalendarEvent], bool],
) -> list[CalendarEvent]:
    """Read what changed in each calendar since the last run and hand every confirmed event
    carrying `tag` to `on_event` (which proposes it, at most once). Returns those proposed now."""
    state_blob = blobs.get(STATE_KEY)
    tokens: dict[str, str] = json.loads(state_blob.body) if state_blob else {}
    proposed = []
    for calendar_id in calendar_ids:
        changes = calendar.changes(calendar_id, tokens.get(calendar_id))
        for event in changes.events:
            tagged = tag.lower() in f"{event.summary}\n{event.description}".lower()
            if tagged and event.status != "cancelled" and on_event(event):
                proposed.append(event)
        if changes.sync_token:
            tokens[calendar_id] = changes.sync_token
    blobs.put(STATE_KEY, json.dumps(tokens, sort_keys=True).encode("utf-8"))
    return proposed
