"""The settings file (`backoffice.toml` locally; Parameter Store in AWS), parsed and checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from attrs import field, frozen

from backoffice.core.business_time import (
    CalendarError,
    holiday_dates,
    parse_business_days,
    parse_clock,
    parse_quiet_hours,
)
from backoffice.core.documents import DocumentError, load_toml
from backoffice.core.sheet import is_email, is_slack_user

SETTINGS_FILE = "backoffice.toml"
SYSTEMS = (
    "expiry-watcher",
    "appointment-reminder",
    "onboarding-guide",
    "social-scheduler",
    "social-inbox",
)
KNOWN_KEYS = frozenset(
    {
        "system",
        "timezone",
        "tick_at",
        "quiet_hours",
        "business_days",
        "holidays",
        "admin",
        "dayfirst",
        "public_url",
        "mail_from",
        "digest_day",
        "link_days",
        "secrets",
        "sms_quiet_hours",
        "default_country",
        "staff_channel",
    }
)


@frozen
class HolidaySpec:
    country: str | None
    subdivision: str | None
    extra: tuple[date, ...]


@frozen
class Settings:
    system: str
    timezone: str
    tick_at: time
    quiet_hours: tuple[time, time] | None
    business_days: frozenset[int]
    holidays: HolidaySpec
    admin: str
    dayfirst: bool
    public_url: str
    mail_from: str
    digest_day: int | None  # weekday, Monday = 0; None: no digest
    link_days: int
    secrets: Mapping[str, str] = field(repr=False)
    sms_quiet_hours: tuple[time, time] | None = None
    default_country: str = ""
    staff_channel: str = ""

    def secret(self, name: str) -> str:
        try:
            return self.secrets[name]
        except KeyError:
            raise KeyError(f"secret {name!r} is not configured") from None


def load_settings(text: str, file: str = SETTINGS_FILE) -> Settings:
    """Parse and check the settings; the first problem raises DocumentError with its line."""
    doc = load_toml(text, file)

    def fail(key: str, message: str) -> DocumentError:
        return DocumentError(file, line_of(text, key), message)

    unknown = sorted(set(doc) - KNOWN_KEYS)
    if unknown:
        raise fail(
            unknown[0], f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    system = _text(doc, "system", fail)
    if system not in SYSTEMS:
        raise fail("system", f"system {system!r} is not one of {', '.join(SYSTEMS)}")
    timezone = _text(doc, "timezone", fail)
    if not _zone_exists(timezone):
        raise fail(
            "timezone", f"unknown timezone {timezone!r}; expected a name like America/New_York"
        )
    admin = _text(doc, "admin", fail)
    if not (is_email(admin) or is_slack_user(admin)):
        raise fail("admin", f"admin {admin!r} is not an email address or a Slack member id")
    try:
        tick_at = parse_clock(_text(doc, "tick_at", fail, default="08:00"))
        quiet = parse_quiet_hours(_text(doc, "quiet_hours", fail, default=""))
        days = parse_business_days(_text(doc, "business_days", fail, default="Mon-Fri"))
        digest_day = _digest_day(_text(doc, "digest_day", fail, default="Mon"))
        sms_quiet = parse_quiet_hours(_text(doc, "sms_quiet_hours", fail, default="21:00-08:00"))
    except CalendarError as error:
        raise DocumentError(file, _line_of_message(text, str(error)), str(error)) from None
    holidays = _holidays(doc.get("holidays", {}), fail)
    return Settings(
        system=system,
        timezone=timezone,
        tick_at=tick_at,
        quiet_hours=quiet,
        business_days=days,
        holidays=holidays,
        admin=admin,
        dayfirst=_flag(doc, "dayfirst", fail),
        public_url=_text(doc, "public_url", fail, default="http://127.0.0.1:8787").rstrip("/"),
        mail_from=_text(doc, "mail_from", fail, default=admin if is_email(admin) else ""),
        digest_day=digest_day,
        link_days=_count(doc, "link_days", fail, default=45),
        secrets=_secrets(doc.get("secrets", {}), fail),
        sms_quiet_hours=sms_quiet,
        default_country=_text(doc, "default_country", fail, default="").upper(),
        staff_channel=_text(doc, "staff_channel", fail, default=""),
    )


def _digest_day(text: str) -> int | None:
    if text.lower() in ("off", "none", ""):
        return None
    days = parse_business_days(text)
    if len(days) != 1:
        raise CalendarError(f"digest_day {text!r}: expected one day like Mon, or off")
    return min(days)


def line_of(text: str, key: str) -> int | None:
    """The first line that sets `key` (TOML parsers keep no positions for values)."""
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _line_of_message(text: str, message: str) -> int | None:
    for key in ("tick_at", "sms_quiet_hours", "quiet_hours", "business_days", "digest_day"):
        if key in message:
            return line_of(text, key)
    return None


def _text(doc: Mapping[str, Any], key: str, fail: Any, default: str | None = None) -> str:
    value = doc.get(key, default)
    if value is None:
        raise fail(key, f"missing setting {key!r}")
    if not isinstance(value, str):
        raise fail(key, f"{key} must be text in quotes, got {value!r}")
    return value.strip()


def _flag(doc: Mapping[str, Any], key: str, fail: Any) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise fail(key, f"{key} must be true or false, got {value!r}")
    return value


def _count(doc: Mapping[str, Any], key: str, fail: Any, default: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(key, f"{key} must be a whole number of at least 1, got {value!r}")
    return value


def _holidays(value: Any, fail: Any) -> HolidaySpec:
    if not isinstance(value, Mapping):
        raise fail(
            "holidays", 'holidays must be a table like { country = "US", subdivision = "NY" }'
        )
    unknown = set(value) - {"country", "subdivision", "extra"}
    if unknown:
        raise fail(
            "holidays",
            f"unknown holidays key {sorted(unknown)[0]!r}; known: country, subdivision, extra",
        )
    extra = value.get("extra", [])
    if not isinstance(extra, list):
        raise fail("holidays", "holidays.extra must be a list of dates")
    dates = []
    for entry in extra:
        try:
            dates.append(entry if isinstance(entry, date) else date.fromisoformat(str(entry)))
        except ValueError:
            raise fail(
                "holidays", f"holidays.extra: {entry!r} is not a date like 2026-12-24"
            ) from None
    country = value.get("country")
    subdivision = value.get("subdivision")
    return HolidaySpec(
        country=str(country) if country else None,
        subdivision=str(subdivision) if subdivision else None,
        extra=tuple(dates),
    )


def _secrets(value: Any, fail: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise fail("secrets", "[secrets] must hold text values only")
    return dict(value)


def _zone_exists(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def holiday_problem(
    settings: Settings, text: str, file: str = SETTINGS_FILE
) -> DocumentError | None:
    """An unknown holiday country or subdivision, found by asking the holidays package. Kept out
    of load_settings so a handler that needs no calendar never imports it."""
    spec = settings.holidays
    try:
        holiday_dates(spec.country, spec.subdivision, (), (2026,))
    except CalendarError as error:
        return DocumentError(file, line_of(text, "holidays"), str(error))
    return None
