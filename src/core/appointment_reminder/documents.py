"""The appointment reminders' rules doc (`[services.<name>]`, `[booking]`) and voice doc."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from typing import Any

from attrs import frozen

from backoffice.core import voice
from backoffice.core.business_time import CalendarError, parse_business_days, parse_quiet_hours
from backoffice.core.documents import DocumentError, key_line, load_toml, raise_all
from backoffice.core.rules import Key, inherited_sections, unknown_sections, whole_number
from backoffice.core.voice import VOICE_FILE, Voice

RULES_FILE = "rules.toml"
Fail = Callable[[str, str], None]


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
    staff_channel: str = ""  # from the settings: where staff alerts go when a row names no staff

    def service(self, name: str) -> Service:
        return self.services.get(name, self.services["default"])


SERVICE_KEYS = (
    Key("first_reminder_hours", whole_number(0)),
    Key("second_reminder_hours", whole_number(0)),
    Key("gap_alert_hours", whole_number(0)),
    Key("duration_min", whole_number(1)),
)


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    """Every service merged over `[services.default]`, and the slot picker's `[booking]`."""
    doc = load_toml(text, file)
    services, errors = inherited_sections(doc, text, file, "services", SERVICE_KEYS)
    booking, booking_errors = _booking(doc.get("booking", {}), text, file)
    errors += [
        DocumentError(
            file,
            key_line(text, f"services.{name}", "second_reminder_hours"),
            f"second_reminder_hours in [services.{name}] ({values['second_reminder_hours']}) is "
            f"longer than first_reminder_hours ({values['first_reminder_hours']}): the second "
            "reminder would come first",
        )
        for name, values in services.items()
        if values["second_reminder_hours"] > values["first_reminder_hours"]
    ]
    raise_all(
        [*unknown_sections(doc, text, file, ("services", "booking")), *errors, *booking_errors]
    )
    names = [key.name for key in SERVICE_KEYS]
    parsed = {name: Service(**{k: v[k] for k in names}) for name, v in services.items()}
    return Rules(services=parsed, booking=booking)


_DEFAULT_BOOKING = Booking(time(9, 0), time(18, 0), frozenset(range(5)), 30, 14)


def _booking(raw: Any, text: str, file: str) -> tuple[Booking, list[DocumentError]]:
    """The slot picker's settings; what is wrong is reported and left at its default."""
    errors: list[DocumentError] = []

    def fail(key: str, message: str) -> None:
        errors.append(DocumentError(file, key_line(text, "booking", key), message))

    if not isinstance(raw, Mapping):
        fail("booking", "[booking] must be a section of keys")
        return _DEFAULT_BOOKING, errors
    window = _window(raw, fail)
    days = _days(raw, fail)
    numbers = {}
    for key, default in (("slot_minutes", 30), ("horizon_days", 14)):
        value = raw.get(key, default)
        problem = whole_number(1)(value)
        if problem:
            fail(key, f"{key} in [booking] must be {problem}, got {value!r}")
        numbers[key] = default if problem else value
    booking = Booking(*window, days, numbers["slot_minutes"], numbers["horizon_days"])
    return booking, errors


def _window(raw: Mapping[str, Any], fail: Fail) -> tuple[time, time]:
    default = (_DEFAULT_BOOKING.open_from, _DEFAULT_BOOKING.open_until)
    try:
        window = parse_quiet_hours(str(raw.get("open", "09:00-18:00")))
    except CalendarError as error:
        fail("open", str(error).replace("quiet_hours", "open"))
        return default
    if window is None:
        fail("open", "open must be a range like 09:00-18:00")
        return default
    return window


def _days(raw: Mapping[str, Any], fail: Fail) -> frozenset[int]:
    try:
        return parse_business_days(str(raw.get("days", "Mon-Fri")))
    except CalendarError as error:
        fail("days", str(error).replace("business_days", "days"))
        return _DEFAULT_BOOKING.days


MESSAGE_FIELDS = ("customer_name", "appt_id", "service", "when", "staff", "link")
VOICE_PARTS = {
    "first_reminder": ("sms", "subject", "body"),
    "second_reminder": ("sms", "subject", "body"),
    "gap_alert": ("text",),
}


def load_voice(text: str, file: str = VOICE_FILE) -> Voice:
    return voice.load_voice(text, VOICE_PARTS, MESSAGE_FIELDS, file)


def read_voice(text: str, file: str = VOICE_FILE) -> tuple[Voice, list[DocumentError]]:
    """The usable sections, and the problems of the others (their moves wait)."""
    return voice.read_voice(text, VOICE_PARTS, MESSAGE_FIELDS, file)
