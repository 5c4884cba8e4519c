"""Appointment reminders' use cases: the hourly tick and dispatching one reminder or staff alert.

Built on the shared engine: business time (the SMS quiet hours, every day), the start of the
appointment as the deadline, claim-send-confirm, retries, and a person told when all fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import frozen

from backoffice.core import appointment_reminder as ar
from backoffice.core.business_time import Calendar
from backoffice.core.documents import DocumentError, load_toml
from backoffice.core.ics import event_ics
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import read_csv
from backoffice.core.templates import check, render
from backoffice.ports import Absent, Attachment, ConditionFailed, Email, Tables, TableSchema
from backoffice.services import engine
from backoffice.services.delivery import Slot, stamp
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.runtime import Ports, deliver_text, local_now

SENDS = "ar-sends"
REPLIES = "ar-replies"
AUDIT = "ar-audit"
ARCHIVE = "ar-sends-archive"
TABLES = (
    TableSchema(SENDS, "appt_id", "window_index"),
    TableSchema(REPLIES, "appt_id", "replied_at"),
    TableSchema(AUDIT, "appt_id", "ts"),
    TableSchema(ARCHIVE, "appt_id", "archive_index"),
)
VOICE_FIELDS = ("customer_name", "appt_id", "service", "when", "staff")
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
    rules = ar.load_rules(_text(ports, ar.RULES_FILE))
    table, problems = read_csv(_text(ports, ar.SHEET_FILE), ar.SHEET_FILE)
    appointments, row_problems = ar.parse_rows(
        table,
        rules,
        timezone=settings.timezone,
        default_country=settings.default_country,
        dayfirst=settings.dayfirst,
    )
    return Documents(
        tuple(appointments),
        (*problems, *row_problems),
        rules,
        load_voice(_text(ports, "voice.toml")),
    )


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
        (ar.Sent(r["chain_id"], r["window"], r["status"]) for r in rows(SENDS)),
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


def sms_calendar(settings: Settings) -> Calendar:
    """Texts and staff alerts may go any day, outside the SMS quiet hours."""
    quiet = settings.sms_quiet_hours
    return Calendar(
        settings.timezone,
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
        channel="staff" if move.window == "gap_alert" else "customer",
        line=move.line,
        slot=send_slot(move),
        payload={"move": detail},
        deadline=move.starts_at,
    )
    if not ar.still_due(move, load_state(ports.tables, move.appt_id), now):
        return outgoing.report("dropped", now)
    for overtaken in move.skips:
        _record(ports.tables, move, overtaken, "skipped", now)

    def send() -> str:
        appointment = _appointment(ports, settings, move.appt_id)
        voice = load_voice(_text(ports, "voice.toml"))[move.window]
        fields = _fields(appointment, move)
        if move.window == "gap_alert":
            text = render(voice["text"], fields)
            return deliver_text(ports, move.to[0], text, text, (), move.key)
        return _remind(ports, settings, move, appointment, voice, fields, now)

    return engine.deliver(
        ports,
        lambda _: sms_calendar(settings),
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
    appointment: ar.Appointment | None,
    voice: Mapping[str, str],
    fields: Mapping[str, str],
    now: datetime,
) -> str:
    phone = next((t for t in move.to if t.startswith("+")), "")
    if phone and not ports.sms.opted_out(phone):
        return ports.sms.send(phone, render(voice["sms"], fields), move.key)
    address = next((t for t in move.to if "@" in t), "")
    if not address:
        raise RuntimeError(f"{move.appt_id}: the number opted out of texts and there is no email")
    attachments: tuple[Attachment, ...] = ()
    if appointment is not None:
        ics = event_ics(
            f"{appointment.chain_id}@backoffice",
            f"{appointment.service} appointment",
            appointment.starts_at,
            appointment.duration_min or 30,
            now,
        )
        attachments = (Attachment("appointment.ics", "text/calendar", ics),)
    return ports.mailer.send(
        Email(
            to=(address,),
            subject=render(voice["subject"], fields),
            text=render(voice["body"], fields),
            idempotency_key=move.key,
            attachments=attachments,
        )
    )


def _record(tables: Tables, move: ar.Move, window: str, status: str, now: datetime) -> None:
    slot = send_slot(move, window)
    try:
        tables.put(SENDS, {**slot.row, "status": status, "at": stamp(now)}, Absent())
    except ConditionFailed:
        return  # already recorded: sent, or skipped before


def _appointment(ports: Ports, settings: Settings, appt_id: str) -> ar.Appointment | None:
    docs = load_documents(ports, settings)
    return next((a for a in docs.appointments if a.appt_id == appt_id), None)


def _fields(appointment: ar.Appointment | None, move: ar.Move) -> dict[str, str]:
    start = move.starts_at
    return {
        "customer_name": appointment.customer_name if appointment else "",
        "appt_id": move.appt_id,
        "service": appointment.service if appointment else "",
        "when": f"{start:%a} {start.day} {start:%b} at {start:%H:%M}",
        "staff": appointment.staff if appointment else "",
    }
