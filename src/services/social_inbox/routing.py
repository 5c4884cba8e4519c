"""Assigning a thread: the router decides over the load counters it read, and the thread, its
assignment and the counters are written in one transaction, so a counter always equals its
teammate's open assignments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attrs import evolve, frozen

from backoffice.core import social_inbox as si
from backoffice.core.business_time import business_minutes_after
from backoffice.core.settings import Settings
from backoffice.ports import Absent, Ports, Write
from backoffice.services import engine
from backoffice.services.delivery import Slot, stamp
from backoffice.services.engine import Delivery
from backoffice.services.runtime import calendar_for, local_now
from backoffice.services.social_inbox.audits import audit_write
from backoffice.services.social_inbox.state import (
    ASSIGNMENTS,
    STORAGE,
    Documents,
    last_turn,
    load_write,
    loads,
    pointer_write,
    thread_write,
    turn_write,
)


@frozen
class Assigned:
    thread: si.Thread
    routed: si.Routed


def sla_due(settings: Settings, rules: si.Rules, urgency: str, now: datetime) -> datetime:
    """The urgency's target, counted in the business's hours."""
    return business_minutes_after(now, rules.sla_minutes(urgency), calendar_for(settings, now))


def assign(
    ports: Ports,
    settings: Settings,
    docs: Documents,
    before: si.Thread | None,
    thread: si.Thread,
    now: datetime,
    also: Sequence[Write] = (),
) -> Assigned:
    """Write the (new, reopened or queued) thread with whoever the router picks, or queued for
    its team, with its audit rows and `also`. Raises ConditionFailed when the thread or a
    counter changed since it was read: the caller decides again from the start."""
    holidays = calendar_for(settings, now).holidays
    counts = loads(ports.tables)
    last = last_turn(ports.tables, thread.team)
    routed = si.route(thread.team, thread.label.urgency, docs.roster, counts, now, holidays, last)
    after = evolve(thread, assignee=routed.assignee, version=thread.version + 1)
    action = "assigned" if routed.assignee else "queued"
    said = {"assignee": routed.assignee or "", "reason": routed.reason}
    writes = [
        *also,
        thread_write(before, after),
        pointer_write(after),
        assignment_write(after, routed, now),
        audit_write(after, now, action, said, f"route-{after.version}"),
    ]
    if routed.assignee is not None:
        writes.append(load_write(routed.assignee, counts.get(routed.assignee, 0), +1))
        writes.append(turn_write(thread.team, routed.assignee))
    ports.tables.transact(writes)
    if routed.assignee is None:
        tell_team(ports, settings, docs.rules, after, queued_words(after), "queued")
    return Assigned(after, routed)


def reassign(
    ports: Ports, thread: si.Thread, routed: si.Routed, due: datetime, now: datetime, by: str
) -> si.Thread:
    """Move an assigned thread to another teammate: both counters, the thread and its audit
    row together."""
    counts = loads(ports.tables)
    after = evolve(thread, assignee=routed.assignee, sla_due=due, version=thread.version + 1)
    said = {"from": thread.assignee or "", "to": routed.assignee or "", "reason": routed.reason}
    writes: list[Write] = [
        thread_write(thread, after),
        assignment_write(after, routed, now),
        audit_write(after, now, "reassigned", said, f"route-{after.version}", by),
    ]
    moved = thread.assignee != routed.assignee  # to the same teammate, the counts stay
    if moved and thread.assignee is not None:
        writes.append(load_write(thread.assignee, counts.get(thread.assignee, 0), -1))
    if moved and routed.assignee is not None:
        writes.append(load_write(routed.assignee, counts.get(routed.assignee, 0), +1))
    ports.tables.transact(writes)
    return after


def assignment_write(thread: si.Thread, routed: si.Routed, now: datetime) -> Write:
    """One row per assignment, never overwritten: the thread's routing history."""
    item = {
        "thread_id": thread.thread_id,
        "assigned_at": f"{stamp(now)}#{thread.version}",
        # Left out while queued: DynamoDB refuses a null key of the by-assignee index.
        **({"assignee": routed.assignee} if routed.assignee else {}),
        "team": routed.team,
        "reason": routed.reason,
        "sla_due": thread.sla_due.isoformat() if thread.sla_due else None,
        "status": "assigned" if routed.assignee else "queued",
    }
    return Write(ASSIGNMENTS.name, item, Absent())


def queued_words(thread: si.Thread) -> str:
    return (
        f"A {thread.label.urgency} {thread.label.topic} thread from {thread.platform} waits in "
        f"the {thread.team} queue: nobody on the team is available (away, outside their "
        f"hours or at capacity). It goes to the first teammate who is. Summary: "
        f"{thread.label.summary}"
    )


def tell_team(
    ports: Ports, settings: Settings, rules: si.Rules, thread: si.Thread, text: str, why: str
) -> None:
    """A notice to the team's channel (the staff channel, or the admin, when it has none),
    once per thread and version."""
    to = rules.team_channels.get(thread.team) or settings.staff_channel or settings.admin
    key = f"{si.PREFIX}:{thread.thread_id}:{why}:{thread.version}"
    row = {"thread_id": thread.thread_id, "key": key, "kind": why, "recipient": to}
    slot = Slot(STORAGE.sends.name, thread.thread_id, key, row)
    subject = f"{thread.team}: {why} thread {thread.thread_id}"
    engine.report_once(
        ports, slot, to, engine.written(subject, text), local_now(ports.clock, settings), "notice"
    )


def who_gets(ports: Ports, settings: Settings, docs: Documents) -> list[Delivery]:
    """For each topic and urgency, the teammate a new thread would go to now (or its queue),
    on the counters as they stand; nothing is written."""
    now = local_now(ports.clock, settings)
    holidays = calendar_for(settings, now).holidays
    counts = loads(ports.tables)
    found = []
    for topic in sorted(docs.rules.topics.values(), key=lambda t: t.name):
        last = last_turn(ports.tables, topic.team)
        for urgency in ("normal", "urgent"):
            routed = si.route(topic.team, urgency, docs.roster, counts, now, holidays, last)
            to = routed.assignee or f"{topic.team} queue"
            key = f"{si.PREFIX}:preview:{topic.name}:{urgency}"
            subject = f"{topic.name} ({urgency})"
            found.append(Delivery("sent", key, "route", subject, (to,), topic.team, now))
    return found
