"""What a customer's answer (Confirm, Pick another time, Cancel) changes, and which times a move
may pick."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.appointment_reminder.documents import Booking
from backoffice.core.appointment_reminder.plan import REPLIES, Reply, ReplyRecord, State
from backoffice.core.appointment_reminder.sheet import Appointment
from backoffice.core.business_time import local_at
from backoffice.core.vocabulary import (
    Action,
    Notice,
    SheetWrite,
    Transition,
    audit_entry,
    rejected,
)

STALE = (
    "This appointment has changed since this message was sent, so the link no longer applies. "
    "Nothing was changed."
)
TAKEN = "That time is no longer free. Please pick another one."


@frozen
class Current:
    """What an answer meets: the appointment as the sheet shows it now (None when it is gone),
    the stored state, the times other appointments take, the slot rules, and who hears of a
    freed or moved slot when the row names no staff."""

    appointment: Appointment | None
    state: State
    taken: tuple[datetime, ...]
    booking: Booking
    staff: str


def apply_action(current: Current, action: Action, now: datetime) -> Transition[ReplyRecord]:
    """What a customer's tap changes. A refused reply changes nothing but the audit trail.
    A reschedule's `value` is the new start (ISO 8601 with its offset)."""
    appointment = current.appointment
    if appointment is None:
        return rejected(action, now, "We could not find this appointment any more. Please call us.")
    if action.kind not in REPLIES:
        return rejected(action, now, "This link does not answer an appointment. Nothing changed.")
    new_start = chosen_start(action.value) if action.kind == "reschedule" else None
    if action.chain not in current.state.archived and _already_in_the_sheet(
        appointment, action, new_start
    ):
        return _accepted(current, action, new_start, action.chain.partition("@")[2], now, True)
    if (
        action.chain != appointment.chain_id
        or appointment.cancelled
        or current.state.closed(action.chain)
    ):
        return rejected(action, now, STALE)
    if now >= appointment.starts_at:
        return rejected(action, now, "This appointment has already started. Please call us.")
    if action.kind == "reschedule" and not _free(current, appointment, new_start, now):
        return rejected(action, now, TAKEN)
    return _accepted(current, action, new_start, appointment.starts_at.isoformat(), now, False)


def chosen_start(value: str) -> datetime | None:
    """A slot posted back by the page; anything else is no slot (and the pick is refused)."""
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


def _free(
    current: Current, appointment: Appointment, new_start: datetime | None, now: datetime
) -> bool:
    zone = appointment.starts_at.tzinfo
    duration = appointment.duration_min or 30
    return (
        new_start is not None
        and isinstance(zone, ZoneInfo)
        and new_start in free_slots(current.booking, current.taken, now, zone, duration)
    )


def _already_in_the_sheet(
    appointment: Appointment, action: Action, new_start: datetime | None
) -> bool:
    """The same answer again after a first try wrote the sheet and then failed: the sheet
    already shows the cancel or the new time, but the old chain was never closed."""
    if action.kind == "cancel":
        return appointment.cancelled and appointment.chain_id == action.chain
    return (
        action.kind == "reschedule"
        and new_start is not None
        and appointment.starts_at == new_start
        and appointment.chain_id != action.chain
    )


def _accepted(
    current: Current,
    action: Action,
    new_start: datetime | None,
    old_start: str,
    now: datetime,
    in_sheet: bool,
) -> Transition[ReplyRecord]:
    """An accepted reply: what to record, close, write and tell staff. A reply the sheet
    already shows needs no sheet write."""
    appointment = current.appointment
    assert appointment is not None  # apply_action refused the answer otherwise
    when = _when(datetime.fromisoformat(old_start))
    before = {"chain_id": action.chain, "starts_at": old_start, "cancelled": appointment.cancelled}
    record = ReplyRecord(action.chain, cast(Reply, action.kind))
    name, appt_id = appointment.customer_name, appointment.appt_id
    if action.kind == "confirm":
        after = {**before, "confirmed": True}
        return Transition(
            accepted=True,
            message=f"Thank you, {name}: you are confirmed for {when}.",
            audit=audit_entry(action, now, before, after, accepted=True),
            record=record,
        )
    writes: tuple[SheetWrite, ...]
    if action.kind == "cancel":
        after = {**before, "cancelled": True}
        writes = (SheetWrite(appt_id, "status", "cancelled"),)
        message = f"Your appointment on {when} is cancelled."
        notice = f"Slot freed: {name} cancelled {appt_id} on {when}."
    else:
        assert new_start is not None  # a reschedule without a free new time is refused
        moved = _when(new_start)
        after = {**before, "starts_at": new_start.isoformat()}
        writes = (SheetWrite(appt_id, "starts_at", new_start.strftime("%Y-%m-%d %H:%M")),)
        message = f"Moved to {moved}. See you then."
        notice = f"{name} moved {appt_id} from {when} to {moved}."
    key = f"ar:{appt_id}:{old_start}:{action.kind}:notice"
    return Transition(
        accepted=True,
        message=message,
        audit=audit_entry(action, now, before, after, accepted=True),
        record=record,
        sheet_writes=() if in_sheet else writes,
        archive=(action.chain,),
        notices=(Notice(appointment.staff or current.staff, notice, key),),
    )


def _when(start: datetime) -> str:
    return start.strftime("%a %d %b at %H:%M")


# --- the slot picker ---------------------------------------------------------------------------


def free_slots(
    booking: Booking,
    taken: Iterable[datetime],
    now: datetime,
    zone: ZoneInfo,
    duration_min: int,
) -> list[datetime]:
    """Start times from tomorrow to the horizon, on booking days, inside opening hours, that
    neither overlap a taken appointment nor run past closing."""
    busy = sorted(t.astimezone(zone) for t in taken)
    length = timedelta(minutes=duration_min)
    slots: list[datetime] = []
    today = now.astimezone(zone).date()
    for offset in range(1, booking.horizon_days + 1):
        day = today + timedelta(days=offset)
        if day.weekday() not in booking.days:
            continue
        slots += _day_slots(day, booking, zone, length, busy)
    return slots


def _day_slots(
    day: date, booking: Booking, zone: ZoneInfo, length: timedelta, busy: Sequence[datetime]
) -> list[datetime]:
    start = local_at(day, booking.open_from, zone)
    closing = local_at(day, booking.open_until, zone)
    step = timedelta(minutes=booking.slot_minutes)
    slots = []
    current = start
    while current + length <= closing:
        if all(
            not (taken <= current < taken + length or current <= taken < current + length)
            for taken in busy
        ):
            slots.append(current)
        current += step
    return slots
