"""What the appointment reminders read: the sheet, rules and voice docs, and the stored state;
and what a message says about one appointment (its fields, its reply link, its calendar file)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from attrs import evolve, field, frozen

from backoffice.core import appointment_reminder as ar
from backoffice.core.ics import event_ics
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.tokens import nonce_for
from backoffice.core.vocabulary import Move
from backoffice.ports import Blobs, Tables, TableSchema
from backoffice.services.delivery import Slot
from backoffice.services.documents import bytes_of, collector_paused, text_of
from backoffice.services.system import Storage

REPLIES = TableSchema("ar-replies", "appt_id", "replied_at")
STORAGE = Storage.standard(ar.PREFIX, "appt_id", "ar-sends", "window_index", REPLIES)
SENDS, AUDIT, ARCHIVE, NONCES = STORAGE.sends, STORAGE.audit, STORAGE.archive, STORAGE.nonces
# The system's own messages (the weekly summary, staff notices) live beside the reminders under
# these ids; no appointment id starts with "~" in the sends table.
SUMMARY_ID = "~summary"
NOTICES_ID = "~notices"
REPLY_PATH = "/ar/r"


@frozen
class Documents:
    appointments: tuple[ar.Appointment, ...]
    problems: tuple[Problem, ...]  # the sheet's and the voice's
    rules: ar.Rules
    voice: ar.Voice  # the sections that can be written
    voice_text: str
    by_id: Mapping[str, ar.Appointment] = field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # Each dispatch and reply looks up one appointment: by id, not along the sheet (the
        # first of an id, as along it).
        by_id = {a.appt_id: a for a in reversed(self.appointments)}
        object.__setattr__(self, "by_id", by_id)

    def appointment(self, appt_id: str) -> ar.Appointment | None:
        return self.by_id.get(appt_id)


def load_documents(blobs: Blobs, settings: Settings) -> Documents:
    return parsed_documents(
        bytes_of(blobs, ar.SHEET_FILE),
        text_of(blobs, ar.RULES_FILE),
        text_of(blobs, ar.VOICE_FILE),
        Reading(
            settings.timezone,
            settings.default_country,
            settings.dayfirst,
            settings.staff_channel or settings.admin,
        ),
    )


@frozen
class Reading:
    """The settings that change how the documents read."""

    timezone: str
    default_country: str
    dayfirst: bool | None
    staff: str  # where staff alerts go when a row names no staff


@lru_cache(maxsize=2)
def parsed_documents(sheet: bytes, rules_text: str, voice: str, reading: Reading) -> Documents:
    """Parsed once per version of the documents: dispatch looks up one appointment per move."""
    rules = evolve(ar.load_rules(rules_text), staff_channel=reading.staff)
    appointments, problems = parse_appointments(sheet, rules, reading)
    words, errors = ar.read_voice(voice)
    voice_problems = [problem for error in errors for problem in error.problems()]
    return Documents(appointments, (*voice_problems, *problems), rules, words, voice)


def parse_appointments(
    sheet: bytes, rules: ar.Rules, reading: Reading
) -> tuple[tuple[ar.Appointment, ...], tuple[Problem, ...]]:
    """The sheet's appointments, with its problems and its rows'."""
    with collector_paused():
        appointments, problems = ar.parse_appointments(
            sheet,
            rules,
            timezone=reading.timezone,
            default_country=reading.default_country,
            dayfirst=reading.dayfirst,
        )
    return tuple(appointments), tuple(problems)


def load_state(tables: Tables, appt_id: str | None = None) -> ar.State:
    """Everything (one scan per table), or one appointment's rows (one query per table)."""

    def rows(table: TableSchema) -> list[dict[str, Any]]:
        return tables.scan(table.name) if appt_id is None else tables.query(table.name, appt_id)

    return ar.State.of(
        (
            ar.Sent(r["chain_id"], r["window"], r["status"], _instant(r.get("sent_at")))
            for r in rows(SENDS)
            if not r["appt_id"].startswith("~")
        ),
        (ar.ReplyRecord(r["chain_id"], r["reply"]) for r in rows(REPLIES)),
        (r["chain_id"] for r in rows(ARCHIVE)),
    )


def _instant(stamped: Any) -> datetime | None:
    return datetime.fromisoformat(stamped) if isinstance(stamped, str) and stamped else None


def send_slot(move: Move, window: str | None = None) -> Slot:
    window = window or move.kind
    start = move.chain.rpartition("@")[2]
    index = f"{start}#{window}"
    row = {
        "appt_id": move.subject,
        "window_index": index,
        "key": move.key,
        "chain_id": move.chain,
        "window": window,
        "to": list(move.to),
    }
    return Slot(SENDS.name, move.subject, index, row)


def message_fields(appointment: ar.Appointment, link: str) -> dict[str, str]:
    """What the voice's placeholders stand for in one appointment's messages."""
    start = appointment.starts_at
    return {
        "customer_name": appointment.customer_name,
        "appt_id": appointment.appt_id,
        "service": appointment.service,
        "when": f"{start:%a} {start.day} {start:%b} at {start:%H:%M}",
        "staff": appointment.staff,
        "link": link,
    }


def reply_link(settings: Settings, appointment: ar.Appointment) -> str:
    """Short enough for one text message, and only valid for this appointment at this time."""
    code = short_code(settings, appointment)
    return f"{settings.public_url}{REPLY_PATH}/{appointment.appt_id}/{code}"


def short_code(settings: Settings, appointment: ar.Appointment) -> str:
    return nonce_for(settings.secret("link_secret"), "reply", appointment.chain_id)[:16]


def appointment_ics(appointment: ar.Appointment, now: datetime) -> bytes:
    """One UID per chain: a calendar that imports the file twice keeps one event."""
    return event_ics(
        f"{appointment.chain_id}@backoffice",
        f"{appointment.service} appointment",
        appointment.starts_at,
        appointment.duration_min or 30,
        now,
    )
