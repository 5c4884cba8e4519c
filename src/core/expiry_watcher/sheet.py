"""The registry sheet: one row per contract, licence, certificate or policy."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache, partial
from typing import NamedTuple

from backoffice.core.problems import Problem
from backoffice.core.sheet import (
    RawRow,
    RowReport,
    Table,
    is_email,
    is_slack_user,
    parse_date,
    parse_int,
    parse_sheet,
    parse_table,
)

SYSTEM = "expiry-watcher"
PREFIX = "ew"
SHEET_FILE = "registry.csv"
REQUIRED_COLUMNS = ("item_id", "name", "expires_on", "owner")
OPTIONAL_COLUMNS = (
    "category",
    "notice_days",
    "first_alert_days",
    "escalate_to",
    "link",
    "notes",
)
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)


class Item(NamedTuple):
    """One registry row, read. A frozen tuple rather than an attrs class: a registry makes one
    per row, and a tuple is made in a third of the time."""

    item_id: str
    name: str
    expires_on: date
    owner: str
    line: int
    category: str = "default"
    notice_days: int = 0
    first_alert_days: int | None = None
    escalate_to: str | None = None
    link: str = ""
    notes: str = ""

    @property
    def act_by(self) -> date:
        return self.expires_on - timedelta(days=self.notice_days)

    @property
    def chain_id(self) -> str:
        return chain_id(self.item_id, self.expires_on)


def chain_id(item_id: str, expires_on: date) -> str:
    return f"{item_id}@{expires_on.isoformat()}"


def parse_rows(
    table: Table, *, dayfirst: bool | None, admin: str
) -> tuple[list[Item], list[Problem]]:
    """Turn the registry into items; every bad row becomes a problem and the others still run."""
    return parse_table(
        table,
        REQUIRED_COLUMNS,
        "item_id",
        partial(_parse_row, dayfirst=dayfirst, admin=admin),
    )


def parse_registry(
    body: bytes, *, dayfirst: bool | None, admin: str
) -> tuple[list[Item], list[Problem]]:
    """The registry's bytes as items, with the sheet's problems and the rows' (`parse_rows` of
    `read_sheet`, a row at a time)."""
    return parse_sheet(
        body,
        SHEET_FILE,
        REQUIRED_COLUMNS,
        "item_id",
        partial(_parse_row, dayfirst=dayfirst, admin=admin),
    )


def _parse_row(
    row: RawRow, problem: RowReport, *, dayfirst: bool | None, admin: str
) -> Item | None:
    get = row.values.get  # this runs once per row of sheets of 100k rows
    try:
        expires_on = parse_date(get("expires_on", ""), dayfirst=dayfirst)
    except ValueError as error:
        problem("expires_on", f"{error}; this row is skipped")
        return None
    item_id, name = row.values["item_id"], get("name")
    if not name:
        problem("name", "missing name; the item_id is used instead")
    escalate_to = get("escalate_to")
    return Item(
        item_id,
        name or item_id,
        expires_on,
        _owner(get("owner", ""), problem, admin),
        row.line,
        get("category") or "default",
        _days(get("notice_days"), "notice_days", problem) or 0,
        _days(get("first_alert_days"), "first_alert_days", problem),
        _escalate_to(escalate_to, problem) if escalate_to else None,
        get("link", ""),
        get("notes", ""),
    )


def _owner(owner: str, problem: RowReport, admin: str) -> str:
    """Who hears of the item: the admin when the row names nobody usable."""
    if not owner:
        problem("owner", f"missing owner; alerts go to the admin ({admin})")
        return admin
    if not is_recipient(owner):
        problem(
            "owner",
            "owner must be an email address or a Slack member id like "
            f"U012AB3CD; alerts go to the admin ({admin})",
        )
        return admin
    return owner


def _days(text: str | None, column: str, problem: RowReport) -> int | None:
    if not text:
        return None
    try:
        return parse_int(text)
    except ValueError:
        problem(column, f"{column} must be a whole number of days; ignored")
        return None


def _escalate_to(value: str, problem: RowReport) -> str | None:
    if value and not is_recipient(value):
        problem(
            "escalate_to",
            "escalate_to must be an email address or a Slack member id; "
            "the chain's escalation target is used",
        )
        return None
    return value or None


@lru_cache(maxsize=4096)
def is_recipient(value: str) -> bool:
    """Cached: a registry names the same few owners on thousands of rows."""
    return is_email(value) or is_slack_user(value)
