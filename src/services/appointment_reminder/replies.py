"""The customers' answers to a reminder: the page behind the text's short link (Confirm, Pick
another time, Cancel), the slot page with the reschedule token, the POST that acts once, the
calendar file, and the staff notice when a slot is freed or moved."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from attrs import evolve, frozen

from backoffice.core import appointment_reminder as ar
from backoffice.core.appointment_reminder.replies import TAKEN
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim, TokenError, read
from backoffice.core.vocabulary import Action, Notice, Transition, rejected
from backoffice.ports import Absent, AnyOf, Before, ConditionFailed, Equals, Ports
from backoffice.services import engine
from backoffice.services.appointment_reminder.state import (
    ARCHIVE,
    AUDIT,
    NONCES,
    NOTICES_ID,
    REPLIES,
    SENDS,
    Documents,
    appointment_ics,
    load_documents,
    load_state,
    short_code,
)
from backoffice.services.delivery import Slot, describe, stamp
from backoffice.services.links import Answered, Links
from backoffice.services.records import archive_chains, write_audit
from backoffice.services.runtime import LinkTarget, link_token, local_now, tell_admin

ANSWER_PATH = "/ar/answer"
LABELS = {"confirm": "Confirm", "reschedule": "Pick another time", "cancel": "Cancel"}


@frozen
class Choice:
    action: str  # "confirm", "cancel", "reschedule" (opens the slot page), or "slot" (a time)
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
    return f"{CALENDAR_PATH}/{appointment.appt_id}/{short_code(settings, appointment)}"


def calendar_file(ports: Ports, settings: Settings, appt_id: str, short: str) -> bytes | None:
    """The appointment as an iCalendar event, for the page's "add to calendar"; None when the
    link does not match the appointment as it is now."""
    appointment = load_documents(ports.blobs, settings).appointment(appt_id)
    if appointment is None or not hmac.compare_digest(short, short_code(settings, appointment)):
        return None
    return appointment_ics(appointment, local_now(ports.clock, settings))


def reply_page(ports: Ports, settings: Settings, appt_id: str, short: str) -> ReplyPage:
    """GET from the text's link: the three answers, each a form that POSTs its own token."""
    now = local_now(ports.clock, settings)
    appointment = load_documents(ports.blobs, settings).appointment(appt_id)
    if appointment is None or not hmac.compare_digest(short, short_code(settings, appointment)):
        return ReplyPage(
            410,
            "Link out of date",
            "This appointment has changed since the message "
            "was sent. Please use the newest message, or call us.",
        )
    state = load_state(ports.tables, appt_id)
    if now >= appointment.starts_at or appointment.cancelled or state.closed(appointment.chain_id):
        return ReplyPage(410, "Nothing to answer", "This appointment has started or was cancelled.")
    start = appointment.starts_at
    when = f"{start:%a} {start.day} {start:%b} at {start:%H:%M}"
    name, confirmed = appointment.customer_name, ar.confirmed(state, appointment.chain_id)
    offered = [a for a in LABELS if not (confirmed and a == "confirm")]  # only what is left
    choices = tuple(Choice(a, LABELS[a], _token(settings, appointment, a)) for a in offered)
    if confirmed:
        title, message = f"You are confirmed for {when}", f"Thank you, {name}. Need to change it?"
    else:
        title, message = f"Your appointment, {when}", f"Hello {name}, please let us know:"
    return ReplyPage(200, title, message, choices, calendar_link(settings, appointment))


def slots_page(ports: Ports, settings: Settings, token: str) -> ReplyPage:
    """GET with the reschedule token: the free times, each posting back the same token."""
    now = local_now(ports.clock, settings)
    try:
        claim = read(settings.secret("link_secret"), token, now)
    except TokenError:
        return ReplyPage(400, "Link not valid", "This link is damaged or has expired.")
    docs = load_documents(ports.blobs, settings)
    appointment = docs.appointment(claim.subject)
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
    choices = tuple(
        Choice("slot", f"{s:%a} {s.day} {s:%b} {s:%H:%M}", token, s.isoformat()) for s in slots
    )
    return ReplyPage(200, "Pick another time", "These times are free:", choices)


def answer(ports: Ports, settings: Settings, token: str, slot: str, request_id: str) -> ReplyPage:
    """POST: spend the token, then confirm, cancel or move the appointment."""
    now = local_now(ports.clock, settings)
    notices: list[Notice] = []  # told once the answer has landed
    kept: list[str] = []  # the appointment's calendar link, when it still takes place

    def apply(claim: LinkClaim) -> Answered:
        action = Action(claim.action, claim.subject, claim.chain, claim.by, request_id, slot)
        docs = load_documents(ports.blobs, settings)
        transition = _decide(ports, settings, docs, action, now)
        if transition.accepted:
            notices.extend(_apply(ports, transition))
            kept.extend(_calendar_after(settings, docs.appointment(claim.subject), action))
        write_audit(ports.tables, AUDIT, transition.audit)
        return Answered(transition.accepted, transition.message)

    def refused(claim: LinkClaim | None, reason: str) -> None:
        if claim is None:
            return  # not one of ours: nothing to audit, and junk cannot grow the audit table
        action = Action(claim.action, claim.subject, claim.chain, claim.by, request_id)
        write_audit(ports.tables, AUDIT, rejected(action, now, reason).audit)

    result = link_store(ports, settings).act(token, now, apply, refused)
    for notice in notices:
        _tell_staff(ports, settings, notice, now)
    if not result.accepted and slot:
        # The time was taken meanwhile: the link is still good, so offer what is left.
        left = slots_page(ports, settings, token)
        if left.status == 200:
            message = f"{result.message} These times are still free:"
            return ReplyPage(409, "That time was just taken", message, left.choices)
    return ReplyPage(result.status, result.title, result.message, calendar_link="".join(kept))


def link_store(ports: Ports, settings: Settings) -> Links:
    return Links(ports.tables, NONCES.name, settings.secret("link_secret"))


def _calendar_after(
    settings: Settings, appointment: ar.Appointment | None, action: Action
) -> list[str]:
    """Add to calendar, for an appointment that still takes place (at its new time, if moved)."""
    if appointment is None or action.kind not in ("confirm", "reschedule"):
        return []
    new_start = ar.chosen_start(action.value) if action.kind == "reschedule" else None
    moved = evolve(appointment, starts_at=new_start) if new_start else appointment
    return [calendar_link(settings, moved)]


def _decide(
    ports: Ports, settings: Settings, docs: Documents, action: Action, now: datetime
) -> Transition[ar.ReplyRecord]:
    """The core's answer to the reply; a move also needs the new time held for it."""
    appointment = docs.appointment(action.subject)
    current = ar.Current(
        appointment,
        load_state(ports.tables, action.subject),
        tuple(_taken(docs, appointment)),
        docs.rules.booking,
        docs.rules.staff_channel,
    )
    transition = ar.apply_action(current, action, now)
    new_start = ar.chosen_start(action.value)
    if not (transition.accepted and action.kind == "reschedule" and new_start is not None):
        return transition
    if _hold(ports, new_start, action.subject, now):
        return transition
    return rejected(action, now, TAKEN)


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
        ports.tables.put(NONCES.name, row, free)
    except ConditionFailed:
        return False
    return True


def _tell_staff(ports: Ports, settings: Settings, notice: Notice, now: datetime) -> None:
    """A slot freed or moved, told at once and once; when the staff cannot be reached, the admin
    hears of it instead (the customer's answer has landed either way)."""
    key = notice.key
    slot = Slot(
        SENDS.name, NOTICES_ID, key, {"appt_id": NOTICES_ID, "window_index": key, "key": key}
    )
    text = notice.text
    try:
        told = engine.report_once(
            ports, slot, notice.to, engine.written(text, text), now, "staff_notice"
        )
        error = told.error if told is not None and told.status == "failed" else ""
    except Exception as failure:  # the store, not the channel: the answer has still landed
        error = describe(failure)
    if error:
        tell_admin(
            ports,
            settings,
            f"Staff could not be told: {text}",
            f"{text}\n\nSending this to {notice.to} failed: {error}",
            f"{key}:failed",
        )


def _apply(ports: Ports, transition: Transition[ar.ReplyRecord]) -> list[Notice]:
    """Write the sheet first (what staff see), then record the reply and close the old chain:
    when a later step fails, the same answer again finds the sheet done and finishes the rest.
    Returns the staff notices; a sheet without the column to write is named there rather than
    failing the answer."""
    missing = ""
    for write in transition.sheet_writes:
        try:
            ports.sheet.update_cell(write.row_id, write.column, write.value)
        except KeyError as error:
            missing += f" (The sheet was not updated: {error.args[0]}; add the column to see it.)"
    audit = transition.audit
    if transition.record is not None:
        ports.tables.put(
            REPLIES.name,
            {
                "appt_id": audit.subject,
                "replied_at": audit.ts,
                "chain_id": transition.record.chain_id,
                "reply": transition.record.reply,
            },
        )
    archive_chains(ports.tables, SENDS, ARCHIVE, transition.archive)
    return [evolve(n, text=n.text + missing) for n in transition.notices]


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
