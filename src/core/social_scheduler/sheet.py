"""The posts sheet: one row per planned post."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import CalendarError, local_at, parse_clock
from backoffice.core.problems import Problem
from backoffice.core.sheet import RawRow, RowReport, Table, ambiguity, parse_date, parse_table
from backoffice.core.social_scheduler.rules import Rules, Template
from backoffice.core.templates import TemplateError, render

SYSTEM = "social-scheduler"
PREFIX = "ss"
SHEET_FILE = "posts.csv"
IMAGES_FOLDER = "images"
REQUIRED_COLUMNS = ("post_id", "text", "channels", "image", "publish_at", "approved")
OPTIONAL_COLUMNS = ("template",)
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
APPROVED_WORDS = frozenset({"true", "yes", "y", "✓", "x", "1"})
APPROVED = "TRUE"  # what an approval writes into the sheet


@frozen
class Post:
    post_id: str
    text: str
    channels: tuple[str, ...]
    image: str  # a file name in the images folder, or ""
    publish_at: datetime  # aware, in the business's timezone
    approved: bool
    line: int
    template: str = ""


def is_approved(cell: str) -> bool:
    """Set for TRUE, yes, y, ✓, x or 1 in any case; anything else (blank included) is unset."""
    return cell.strip().casefold() in APPROVED_WORDS


def parse_rows(
    table: Table,
    rules: Rules,
    *,
    timezone: str,
    dayfirst: bool | None,
    images: frozenset[str] | None = None,
) -> tuple[list[Post], list[Problem]]:
    """Posts from the sheet; a bad row is a problem naming its line, the others run. `images`
    are the names in the images folder (None: not known here)."""
    zone = ZoneInfo(timezone)
    # A sheet repeats its channel and approved cells: each spelling is read once.
    channels_of: dict[str, tuple[str, ...] | str] = {}
    approved_of: dict[str, bool] = {}

    def parse_row(row: RawRow, problem: RowReport) -> Post | None:
        values = row.values
        cell = values.get("channels", "")
        channels = channels_of.get(cell)
        if channels is None:
            channels = channels_of[cell] = _channels(cell, rules)
        if isinstance(channels, str):
            problem("channels", channels)
            channels = None
        try:
            publish_at = parse_publish_at(values.get("publish_at", ""), zone, dayfirst)
        except ValueError as error:
            problem("publish_at", f"{error}; this post is skipped")
            return None
        image = values.get("image", "").strip()
        if image and images is not None and image not in images:
            why = f"no file {image!r} in the {IMAGES_FOLDER} folder; this post is skipped"
            problem("image", why)
            return None
        text = _text(values, rules, publish_at, problem)
        if channels is None or text is None:
            return None
        cell = values.get("approved", "")
        approved = approved_of.get(cell)
        if approved is None:
            approved = approved_of[cell] = is_approved(cell)
        return Post(
            post_id=values["post_id"],
            text=text,
            channels=channels,
            image=image,
            publish_at=publish_at,
            approved=approved,
            line=row.line,
            template=values.get("template", "").strip(),
        )

    return parse_table(table, REQUIRED_COLUMNS, "post_id", parse_row)


_SPLIT = re.compile(r"[,;]")


def _channels(cell: str, rules: Rules) -> tuple[str, ...] | str:
    """The cell's channel names, or the problem with them."""
    names = tuple(dict.fromkeys(n.strip() for n in _SPLIT.split(cell) if n.strip()))
    unknown = [name for name in names if name not in rules.channels]
    if not names or unknown:
        what = f"unknown channel {', '.join(map(repr, unknown))}" if unknown else "no channel"
        known = ", ".join(sorted(rules.channels))
        return f"{what}; the rules name {known}; this post is skipped"
    return names


def _text(
    values: Mapping[str, str], rules: Rules, when: datetime, problem: RowReport
) -> str | None:
    """The row's own text, or (left empty) its template's, written for the post's day."""
    text = values.get("text", "").strip()
    if text:
        return text
    name = values.get("template", "").strip()
    template = rules.templates.get(name)
    if template is None:
        why = f"unknown template {name!r}" if name else "no text and no template"
        problem("text", f"{why}; this post is skipped")
        return None
    try:
        return template_text(template, when.date())
    except TemplateError as error:
        problem("template", f"{error}; this post is skipped")
        return None


def template_text(template: Template, day: date) -> str:
    fields = {**template.fields, "date": day.isoformat(), "weekday": f"{day:%A}"}
    return render(template.text, fields).strip()


_CLOCK_AT_END = re.compile(r"^(.*?)[\sT]+(\d{1,2}:\d{2})(?::00)?$")


def parse_publish_at(text: str, zone: ZoneInfo, dayfirst: bool | None) -> datetime:
    """A local date and time (`2026-12-04 09:30`, `04/12/2026 09:30`), or an instant with its
    offset. A time that does not exist locally (a spring-forward gap) moves to the first minute
    after it; one that happens twice takes the first."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _local_date_and_time(value, zone, dayfirst)
    if moment.tzinfo is not None:
        return moment.astimezone(zone)
    if len(value) <= 10:
        raise ValueError("a date without a time; write it like 2026-12-04 09:30")
    return local_at(moment.date(), moment.time().replace(second=0, microsecond=0), zone)


def _local_date_and_time(value: str, zone: ZoneInfo, dayfirst: bool | None) -> datetime:
    match = _CLOCK_AT_END.match(value)
    if not match:
        raise ValueError("not a date and time; write it like 2026-12-04 09:30")
    if dayfirst is None and ambiguity(match.group(1)):
        raise ValueError(ambiguity(match.group(1)))
    try:
        clock = parse_clock(match.group(2))
    except CalendarError as error:
        raise ValueError(str(error)) from None
    return local_at(parse_date(match.group(1), dayfirst=dayfirst), clock, zone)
