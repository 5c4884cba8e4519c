"""The appointment sheet: one row per booking, in the business's timezone or the row's own."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import datetime
from functools import lru_cache
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
    parse_sheet,
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
    if _valid_e164(value):
        return value
    import phonenumbers

    try:
        number = phonenumbers.parse(value, default_country.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number; write it like +6591234567") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country; write it like +6591234567")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _valid_e164(value: str) -> bool:
    """Whether `value`, written `+<digits>`, is a valid number as it stands: what
    `phonenumbers.parse` then `is_valid_number` say of it, in a third of their time, since each
    step of the parse leaves such a string as it is (no punctuation, no extension, no dialling
    prefix; the country code is its first digits). A number whose digits the parse would
    change (a national prefix, a zero after the country code) or one that is not valid is left
    to the full path, which normalises it or says why not."""
    digits = value[1:]
    if not (value[:1] == "+" and digits.isdigit() and digits.isascii()) or digits[0] == "0":
        return False
    import phonenumbers

    for size in (1, 2, 3):  # the shortest country code it starts with, as the parse reads it
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = digits[size:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    prefix = metadata.national_prefix_for_parsing if metadata is not None else None
    if not national or national[0] == "0" or (prefix and re.match(prefix, national)):
        return False
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return bool(phonenumbers.is_valid_number(number))


def parse_rows(
    table: Table, rules: Rules, *, timezone: str, default_country: str, dayfirst: bool | None
) -> tuple[list[Appointment], list[Problem]]:
    """Appointments from the sheet; every bad row is a problem naming its line, the rest run."""
    parse = _row_parser(frozenset(rules.services), timezone, default_country, dayfirst)
    return parse_table(table, REQUIRED_COLUMNS, "appt_id", parse)


def parse_appointments(
    body: bytes, rules: Rules, *, timezone: str, default_country: str, dayfirst: bool | None
) -> tuple[list[Appointment], list[Problem]]:
    """The sheet's bytes as appointments, with the sheet's problems and the rows' (`parse_rows`
    of `read_sheet`, a row at a time)."""
    parse = _row_parser(frozenset(rules.services), timezone, default_country, dayfirst)
    return parse_sheet(body, SHEET_FILE, REQUIRED_COLUMNS, "appt_id", parse)


def _row_parser(
    services: Collection[str], timezone: str, default_country: str, dayfirst: bool | None
) -> Callable[[RawRow, RowReport], Appointment | None]:
    """The parse of one row, the workspace's reading closed over: it runs once per row of
    sheets of 10k rows and more."""

    def parse(row: RawRow, problem: RowReport) -> Appointment | None:
        get = row.values.get
        zone = _zone(get("timezone") or timezone, problem)
        if zone is None:
            return None
        try:
            starts_at = parse_start(get("starts_at", ""), zone, dayfirst=dayfirst)
        except ValueError as error:
            problem("starts_at", f"{error}; this row is skipped")
            return None
        phone, email = _contact(get("phone", ""), get("email", ""), problem, default_country)
        if not phone and not email:
            problem(
                "phone", "no usable phone or email; nobody can be reminded, so the row is skipped"
            )
            return None
        service = get("service") or "default"
        if service not in services:
            known = ", ".join(sorted(services))
            problem("service", f"unknown service; known: {known}; this row is skipped")
            return None
        appt_id, duration, staff, status = (
            row.values["appt_id"],
            get("duration_min", ""),
            get("staff", ""),
            get("status", ""),
        )
        return Appointment(
            appt_id,
            get("customer_name") or appt_id,
            starts_at,
            row.line,
            phone,
            email,
            service,
            _duration(duration, problem) if duration else None,
            _staff(staff, problem) if staff else "",
            bool(status) and _status(status, problem) == "cancelled",
        )

    return parse


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
    status = _status_word(text)
    if status is None:
        problem(
            "status",
            "unknown status; write cancelled to stop its reminders, or leave it empty "
            "(also understood: confirmed, booked); reminders go out as booked",
        )
        return "booked"
    return status


@lru_cache(maxsize=256)
def _status_word(text: str) -> str | None:
    """Cached: a sheet writes its few statuses on thousands of rows, and reading one folds
    every spelling of every status."""
    return word_in(text, STATUS_WORDS)


def _zone(name: str, problem: RowReport) -> ZoneInfo | None:
    zone = _zone_named(name)
    if zone is None:
        problem(
            "timezone", "unknown timezone; expected a name like Asia/Singapore; this row is skipped"
        )
    return zone


@lru_cache(maxsize=256)
def _zone_named(name: str) -> ZoneInfo | None:
    """Cached: a sheet names a few zones on thousands of rows (a name that is none, once)."""
    try:
        return ZoneInfo(name)
    except BAD_ZONE:
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
    if staff and not _is_staff(staff):
        problem("staff", "staff must be an email address or a Slack member id; ignored")
        return ""
    return staff


@lru_cache(maxsize=1024)
def _is_staff(value: str) -> bool:
    """Cached: a sheet names its few staff on thousands of rows."""
    return is_email(value) or is_slack_user(value)


def parse_start(value: str, zone: ZoneInfo, *, dayfirst: bool | None) -> datetime:
    """A local date and time (a DST gap moves forward), or one with its own offset."""
    return _start(value.strip(), zone, dayfirst)


@lru_cache(maxsize=4096)
def _start(text: str, zone: ZoneInfo, dayfirst: bool | None) -> datetime:
    """Cached: a sheet books the same slots over and over, so each start as written is read
    once (one that cannot be read raises each time, which is not remembered)."""
    if _is_iso_local(text):
        try:
            written = datetime.fromisoformat(text)
        except ValueError:
            pass  # not a real date or time: the reading below says which
        else:
            return local_at(written.date(), written.time(), zone)
    return read_start(text, zone, dayfirst=dayfirst)


def read_start(text: str, zone: ZoneInfo, *, dayfirst: bool | None) -> datetime:
    """`parse_start` of a start written any way, through dateutil."""
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


def _is_iso_local(text: str) -> bool:
    """Whether `text` is shaped `2026-12-01 14:30` (or with seconds, or a T): how a sheet or a
    reschedule most often writes a start. Read as ISO it is what dateutil makes of it, for a
    hundredth of the time of the two readings `read_start` makes."""
    return (
        len(text) in (16, 19)
        and text[4] == "-"
        and text[7] == "-"
        and text[10] in " T"
        and text[13] == ":"
        and (len(text) == 16 or text[16] == ":")
    )
