"""Appointment reminders' decisions: which reminders an hourly tick sends, what a reply changes,
and which slots a reschedule may pick.

A *chain* is one appointment at one start time (`{appt_id}@{starts_at}`); rescheduling starts a
new chain. Everything here is a pure function of the sheet rows, the stored state, the rules and
`now`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import frozen
from dateutil import parser as date_parser

from backoffice.core.business_time import local_at, parse_business_days, parse_quiet_hours
from backoffice.core.documents import DocumentError, load_toml
from backoffice.core.keys import move_key
from backoffice.core.problems import Problem
from backoffice.core.settings import line_of
from backoffice.core.sheet import (
    RawRow,
    RowReport,
    Table,
    day_first_for,
    is_email,
    is_slack_user,
    parse_table,
)

SYSTEM = "appointment-reminder"
PREFIX = "ar"
SHEET_FILE = "appointments.csv"
RULES_FILE = "rules.toml"
REQUIRED_COLUMNS = ("appt_id", "customer_name", "starts_at")
OPTIONAL_COLUMNS = ("phone", "email", "service", "duration_min", "staff", "timezone", "status")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)

Window = Literal["first_reminder", "second_reminder", "gap_alert"]
CUSTOMER_WINDOWS: tuple[Window, ...] = ("first_reminder", "second_reminder")
Reply = Literal["confirm", "cancel", "reschedule"]


# --- the sheet ---------------------------------------------------------------------------------


@frozen
class Appointment:
    appt_id: str
    customer_name: str
    starts_at: datetime  # aware, in the appointment's own timezone
    line: int
    phone: str = ""  # E.164
    email: str = ""
    service: str = "default"
    duration_min: int | None = None
    staff: str = ""
    cancelled: bool = False

    @property
    def chain_id(self) -> str:
        return f"{self.appt_id}@{self.starts_at.isoformat()}"


def normalise_phone(value: str, default_country: str) -> str:
    """E.164 (`+6591234567`) from what a person typed, or ValueError saying why not."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, default_country.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number; write it like +6591234567") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country; write it like +6591234567")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def parse_rows(
    table: Table, rules: Rules, *, timezone: str, default_country: str, dayfirst: bool
) -> tuple[list[Appointment], list[Problem]]:
    """Appointments from the sheet; every bad row is a problem naming its line, the rest run."""
    return parse_table(
        table,
        REQUIRED_COLUMNS,
        "appt_id",
        lambda row, report: _parse_row(row, report, rules, timezone, default_country, dayfirst),
    )


def _parse_row(
    row: RawRow,
    problem: RowReport,
    rules: Rules,
    timezone: str,
    default_country: str,
    dayfirst: bool,
) -> Appointment | None:
    values = row.values
    appt_id = values["appt_id"]
    zone_name = values.get("timezone") or timezone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        problem("timezone", "unknown timezone; expected a name like Asia/Singapore")
        return None
    try:
        starts_at = parse_start(values.get("starts_at", ""), zone, dayfirst=dayfirst)
    except ValueError as error:
        problem("starts_at", f"{error}; this row is skipped")
        return None
    phone = ""
    if values.get("phone"):
        try:
            phone = normalise_phone(values["phone"], default_country)
        except ValueError as error:
            problem("phone", str(error))
    email = values.get("email", "")
    if email and not is_email(email):
        problem("email", "not an email address")
        email = ""
    if not phone and not email:
        problem("phone", "no usable phone or email; nobody can be reminded, so the row is skipped")
        return None
    service = values.get("service") or "default"
    if service not in rules.services:
        problem("service", f"unknown service; known: {', '.join(sorted(rules.services))}")
        return None
    staff = values.get("staff", "")
    if staff and not (is_email(staff) or is_slack_user(staff)):
        problem("staff", "staff must be an email address or a Slack member id; ignored")
        staff = ""
    duration = values.get("duration_min", "")
    return Appointment(
        appt_id=appt_id,
        customer_name=values.get("customer_name") or appt_id,
        starts_at=starts_at,
        line=row.line,
        phone=phone,
        email=email,
        service=service,
        duration_min=int(duration) if duration.isdigit() else None,
        staff=staff,
        cancelled=values.get("status", "").strip().lower() == "cancelled",
    )


def parse_start(value: str, zone: ZoneInfo, *, dayfirst: bool) -> datetime:
    """A local date and time (a DST gap moves forward), or one with its own offset."""
    text = value.strip()
    if not text or not any(c.isdigit() for c in text):
        raise ValueError("not a date and time; expected one like 2026-12-01 14:30")
    dayfirst = day_first_for(text, dayfirst)
    try:
        first = date_parser.parse(text, dayfirst=dayfirst, default=datetime(2000, 1, 1, 0, 0))
        second = date_parser.parse(text, dayfirst=dayfirst, default=datetime(2001, 2, 2, 1, 0))
    except (ValueError, OverflowError):
        raise ValueError("not a date and time; expected one like 2026-12-01 14:30") from None
    if first.date() != second.date() or first.time() != second.time():
        raise ValueError("a date and a time are both needed, like 2026-12-01 14:30")
    if first.tzinfo is not None:
        return first.astimezone(zone)
    return local_at(first.date(), first.time(), zone)


# --- the rules doc -----------------------------------------------------------------------------


@frozen
class Service:
    first_reminder_hours: int
    second_reminder_hours: int
    gap_alert_hours: int
    duration_min: int


@frozen
class Booking:
    open_from: time
    open_until: time
    days: frozenset[int]
    slot_minutes: int
    horizon_days: int


@frozen
class Rules:
    services: Mapping[str, Service]
    booking: Booking

    def service(self, name: str) -> Service:
        return self.services.get(name, self.services["default"])


_SERVICE_KEYS = ("first_reminder_hours", "second_reminder_hours", "gap_alert_hours", "duration_min")


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    doc = load_toml(text, file)
    raw_services = doc.get("services")
    if not isinstance(raw_services, Mapping) or "default" not in raw_services:
        raise DocumentError(file, None, "expected a [services.default] section")
    services: dict[str, Service] = {}
    defaults: dict[str, object] = {}
    for name in ["default", *sorted(set(raw_services) - {"default"})]:
        values = raw_services[name]
        if not isinstance(values, Mapping):
            raise DocumentError(file, None, f"[services.{name}] must be a section of keys")
        for key, value in values.items():
            if key not in _SERVICE_KEYS:
                raise DocumentError(
                    file,
                    line_of(text, key),
                    f"unknown key {key!r} in "
                    f"[services.{name}]; expected one of {', '.join(_SERVICE_KEYS)}",
                )
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DocumentError(
                    file,
                    line_of(text, key),
                    f"{key} in [services.{name}] must be a whole number >= 0, got {value!r}",
                )
        merged = {**defaults, **values}
        missing = [key for key in _SERVICE_KEYS if key not in merged]
        if missing:
            raise DocumentError(file, None, f"[services.{name}] is missing {', '.join(missing)}")
        services[name] = Service(**{key: int(str(merged[key])) for key in _SERVICE_KEYS})
        if name == "default":
            defaults = dict(merged)
    return Rules(services=services, booking=_booking(doc.get("booking", {}), text, file))


def _booking(raw: object, text: str, file: str) -> Booking:
    if not isinstance(raw, Mapping):
        raise DocumentError(file, None, "[booking] must be a section of keys")
    try:
        window = parse_quiet_hours(str(raw.get("open", "09:00-18:00")))
        days = parse_business_days(str(raw.get("days", "Mon-Fri")))
    except ValueError as error:
        raise DocumentError(
            file,
            line_of(text, "open") or line_of(text, "days"),
            str(error).replace("quiet_hours", "open").replace("business_days", "days"),
        ) from None
    if window is None:
        raise DocumentError(file, line_of(text, "open"), "open must be a range like 09:00-18:00")
    numbers = {}
    for key, default in (("slot_minutes", 30), ("horizon_days", 14)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DocumentError(file, line_of(text, key), f"{key} must be a whole number >= 1")
        numbers[key] = value
    return Booking(window[0], window[1], days, numbers["slot_minutes"], numbers["horizon_days"])


# --- state -------------------------------------------------------------------------------------


@frozen
class Sent:
    """One reminder window of a chain as stored: delivered, or skipped (it could not go out
    before the start, or it was overtaken by a later window)."""

    chain_id: str
    window: Window
    status: str  # "sent" | "skipped" | "sending" | "retry" | "failed"


@frozen
class ReplyRecord:
    chain_id: str
    reply: Reply


@frozen
class State:
    sent: Mapping[str, frozenset[Window]]  # chain -> windows done (sent or skipped)
    replies: Mapping[str, frozenset[Reply]]
    archived: frozenset[str]

    @classmethod
    def of(
        cls, sends: Iterable[Sent], replies: Iterable[ReplyRecord], archived: Iterable[str] = ()
    ) -> State:
        done: dict[str, set[Window]] = defaultdict(set)
        for send in sends:
            if send.status in ("sent", "skipped"):
                done[send.chain_id].add(send.window)
        answered: dict[str, set[Reply]] = defaultdict(set)
        for reply in replies:
            answered[reply.chain_id].add(reply.reply)
        return cls(
            {c: frozenset(w) for c, w in done.items()},
            {c: frozenset(r) for c, r in answered.items()},
            frozenset(archived),
        )


# --- the tick ----------------------------------------------------------------------------------


@frozen
class Move:
    key: str
    window: Window
    appt_id: str
    chain_id: str
    to: tuple[str, ...]  # customers: phone first, then email; staff: their id or address
    starts_at: datetime
    line: int
    skips: tuple[Window, ...] = ()  # earlier windows overtaken by this one
    zone: str = ""  # the appointment's own timezone, when it has one: the customer's quiet hours

    @property
    def quiet_zone(self) -> str:
        """Whose night the SMS quiet hours protect: the customer's for a reminder, the
        business's ("") for a staff alert."""
        return self.zone if self.window in CUSTOMER_WINDOWS else ""


@frozen
class TickPlan:
    moves: tuple[Move, ...]


def plan_tick(
    appointments: Sequence[Appointment],
    state: State,
    rules: Rules,
    now: datetime,
    staff_channel: str,
) -> TickPlan:
    """At most one customer reminder and one staff alert per appointment per tick; nothing at
    or after the start, nothing for a cancelled or rescheduled chain."""
    if now.tzinfo is None:
        raise ValueError("plan_tick needs an aware datetime")
    moves: list[Move] = []
    for appointment in appointments:
        moves += appointment_moves(
            appointment, state, rules.service(appointment.service), now, staff_channel
        )
    return TickPlan(tuple(moves))


def appointment_moves(
    appointment: Appointment, state: State, service: Service, now: datetime, staff_channel: str
) -> list[Move]:
    chain = appointment.chain_id
    replies = state.replies.get(chain, frozenset())
    if (
        appointment.cancelled
        or "cancel" in replies
        or "reschedule" in replies
        or chain in state.archived
        or now >= appointment.starts_at
    ):
        return []
    hours = (appointment.starts_at - now) / timedelta(hours=1)
    done = state.sent.get(chain, frozenset())
    confirmed = "confirm" in replies
    open_windows: list[Window] = []
    if hours <= service.first_reminder_hours:
        open_windows.append("first_reminder")
    if hours <= service.second_reminder_hours and not confirmed:
        open_windows.append("second_reminder")
    moves: list[Move] = []
    pending = [w for w in open_windows if w not in done]
    if pending:
        # Booked late: only the latest open window goes out; the ones it overtook are skipped.
        latest = pending[-1]
        moves.append(
            _move(
                appointment, latest, customer_addresses(appointment), tuple(w for w in pending[:-1])
            )
        )
    if hours <= service.gap_alert_hours and not confirmed and "gap_alert" not in done:
        moves.append(_move(appointment, "gap_alert", (appointment.staff or staff_channel,), ()))
    return moves


def customer_addresses(appointment: Appointment) -> tuple[str, ...]:
    """Where a reminder goes, in order of preference: SMS, then email."""
    return tuple(address for address in (appointment.phone, appointment.email) if address)


def _move(
    appointment: Appointment, window: Window, to: tuple[str, ...], skips: tuple[Window, ...]
) -> Move:
    return Move(
        key=move_key(PREFIX, appointment.appt_id, appointment.starts_at.isoformat(), window),
        window=window,
        appt_id=appointment.appt_id,
        chain_id=appointment.chain_id,
        to=to,
        starts_at=appointment.starts_at,
        line=appointment.line,
        skips=skips,
        zone=_zone_name(appointment.starts_at),
    )


def _zone_name(when: datetime) -> str:
    return when.tzinfo.key if isinstance(when.tzinfo, ZoneInfo) else ""


# --- replies -----------------------------------------------------------------------------------


@frozen
class Answer:
    reply: Reply
    appt_id: str
    chain_id: str
    by: str
    request_id: str
    new_start: datetime | None = None  # reschedule only


@frozen
class Outcome:
    accepted: bool
    message: str
    reply: ReplyRecord | None = None
    sheet_writes: tuple[tuple[str, str], ...] = ()  # (column, RAW value) on the appointment's row
    archive: str | None = None
    staff_notice: str = ""  # "slot freed" and the like, sent at once


def apply_reply(
    state: State,
    appointment: Appointment | None,
    answer: Answer,
    now: datetime,
    taken: Iterable[datetime],
    booking: Booking,
) -> Outcome:
    """What a customer's tap changes. A refused reply changes nothing (its audit row is the
    caller's, as for every reply)."""
    if appointment is None:
        return Outcome(False, "We could not find this appointment any more. Please call us.")
    replies = state.replies.get(answer.chain_id, frozenset())
    if answer.chain_id not in state.archived and _already_in_the_sheet(appointment, answer):
        return _outcome(appointment, answer, answer.chain_id.partition("@")[2], in_sheet=True)
    stale = (
        answer.chain_id != appointment.chain_id
        or appointment.cancelled
        or "cancel" in replies
        or answer.chain_id in state.archived
    )
    if stale:
        return Outcome(
            False,
            "This appointment has changed since this message was sent, so "
            "the link no longer applies. Nothing was changed.",
        )
    if now >= appointment.starts_at:
        return Outcome(False, "This appointment has already started. Please call us.")
    if answer.reply == "reschedule":
        zone = appointment.starts_at.tzinfo
        duration = appointment.duration_min or 30
        if (
            answer.new_start is None
            or not isinstance(zone, ZoneInfo)
            or answer.new_start not in free_slots(booking, taken, now, zone, duration)
        ):
            return Outcome(False, "That time is no longer free. Please pick another one.")
    return _outcome(appointment, answer, appointment.starts_at.isoformat(), in_sheet=False)


def _already_in_the_sheet(appointment: Appointment, answer: Answer) -> bool:
    """The same answer again after a first try wrote the sheet and then failed: the sheet
    already shows the cancel or the new time, but the old chain was never closed."""
    if answer.reply == "cancel":
        return appointment.cancelled and appointment.chain_id == answer.chain_id
    return (
        answer.reply == "reschedule"
        and answer.new_start is not None
        and appointment.starts_at == answer.new_start
        and appointment.chain_id != answer.chain_id
    )


def _outcome(
    appointment: Appointment, answer: Answer, old_start: str, *, in_sheet: bool
) -> Outcome:
    """An accepted reply: what to record, close, write and tell staff. A reply the sheet
    already shows needs no sheet write."""
    when = datetime.fromisoformat(old_start).strftime("%a %d %b at %H:%M")
    record = ReplyRecord(answer.chain_id, answer.reply)
    name, appt_id = appointment.customer_name, appointment.appt_id
    if answer.reply == "confirm":
        return Outcome(True, f"Thank you, {name}: you are confirmed for {when}.", record)
    if answer.reply == "cancel":
        return Outcome(
            True,
            f"Your appointment on {when} is cancelled.",
            record,
            sheet_writes=() if in_sheet else (("status", "cancelled"),),
            archive=answer.chain_id,
            staff_notice=f"Slot freed: {name} cancelled {appt_id} on {when}.",
        )
    new = answer.new_start
    if new is None:
        raise ValueError("a move needs its new time")
    moved = new.strftime("%a %d %b at %H:%M")
    return Outcome(
        True,
        f"Moved to {moved}. See you then.",
        record,
        sheet_writes=() if in_sheet else (("starts_at", new.strftime("%Y-%m-%d %H:%M")),),
        archive=answer.chain_id,
        staff_notice=f"{name} moved {appt_id} from {when} to {moved}.",
    )


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


# --- moves on the bus, and whether they are still due -------------------------------------------


def move_json(move: Move) -> dict[str, Any]:
    return {
        "key": move.key,
        "window": move.window,
        "appt_id": move.appt_id,
        "chain_id": move.chain_id,
        "to": list(move.to),
        "starts_at": move.starts_at.isoformat(),
        "line": move.line,
        "skips": list(move.skips),
        "zone": move.zone,
    }


def move_from_json(data: Mapping[str, Any]) -> Move:
    window = str(data["window"])
    if window not in (*CUSTOMER_WINDOWS, "gap_alert"):
        raise ValueError(f"unknown window {window!r}")
    return Move(
        key=str(data["key"]),
        window=window,
        appt_id=str(data["appt_id"]),
        chain_id=str(data["chain_id"]),
        to=tuple(str(t) for t in data["to"]),
        starts_at=datetime.fromisoformat(str(data["starts_at"])),
        line=int(data["line"]),
        skips=tuple(s for s in data.get("skips", ()) if s in CUSTOMER_WINDOWS),
        zone=str(data.get("zone") or ""),
    )


def still_due(move: Move, state: State, now: datetime, appointment: Appointment | None) -> bool:
    """Whether a planned move should still go out when dispatch delivers it: the sheet may have
    cancelled, moved or removed the appointment since the tick, and the customer may have
    answered."""
    if appointment is None or appointment.cancelled or appointment.chain_id != move.chain_id:
        return False
    replies = state.replies.get(move.chain_id, frozenset())
    if now >= move.starts_at or move.chain_id in state.archived:
        return False
    if "cancel" in replies or "reschedule" in replies:
        return False
    if move.window in state.sent.get(move.chain_id, frozenset()):
        return False
    return not ("confirm" in replies and move.window in ("second_reminder", "gap_alert"))
