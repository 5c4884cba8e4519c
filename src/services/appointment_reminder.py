"""Appointment reminders' use cases: the hourly tick and dispatching one reminder or staff alert.

Built on the shared engine: business time (the SMS quiet hours, every day), the start of the
appointment as the deadline, claim-send-confirm, retries, and a person told when all fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from attrs import frozen

from backoffice.core import appointment_reminder as ar
from backoffice.core.business_time import Calendar
from backoffice.core.documents import DocumentError, load_toml
from backoffice.core.ics import event_ics
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import is_slack_channel, is_slack_user, read_csv
from backoffice.core.sms import sms_segments
from backoffice.core.templates import check, render
from backoffice.core.tokens import nonce_for
from backoffice.ports import (
    Absent,
    Attachment,
    ConditionFailed,
    Email,
    Tables,
    TableSchema,
)
from backoffice.services import audit, engine, proposals
from backoffice.services.delivery import Slot, stamp
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.links import Links
from backoffice.services.runtime import Ports, deliver_text, local_now

SENDS = "ar-sends"
REPLIES = "ar-replies"
AUDIT = "ar-audit"
ARCHIVE = "ar-sends-archive"
# The system's own messages (the weekly summary, staff notices) live beside the reminders under
# these ids; no appointment id starts with "~" in the sends table.
SUMMARY_ID = "~summary"
NOTICES_ID = "~notices"
TABLES = (
    TableSchema(SENDS, "appt_id", "window_index"),
    TableSchema(REPLIES, "appt_id", "replied_at"),
    TableSchema(AUDIT, "appt_id", "ts"),
    TableSchema(ARCHIVE, "appt_id", "archive_index"),
    TableSchema("ar-link-nonces", "nonce", "kind"),
    proposals.schema(ar.PREFIX),
)
VOICE_FIELDS = ("customer_name", "appt_id", "service", "when", "staff", "link")
VOICE_PARTS = {
    "first_reminder": ("sms", "subject", "body"),
    "second_reminder": ("sms", "subject", "body"),
    "gap_alert": ("text",),
}


@frozen
class Documents:
    appointments: tuple[ar.Appointment, ...]
    problems: tuple[Problem, ...]
    rules: ar.Rules
    voice: Mapping[str, Mapping[str, str]]


def load_voice(text: str, file: str = "voice.toml") -> dict[str, dict[str, str]]:
    doc = load_toml(text, file)
    voice: dict[str, dict[str, str]] = {}
    for section, parts in VOICE_PARTS.items():
        values = doc.get(section)
        if not isinstance(values, Mapping):
            raise DocumentError(file, None, f"expected a [{section}] section")
        voice[section] = {}
        for part in parts:
            template = values.get(part)
            if not isinstance(template, str) or not template.strip():
                raise DocumentError(file, None, f"[{section}] needs {part} in quotes")
            errors = check(template, VOICE_FIELDS)
            if errors:
                raise DocumentError(file, None, f"[{section}] {part}: {errors[0]}")
            voice[section][part] = template
    return voice


def load_documents(ports: Ports, settings: Settings) -> Documents:
    return parsed_documents(
        _text(ports, ar.SHEET_FILE),
        _text(ports, ar.RULES_FILE),
        _text(ports, "voice.toml"),
        settings.timezone,
        settings.default_country,
        settings.dayfirst,
    )


@lru_cache(maxsize=2)
def parsed_documents(
    sheet: str, rules_text: str, voice: str, timezone: str, country: str, dayfirst: bool
) -> Documents:
    """Parsed once per version of the documents: dispatch looks up one appointment per move."""
    rules = ar.load_rules(rules_text)
    table, problems = read_csv(sheet, ar.SHEET_FILE)
    appointments, row_problems = ar.parse_rows(
        table, rules, timezone=timezone, default_country=country, dayfirst=dayfirst
    )
    return Documents(tuple(appointments), (*problems, *row_problems), rules, load_voice(voice))


def _text(ports: Ports, name: str) -> str:
    blob = ports.blobs.get(name)
    if blob is None:
        raise DocumentError(name, None, f"{name} is missing")
    return blob.body.decode("utf-8-sig")


def load_state(tables: Tables, appt_id: str | None = None) -> ar.State:
    """Everything (one scan per table), or one appointment's rows (one query per table)."""

    def rows(table: str) -> list[dict[str, Any]]:
        return tables.scan(table) if appt_id is None else tables.query(table, appt_id)

    return ar.State.of(
        (
            ar.Sent(r["chain_id"], r["window"], r["status"])
            for r in rows(SENDS)
            if not r["appt_id"].startswith("~")
        ),
        (ar.ReplyRecord(r["chain_id"], r["reply"]) for r in rows(REPLIES)),
        (r["chain_id"] for r in rows(ARCHIVE)),
    )


@frozen
class TickResult:
    now: datetime
    moves: tuple[ar.Move, ...]
    problems: tuple[Problem, ...]


def tick(ports: Ports, settings: Settings) -> TickResult:
    """The hourly decision: each due reminder or staff alert goes to dispatch through the bus."""
    now = local_now(ports.clock, settings)
    docs = load_documents(ports, settings)
    plan = ar.plan_tick(
        docs.appointments,
        load_state(ports.tables),
        docs.rules,
        now,
        settings.staff_channel or settings.admin,
    )
    ports.bus.emit([(f"ar.{move.window}", ar.move_json(move)) for move in plan.moves])
    return TickResult(now, plan.moves, docs.problems)


def sms_calendar(settings: Settings, zone: str = "") -> Calendar:
    """Texts and staff alerts may go any day, outside the SMS quiet hours: in the customer's
    timezone (`zone`, when the appointment has its own), else the business's."""
    quiet = settings.sms_quiet_hours
    return Calendar(
        zone or settings.timezone,
        quiet[0] if quiet else None,
        quiet[1] if quiet else None,
        frozenset(range(7)),
        frozenset(),
    )


def send_slot(move: ar.Move, window: str | None = None) -> Slot:
    window = window or move.window
    index = f"{move.starts_at.isoformat()}#{window}"
    return Slot(
        SENDS,
        move.appt_id,
        index,
        {
            "appt_id": move.appt_id,
            "window_index": index,
            "key": move.key,
            "chain_id": move.chain_id,
            "window": window,
            "to": list(move.to),
        },
    )


def dispatch(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    """Deliver one move: SMS when the customer has a number that has not opted out, else email
    with the appointment attached; staff alerts through Slack or email. Skipped when it could
    only go out at or after the start."""
    move = ar.move_from_json(detail)
    now = local_now(ports.clock, settings)
    outgoing = Outgoing(
        key=move.key,
        kind=move.window,
        subject=move.appt_id,
        to=move.to,
        channel=_channel(move),
        line=move.line,
        slot=send_slot(move),
        payload={"move": detail},
        deadline=move.starts_at,
    )
    docs = load_documents(ports, settings)
    current = next((a for a in docs.appointments if a.appt_id == move.appt_id), None)
    if not ar.still_due(move, load_state(ports.tables, move.appt_id), now, current):
        return outgoing.report("dropped", now)
    for overtaken in move.skips:
        _record(ports.tables, move, overtaken, "skipped", now)

    def send() -> str:
        if current is None:  # still_due refuses a move whose appointment is gone
            raise RuntimeError(f"{move.appt_id} is no longer in the sheet")
        voice = docs.voice[move.window]
        fields = message_fields(current, reply_link(settings, current))
        if move.window == "gap_alert":
            text = render(voice["text"], fields)
            return deliver_text(ports, move.to[0], text, text, (), move.key)
        return _remind(ports, settings, move, current, voice, fields, now)

    return engine.deliver(
        ports,
        lambda _: sms_calendar(settings, move.quiet_zone),
        outgoing,
        now,
        send,
        {"sent_at": stamp(now)},
        lambda failure: deliver_text(
            ports,
            settings.admin,
            f"Could not deliver {move.window} for {move.appt_id}",
            f"Every try to reach {', '.join(move.to)} failed: {failure.error}",
            (),
            f"{move.key}:failed",
        ),
        lambda: _record(ports.tables, move, move.window, "skipped", now),
    )


def _remind(
    ports: Ports,
    settings: Settings,
    move: ar.Move,
    appointment: ar.Appointment,
    voice: Mapping[str, str],
    fields: Mapping[str, str],
    now: datetime,
) -> str:
    """A text when the customer has a number that takes texts; email (with the appointment
    attached) when there is none, it opted out, or the text could not be sent."""
    phone = next((t for t in move.to if t.startswith("+")), "")
    address = next((t for t in move.to if "@" in t), "")
    if phone and not ports.sms.opted_out(phone):
        try:
            return ports.sms.send(phone, render(voice["sms"], fields), move.key)
        except Exception:
            if not address:
                raise  # retried later, then the admin hears of it
    if not address:
        raise RuntimeError(f"{move.appt_id}: the number opted out of texts and there is no email")
    ics = Attachment("appointment.ics", "text/calendar", appointment_ics(appointment, now))
    return ports.mailer.send(
        Email(
            to=(address,),
            subject=render(voice["subject"], fields),
            text=render(voice["body"], fields),
            idempotency_key=move.key,
            attachments=(ics,),
        )
    )


def _channel(move: ar.Move) -> str:
    """How the move is expected to travel (a customer's opted-out number turns SMS into email)."""
    first = move.to[0] if move.to else ""
    if move.window == "gap_alert":
        return "slack" if is_slack_user(first) or is_slack_channel(first) else "email"
    return "sms" if first.startswith("+") else "email"


def _record(tables: Tables, move: ar.Move, window: str, status: str, now: datetime) -> None:
    slot = send_slot(move, window)
    try:
        tables.put(SENDS, {**slot.row, "status": status, "at": stamp(now)}, Absent())
    except ConditionFailed:
        return  # already recorded: sent, or skipped before


def find_appointment(ports: Ports, settings: Settings, appt_id: str) -> ar.Appointment | None:
    docs = load_documents(ports, settings)
    return next((a for a in docs.appointments if a.appt_id == appt_id), None)


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


def long_texts(docs: Documents, settings: Settings) -> list[str]:
    """Customers whose reminder text would be billed as more than one message (the name, the
    time and the link measured as they would be sent)."""
    notes = []
    for appointment in docs.appointments:
        if not appointment.phone:
            continue
        fields = message_fields(appointment, reply_link(settings, appointment))
        for window in ar.CUSTOMER_WINDOWS:
            text = render(docs.voice[window]["sms"], fields)
            segments = sms_segments(text)
            if segments > 1:
                notes.append(
                    f"{ar.SHEET_FILE}:{appointment.line} {appointment.appt_id}: the "
                    f"{window.replace('_', ' ')} text is {len(text)} characters, sent as "
                    f"{segments} messages; shorten voice.toml [{window}] sms to save cost"
                )
    return notes


REPLY_PATH = "/ar/r"
NONCES = "ar-link-nonces"


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


def link_store(ports: Ports, settings: Settings) -> Links:
    return Links(ports.tables, NONCES, settings.secret("link_secret"))


def write_audit(
    tables: Tables,
    appt_id: str,
    now: datetime,
    request_id: str,
    action: str,
    after: Mapping[str, Any],
) -> None:
    row = {
        "appt_id": appt_id,
        "ts": f"{now.isoformat()}#{request_id}",
        "action": action,
        "after": dict(after),
    }
    audit.append(tables, AUDIT, row)
