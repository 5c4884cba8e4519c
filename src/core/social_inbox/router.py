"""Who takes a thread: the team's active teammates inside their working hours and under their
capacity; a normal thread goes to the least loaded of them (ties in turn, after whoever the
team gave the last one), an urgent one to the least loaded at once; with nobody eligible it
waits in the team's queue."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime

from attrs import frozen

from backoffice.core.social_inbox.roster import Teammate


@frozen
class Routed:
    assignee: str | None  # None: queued for the team
    team: str
    reason: str  # why this one: least loaded, in turn, backup, queued (nobody eligible)


def eligible(
    team: str,
    roster: Sequence[Teammate],
    loads: Mapping[str, int],
    now: datetime,
    holidays: Collection[date],
) -> list[Teammate]:
    """The team's teammates who may take a thread now, in roster order."""
    return [
        mate
        for mate in roster
        if team in mate.teams
        and mate.status == "active"
        and mate.working(now, holidays)
        and loads.get(mate.assignee, 0) < mate.capacity
    ]


def choose(
    urgency: str, candidates: Sequence[Teammate], loads: Mapping[str, int], last: str | None
) -> Teammate | None:
    """The least loaded; among equals, urgent takes the first, normal the next in turn."""
    if not candidates:
        return None
    least = min(loads.get(c.assignee, 0) for c in candidates)
    tied = [c for c in candidates if loads.get(c.assignee, 0) == least]
    if urgency == "urgent" or last is None:
        return tied[0]
    order = [c.assignee for c in candidates]
    after = order.index(last) if last in order else -1
    ranked = sorted(tied, key=lambda c: (order.index(c.assignee) - after - 1) % len(order))
    return ranked[0]


def route(
    team: str,
    urgency: str,
    roster: Sequence[Teammate],
    loads: Mapping[str, int],
    now: datetime,
    holidays: Collection[date],
    last: str | None,
) -> Routed:
    chosen = choose(urgency, eligible(team, roster, loads, now, holidays), loads, last)
    if chosen is None:
        return Routed(None, team, "queued: nobody on the team is available")
    reason = "urgent: least loaded" if urgency == "urgent" else "least loaded, in turn"
    return Routed(chosen.assignee, team, reason)


def rerouted(
    team: str,
    backups: Sequence[str],
    current: str | None,
    roster: Sequence[Teammate],
    loads: Mapping[str, int],
    now: datetime,
    holidays: Collection[date],
) -> Routed | None:
    """A breached thread's next teammate: the first eligible backup (the topic's, then the
    assignee's), else the least loaded other eligible teammate; None when nobody else is."""
    others = [m for m in eligible(team, roster, loads, now, holidays) if m.assignee != current]
    for backup in backups:
        found = next((m for m in others if m.assignee == backup), None)
        if found is not None:
            return Routed(found.assignee, team, f"SLA breached: backup {backup}")
    chosen = choose("urgent", others, loads, None)
    if chosen is None:
        return None
    return Routed(chosen.assignee, team, "SLA breached: least loaded other teammate")
