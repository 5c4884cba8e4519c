"""Appointment reminders' use cases: the hourly tick, dispatching a reminder or staff alert, the
customers' replies, the weekly staff summary, proposed appointments; and its description,
`SYSTEM`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from backoffice.core import appointment_reminder as ar
from backoffice.core.appointment_reminder import intake as booking
from backoffice.core.documents import problems_of
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sms import sms_segments
from backoffice.ports import Ports
from backoffice.ports.calendar import CalendarEvent
from backoffice.services import proposals
from backoffice.services.appointment_reminder.state import (
    ARCHIVE,
    AUDIT,
    REPLIES,
    REPLY_PATH,
    SENDS,
    STORAGE,
    SUMMARY_ID,
    Documents,
    load_documents,
    load_state,
    message_fields,
    parsed_documents,
    reply_link,
)
from backoffice.services.appointment_reminder.summary import summary
from backoffice.services.appointment_reminder.tick import dispatch, sms_calendar, tick
from backoffice.services.engine import Delivery
from backoffice.services.system import (
    CalendarLane,
    Guess,
    Intake,
    Links,
    Schedule,
    SheetSpec,
    System,
)
from backoffice.services.system import Documents as Texts

PROPOSAL_PATH = "/ar/proposal"
CALENDAR_TAG = "#appt"


def check(texts: Texts, settings: Settings) -> list[Problem]:
    """Every problem in the rules, the voice and (when the rules can be read) the sheet."""
    documents = problems_of(lambda: ar.load_rules(texts.rules), lambda: ar.load_voice(texts.voice))
    if documents:
        return documents
    return list(_documents(texts, settings).problems)


def _documents(texts: Texts, settings: Settings) -> Documents:
    from backoffice.services.appointment_reminder.state import Reading

    reading = Reading(
        settings.timezone,
        settings.default_country,
        settings.dayfirst,
        settings.staff_channel or settings.admin,
    )
    return parsed_documents(texts.sheet, texts.rules, texts.voice, reading)


def notes(texts: Texts, settings: Settings, now: datetime) -> list[str]:
    docs = _documents(texts, settings)
    return [*_past(docs, now), *long_texts(docs, settings)]


PAST_SHOWN = 5


def _past(docs: Documents, now: datetime) -> list[str]:
    """Appointments whose start has passed get nothing; a date read the wrong way looks like
    one, so they are named (the most recent first)."""
    past = sorted(
        (a for a in docs.appointments if a.starts_at <= now and not a.cancelled),
        key=lambda a: a.starts_at,
        reverse=True,
    )
    found = [
        f"{ar.SHEET_FILE}:{a.line} {a.appt_id} starts {a.starts_at:%a %d %b %Y %H:%M}, which "
        "has passed: nothing is sent for it"
        for a in past[:PAST_SHOWN]
    ]
    if len(past) > PAST_SHOWN:
        found.append(f"{ar.SHEET_FILE}: {len(past) - PAST_SHOWN} more appointments have passed")
    return found


def long_texts(docs: Documents, settings: Settings) -> list[str]:
    """Customers whose reminder text would be billed as more than one message (the name, the
    time and the link measured as they would be sent)."""
    if "link_secret" not in settings.secrets:
        return []  # a problem already; texts cannot be measured without their links
    notes = []
    for appointment in docs.appointments:
        if not appointment.phone:
            continue
        fields = message_fields(appointment, reply_link(settings, appointment))
        for window in ar.CUSTOMER_WINDOWS:
            text = docs.voice.render(window, "sms", fields)
            segments = sms_segments(text)
            if segments > 1:
                notes.append(
                    f"{ar.SHEET_FILE}:{appointment.line} {appointment.appt_id}: the "
                    f"{window.replace('_', ' ')} text is {len(text)} characters, sent as "
                    f"{segments} messages; shorten voice.toml [{window}] sms to save cost"
                )
    return notes


def propose_from_event(
    system: System, ports: Ports, settings: Settings, event: CalendarEvent
) -> bool:
    """A timed event tagged #appt: its start is the appointment's, its title the customer, the
    first phone number and email address in its description the contact."""
    tagged = proposals.tagged_event(event, CALENDAR_TAG)
    phone, email = booking.contact_in(tagged.description, settings.default_country)
    problems = []
    if len(event.start) <= len("2026-12-01"):
        problems.append("the event lasts all day: add the time to starts_at")
    if not (phone or email):
        problems.append("no phone number or email address in the event: add one")
    values = {
        "customer_name": tagged.title,
        "starts_at": event.start,
        "phone": phone,
        "email": email,
        "staff": event.creator,
    }
    return proposals.propose(
        ports, settings, system, tagged.proposal_id, values, tagged.source, problems
    )


def heuristic(settings: Settings, today: date) -> Guess:
    return lambda subject, text, sender: booking.heuristic_booking(
        subject,
        text,
        sender,
        default_country=settings.default_country,
        dayfirst=bool(settings.dayfirst),
    )


def _no_reports(ports: Ports, settings: Settings) -> Sequence[Delivery]:
    return ()  # the weekly summary runs on its own schedule


SYSTEM = System(
    name=ar.SYSTEM,
    stem="appointment_reminder",
    prefix=ar.PREFIX,
    sheet=SheetSpec(
        ar.SHEET_FILE,
        "appt_id",
        "customer_name",
        ar.COLUMNS,
        tab="Appointments",
        required=ar.REQUIRED_COLUMNS,
    ),
    storage=STORAGE,
    schedules=(
        Schedule("reminder", "cron(0 * * * ? *)"),
        Schedule("summary", "cron(0 8 ? * MON *)"),
        Schedule("drive_sync", "rate(5 minutes)"),
        Schedule("calendar_sync", "rate(1 hour)"),
    ),
    tick_every="hour",
    tick=tick,
    dispatch=dispatch,
    reports=_no_reports,
    summary=summary,
    check=check,
    proposals=Links(PROPOSAL_PATH, proposals.link_actions(), proposals.open_link, proposals.act),
    # No owner column: whoever forwards a booking confirmation is staff, not the customer.
    intake=Intake(
        (), ("starts_at",), "", heuristic, CalendarLane(CALENDAR_TAG, propose_from_event)
    ),
    example=("backoffice.toml", "rules.toml", "voice.toml", "appointments.csv"),
    demo_days=3,
    settings_keys=frozenset({"sms_quiet_hours", "default_country", "staff_channel"}),
    notes=notes,
)

__all__ = [
    "ARCHIVE",
    "AUDIT",
    "PROPOSAL_PATH",
    "REPLIES",
    "REPLY_PATH",
    "SENDS",
    "SUMMARY_ID",
    "SYSTEM",
    "Documents",
    "check",
    "dispatch",
    "load_documents",
    "load_state",
    "long_texts",
    "propose_from_event",
    "sms_calendar",
    "summary",
    "tick",
]
