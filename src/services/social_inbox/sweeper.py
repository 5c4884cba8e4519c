"""The SLA sweeper (every 5 minutes): queued threads go to the first teammate who has become
eligible; a thread past its `sla_due` goes to the topic's backup (or the assignee's, or the
least loaded other teammate) with a notice to the team. Nothing is ever sent to the customer."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from backoffice.core import social_inbox as si
from backoffice.core.settings import Settings
from backoffice.core.vocabulary import Plan
from backoffice.ports import ConditionFailed, Ports
from backoffice.services.runtime import calendar_for, local_now
from backoffice.services.social_inbox.routing import assign, reassign, sla_due, tell_team
from backoffice.services.social_inbox.state import Documents, all_threads, load_documents, loads
from backoffice.services.system import TickResult


def sweep(ports: Ports, settings: Settings) -> TickResult:
    now = local_now(ports.clock, settings)
    docs = load_documents(ports.blobs, settings)
    for thread in sorted(all_threads(ports.tables), key=lambda t: t.opened_at):
        if thread.status != "open":
            continue
        with suppress(ConditionFailed):  # changed meanwhile: the next sweep sees it afresh
            if thread.queued:
                _from_queue(ports, settings, docs, thread, now)
            elif thread.sla_due is not None and thread.sla_due <= now:
                _breached(ports, settings, docs, thread, now)
    return TickResult(now, Plan(), docs.problems)


def _from_queue(
    ports: Ports, settings: Settings, docs: Documents, thread: si.Thread, now: datetime
) -> None:
    holidays = calendar_for(settings, now).holidays
    if not si.eligible(thread.team, docs.roster, loads(ports.tables), now, holidays):
        return
    assign(ports, settings, docs, thread, thread, now)


def _breached(
    ports: Ports, settings: Settings, docs: Documents, thread: si.Thread, now: datetime
) -> None:
    """Past its target: to a backup with a notice, and a fresh target; with nobody else
    eligible the team hears of it once and the thread stays."""
    holidays = calendar_for(settings, now).holidays
    current = docs.teammate(thread.assignee or "")
    backups = [docs.rules.topics[thread.label.topic].backup, current.backup if current else ""]
    routed = si.rerouted(
        thread.team,
        [b for b in backups if b],
        thread.assignee,
        docs.roster,
        loads(ports.tables),
        now,
        holidays,
    )
    if routed is None:
        text = f"Thread {thread.thread_id} is past its target and nobody else can take it now."
        tell_team(ports, settings, docs.rules, thread, text, "breached")
        return
    due = sla_due(settings, docs.rules, thread.label.urgency, now)
    after = reassign(ports, thread, routed, due, now, "sla sweeper")
    text = (
        f"Thread {thread.thread_id} ({thread.label.topic}, {thread.label.urgency}) passed its "
        f"target with {thread.assignee} and now goes to {routed.assignee}. "
        f"Summary: {thread.label.summary}"
    )
    tell_team(ports, settings, docs.rules, after, text, "rerouted")
