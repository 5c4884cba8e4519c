"""The social scheduler's rules doc: the channels (`[channels.<name>]`), when posts may go out
(`[posting]`) and the standing posts (`[templates.<name>]`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from attrs import frozen

from backoffice.core.business_time import CalendarError, parse_span
from backoffice.core.documents import DocumentError, key_line, load_toml, raise_all, section_line
from backoffice.core.rules import Check, Key, unknown_sections, whole_number
from backoffice.core.schedules import ScheduleError, parse
from backoffice.core.templates import check

RULES_FILE = "rules.toml"
KINDS = ("facebook-page", "instagram", "webhook", "slack")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# What a template's text may name besides its own keys: the day it is for.
TEMPLATE_FIELDS = ("date", "weekday")


@frozen
class ChannelRules:
    name: str
    kind: str
    endpoint: str
    token_secret: str
    max_chars: int
    max_links: int | None  # None: any number
    image_types: tuple[str, ...]
    max_image_mb: float
    max_side: int  # the longer side of an image, in pixels, as posted

    @property
    def max_image_bytes(self) -> int:
        return int(self.max_image_mb * 1024 * 1024)


@frozen
class PostingRules:
    window: tuple[time, time] | None  # None: any minute of the day
    blackout_days: frozenset[date]
    grace_minutes: int
    max_attempts: int


@frozen
class Template:
    name: str
    schedule: str  # cron(...) in the business's timezone
    lead_days: int
    text: str
    channels: tuple[str, ...]
    fields: Mapping[str, str]  # the template's own placeholders (`offer = "..."`)
    line: int | None = None


@frozen
class Rules:
    channels: Mapping[str, ChannelRules]
    posting: PostingRules
    templates: Mapping[str, Template]


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "text in quotes"


def _kind(value: Any) -> str | None:
    return None if value in KINDS else f"one of {', '.join(KINDS)}"


def _types(value: Any) -> str | None:
    if isinstance(value, list) and value and all(v in IMAGE_TYPES for v in value):
        return None
    return f"a list of image types from {', '.join(IMAGE_TYPES)}"


def _megabytes(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 100
    return None if ok else "a number of megabytes between 0 and 100"


def _limit(value: Any) -> str | None:
    return whole_number(0)(value) if value != -1 else None


CHANNEL_KEYS = (
    Key("kind", _kind),
    Key("endpoint", _text),
    Key("token_secret", _text, default=""),
    Key("max_chars", whole_number(1)),
    Key("max_links", _limit, default=-1),
    Key("image_types", _types, default=["image/jpeg", "image/png"]),
    Key("max_image_mb", _megabytes, default=4),
    Key("max_side", whole_number(64), default=2048),
)
POSTING_KEYS = (
    Key("window", _text, default="00:00-00:00"),
    Key("blackout_days", lambda v: _dates(v)[1], default=[]),
    Key("grace_minutes", whole_number(0), default=60),
    Key("max_attempts", whole_number(1), default=3),
)
TEMPLATE_KEYS = frozenset({"schedule", "lead_days", "text", "channels"})


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    """Every channel and template checked, every problem reported with its line."""
    doc = load_toml(text, file)
    errors = unknown_sections(doc, text, file, ("channels", "posting", "templates"))
    channels = _channels(doc.get("channels"), text, file, errors)
    posting = _posting(doc.get("posting", {}), text, file, errors)
    templates = _templates(doc.get("templates", {}), text, file, channels, errors)
    raise_all(errors)
    return Rules(channels, posting, templates)


def _checked(
    values: Any, keys: tuple[Key, ...], where: str, text: str, file: str, errors: list[Any]
) -> dict[str, Any] | None:
    """The section's values over its defaults, or None (with its problems added)."""
    if not isinstance(values, Mapping):
        errors.append(DocumentError(file, section_line(text, where), f"[{where}] is no section"))
        return None
    known = {key.name: key for key in keys}
    found = len(errors)
    for name, value in values.items():
        line = key_line(text, where, name)
        if name not in known:
            message = f"unknown key {name!r} in [{where}]; known: {', '.join(known)}"
            errors.append(DocumentError(file, line, message))
        elif problem := known[name].check(value):
            message = f"{name} in [{where}] must be {problem}, got {value!r}"
            errors.append(DocumentError(file, line, message))
    missing = [key.name for key in keys if key.default is None and key.name not in values]
    if missing:
        message = f"[{where}] is missing {', '.join(missing)}"
        errors.append(DocumentError(file, section_line(text, where), message))
    merged = {key.name: key.default for key in keys} | dict(values)
    return merged if len(errors) == found else None


def _channels(raw: Any, text: str, file: str, errors: list[Any]) -> dict[str, ChannelRules]:
    if not isinstance(raw, Mapping) or not raw:
        message = 'name at least one channel, like [channels.facebook] kind = "facebook-page"'
        errors.append(DocumentError(file, None, message))
        return {}
    channels = {}
    for name, values in raw.items():
        where = f"channels.{name}"
        merged = _checked(values, CHANNEL_KEYS, where, text, file, errors)
        if merged is not None:
            channels[name] = _channel(name, merged)
    return channels


def _channel(name: str, values: Mapping[str, Any]) -> ChannelRules:
    return ChannelRules(
        name=name,
        kind=values["kind"],
        endpoint=values["endpoint"].strip(),
        token_secret=values["token_secret"] or f"ss/channels/{name}",
        max_chars=values["max_chars"],
        max_links=None if values["max_links"] == -1 else values["max_links"],
        image_types=tuple(values["image_types"]),
        max_image_mb=float(values["max_image_mb"]),
        max_side=values["max_side"],
    )


def _posting(raw: Any, text: str, file: str, errors: list[Any]) -> PostingRules:
    merged = _checked(raw, POSTING_KEYS, "posting", text, file, errors)
    default = PostingRules(None, frozenset(), 60, 3)
    if merged is None:
        return default
    try:
        window = parse_window(merged["window"])
    except CalendarError as error:
        errors.append(DocumentError(file, key_line(text, "posting", "window"), str(error)))
        return default
    days, _ = _dates(merged["blackout_days"])
    return PostingRules(window, days, merged["grace_minutes"], merged["max_attempts"])


def parse_window(text: str) -> tuple[time, time] | None:
    """`08:00-20:00`: posts go out from 08:00 up to (not at) 20:00; equal ends mean all day."""
    expected = f"window {text!r}: expected HH:MM-HH:MM like 08:00-20:00 (the minutes posts go out)"
    window = parse_span(text, expected)
    return None if window[0] == window[1] else window


def _dates(value: Any) -> tuple[frozenset[date], str | None]:
    expected = 'a list of dates like ["2026-12-25"]'
    if not isinstance(value, list):
        return frozenset(), expected
    try:
        return frozenset(date.fromisoformat(str(v)) for v in value), None
    except ValueError:
        return frozenset(), expected


def _templates(
    raw: Any, text: str, file: str, channels: Mapping[str, ChannelRules], errors: list[Any]
) -> dict[str, Template]:
    if not isinstance(raw, Mapping):
        errors.append(
            DocumentError(file, section_line(text, "templates"), "[templates] is no section")
        )
        return {}
    templates = {}
    for name, values in raw.items():
        template = _template(name, values, text, file, channels, errors)
        if template is not None:
            templates[name] = template
    return templates


def _template(
    name: str,
    values: Any,
    text: str,
    file: str,
    channels: Mapping[str, ChannelRules],
    errors: list[Any],
) -> Template | None:
    where = f"templates.{name}"
    line = section_line(text, where)
    if not isinstance(values, Mapping):
        errors.append(DocumentError(file, line, f"[{where}] is no section"))
        return None
    found = len(errors)
    fields = {k: str(v) for k, v in values.items() if k not in TEMPLATE_KEYS}
    for key, check_value in _template_checks(channels).items():
        problem = check_value(values.get(key))
        if problem:
            at = key_line(text, where, key) or line
            errors.append(DocumentError(file, at, f"{key} in [{where}] must be {problem}"))
    for problem in check(str(values.get("text", "")), (*fields, *TEMPLATE_FIELDS)):
        errors.append(DocumentError(file, key_line(text, where, "text") or line, problem))
    if len(errors) > found:
        return None
    return Template(
        name,
        values["schedule"],
        values.get("lead_days", 0),
        values["text"],
        tuple(values["channels"]),
        fields,
        line,
    )


def _template_checks(channels: Mapping[str, ChannelRules]) -> dict[str, Check]:
    def schedule(value: Any) -> str | None:
        try:
            parse(value)
        except (ScheduleError, TypeError, AttributeError):
            return 'a schedule like "cron(0 9 ? * FRI *)"'
        return None

    def names(value: Any) -> str | None:
        if isinstance(value, list) and value and all(v in channels for v in value):
            return None
        return f"a list of channel names from {', '.join(sorted(channels)) or '[channels]'}"

    return {
        "schedule": schedule,
        "lead_days": lambda v: None if v is None else whole_number(0)(v),
        "text": _text,
        "channels": names,
    }
