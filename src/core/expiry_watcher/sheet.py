"""The registry sheet: one row per contract, licence, certificate or policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from attrs import frozen

from backoffice.core.problems import Problem
from backoffice.core.sheet import (
    RawRow,
    RowReport,
    Table,
    is_email,
    is_slack_user,
    parse_date,
    parse_int,
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


@frozen
class Item:
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
        lambda row, report: _parse_row(row, report, dayfirst, admin),
    )


def _parse_row(row: RawRow, problem: RowReport, dayfirst: bool | None, admin: str) -> Item | None:
    values = row.values
    try:
        expires_on = parse_date(values.get("expires_on", ""), dayfirst=dayfirst)
    except ValueError as error:
        problem("expires_on", f"{error}; this row is skipped")
        return None
    if not values.get("name"):
        problem("name", "missing name; the item_id is used instead")
    return Item(
        item_id=values["item_id"],
        name=values.get("name") or values["item_id"],
        expires_on=expires_on,
        owner=_owner(values.get("owner", ""), problem, admin),
        line=row.line,
        category=values.get("category") or "default",
        notice_days=_days(values, "notice_days", problem) or 0,
        first_alert_days=_days(values, "first_alert_days", problem),
        escalate_to=_escalate_to(values.get("escalate_to", ""), problem),
        link=values.get("link", ""),
        notes=values.get("notes", ""),
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


def _days(values: Mapping[str, str], column: str, problem: RowReport) -> int | None:
    text = values.get(column, "")
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


def is_recipient(value: str) -> bool:
    return is_email(value) or is_slack_user(value)
