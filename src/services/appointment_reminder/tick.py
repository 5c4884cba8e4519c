"""The hourly tick and dispatching one reminder (a text, or an email with the appointment
attached) or staff alert, on the shared engine: business time (the SMS quiet hours, every day),
the start of the appointment as the deadline, claim-send-confirm, retries, and a person told
when all fails."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import evolve

from backoffice.core import appointment_reminder as ar
from backoffice.core.business_time import Calendar
from backoffice.core.settings import Settings
from backoffice.core.sheet import is_slack_channel, is_slack_user
from backoffice.core.templates import TemplateError
from backoffice.ports import Absent, Attachment, ConditionFailed, Email, Ports, Tables
from backoffice.services import engine
from backoffice.services.appointment_reminder.state import (
    SENDS,
    appointment_ics,
    load_documents,
    load_state,
    message_fields,
    reply_link,
    send_slot,
)
from backoffice.services.delivery import Unbuildable, stamp
from backoffice.services.documents import voiced
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.runtime import deliver_text, local_now, tell_admin
from backoffice.services.system import TickResult


def tick(ports: Ports, settings: Settings) -> TickResult:
    """The hourly decision: each due reminder or staff alert goes to dispatch through the bus."""
    now = local_now(ports.clock, settings)
    docs = load_documents(ports.blobs, settings)
    plan = ar.plan_tick(docs.appointments, load_state(ports.tables), docs.rules, now)
    moves, waiting = voiced(plan.moves, docs.voice, docs.voice_text)
    ports.bus.emit([(f"ar.{move.kind}", move.as_json()) for move in moves])
    return TickResult(now, evolve(plan, moves=tuple(moves)), (*docs.problems, *waiting))


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


def dispatch(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    """Deliver one move: SMS when the customer has a number that has not opted out, else email
    with the appointment attached; staff alerts through Slack or email. Skipped when it could
    only go out at or after the start."""
    move = ar.Move.from_json(detail, ar.MOVES)
    now = local_now(ports.clock, settings)
    outgoing = Outgoing.of(move, _channel(move), send_slot(move))
    docs = load_documents(ports.blobs, settings)
    current = docs.appointment(move.subject)
    state = load_state(ports.tables, move.subject)
    if not ar.still_due(move, state, now, current):
        return outgoing.report("dropped", now)
    service = docs.rules.service(current.service if current else "default")
    if ar.overtaken(move, service, now, ar.confirmed(state, move.chain)):
        _record(ports.tables, move, move.kind, "skipped", now)
        return outgoing.report("skipped", now)
    for skipped in move.skips:
        _record(ports.tables, move, skipped, "skipped", now)

    def send() -> str:
        if current is None:  # still_due refuses a move whose appointment is gone
            raise Unbuildable(f"{move.subject} is no longer in the sheet")
        fields = message_fields(current, reply_link(settings, current))
        try:
            if move.kind == "gap_alert":
                text = docs.voice.render("gap_alert", "text", fields)
                return deliver_text(ports, move.to[0], text, text, (), move.key)
            return _remind(ports, move, current, docs.voice, fields, now)
        except (KeyError, TemplateError) as error:
            raise Unbuildable(f"its words cannot be written: {error}") from None

    return engine.deliver(
        ports,
        lambda _: sms_calendar(settings, ar.quiet_zone(move)),
        outgoing,
        now,
        send,
        {"sent_at": stamp(now)},
        lambda failure: _tell_admin(ports, settings, move, failure.error),
        lambda: _record(ports.tables, move, move.kind, "skipped", now),
    )


def _tell_admin(ports: Ports, settings: Settings, move: ar.Move, error: str) -> None:
    """A move that failed for good is put in front of a person; it is never dropped silently."""
    tell_admin(
        ports,
        settings,
        f"Could not deliver {move.kind} for {move.subject}",
        f"Every try to reach {', '.join(move.to)} failed: {error}",
        f"{move.key}:failed",
    )


def _remind(
    ports: Ports,
    move: ar.Move,
    appointment: ar.Appointment,
    voice: ar.Voice,
    fields: Mapping[str, str],
    now: datetime,
) -> str:
    """A text when the customer has a number that takes texts; email (with the appointment
    attached) when there is none, it opted out, or the text could not be sent."""
    phone = next((t for t in move.to if t.startswith("+")), "")
    address = next((t for t in move.to if "@" in t), "")
    if phone and not ports.sms.opted_out(phone):
        try:
            return ports.sms.send(phone, voice.render(move.kind, "sms", fields), move.key)
        except Exception:
            if not address:
                raise  # retried later, then the admin hears of it
    if not address:
        raise Unbuildable(f"{move.subject}: the number opted out of texts and there is no email")
    ics = Attachment("appointment.ics", "text/calendar", appointment_ics(appointment, now))
    return ports.mailer.send(
        Email(
            to=(address,),
            subject=voice.render(move.kind, "subject", fields),
            text=voice.render(move.kind, "body", fields),
            idempotency_key=move.key,
            attachments=(ics,),
        )
    )


def _channel(move: ar.Move) -> str:
    """How the move is expected to travel (a customer's opted-out number turns SMS into email)."""
    first = move.to[0] if move.to else ""
    if move.kind == "gap_alert":
        return "slack" if is_slack_user(first) or is_slack_channel(first) else "email"
    return "sms" if first.startswith("+") else "email"


def _record(tables: Tables, move: ar.Move, window: str, status: str, now: datetime) -> None:
    slot = send_slot(move, window)
    try:
        tables.put(SENDS.name, {**slot.row, "status": status, "at": stamp(now)}, Absent())
    except ConditionFailed:
        return  # already recorded: sent, or skipped before
