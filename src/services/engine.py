"""The delivery flow every system shares: wait for business time (or give up when the moment
has passed), claim, send, confirm, retry a failure twice, then hand it to a person.

A system decides whether its move is still due; the engine decides when and how it goes out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from attrs import frozen

from backoffice.core.business_time import Calendar, next_allowed
from backoffice.core.keys import move_key, schedule_name
from backoffice.core.settings import Settings
from backoffice.core.vocabulary import Move
from backoffice.ports import Model, Ports
from backoffice.services.delivery import Failure, Slot, describe, send_once, stamp
from backoffice.services.runtime import calendar_for, channel_of, deliver_text, local_now


@frozen
class Delivery:
    """What happened to one message: sent now, deferred, or why not."""

    # sent | deferred | duplicate | in_flight | dropped | skipped | retry | waiting | failed
    status: str
    key: str
    kind: str  # the move's kind, or the system's own message ("digest", "summary")
    subject: str
    to: tuple[str, ...]
    channel: str
    at: datetime
    line: int = 0
    until: datetime | None = None
    error: str = ""


@frozen
class Outgoing:
    """One move as the engine sees it."""

    key: str
    kind: str
    subject: str
    to: tuple[str, ...]
    channel: str
    line: int
    slot: Slot
    payload: Mapping[str, Any]  # what a deferred or retried dispatch is booked with
    deadline: datetime | None = None  # when it cannot go out before this, it is skipped

    @classmethod
    def of(cls, move: Move, channel: str, slot: Slot) -> Outgoing:
        """A planned move on its way out, booked again (deferred, retried) with its own JSON."""
        return cls(
            key=move.key,
            kind=move.kind,
            subject=move.subject,
            to=move.to,
            channel=channel,
            line=move.line,
            slot=slot,
            payload={"move": move.as_json()},
            deadline=move.deadline,
        )

    def report(self, status: str, at: datetime, **extra: Any) -> Delivery:
        return Delivery(
            status=status,
            key=self.key,
            kind=self.kind,
            subject=self.subject,
            to=self.to,
            channel=self.channel,
            at=at,
            line=self.line,
            **extra,
        )


def deliver(
    ports: Ports,
    calendar_at: Callable[[datetime], Calendar],
    outgoing: Outgoing,
    now: datetime,
    send: Callable[[], str],
    extra: Mapping[str, Any],
    given_up: Callable[[Failure], None],
    too_late: Callable[[], None] = lambda: None,
) -> Delivery:
    """Send now if business time allows, else book the next allowed minute (or skip, when that
    minute is past the deadline). `send` runs only under a fresh claim; `given_up` hears of a
    send that failed for the last time; `too_late` records a skip."""
    when = next_allowed(now, calendar_at(now))
    if when > now:
        if outgoing.deadline is not None and when >= outgoing.deadline:
            too_late()
            return outgoing.report("skipped", now, until=when)
        ports.scheduler.book(schedule_name(outgoing.key), when, dict(outgoing.payload))
        return outgoing.report("deferred", now, until=when)
    outcome = send_once(
        ports.tables, outgoing.slot, now, rehearsed(ports, outgoing.channel, send), extra
    )
    if outcome.status == "in_flight" and outcome.lease_until is not None:
        return _recheck(ports, outgoing, now, outcome.lease_until)
    if outcome.status != "failed" or outcome.failure is None:
        return outgoing.report(outcome.status, now)
    failure = outcome.failure
    if failure.waiting:
        return outgoing.report("waiting", now, error=failure.error)
    if failure.retry_at is not None:
        retry_at = next_allowed(failure.retry_at, calendar_at(failure.retry_at))
        ports.scheduler.book(
            schedule_name(f"{outgoing.key}:retry:{failure.attempts}"),
            retry_at,
            dict(outgoing.payload),
        )
        return outgoing.report("retry", now, until=retry_at, error=failure.error)
    try:
        given_up(failure)
    except Exception as error:  # the notice failed too: the failed send stays on record
        return outgoing.report("failed", now, error=f"{failure.error}; {NOT_TOLD}{describe(error)}")
    return outgoing.report("failed", now, error=failure.error)


MESSAGE_CHANNELS = frozenset({"email", "slack", "sms"})


def rehearsed(ports: Ports, channel: str, send: Callable[[], str]) -> Callable[[], str]:
    """`send`, or in a preview's rehearsal the message's id without building or writing it."""
    if ports.rehearsal and channel in MESSAGE_CHANNELS:
        return lambda: f"rehearsal:{channel}"
    return send


NOT_TOLD = "and the admin could not be told: "
RECHECK_AFTER = timedelta(seconds=1)


def _recheck(ports: Ports, outgoing: Outgoing, now: datetime, lease_until: datetime) -> Delivery:
    """Someone else holds the claim: if they crashed, nobody would send it until the next tick,
    so a re-check is booked for the end of their lease (it finds the move sent, or retakes it)."""
    at = max(lease_until, now) + RECHECK_AFTER
    name = schedule_name(f"{outgoing.key}:recheck:{stamp(lease_until)}")
    ports.scheduler.book(name, at, dict(outgoing.payload))
    return outgoing.report("in_flight", now, until=at)


@frozen
class ReportPeriod:
    """What a digest or a summary covers, and the key that lets it go once."""

    now: datetime  # the business's local time of the run
    start: date
    end: date
    key: str


def weekly_digest(ports: Ports, settings: Settings, prefix: str) -> ReportPeriod | None:
    """The week the digest covers when this run may send it: the first run on or after the
    digest day at which delivery is allowed (a holiday Monday moves it to Tuesday). None when
    it is off or not allowed now; whether it already went is the slot's to say."""
    now = local_now(ports.clock, settings)
    if settings.digest_day is None or next_allowed(now, calendar_for(settings, now)) != now:
        return None
    today = now.date()
    anchor = today - timedelta(days=(today.weekday() - settings.digest_day) % 7)
    return ReportPeriod(now, anchor, today, move_key(prefix, "digest", anchor.isoformat()))


def monthly_summary(ports: Ports, settings: Settings, prefix: str) -> ReportPeriod | None:
    """Last month, when this run may send its summary (an allowed minute); None otherwise."""
    now = local_now(ports.clock, settings)
    if next_allowed(now, calendar_for(settings, now)) != now:
        return None
    end = now.date().replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    return ReportPeriod(now, start, end, move_key(prefix, "summary", start.strftime("%Y-%m")))


Composed = Callable[[], tuple[str, str]]  # a report's subject and text, made when it is sent


def written(subject: str, text: str) -> Composed:
    """A report whose words are ready (a notice)."""
    return lambda: (subject, text)


def report_once(
    ports: Ports, slot: Slot, to: str, compose: Composed, now: datetime, kind: str
) -> Delivery | None:
    """A system's own message to a person (a digest, a summary, a notice): sent at most once
    per slot. None when it was sent before. A preview's rehearsal shows that it goes, not what
    it says, so it never composes it (nor asks the model for a summary nobody reads)."""
    subject, text = ("", "") if ports.rehearsal else compose()
    channel = channel_of(to)
    outcome = send_once(
        ports.tables,
        slot,
        now,
        rehearsed(
            ports, channel, lambda: deliver_text(ports, to, subject, text, (), slot.row["key"])
        ),
        {"sent_at": stamp(now), "dispatched_via": channel},
    )
    if outcome.status == "duplicate":
        return None
    return Delivery(
        status=outcome.status,
        key=slot.row["key"],
        kind=kind,
        subject=kind,
        to=(to,),
        channel=channel,
        at=now,
        error=outcome.failure.error if outcome.failure else "",
    )


def narrate(model: Model, instructions: str, facts: str, period: str) -> str:
    """The model's paragraph above the facts it was given; when the model fails or says too
    little, the facts alone, saying why."""
    try:
        narrative = model.complete(instructions, facts)
    except Exception as error:
        narrative, reason = "", describe(error)
    else:
        reason = "" if len(narrative) >= 40 else "the model returned too little text"
    if reason:
        return f"(The written summary is unavailable {period}: {reason}.)\n\n{facts}"
    return f"{narrative}\n\nThe facts behind it:\n\n{facts}"
