"""The settings file (`backoffice.toml` locally; Parameter Store in AWS), parsed and checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, time
from typing import Any, TypeVar

from attrs import field, frozen

from backoffice.core.business_time import (
    BAD_ZONE,
    CalendarError,
    holiday_dates,
    parse_business_days,
    parse_clock,
    parse_quiet_hours,
)
from backoffice.core.documents import DocumentError, line_of, load_toml, raise_all
from backoffice.core.sheet import is_email, is_slack_user

SETTINGS_FILE = "backoffice.toml"
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
        "delivery",
        "mail_via",
        "smtp",
        "slack_api_url",
        "aws_region",
        "sms_origination_number",
        "sheet",
        "rules",
        "voice",
        "google_key_file",
    }
)
DELIVERY = ("outbox", "live")
MAIL_VIA = ("smtp", "ses")
SMTP_TLS = ("starttls", "tls", "none")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
GOOGLE = "google:"


@frozen
class SmtpSettings:
    host: str
    port: int
    user: str
    tls: str  # "starttls" | "tls" | "none" (none only towards this machine)


@frozen
class Source:
    """Where a document comes from: the workspace file, or a Google Sheet (with its tab) or Doc
    mirrored into that file."""

    file_id: str = ""  # "" for the workspace file itself
    tab: str = ""

    @property
    def google(self) -> bool:
        return bool(self.file_id)


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
    dayfirst: bool | None  # None: not stated, and a date that reads two ways is a problem
    public_url: str
    mail_from: str
    digest_day: int | None  # weekday, Monday = 0; None: no digest
    link_days: int
    secrets: Mapping[str, str] = field(repr=False)
    sms_quiet_hours: tuple[time, time] | None = None
    default_country: str = ""
    staff_channel: str = ""
    delivery: str = "outbox"  # "live": real mail, Slack and texts from this machine
    mail_via: str = "smtp"
    smtp: SmtpSettings | None = None
    slack_api_url: str = ""  # a Slack Web API stand-in (tests); "" for Slack's own
    aws_region: str = ""  # SES and SNS in live delivery, with the machine's credentials
    sms_origination_number: str = ""
    sources: Mapping[str, Source] = field(factory=dict)  # "sheet" / "rules" / "voice"
    google_key_file: str = ""  # the service account's key, relative to the workspace

    def source(self, document: str) -> Source:
        return self.sources.get(document, Source())

    @property
    def live(self) -> bool:
        return self.delivery == "live"

    def secret(self, name: str) -> str:
        try:
            return self.secrets[name]
        except KeyError:
            raise MissingSecret(name) from None


class MissingSecret(KeyError):
    """A feature was used whose secret is not configured; the message names the setting."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (
            f"the secret {self.name} is not configured: add it under [secrets] in "
            f"{SETTINGS_FILE} (in AWS, the secret its template names)"
        )


def load_settings(text: str, file: str = SETTINGS_FILE) -> Settings:
    """Parse and check the settings; every problem is named with its line (DocumentErrors)."""
    read = _Reader(load_toml(text, file), text, file)
    unknown = sorted(set(read.doc) - KNOWN_KEYS)
    for key in unknown:
        read.fail(key, f"unknown setting {key!r}; known: {', '.join(sorted(KNOWN_KEYS))}")
    admin = read.parsed("admin", _recipient, None, "ops@example.com")
    sms_night: tuple[time, time] | None = (time(21, 0), time(8, 0))
    settings = Settings(
        system=read.text("system"),  # which systems exist is the registry's to say
        timezone=read.parsed("timezone", _zone, None, "UTC"),
        tick_at=read.parsed("tick_at", parse_clock, "08:00", time(8, 0)),
        quiet_hours=read.parsed("quiet_hours", parse_quiet_hours, "", None),
        business_days=read.parsed(
            "business_days", parse_business_days, "Mon-Fri", frozenset(range(5))
        ),
        holidays=read.holidays(),
        admin=admin,
        dayfirst=read.flag("dayfirst"),
        public_url=read.text("public_url", "http://127.0.0.1:8787").rstrip("/"),
        mail_from=read.text("mail_from", admin if is_email(admin) else ""),
        digest_day=read.parsed("digest_day", _digest_day, "Mon", None),
        link_days=read.count("link_days", 45),
        secrets=read.secrets(),
        sms_quiet_hours=read.parsed("sms_quiet_hours", parse_quiet_hours, "21:00-08:00", sms_night),
        default_country=read.text("default_country", "").upper(),
        staff_channel=read.text("staff_channel", ""),
        delivery=read.parsed("delivery", _one_of("delivery", DELIVERY), "outbox", "outbox"),
        mail_via=read.parsed("mail_via", _one_of("mail_via", MAIL_VIA), "smtp", "smtp"),
        smtp=read.smtp(),
        slack_api_url=read.text("slack_api_url", ""),
        aws_region=read.text("aws_region", ""),
        sms_origination_number=read.text("sms_origination_number", ""),
        sources={key: read.source(key) for key in ("sheet", "rules", "voice") if key in read.doc},
        google_key_file=read.text("google_key_file", ""),
    )
    _live_needs(settings, read)
    raise_all(read.errors)
    return settings


def _live_needs(settings: Settings, read: _Reader) -> None:
    """What live delivery and Google documents cannot do without, said before anything runs."""
    if settings.live and settings.mail_via == "smtp" and settings.smtp is None:
        read.fail("delivery", 'delivery = "live" sends mail over SMTP: add an [smtp] section')
    if any(s.google for s in settings.sources.values()) and not settings.google_key_file:
        read.fail("sheet", "a google: document needs google_key_file (the service account key)")


T = TypeVar("T")


class _Reader:
    """Reads one setting at a time and keeps going: every problem is collected with its line,
    and a bad value is replaced by its default so the rest can still be checked."""

    def __init__(self, doc: Mapping[str, Any], text: str, file: str) -> None:
        self.doc, self.text_, self.file = doc, text, file
        self.errors: list[DocumentError] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(DocumentError(self.file, line_of(self.text_, key), message))

    def text(self, key: str, default: str | None = None) -> str:
        value = self.doc.get(key, default)
        if value is None:
            self.fail(key, f"missing setting {key!r}")
            return ""
        if not isinstance(value, str):
            self.fail(key, f"{key} must be text in quotes, got {value!r}")
            return default or ""
        return value.strip()

    def parsed(self, key: str, parse: Callable[[str], T], default: str | None, fallback: T) -> T:
        text = self.text(key, default)
        if key not in self.doc and default is None:
            return fallback
        try:
            return parse(text)
        except ValueError as error:  # CalendarError is a ValueError
            self.fail(key, str(error))
            return fallback

    def flag(self, key: str) -> bool | None:
        value = self.doc.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(key, f"{key} must be true or false, got {value!r}")
            return None
        return value

    def count(self, key: str, default: int) -> int:
        value = self.doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(key, f"{key} must be a whole number of at least 1, got {value!r}")
            return default
        return value

    def smtp(self) -> SmtpSettings | None:
        value = self.doc.get("smtp")
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.fail("smtp", "[smtp] must be a section with host, port, user and tls")
            return None
        for key in sorted(set(value) - {"host", "port", "user", "tls"}):
            self.fail(key, f"unknown [smtp] key {key!r}; known: host, port, user, tls")
        host, tls = str(value.get("host", "")).strip(), str(value.get("tls", "starttls"))
        port = value.get("port", 587)
        if not host:
            self.fail("smtp", "[smtp] needs host, the mail server's name")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            self.fail("port", f"[smtp] port must be a number from 1 to 65535, got {port!r}")
            port = 587
        if tls not in SMTP_TLS:
            self.fail("tls", f"[smtp] tls must be one of {', '.join(SMTP_TLS)}, got {tls!r}")
        elif tls == "none" and host not in LOCAL_HOSTS:
            self.fail("tls", 'tls = "none" is only for a relay on this machine (127.0.0.1)')
        return SmtpSettings(host, port, str(value.get("user", "")).strip(), tls)

    def source(self, key: str) -> Source:
        """`sheet = "google:<spreadsheet id>#<tab>"`, `rules = "google:<doc id>"`."""
        text = self.text(key, "")
        if not text.startswith(GOOGLE):
            self.fail(key, f'{key} must be "google:<file id>" (or left out for the workspace file)')
            return Source()
        file_id, _, tab = text.removeprefix(GOOGLE).partition("#")
        if not file_id:
            self.fail(key, f"{key}: the Google file id is missing after google:")
        return Source(file_id.strip(), tab.strip())

    def secrets(self) -> dict[str, str]:
        value = self.doc.get("secrets", {})
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            self.fail("secrets", "[secrets] must hold text values only")
            return {}
        return dict(value)

    def holidays(self) -> HolidaySpec:
        value = self.doc.get("holidays", {})
        empty = HolidaySpec(None, None, ())
        if not isinstance(value, Mapping):
            example = 'holidays must be a table like { country = "US", subdivision = "NY" }'
            self.fail("holidays", example)
            return empty
        for key in sorted(set(value) - {"country", "subdivision", "extra"}):
            self.fail(
                "holidays", f"unknown holidays key {key!r}; known: country, subdivision, extra"
            )
        extra = value.get("extra", [])
        if not isinstance(extra, list):
            self.fail("holidays", "holidays.extra must be a list of dates")
            extra = []
        country, subdivision = value.get("country"), value.get("subdivision")
        return HolidaySpec(
            country=str(country) if country else None,
            subdivision=str(subdivision) if subdivision else None,
            extra=tuple(d for d in (self._holiday(entry) for entry in extra) if d),
        )

    def _holiday(self, entry: Any) -> date | None:
        try:
            return entry if isinstance(entry, date) else date.fromisoformat(str(entry))
        except ValueError:
            self.fail("holidays", f"holidays.extra: {entry!r} is not a date like 2026-12-24")
            return None


def _digest_day(text: str) -> int | None:
    if text.lower() in ("off", "none", ""):
        return None
    days = parse_business_days(text)
    if len(days) != 1:
        raise CalendarError(f"digest_day {text!r}: expected one day like Mon, or off")
    return min(days)


def _one_of(key: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    def checked(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{key} must be one of {', '.join(choices)}, got {text!r}")
        return text

    return checked


def _recipient(text: str) -> str:
    if not (is_email(text) or is_slack_user(text)):
        raise ValueError(f"admin {text!r} is not an email address or a Slack member id")
    return text


def _zone(name: str) -> str:
    if not _zone_exists(name):
        raise ValueError(f"unknown timezone {name!r}; expected a name like America/New_York")
    return name


def _zone_exists(name: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except BAD_ZONE:
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
