"""The weekly staff summary of the appointment reminders: last week in a few sentences by the
model, over the facts it was given; posted to the staff channel and emailed to the owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from backoffice.core import appointment_reminder as ar
from backoffice.core.appointment_reminder import summary as week
from backoffice.core.keys import move_key
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import engine
from backoffice.services.appointment_reminder.state import (
    ARCHIVE,
    REPLIES,
    SENDS,
    SUMMARY_ID,
    load_documents,
)
from backoffice.services.delivery import Slot
from backoffice.services.engine import Delivery
from backoffice.services.runtime import local_now


def summary(ports: Ports, settings: Settings, model: Model) -> list[Delivery]:
    """The week before the current one (Monday to Sunday), once per recipient per week; the
    schedule runs it on Monday morning. Returns what went out now (empty when already sent)."""
    now = local_now(ports.clock, settings)
    zone = ZoneInfo(settings.timezone)
    end = now.date() - timedelta(days=now.weekday() + 1)
    start = end - timedelta(days=6)

    @cache  # one summary for every recipient
    def compose() -> tuple[str, str]:
        facts = week.week_facts(
            load_documents(ports.blobs, settings).appointments,
            [
                *_sent(ports.tables.scan(SENDS.name), zone),
                *_sent(ports.tables.scan(ARCHIVE.name), zone),
            ],
            [_reply(row, zone) for row in ports.tables.scan(REPLIES.name)],
            start,
            end,
        )
        text = engine.narrate(model, week.SUMMARY_INSTRUCTIONS, facts, "this week")
        return f"Appointments: the week of {start:%d %B %Y}", text

    recipients = dict.fromkeys(r for r in (settings.staff_channel, settings.admin) if r)
    deliveries = []
    for to in recipients:
        key = move_key(ar.PREFIX, "summary", start.isoformat(), to)
        slot = Slot(
            SENDS.name, SUMMARY_ID, key, {"appt_id": SUMMARY_ID, "window_index": key, "key": key}
        )
        delivery = engine.report_once(ports, slot, to, compose, now, "summary")
        if delivery is not None:
            deliveries.append(delivery)
    return deliveries


def _sent(rows: list[dict[str, Any]], zone: ZoneInfo) -> list[week.Activity]:
    """Sends are stamped in UTC; the week is the business's."""
    return [
        week.Activity(
            row["appt_id"], datetime.fromisoformat(row["sent_at"]).astimezone(zone), row["window"]
        )
        for row in rows
        if row.get("status") == "sent" and row.get("window") and row.get("sent_at")
    ]


def _reply(row: dict[str, Any], zone: ZoneInfo) -> week.Activity:
    at = datetime.fromisoformat(row["replied_at"].split("#", 1)[0]).astimezone(zone)
    return week.Activity(row["appt_id"], at, row["reply"])
