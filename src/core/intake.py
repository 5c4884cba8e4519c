"""Intake: a forwarded document becomes a proposed sheet row that a person approves.

Two pure pieces: a heuristic reader (dates, email addresses, amounts, links found with
python-dateutil and regular expressions) for when no language model is at hand, and the strict
reader of a model's JSON answer, which keeps only known columns and never accepts a date that is
not written in the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from attrs import frozen
from dateutil import parser as date_parser

from backoffice.core.sheet import day_first_for

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s<>\"')]+")
_AMOUNT = re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d{2})?|\b\d[\d,]*(?:\.\d{2})?\s?(?:USD|EUR|GBP)\b)")
_EXPIRY_WORDS = re.compile(
    r"expir|valid (?:until|through|thru)|renew(?:al)? (?:date|by|before)|end date|ends on|"
    r"term ends|due (?:date|by|on)|until",
    re.IGNORECASE,
)
# Candidate date spellings: ISO, numeric with / . or -, and day/month names with a year.
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?=\b|T)|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|"
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
    r"[a-z]*\.?\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?\d{4}\b",
    re.IGNORECASE,
)
# Two defaults that differ in every part expose a date that the text did not fully give.
_DEFAULT_A = datetime(2000, 1, 1)
_DEFAULT_B = datetime(2001, 2, 2)
_SUBJECT_NOISE = re.compile(r"^\s*((?:fwd?|fw|re|tr|wg)\s*:\s*)+", re.IGNORECASE)


@frozen
class Found:
    """A date written in the document, where, and whether expiry words stand near it."""

    value: date
    text: str
    near_expiry_words: bool


def dates_in(text: str, *, dayfirst: bool) -> list[Found]:
    found = []
    for match in _DATE.finditer(text):
        day_first = day_first_for(match.group(0), dayfirst)
        try:
            first = date_parser.parse(
                match.group(0), dayfirst=day_first, fuzzy=False, default=_DEFAULT_A
            )
            second = date_parser.parse(
                match.group(0), dayfirst=day_first, fuzzy=False, default=_DEFAULT_B
            )
        except (ValueError, OverflowError):
            continue
        if first.date() != second.date():
            continue  # a part was missing and would have been invented
        window = text[max(0, match.start() - 60) : match.start()]
        found.append(Found(first.date(), match.group(0), bool(_EXPIRY_WORDS.search(window))))
    return found


# A time of day written after a date: "15:00", "3.30 pm", "3pm", "T15:00".
_TIME = re.compile(
    r"[^\d\n]{0,12}?(?:T|\b)(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d/-])",
    re.IGNORECASE,
)


def date_times_in(text: str, *, dayfirst: bool) -> list[datetime]:
    """Dates written with a time of day right after them ("5 Dec 2026 at 3pm"), in order."""
    found = []
    for match in _DATE.finditer(text):
        days = dates_in(match.group(0), dayfirst=dayfirst)
        clock = _TIME.match(text, match.end())
        if not days or clock is None:
            continue
        hour, minute, half = int(clock.group(1)), int(clock.group(2) or 0), clock.group(3)
        if half is None and clock.group(2) is None:
            continue  # a bare number after a date is not a time
        if half:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if half.lower().startswith("p") else 0)
        if hour < 24 and minute < 60:
            found.append(
                datetime.combine(days[0].value, datetime.min.time()).replace(
                    hour=hour, minute=minute
                )
            )
    return found


def heuristic_proposal(
    subject: str, text: str, sender: str, columns: Sequence[str], *, dayfirst: bool, today: date
) -> dict[str, str]:
    """The best guess without a model: the subject as the name, the expiry date the text
    points at (or the latest future date), the forwarder as the owner, links and amounts as
    notes. Only what is written is used; a column with nothing to go on stays empty."""
    dates = dates_in(text, dayfirst=dayfirst)
    # A date next to expiry words wins even when it has passed (an expired licence is worth
    # knowing about); otherwise the latest date still to come.
    flagged = [d for d in dates if d.near_expiry_words]
    chosen = flagged or [d for d in dates if d.value >= today]
    expires = max(chosen, key=lambda d: d.value).value.isoformat() if chosen else ""
    name = _SUBJECT_NOISE.sub("", subject).strip()
    amounts = list(dict.fromkeys(m.group(0).strip() for m in _AMOUNT.finditer(text)))
    links = list(dict.fromkeys(_URL.findall(text)))
    owner = sender if _EMAIL.fullmatch(sender or "") else ""
    guess = {
        "name": name,
        "expires_on": expires,
        "owner": owner,
        "link": links[0] if links else "",
        "notes": ("Amounts: " + ", ".join(amounts)) if amounts else "",
    }
    return {column: guess.get(column, "") for column in columns}


def read_model_answer(
    answer: str,
    source_text: str,
    columns: Sequence[str],
    date_columns: Iterable[str],
    *,
    dayfirst: bool,
    time_columns: Iterable[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """A model's JSON answer, checked: an object of known columns to strings; dates must be
    real dates that the source text contains (`time_columns` may add a time of day after the
    date). Returns the values kept and what was wrong."""
    try:
        data = json.loads(_json_part(answer))
    except ValueError:
        return {}, ["the answer was not JSON"]
    if not isinstance(data, dict):
        return {}, ["the answer was not a JSON object"]
    written = {found.value for found in dates_in(source_text, dayfirst=dayfirst)}
    kept: dict[str, str] = {}
    errors: list[str] = []
    dates, times = set(date_columns), set(time_columns)
    for column in columns:
        value = data.get(column)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            errors.append(f"{column}: expected text, got {type(value).__name__}")
            continue
        text = str(value).strip()
        if column in dates | times:
            parsed = _iso_day(text, with_time=column in times)
            if parsed is None:
                example = "2026-12-01 14:30" if column in times else "2026-12-01"
                errors.append(f"{column}: {text!r} is not a date like {example}")
                continue
            if parsed not in written:
                errors.append(f"{column}: {text} does not appear in the document")
                continue
        kept[column] = text[:500]
    return kept, errors


def _iso_day(text: str, *, with_time: bool) -> date | None:
    """The day of an ISO date or, when a time is allowed, of an ISO date and time."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if not with_time:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _json_part(answer: str) -> str:
    """Models like to wrap JSON in prose or code fences; take the outermost object."""
    start, end = answer.find("{"), answer.rfind("}")
    return answer[start : end + 1] if 0 <= start < end else answer


def instructions(
    columns: Sequence[str], date_columns: Iterable[str], time_columns: Iterable[str] = ()
) -> str:
    dates, times = ", ".join(date_columns), ", ".join(time_columns)
    formats = f"Dates ({dates}) are YYYY-MM-DD" if dates else ""
    if times:
        formats += ("; " if formats else "") + f"times ({times}) are YYYY-MM-DD HH:MM"
    return (
        "Read the forwarded document and propose one row for a sheet. Answer with one "
        f"JSON object whose keys are exactly: {', '.join(columns)}. Every value is a string; use "
        f"an empty string when the document does not say. {formats}; each must be written in "
        "the document. No prose outside the JSON."
    )
