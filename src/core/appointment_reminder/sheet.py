"""The appointment sheet: one row per booking, in the business's timezone or the row's own."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from attrs import frozen
from dateutil import parser as date_parser

from backoffice.core.appointment_reminder.documents import Rules
from backoffice.core.business_time import BAD_ZONE, local_at
from backoffice.core.problems import Problem
from backoffice.core.sheet import (
    RawRow,
    RowReport,
    Table,
    ambiguity,
    day_first_for,
    is_email,
    is_slack_user,
    parse_table,
    word_in,
)

SYSTEM = "appointment-reminder"
PREFIX = "ar"
SHEET_FILE = "appointments.csv"
REQUIRED_COLUMNS = ("appt_id", "customer_name", "starts_at")
OPTIONAL_COLUMNS = ("phone", "email", "service", "duration_min", "staff", "timezone", "status")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
# What the status column may say (the canonical word first, then what people also type).
STATUS_WORDS = {
    "booked": ("", "confirmed", "scheduled", "active", "ok", "open"),
    "cancelled": ("canceled", "cancel", "cancellation", "cancelation", "cancelled by customer"),
}


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
    table: Table, rules: Rules, *, timezone: str, default_country: str, dayfirst: bool | None
) -> tuple[list[Appointment], list[Problem]]:
    """Appointments from the sheet; every bad row is a problem naming its line, the rest run."""
    services = frozenset(rules.services)
    return parse_table(
        table,
        REQUIRED_COLUMNS,
        "appt_id",
        lambda row, report: _parse_row(row, report, services, timezone, default_country, dayfirst),
    )


def _parse_row(
    row: RawRow,
    problem: RowReport,
    services: Collection[str],
    timezone: str,
    default_country: str,
    dayfirst: bool | None,
) -> Appointment | None:
    values = row.values
    zone = _zone(values.get("timezone") or timezone, problem)
    if zone is None:
        return None
    try:
        starts_at = parse_start(values.get("starts_at", ""), zone, dayfirst=dayfirst)
    except ValueError as error:
        problem("starts_at", f"{error}; this row is skipped")
        return None
    phone, email = _contact(
        values.get("phone", ""), values.get("email", ""), problem, default_country
    )
    if not phone and not email:
        problem("phone", "no usable phone or email; nobody can be reminded, so the row is skipped")
        return None
    service = values.get("service") or "default"
    if service not in services:
        known = ", ".join(sorted(services))
        problem("service", f"unknown service; known: {known}; this row is skipped")
        return None
    return Appointment(
        appt_id=values["appt_id"],
        customer_name=values.get("customer_name") or values["appt_id"],
        starts_at=starts_at,
        line=row.line,
        phone=phone,
        email=email,
        service=service,
        duration_min=_duration(values.get("duration_min", ""), problem),
        staff=_staff(values.get("staff", ""), problem),
        cancelled=_status(values.get("status", ""), problem) == "cancelled",
    )


def _duration(text: str, problem: RowReport) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        problem(
            "duration_min", "duration_min must be a whole number of minutes; the service's is used"
        )
        return None
    return int(text)


def _status(text: str, problem: RowReport) -> str:
    """booked or cancelled; anything else is named, and the row is reminded as booked."""
    status = word_in(text, STATUS_WORDS)
    if status is None:
        problem(
            "status",
            "unknown status; write cancelled to stop its reminders, or leave it empty "
            "(also understood: confirmed, booked); reminders go out as booked",
        )
        return "booked"
    return status


def _zone(name: str, problem: RowReport) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except BAD_ZONE:
        problem(
            "timezone", "unknown timezone; expected a name like Asia/Singapore; this row is skipped"
        )
        return None


def _contact(
    phone_text: str, email: str, problem: RowReport, default_country: str
) -> tuple[str, str]:
    """The customer's number (E.164) and address, each "" when missing or unusable."""
    phone = ""
    if phone_text:
        try:
            phone = normalise_phone(phone_text, default_country)
        except ValueError as error:
            problem("phone", str(error))
    if email and not is_email(email):
        problem("email", "not an email address")
        email = ""
    return phone, email


def _staff(staff: str, problem: RowReport) -> str:
    if staff and not (is_email(staff) or is_slack_user(staff)):
        problem("staff", "staff must be an email address or a Slack member id; ignored")
        return ""
    return staff


def parse_start(value: str, zone: ZoneInfo, *, dayfirst: bool | None) -> datetime:
    """A local date and time (a DST gap moves forward), or one with its own offset."""
    text = value.strip()
    if not text or not any(c.isdigit() for c in text):
        raise ValueError("not a date and time; expected one like 2026-12-01 14:30")
    if dayfirst is None and ambiguity(text):
        raise ValueError(ambiguity(text))
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
