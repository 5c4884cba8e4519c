"""Appointment reminders' use cases: the hourly tick and dispatching one reminder or staff alert.

Built on the shared engine: business time (the SMS quiet hours, every day), the start of the
appointment as the deadline, claim-send-confirm, retries, and a person told when all fails.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve, frozen

from backoffice.core import appointment_reminder as ar
from backoffice.core.business_time import Calendar
from backoffice.core.documents import DocumentError, load_toml
from backoffice.core.ics import event_ics
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import is_slack_channel, is_slack_user, read_csv
from backoffice.core.templates import check, render
from backoffice.core.tokens import LinkClaim, TokenError, nonce_for, read
from backoffice.ports import (
    Absent,
    AnyOf,
    Attachment,
    Before,
    ConditionFailed,
    Email,
    Equals,
    Tables,
    TableSchema,
)
from backoffice.services import audit, engine, proposals
from backoffice.services.delivery import Slot, describe, stamp
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.links import Answered, Links
from backoffice.services.runtime import LinkTarget, Ports, deliver_text, link_token, local_now

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
        voice = docs.voice[move.window]
        link = reply_link(settings, current) if current else ""
        fields = _fields(current, move, link)
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
    appointment: ar.Appointment | None,
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
    attachments: tuple[Attachment, ...] = ()
    if appointment is not None:
        ics = appointment_ics(appointment, now)
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


def _appointment(ports: Ports, settings: Settings, appt_id: str) -> ar.Appointment | None:
    docs = load_documents(ports, settings)
    return next((a for a in docs.appointments if a.appt_id == appt_id), None)


def _fields(appointment: ar.Appointment | None, move: ar.Move, link: str) -> dict[str, str]:
    start = move.starts_at
    return {
        "customer_name": appointment.customer_name if appointment else "",
        "appt_id": move.appt_id,
        "service": appointment.service if appointment else "",
        "when": f"{start:%a} {start.day} {start:%b} at {start:%H:%M}",
        "staff": appointment.staff if appointment else "",
        "link": link,
    }


# --- replies: one short link in the text, a page of answers, a second page for new times -------

REPLY_PATH = "/ar/r"
ANSWER_PATH = "/ar/answer"
NONCES = "ar-link-nonces"
LABELS = {"confirm": "Confirm", "reschedule": "Pick another time", "cancel": "Cancel"}


def reply_link(settings: Settings, appointment: ar.Appointment) -> str:
    """Short enough for one text message, and only valid for this appointment at this time."""
    return (
        f"{settings.public_url}{REPLY_PATH}/{appointment.appt_id}/{_short(settings, appointment)}"
    )


def _short(settings: Settings, appointment: ar.Appointment) -> str:
    return nonce_for(settings.secret("link_secret"), "reply", appointment.chain_id)[:16]


@frozen
class Choice:
    label: str
    token: str
    value: str = ""  # the new start time, for a slot


@frozen
class ReplyPage:
    status: int
    title: str
    message: str
    choices: tuple[Choice, ...] = ()
    calendar_link: str = ""  # "add to calendar": the appointment as an .ics file


CALENDAR_PATH = "/ar/ics"


def calendar_link(settings: Settings, appointment: ar.Appointment) -> str:
    return f"{CALENDAR_PATH}/{appointment.appt_id}/{_short(settings, appointment)}"


def calendar_file(ports: Ports, settings: Settings, appt_id: str, short: str) -> bytes | None:
    """The appointment as an iCalendar event, for the page's "add to calendar"; None when the
    link does not match the appointment as it is now."""
    appointment = _appointment(ports, settings, appt_id)
    if appointment is None or not hmac.compare_digest(short, _short(settings, appointment)):
        return None
    return appointment_ics(appointment, local_now(ports.clock, settings))


def appointment_ics(appointment: ar.Appointment, now: datetime) -> bytes:
    """One UID per chain: a calendar that imports the file twice keeps one event."""
    return event_ics(
        f"{appointment.chain_id}@backoffice",
        f"{appointment.service} appointment",
        appointment.starts_at,
        appointment.duration_min or 30,
        now,
    )


def reply_page(ports: Ports, settings: Settings, appt_id: str, short: str) -> ReplyPage:
    """GET from the text's link: the three answers, each a form that POSTs its own token."""
    now = local_now(ports.clock, settings)
    appointment = _appointment(ports, settings, appt_id)
    if appointment is None or not hmac.compare_digest(short, _short(settings, appointment)):
        return ReplyPage(
            410,
            "Link out of date",
            "This appointment has changed since the message "
            "was sent. Please use the newest message, or call us.",
        )
    state = load_state(ports.tables, appt_id)
    replies = state.replies.get(appointment.chain_id, frozenset())
    closed = bool({"cancel", "reschedule"} & replies) or appointment.chain_id in state.archived
    if now >= appointment.starts_at or appointment.cancelled or closed:
        return ReplyPage(410, "Nothing to answer", "This appointment has started or was cancelled.")
    start = appointment.starts_at
    when = f"{start:%a} {start.day} {start:%b} at {start:%H:%M}"
    choices = tuple(
        Choice(label, _token(settings, appointment, action)) for action, label in LABELS.items()
    )
    return ReplyPage(
        200,
        f"Your appointment, {when}",
        f"Hello {appointment.customer_name}, please let us know:",
        choices,
        calendar_link(settings, appointment),
    )


def slots_page(ports: Ports, settings: Settings, token: str) -> ReplyPage:
    """GET with the reschedule token: the free times, each posting back the same token."""
    now = local_now(ports.clock, settings)
    try:
        claim = read(settings.secret("link_secret"), token, now)
    except TokenError:
        return ReplyPage(400, "Link not valid", "This link is damaged or has expired.")
    docs = load_documents(ports, settings)
    appointment = next((a for a in docs.appointments if a.appt_id == claim.subject), None)
    if appointment is None or claim.action != "reschedule" or claim.chain != appointment.chain_id:
        return ReplyPage(410, "Link out of date", "This appointment has changed since.")
    zone = ZoneInfo(str(appointment.starts_at.tzinfo))
    slots = ar.free_slots(
        docs.rules.booking,
        _taken(docs, appointment),
        now,
        zone,
        appointment.duration_min or docs.rules.service(appointment.service).duration_min,
    )
    choices = tuple(Choice(f"{s:%a} {s.day} {s:%b} {s:%H:%M}", token, s.isoformat()) for s in slots)
    return ReplyPage(200, "Pick another time", "These times are free:", choices)


def answer(ports: Ports, settings: Settings, token: str, slot: str, request_id: str) -> ReplyPage:
    """POST: spend the token, then confirm, cancel or move the appointment."""
    now = local_now(ports.clock, settings)
    notices: list[tuple[str, str, str]] = []  # (to, text, key): told once the answer landed
    kept: list[str] = []  # the appointment's calendar link, when it still takes place
    new_start = _instant(slot)

    def apply(claim: LinkClaim) -> Answered:
        if claim.action not in LABELS:
            return Answered(False, "This link does not answer an appointment. Nothing changed.")
        docs = load_documents(ports, settings)
        appointment = next((a for a in docs.appointments if a.appt_id == claim.subject), None)
        outcome = _decide(ports, docs, appointment, claim, new_start, request_id, now)
        notice = _apply(ports, claim.subject, outcome, now, request_id) if outcome.accepted else ""
        write_audit(
            ports.tables,
            claim.subject,
            now,
            request_id,
            claim.action if outcome.accepted else "rejected",
            {"message": outcome.message},
        )
        if outcome.accepted:
            staff = (appointment.staff if appointment else "") or settings.staff_channel
            if notice:
                start = claim.chain.partition("@")[2]
                key = f"ar:{claim.subject}:{start}:{claim.action}:notice"
                notices.append((staff or settings.admin, notice, key))
            if claim.action in ("confirm", "reschedule") and appointment is not None:
                moved = evolve(appointment, starts_at=new_start) if new_start else appointment
                kept.append(calendar_link(settings, moved))
        return Answered(outcome.accepted, outcome.message)

    def refused(claim: LinkClaim | None, reason: str) -> None:
        subject = claim.subject if claim else "(unverified link)"
        write_audit(ports.tables, subject, now, request_id, "rejected", {"reason": reason})

    result = link_store(ports, settings).act(token, now, apply, refused)
    for to, notice, key in notices:
        _tell_staff(ports, settings, to, notice, key, now)
    if not result.accepted and slot:
        # The time was taken meanwhile: the link is still good, so offer what is left.
        left = slots_page(ports, settings, token)
        if left.status == 200:
            message = f"{result.message} These times are still free:"
            return ReplyPage(409, "That time was just taken", message, left.choices)
    return ReplyPage(result.status, result.title, result.message, calendar_link="".join(kept))


def _decide(
    ports: Ports,
    docs: Documents,
    appointment: ar.Appointment | None,
    claim: LinkClaim,
    new_start: datetime | None,
    request_id: str,
    now: datetime,
) -> ar.Outcome:
    """The core's answer to the reply; a move also needs the new time held for it."""
    answer = ar.Answer(
        claim.action,  # type: ignore[arg-type]
        claim.subject,
        claim.chain,
        claim.by,
        request_id,
        new_start=new_start,
    )
    state = load_state(ports.tables, claim.subject)
    taken = _taken(docs, appointment)
    outcome = ar.apply_reply(state, appointment, answer, now, taken, docs.rules.booking)
    if not (outcome.accepted and claim.action == "reschedule" and new_start is not None):
        return outcome
    if _hold(ports, new_start, claim.subject, now):
        return outcome
    return ar.Outcome(False, "That time is no longer free. Please pick another one.")


SLOT_HOLD = timedelta(minutes=15)  # longer than the sheet's copy can lag behind the sheet


def _hold(ports: Ports, start: datetime, appt_id: str, now: datetime) -> bool:
    """Claim a new time for a moment: two customers picking the same free time at once (or
    before the sheet's copy shows the first move) cannot both get it. The same appointment may
    take its own hold again (a retried answer)."""
    row = {
        "nonce": f"slot:{start.astimezone(UTC).isoformat()}",
        "kind": "slot",
        "appt_id": appt_id,
        "held_until": stamp(now + SLOT_HOLD),
    }
    free = AnyOf((Absent(), Before("held_until", stamp(now)), Equals("appt_id", appt_id)))
    try:
        ports.tables.put(NONCES, row, free)
    except ConditionFailed:
        return False
    return True


def _instant(text: str) -> datetime | None:
    """A slot posted back by the page; anything else is no slot (and the pick is refused)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _tell_staff(
    ports: Ports, settings: Settings, to: str, text: str, key: str, now: datetime
) -> None:
    """A slot freed or moved, told at once and once; when the staff cannot be reached, the admin
    hears of it instead (the customer's answer has landed either way)."""
    slot = Slot(SENDS, NOTICES_ID, key, {"appt_id": NOTICES_ID, "window_index": key, "key": key})
    try:
        told = engine.report_once(ports, slot, to, text, text, now, "staff_notice")
        error = told.error if told is not None and told.status == "failed" else ""
    except Exception as failure:  # the store, not the channel: the answer has still landed
        error = describe(failure)
    if error:
        deliver_text(
            ports,
            settings.admin,
            f"Staff could not be told: {text}",
            f"{text}\n\nSending this to {to} failed: {error}",
            (),
            f"{key}:failed",
        )


def link_store(ports: Ports, settings: Settings) -> Links:
    return Links(ports.tables, NONCES, settings.secret("link_secret"))


def _apply(ports: Ports, appt_id: str, outcome: ar.Outcome, now: datetime, request_id: str) -> str:
    """Write the sheet first (what staff see), then record the reply and close the old chain:
    when a later step fails, the same answer again finds the sheet done and finishes the rest.
    Returns the staff notice; a sheet without the column to write is named there rather than
    failing the answer."""
    notice = outcome.staff_notice
    for column, value in outcome.sheet_writes:
        try:
            ports.sheet.update_cell(appt_id, column, value)
        except KeyError as error:
            notice += f" (The sheet was not updated: {error.args[0]}; add the column to see it.)"
    if outcome.reply is not None:
        ports.tables.put(
            REPLIES,
            {
                "appt_id": appt_id,
                "replied_at": f"{now.isoformat()}#{request_id}",
                "chain_id": outcome.reply.chain_id,
                "reply": outcome.reply.reply,
            },
        )
    if outcome.archive:
        _archive(ports.tables, appt_id, outcome.archive)
    return notice


def _token(settings: Settings, appointment: ar.Appointment, action: str) -> str:
    """Valid until the appointment starts."""
    target = LinkTarget(
        ar.SYSTEM,
        appointment.appt_id,
        appointment.chain_id,
        appointment.chain_id,
        appointment.phone or appointment.email,
        ANSWER_PATH,
    )
    return link_token(settings, target, action, int(appointment.starts_at.timestamp()))


def _taken(docs: Documents, appointment: ar.Appointment | None) -> list[datetime]:
    return [
        a.starts_at
        for a in docs.appointments
        if not a.cancelled and (appointment is None or a.appt_id != appointment.appt_id)
    ]


def _archive(tables: Tables, appt_id: str, chain: str) -> None:
    rows = [r for r in tables.query(SENDS, appt_id) if r["chain_id"] == chain]
    tables.put_many(ARCHIVE, [{**r, "archive_index": f"{chain}#{r['window_index']}"} for r in rows])
    tables.put(ARCHIVE, {"appt_id": appt_id, "archive_index": f"{chain}#chain", "chain_id": chain})
    tables.delete_many(SENDS, [(appt_id, r["window_index"]) for r in rows])


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
