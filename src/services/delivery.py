"""Claim, send, confirm: how every system delivers a move at most once and never loses one.

A move's key is claimed in the sends table with a lease before anything is sent. A key already
`sent` is skipped; a `sending` claim whose lease ran out (the sender crashed) may be retaken. A send
that fails is marked `retry` and booked again a little later; after the last attempt it is marked
`failed` and a person is told.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import frozen

from backoffice.ports import (
    Absent,
    AllOf,
    AnyOf,
    Before,
    ConditionFailed,
    Equals,
    Item,
    Tables,
)

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=30))


def stamp(when: datetime) -> str:
    """UTC ISO text, so stored instants compare correctly as strings."""
    return when.astimezone(UTC).isoformat(timespec="seconds")


@frozen
class Slot:
    """Where one send is recorded: a row of the sends table, with its key attributes in `row`."""

    table: str
    pk: str
    sk: str
    row: Mapping[str, Any]
    max_attempts: int = MAX_ATTEMPTS  # a system whose owner sets it (the social scheduler)


@frozen
class Claimed:
    table: str
    row: Mapping[str, Any]
    attempts: int
    max_attempts: int = MAX_ATTEMPTS


@frozen
class Busy:
    """Someone else holds the slot's claim until `lease_until` (and may have died holding it)."""

    lease_until: datetime


def claim(tables: Tables, slot: Slot, now: datetime) -> Claimed | Busy | None:
    """Take the slot's send; None when it is sent or failed, Busy when someone else is sending
    it (or lost its claim when it crashed)."""
    current = tables.get(slot.table, slot.pk, slot.sk)
    if current is not None and current.get("status") in ("sent", "failed"):
        return None
    attempts = int(current.get("attempts", 0)) if current else 0
    claimed: Item = {
        **slot.row,
        "status": "sending",
        "lease_until": stamp(now + LEASE),
        "attempts": attempts,
    }
    free = AnyOf(
        (
            Absent(),
            AllOf((Equals("status", "sending"), Before("lease_until", stamp(now)))),
            Equals("status", "retry"),
        )
    )
    try:
        tables.put(slot.table, claimed, free)
    except ConditionFailed:
        return _busy(tables.get(slot.table, slot.pk, slot.sk), now)
    return Claimed(slot.table, claimed, attempts, slot.max_attempts)


def _busy(current: Mapping[str, Any] | None, now: datetime) -> Busy | None:
    if current is None or current.get("status") != "sending" or not current.get("lease_until"):
        return None
    return Busy(datetime.fromisoformat(current["lease_until"]))


CONFIRM_ATTEMPTS = 3


def confirm(tables: Tables, claimed: Claimed, provider_id: str, extra: Mapping[str, Any]) -> None:
    """Record the send. The message is already out, so a store hiccup here is retried at once:
    an unconfirmed claim would be retaken after its lease and sent a second time."""
    row = {
        **claimed.row,
        **extra,
        "status": "sent",
        "provider_id": provider_id,
        "lease_until": None,
    }
    for attempt in range(1, CONFIRM_ATTEMPTS + 1):
        try:
            tables.put(claimed.table, row)
            return
        except Exception:
            if attempt == CONFIRM_ATTEMPTS:
                raise


@frozen
class Failure:
    attempts: int
    final: bool
    retry_at: datetime | None
    error: str

    @property
    def waiting(self) -> bool:
        """Left for a person to unblock: neither retried nor given up."""
        return not self.final and self.retry_at is None


class Unbuildable(Exception):
    """The message cannot be written, or has nowhere to go: trying again would not help, so it
    fails at once and a person is told."""


class Waiting(Exception):
    """The send cannot go until a person fixes something outside it (a channel to reconnect):
    it is left to retry, unbooked and uncounted, and the next tick after the fix plans it."""


def record_failure(tables: Tables, claimed: Claimed, error: Exception, now: datetime) -> Failure:
    """Mark a failed send as `retry` (with when, unless it waits for a person) or, after the last
    attempt (or when the message cannot be built), `failed`."""
    waiting = isinstance(error, Waiting)
    attempts = claimed.attempts + (0 if waiting else 1)
    final = not waiting and (attempts >= claimed.max_attempts or isinstance(error, Unbuildable))
    retry_at = None if final or waiting else now + retry_delay(attempts)
    reason = describe(error)
    tables.put(
        claimed.table,
        {
            **claimed.row,
            "status": "failed" if final else "retry",
            "attempts": attempts,
            "lease_until": None,
            "error": reason,
            "retry_at": stamp(retry_at) if retry_at else None,
            "failed_at": stamp(now),
        },
    )
    return Failure(attempts=attempts, final=final, retry_at=retry_at, error=reason)


def retry_delay(attempts: int) -> timedelta:
    """5 minutes, then 30, then doubling: a channel down for an hour is not hammered."""
    if attempts <= len(RETRY_DELAYS):
        return RETRY_DELAYS[attempts - 1]
    doubled: timedelta = RETRY_DELAYS[-1] * 2 ** (attempts - len(RETRY_DELAYS))
    return doubled


def describe(error: Exception) -> str:
    """An error in one line for a person; exception text never carries secrets we put there."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


@frozen
class Outcome:
    status: str  # "sent" | "duplicate" | "in_flight" | "failed"
    provider_id: str | None = None
    failure: Failure | None = None
    lease_until: datetime | None = None  # in flight: when the other claim runs out


def send_once(
    tables: Tables,
    slot: Slot,
    now: datetime,
    send: Callable[[], str],
    extra: Mapping[str, Any],
) -> Outcome:
    """Claim, send, confirm."""
    claimed = claim(tables, slot, now)
    if claimed is None:
        return Outcome("duplicate")
    if isinstance(claimed, Busy):
        return Outcome("in_flight", lease_until=claimed.lease_until)
    try:
        provider_id = send()
    except Exception as error:
        return Outcome("failed", failure=record_failure(tables, claimed, error, now))
    confirm(tables, claimed, provider_id, extra)
    return Outcome("sent", provider_id=provider_id)
