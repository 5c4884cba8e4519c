"""The onboarding sheet: one row per customer on their way in."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, time
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

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
    parse_sheet,
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


class Customer(NamedTuple):
    """One customer on their way in, as the sheet says. A tuple rather than an attrs class: a
    sheet makes one per row, and the planner reads every one of them every day. `Customer.of`
    works out the two last fields; the sheet's reader has them at hand."""

    customer_id: str
    name: str
    email: str
    plan: str
    signed_up_at: datetime  # aware
    owner: str  # an email address or a Slack member id
    line: int
    zone: str  # the customer's timezone (the row's, else the workspace's)
    status: str  # active | paused | handed_off | finished, as the sheet says
    signed_up_on: date  # the signup's date in the customer's timezone: their day 0
    journey: str  # one customer's way in, from one signup: a new signup starts a new journey

    @classmethod
    def of(
        cls,
        customer_id: str,
        name: str,
        email: str,
        plan: str,
        signed_up_at: datetime,
        owner: str,
        line: int,
        zone: str,
        status: str = "active",
    ) -> Customer:
        on = signed_up_at.astimezone(ZoneInfo(zone)).date()
        return cls(
            customer_id,
            name,
            email,
            plan,
            signed_up_at,
            owner,
            line,
            zone,
            status,
            on,
            f"{customer_id}@{on.isoformat()}",
        )


def parse_rows(
    table: Table,
    plans: Collection[str],
    *,
    timezone: str,
    dayfirst: bool | None,
    admin: str,
) -> tuple[list[Customer], list[Problem]]:
    """Customers from the sheet; a bad row is a problem naming its line, the others run."""
    parse = _row_parser(plans, timezone, dayfirst, admin)
    return parse_table(table, REQUIRED_COLUMNS, "customer_id", parse)


def parse_customers(
    body: bytes,
    plans: Collection[str],
    *,
    timezone: str,
    dayfirst: bool | None,
    admin: str,
) -> tuple[list[Customer], list[Problem]]:
    """The sheet's bytes as customers, with the sheet's problems and the rows' (`parse_rows` of
    `read_sheet`, a row at a time)."""
    parse = _row_parser(plans, timezone, dayfirst, admin)
    return parse_sheet(body, SHEET_FILE, REQUIRED_COLUMNS, "customer_id", parse)


def _row_parser(
    plans: Collection[str], timezone: str, dayfirst: bool | None, admin: str
) -> Callable[[RawRow, RowReport], Customer | None]:
    """The parse of one row, the workspace's reading closed over: it runs once per row of sheets
    of 10k rows and more, where passing the settings on each call is a tenth of the time."""

    workspace_zone = zone_named(timezone)
    required = itemgetter(*REQUIRED_COLUMNS)  # every row has every column of the header

    def parse(row: RawRow, problem: RowReport) -> Customer | None:
        values = row.values
        customer_id, name, email, plan, signed, owner = required(values)
        zone_name = values.get("timezone")
        if zone_name:
            zone = zone_named(zone_name)
        else:
            zone_name, zone = timezone, workspace_zone
        if zone is None:
            problem("timezone", "unknown timezone; expected a name like Asia/Singapore; skipped")
            return None
        if not is_email(email):
            problem("email", "not an email address, so no step can reach them; this row is skipped")
            return None
        if plan not in plans:
            problem("plan", f"unknown plan; known: {', '.join(sorted(plans))}; this row is skipped")
            return None
        try:
            signed_up_at = parse_moment(signed, zone, dayfirst)
        except ValueError as error:
            problem("signed_up_at", f"{error}; this row is skipped")
            return None
        # In the customer's zone already, unless the sheet gave the moment another offset.
        local = signed_up_at if signed_up_at.tzinfo is zone else signed_up_at.astimezone(zone)
        on = local.date()
        status = values.get("status")
        return Customer(
            customer_id,
            name or customer_id,
            email,
            plan,
            signed_up_at,
            owner if owner and is_recipient(owner) else _no_owner(problem, admin),
            row.line,
            zone_name,
            _status(status, problem) if status else "active",
            on,
            customer_id + "@" + on.isoformat(),  # the journey, as Customer.of names it
        )

    return parse


@lru_cache(maxsize=256)
def zone_named(name: str) -> ZoneInfo | None:
    """The zone of that name, None when there is none. Cached: a sheet names a few zones on
    thousands of rows, and a name that is no zone is looked for once, not on every row."""
    try:
        return ZoneInfo(name)
    except BAD_ZONE:
        return None


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
    if moment.tzinfo is not None:
        return moment
    return local_at(moment.date(), moment.time(), zone)


def _no_owner(problem: RowReport, admin: str) -> str:
    problem(
        "owner", f"owner must be an email address or a Slack member id; the admin ({admin}) is used"
    )
    return admin


@lru_cache(maxsize=1024)
def is_recipient(value: str) -> bool:
    """Cached: a sheet names the same few owners on thousands of rows."""
    return is_email(value) or is_slack_user(value)


def _status(text: str, problem: RowReport) -> str:
    status = _status_word(text)
    if status is None:
        problem(
            "status",
            "unknown status; write paused, handed off or finished, or leave it empty; "
            "the customer is guided as active",
        )
        return "active"
    return status


@lru_cache(maxsize=256)
def _status_word(text: str) -> str | None:
    """Cached: a sheet writes its few statuses on thousands of rows, and reading one folds
    every spelling of every status."""
    return word_in(text, STATUS_WORDS)
