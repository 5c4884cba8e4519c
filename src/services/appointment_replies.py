"""The customers' answers to a reminder: the page behind the text's short link (Confirm, Pick
another time, Cancel), the slot page with the reschedule token, the POST that acts once, the
calendar file, and the staff notice when a slot is freed or moved."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from attrs import evolve, frozen

from backoffice.core import appointment_reminder as ar
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim, TokenError, read
from backoffice.ports import Absent, AnyOf, Before, ConditionFailed, Equals, Tables
from backoffice.services import engine
from backoffice.services.appointment_reminder import (
    ARCHIVE,
    NONCES,
    NOTICES_ID,
    REPLIES,
    SENDS,
    Documents,
    appointment_ics,
    find_appointment,
    link_store,
    load_documents,
    load_state,
    short_code,
    write_audit,
)
from backoffice.services.delivery import Slot, describe, stamp
from backoffice.services.links import Answered
from backoffice.services.runtime import LinkTarget, Ports, deliver_text, link_token, local_now

ANSWER_PATH = "/ar/answer"
LABELS = {"confirm": "Confirm", "reschedule": "Pick another time", "cancel": "Cancel"}


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
    return f"{CALENDAR_PATH}/{appointment.appt_id}/{short_code(settings, appointment)}"


def calendar_file(ports: Ports, settings: Settings, appt_id: str, short: str) -> bytes | None:
    """The appointment as an iCalendar event, for the page's "add to calendar"; None when the
    link does not match the appointment as it is now."""
    appointment = find_appointment(ports, settings, appt_id)
    if appointment is None or not hmac.compare_digest(short, short_code(settings, appointment)):
        return None
    return appointment_ics(appointment, local_now(ports.clock, settings))


def reply_page(ports: Ports, settings: Settings, appt_id: str, short: str) -> ReplyPage:
    """GET from the text's link: the three answers, each a form that POSTs its own token."""
    now = local_now(ports.clock, settings)
    appointment = find_appointment(ports, settings, appt_id)
    if appointment is None or not hmac.compare_digest(short, short_code(settings, appointment)):
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
