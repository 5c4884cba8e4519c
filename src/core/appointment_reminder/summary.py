"""The facts of an appointment week, for the staff's weekly note (and its fallback)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from attrs import frozen

from backoffice.core.appointment_reminder.plan import CUSTOMER_WINDOWS
from backoffice.core.appointment_reminder.sheet import Appointment
from backoffice.core.digest import text_table

SUMMARY_INSTRUCTIONS = (
    "You write a short weekly note for the staff of a small business about last week's "
    "appointment reminders. Use only the facts given. Plain words, no headings, no lists, at "
    "most 120 words. Say how many customers confirmed, how many slots were freed by cancels "
    "or moved, and name the customers who went quiet."
)


@frozen
class Activity:
    """One thing that happened to an appointment: a reminder sent, or a customer's answer."""

    appt_id: str
    at: datetime
    what: str  # a window ("first_reminder") or a reply ("confirm")


def week_facts(
    appointments: Sequence[Appointment],
    sent: Iterable[Activity],
    replies: Iterable[Activity],
    start: date,
    end: date,
) -> str:
    """Last week in plain tables: the model's only source, and the fallback when it fails.
    A customer *went quiet* when their appointment fell in the week, they were reminded and
    never answered."""
    names = {a.appt_id: a.customer_name for a in appointments}
    week_sent = sorted((s for s in sent if start <= s.at.date() <= end), key=_activity_order)
    answered = [r for r in replies if start <= r.at.date() <= end]
    week_replies = sorted(answered, key=_activity_order)
    counts = {
        "reminders sent": sum(s.what in CUSTOMER_WINDOWS for s in week_sent),
        "staff alerts": sum(s.what == "gap_alert" for s in week_sent),
        "confirmed": sum(r.what == "confirm" for r in week_replies),
        "cancelled (slot freed)": sum(r.what == "cancel" for r in week_replies),
        "moved to another time": sum(r.what == "reschedule" for r in week_replies),
    }
    reminded = {s.appt_id for s in week_sent if s.what in CUSTOMER_WINDOWS}
    ever_answered = {r.appt_id for r in replies}
    quiet = sorted(
        (a for a in appointments if start <= a.starts_at.date() <= end),
        key=lambda a: a.starts_at,
    )
    quiet = [a for a in quiet if a.appt_id in reminded and a.appt_id not in ever_answered]
    return (
        f"Week {start} to {end}:\n"
        + text_table(("what", "how many"), [(k, str(v)) for k, v in counts.items()])
        + "\n\nAnswers from customers:\n"
        + text_table(
            ("when", "customer", "answer"),
            [(_when(r.at), names.get(r.appt_id, r.appt_id), r.what) for r in week_replies],
        )
        + "\n\nWent quiet (reminded, never answered):\n"
        + text_table(
            ("appointment", "customer"), [(_when(a.starts_at), a.customer_name) for a in quiet]
        )
    )


def _activity_order(activity: Activity) -> tuple[datetime, str]:
    return activity.at, activity.appt_id


def _when(at: datetime) -> str:
    return f"{at:%a} {at.day} {at:%b} {at:%H:%M}"
