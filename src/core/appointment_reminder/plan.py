"""The hourly tick: which reminders and staff alerts go out, from the rows and the state.

A *chain* is one appointment at one start time (`{appt_id}@{starts_at}`); rescheduling starts a
new chain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from attrs import field, frozen

from backoffice.core.appointment_reminder.documents import Rules, Service
from backoffice.core.appointment_reminder.sheet import PREFIX, Appointment
from backoffice.core.keys import move_key
from backoffice.core.vocabulary import Move, Plan

Window = Literal["first_reminder", "second_reminder", "gap_alert"]
CUSTOMER_WINDOWS: tuple[Window, ...] = ("first_reminder", "second_reminder")
MOVES: tuple[Window, ...] = (*CUSTOMER_WINDOWS, "gap_alert")
Reply = Literal["confirm", "cancel", "reschedule"]
REPLIES: tuple[Reply, ...] = ("confirm", "reschedule", "cancel")


# --- state -------------------------------------------------------------------------------------


@frozen
class Sent:
    """One reminder window of a chain as stored: delivered, or skipped (it could not go out
    before the start, or it was overtaken by a later window)."""

    chain_id: str
    window: str
    status: str  # "sent" | "skipped" | "sending" | "retry" | "failed"
    at: datetime | None = None  # when it was delivered


@frozen
class ReplyRecord:
    chain_id: str
    reply: Reply


@frozen
class State:
    sent: Mapping[str, frozenset[str]]  # chain -> windows done (sent or skipped)
    replies: Mapping[str, frozenset[str]]
    archived: frozenset[str]
    reminded_at: Mapping[str, datetime] = field(factory=dict)  # chain -> first reminder delivered

    @classmethod
    def of(
        cls, sends: Iterable[Sent], replies: Iterable[ReplyRecord], archived: Iterable[str] = ()
    ) -> State:
        done: dict[str, set[str]] = defaultdict(set)
        reminded: dict[str, datetime] = {}
        for send in sends:
            if send.status in ("sent", "skipped"):
                done[send.chain_id].add(send.window)
            if send.status == "sent" and send.at and send.window in CUSTOMER_WINDOWS:
                first = reminded.get(send.chain_id)
                reminded[send.chain_id] = min(first, send.at) if first else send.at
        answered: dict[str, set[str]] = defaultdict(set)
        for reply in replies:
            answered[reply.chain_id].add(reply.reply)
        return cls(
            {c: frozenset(w) for c, w in done.items()},
            {c: frozenset(r) for c, r in answered.items()},
            frozenset(archived),
            reminded,
        )

    def closed(self, chain: str) -> bool:
        """Cancelled, moved to another time, or archived: nothing more goes out for it."""
        replies = self.replies.get(chain, frozenset())
        return "cancel" in replies or "reschedule" in replies or chain in self.archived


# --- the tick ----------------------------------------------------------------------------------


def plan_tick(
    appointments: Sequence[Appointment], state: State, rules: Rules, now: datetime
) -> Plan:
    """At most one customer reminder and one staff alert per appointment per tick; nothing at
    or after the start, nothing for a cancelled or rescheduled chain."""
    if now.tzinfo is None:
        raise ValueError("plan_tick needs an aware datetime")
    # Most appointments, most hours, are further off than any window opens: two comparisons
    # set them aside before their chain is named or the state looked at.
    reach = {name: _reach(service) for name, service in rules.services.items()}
    moves: list[Move] = []
    for appointment in appointments:
        if appointment.cancelled or now >= appointment.starts_at:
            continue
        service = appointment.service
        if appointment.starts_at - now > reach.get(service, reach["default"]):
            continue
        moves += appointment_moves(
            appointment, state, rules.service(service), now, rules.staff_channel
        )
    return Plan(tuple(moves))


def _reach(service: Service) -> timedelta:
    """How long before the start the service's first window opens."""
    hours = max(
        service.first_reminder_hours, service.second_reminder_hours, service.gap_alert_hours
    )
    return timedelta(hours=hours)


def appointment_moves(
    appointment: Appointment, state: State, service: Service, now: datetime, staff_channel: str
) -> list[Move]:
    chain = appointment.chain_id
    if appointment.cancelled or state.closed(chain) or now >= appointment.starts_at:
        return []
    hours = (appointment.starts_at - now) / timedelta(hours=1)
    done = state.sent.get(chain, frozenset())
    confirmed = "confirm" in state.replies.get(chain, frozenset())
    open_windows: list[Window] = []
    if hours <= service.first_reminder_hours:
        open_windows.append("first_reminder")
    if hours <= service.second_reminder_hours and not confirmed:
        open_windows.append("second_reminder")
    moves: list[Move] = []
    pending = [w for w in open_windows if w not in done]
    if pending:
        # Booked late: only the latest open window goes out; the ones it overtook are skipped.
        to = customer_addresses(appointment)
        moves.append(_move(appointment, pending[-1], to, tuple(pending[:-1])))
    if (
        hours <= service.gap_alert_hours
        and not confirmed
        and "gap_alert" not in done
        and had_a_chance(state, chain, now, hours)
    ):
        moves.append(_move(appointment, "gap_alert", (appointment.staff or staff_channel,), ()))
    return moves


ANSWER_TIME = timedelta(hours=1)


def had_a_chance(state: State, chain: str, now: datetime, hours_left: float) -> bool:
    """Staff hear "not confirmed" only once the customer has had a fair chance to answer: an
    hour since a reminder reached them, or less than that hour left before the start."""
    reminded = state.reminded_at.get(chain)
    if hours_left <= ANSWER_TIME / timedelta(hours=1):
        return True
    return reminded is not None and now - reminded >= ANSWER_TIME


def overtaken(move: Move, service: Service, now: datetime, confirmed: bool) -> bool:
    """A first reminder that could only go out once the second one's window opened is not
    sent: the second goes alone, so a customer never gets two at once."""
    if move.kind != "first_reminder" or move.deadline is None or confirmed:
        return False
    return (move.deadline - now) / timedelta(hours=1) <= service.second_reminder_hours


def customer_addresses(appointment: Appointment) -> tuple[str, ...]:
    """Where a reminder goes, in order of preference: SMS, then email."""
    return tuple(address for address in (appointment.phone, appointment.email) if address)


def _move(
    appointment: Appointment, window: Window, to: tuple[str, ...], skips: tuple[Window, ...]
) -> Move:
    start = appointment.starts_at
    return Move(
        key=move_key(PREFIX, appointment.appt_id, start.isoformat(), window),
        kind=window,
        subject=appointment.appt_id,
        chain=appointment.chain_id,
        to=to,
        line=appointment.line,
        deadline=start,
        zone=start.tzinfo.key if isinstance(start.tzinfo, ZoneInfo) else "",
        skips=skips,
    )


def quiet_zone(move: Move) -> str:
    """Whose night the SMS quiet hours protect: the customer's for a reminder, the business's
    ("") for a staff alert."""
    return move.zone if move.kind in CUSTOMER_WINDOWS else ""


def still_due(move: Move, state: State, now: datetime, appointment: Appointment | None) -> bool:
    """Whether a planned move should still go out when dispatch delivers it: the sheet may have
    cancelled, moved or removed the appointment since the tick, and the customer may have
    answered."""
    if appointment is None or appointment.cancelled or appointment.chain_id != move.chain:
        return False
    if (move.deadline is not None and now >= move.deadline) or state.closed(move.chain):
        return False
    if move.kind in state.sent.get(move.chain, frozenset()):
        return False
    confirmed = "confirm" in state.replies.get(move.chain, frozenset())
    return not (confirmed and move.kind in ("second_reminder", "gap_alert"))


def confirmed(state: State, chain: str) -> bool:
    return "confirm" in state.replies.get(chain, frozenset())
