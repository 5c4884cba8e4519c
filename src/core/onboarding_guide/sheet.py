"""The onboarding sheet: one row per customer on their way in."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import BAD_ZONE, local_at
from backoffice.core.problems import Problem
from backoffice.core.sheet import (
    RawRow,
    RowReport,
    Table,
    ambiguity,
    is_email,
    is_slack_user,
    parse_date,
    parse_table,
    word_in,
)

SYSTEM = "onboarding-guide"
PREFIX = "og"
SHEET_FILE = "onboarding.csv"
REQUIRED_COLUMNS = ("customer_id", "name", "email", "plan", "signed_up_at", "owner")
OPTIONAL_COLUMNS = ("timezone", "status")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
STATUS_WORDS = {
    "active": ("", "onboarding", "new", "in progress", "active"),
    "paused": ("pause", "on hold", "hold"),
    "handed_off": ("handed off", "hand off", "handed over"),
    "finished": ("finish", "done", "complete", "completed", "activated"),
}


@frozen
class Customer:
    customer_id: str
    name: str
    email: str
    plan: str
    signed_up_at: datetime  # aware
    owner: str  # an email address or a Slack member id
    line: int
    zone: str  # the customer's timezone (the row's, else the workspace's)
    status: str = "active"  # active | paused | handed_off | finished, as the sheet says

    @property
    def journey(self) -> str:
        """One customer's way in, from one signup: a new signup starts a new journey."""
        return f"{self.customer_id}@{self.signed_up_at.astimezone(ZoneInfo(self.zone)).date()}"


def parse_rows(
    table: Table,
    plans: Collection[str],
    *,
    timezone: str,
    dayfirst: bool | None,
    admin: str,
) -> tuple[list[Customer], list[Problem]]:
    """Customers from the sheet; a bad row is a problem naming its line, the others run."""
    return parse_table(
        table,
        REQUIRED_COLUMNS,
        "customer_id",
        lambda row, report: _parse_row(row, report, plans, timezone, dayfirst, admin),
    )


def _parse_row(
    row: RawRow,
    problem: RowReport,
    plans: Collection[str],
    timezone: str,
    dayfirst: bool | None,
    admin: str,
) -> Customer | None:
    values = row.values
    zone = values.get("timezone") or timezone
    try:
        ZoneInfo(zone)
    except BAD_ZONE:
        problem("timezone", "unknown timezone; expected a name like Asia/Singapore; skipped")
        return None
    email = values.get("email", "")
    if not is_email(email):
        problem("email", "not an email address, so no step can reach them; this row is skipped")
        return None
    plan = values.get("plan", "")
    if plan not in plans:
        problem("plan", f"unknown plan; known: {', '.join(sorted(plans))}; this row is skipped")
        return None
    try:
        signed_up_at = parse_moment(values.get("signed_up_at", ""), ZoneInfo(zone), dayfirst)
    except ValueError as error:
        problem("signed_up_at", f"{error}; this row is skipped")
        return None
    return Customer(
        customer_id=values["customer_id"],
        name=values.get("name") or values["customer_id"],
        email=email,
        plan=plan,
        signed_up_at=signed_up_at,
        owner=_owner(values.get("owner", ""), problem, admin),
        line=row.line,
        zone=zone,
        status=_status(values.get("status", ""), problem),
    )


def parse_moment(text: str, zone: ZoneInfo, dayfirst: bool | None) -> datetime:
    """A signup as the sheet or the webhook writes it: an instant with its offset, a local date
    and time, or a date (its start, in the customer's zone)."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        if dayfirst is None and ambiguity(value):
            raise ValueError(ambiguity(value)) from None
        return local_at(parse_date(value, dayfirst=dayfirst), time(0, 0), zone)
    if moment.tzinfo is None:
        return local_at(moment.date(), moment.time(), zone)
    return moment


def _owner(owner: str, problem: RowReport, admin: str) -> str:
    if owner and (is_email(owner) or is_slack_user(owner)):
        return owner
    problem(
        "owner", f"owner must be an email address or a Slack member id; the admin ({admin}) is used"
    )
    return admin


def _status(text: str, problem: RowReport) -> str:
    status = word_in(text, STATUS_WORDS)
    if status is None:
        problem(
            "status",
            "unknown status; write paused, handed off or finished, or leave it empty; "
            "the customer is guided as active",
        )
        return "active"
    return status
