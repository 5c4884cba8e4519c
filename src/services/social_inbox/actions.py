"""What a teammate does to a thread (the web inbox's buttons): close it. The thread and its
teammate's load counter change in one transaction; every action is audited."""

from __future__ import annotations

from attrs import evolve

from backoffice.core import social_inbox as si
from backoffice.core.settings import Settings
from backoffice.ports import ConditionFailed, Ports, Write
from backoffice.services.runtime import local_now
from backoffice.services.social_inbox.audits import audit_write
from backoffice.services.social_inbox.state import get_thread, load_write, loads, thread_write

TRIES = 3


def close(ports: Ports, settings: Settings, thread_id: str, by: str) -> si.Thread | None:
    """Closed, and its teammate's count down by one; None when there is no open thread."""
    now = local_now(ports.clock, settings)
    for attempt in range(TRIES):
        thread = get_thread(ports.tables, thread_id)
        if thread is None or thread.status != "open":
            return None
        after = evolve(thread, status="closed", version=thread.version + 1)
        said = {"assignee": thread.assignee or ""}
        writes: list[Write] = [
            thread_write(thread, after),
            audit_write(after, now, "closed", said, f"close-{after.version}", by),
        ]
        if thread.assignee is not None:
            count = loads(ports.tables).get(thread.assignee, 0)
            writes.append(load_write(thread.assignee, count, -1))
        try:
            ports.tables.transact(writes)
        except ConditionFailed:
            if attempt == TRIES - 1:
                raise
            continue
        return after
    return None
