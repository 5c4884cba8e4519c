"""The daily digest (18:00): messages in, answered, still open, breached."""

from __future__ import annotations

from datetime import date, datetime

from backoffice.core import social_inbox as si
from backoffice.core.digest import text_table
from backoffice.core.keys import move_key
from backoffice.core.settings import Settings
from backoffice.ports import Ports
from backoffice.services import engine
from backoffice.services.delivery import Slot
from backoffice.services.engine import Delivery
from backoffice.services.runtime import local_now
from backoffice.services.social_inbox.connectors import queue_of
from backoffice.services.social_inbox.state import STORAGE, all_threads

REPORTS_ID = "~reports"


def digest(ports: Ports, settings: Settings) -> list[Delivery]:
    """Once a day, after the day's work: to the staff channel (or the admin)."""
    now = local_now(ports.clock, settings)
    if now.hour < 18:
        return []
    key = move_key(si.PREFIX, "digest", now.date().isoformat())
    to = settings.staff_channel or settings.admin
    row = {"thread_id": REPORTS_ID, "key": key, "kind": "digest", "recipient": to}
    slot = Slot(STORAGE.sends.name, REPORTS_ID, key, row)

    def compose() -> tuple[str, str]:
        dead = queue_of(ports).dead_letters()
        return f"Inbox: {now:%A %d %B}", digest_text(all_threads(ports.tables), now, dead)

    delivery = engine.report_once(ports, slot, to, compose, now, "digest")
    return [delivery] if delivery is not None else []


def digest_text(threads: list[si.Thread], now: datetime, dead: int) -> str:
    today = now.date()
    came = [m for t in threads for m in _today(t, now, "in")]
    answered = [t for t in threads if _today(t, now, "out")]
    open_ = [t for t in threads if t.status == "open"]
    breached = [t for t in open_ if t.sla_due is not None and t.sla_due <= now]
    queued = sum(1 for t in open_ if t.queued)
    lines = [
        f"Messages in on {today:%d %B}: {len(came)}",
        f"Threads answered: {len(answered)}",
        f"Still open: {len(open_)} ({queued} waiting in a team's queue)",
        f"Past their target: {len(breached)}",
    ]
    if dead:
        lines.append(f"Messages that could not be processed (in the dead-letter queue): {dead}")
    rows = [(t.thread_id, t.team, t.assignee or "(queued)", t.label.topic) for t in breached]
    return "\n".join([*lines, "", text_table(("thread", "team", "assignee", "topic"), rows)])


def _today(thread: si.Thread, now: datetime, direction: str) -> list[si.Said]:
    return [m for m in thread.messages if m.direction == direction and _on(m.at, now) == now.date()]


def _on(at: datetime, now: datetime) -> date:
    return at.astimezone(now.tzinfo).date()
