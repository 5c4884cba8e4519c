"""What the social inbox reads and keeps: the rules and the roster; the threads (and each
customer's current one), the assignments, the teammates' load counters, the teams' turns and
the dedupe marks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from attrs import frozen

from backoffice.core import social_inbox as si
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import read_sheet
from backoffice.ports import Absent, AnyOf, Blobs, Equals, Tables, TableSchema, Write
from backoffice.services.documents import bytes_of, text_of
from backoffice.services.system import Storage

THREADS = TableSchema("siu-threads", "thread_id", "kind")  # threads, and customers' pointers
ASSIGNMENTS = TableSchema("siu-assignments", "thread_id", "assigned_at")
LOADS = TableSchema("siu-loadcount", "assignee", "kind")
TURNS = TableSchema("siu-turns", "team", "kind")  # who the team gave its last thread to
DEDUPE = TableSchema("siu-dedupe", "key", "kind")
SESSIONS = TableSchema("siu-sessions", "session_id", "kind")  # the inbox's, and spent sign-ins
STORAGE = Storage.standard(
    si.PREFIX,
    "thread_id",
    "siu-notices",
    "key",
    THREADS,
    ASSIGNMENTS,
    LOADS,
    TURNS,
    DEDUPE,
    SESSIONS,
)
AUDIT = STORAGE.audit
THREAD, CURRENT, LOAD, TURN, SEEN = "thread", "current", "load", "turn", "seen"


@frozen
class Documents:
    rules: si.Rules
    roster: tuple[si.Teammate, ...]
    problems: tuple[Problem, ...]

    def teammate(self, assignee: str) -> si.Teammate | None:
        return next((m for m in self.roster if m.assignee == assignee), None)


def load_documents(blobs: Blobs, settings: Settings) -> Documents:
    """A broken rules doc stops everything with its file and line; a bad roster row is only a
    problem (that teammate gets no threads)."""
    return parsed_documents(
        bytes_of(blobs, si.SHEET_FILE), text_of(blobs, si.RULES_FILE), settings.timezone
    )


@lru_cache(maxsize=2)
def parsed_documents(roster: bytes, rules_text: str, timezone: str) -> Documents:
    rules = si.load_rules(rules_text)
    table, problems = read_sheet(roster, si.SHEET_FILE)
    mates, row_problems = si.parse_roster(table, timezone)
    unknown = si.unknown_teams(mates, rules.teams)
    return Documents(rules, tuple(mates), (*problems, *row_problems, *unknown))


# --- threads ---------------------------------------------------------------------------------


def thread_row(thread: si.Thread) -> dict[str, Any]:
    label = thread.label
    return {
        "thread_id": thread.thread_id,
        "kind": THREAD,
        "platform": thread.platform,
        "customer_id": thread.customer_id,
        "status": thread.status,
        "topic": label.topic,
        "urgency": label.urgency,
        "language": label.language,
        "summary": label.summary,
        "label_source": label.source,
        "team": thread.team,
        "assignee": thread.assignee,
        "sla_due": thread.sla_due.isoformat() if thread.sla_due else None,
        "opened_at": thread.opened_at.isoformat(),
        "messages": [m.as_json() for m in thread.messages],
        "version": thread.version,
        "business_id": thread.business_id,
    }


def thread_from_row(row: Mapping[str, Any]) -> si.Thread:
    due = row.get("sla_due")
    return si.Thread(
        thread_id=row["thread_id"],
        platform=row["platform"],
        customer_id=row["customer_id"],
        status=row["status"],
        label=si.Label(
            row["topic"], row["urgency"], row["language"], row["summary"], row["label_source"]
        ),
        team=row["team"],
        messages=tuple(si.Said.from_json(m) for m in row["messages"]),
        opened_at=datetime.fromisoformat(row["opened_at"]),
        assignee=row.get("assignee"),
        sla_due=datetime.fromisoformat(due) if due else None,
        version=int(row.get("version") or 0),
        business_id=str(row.get("business_id") or ""),
    )


def get_thread(tables: Tables, thread_id: str) -> si.Thread | None:
    row = tables.get(THREADS.name, thread_id, THREAD)
    return thread_from_row(row) if row else None


def current_thread(tables: Tables, platform: str, customer_id: str) -> si.Thread | None:
    """The customer's latest thread on the platform (open or closed), through their pointer."""
    pointer = tables.get(THREADS.name, pointer_key(platform, customer_id), CURRENT)
    return get_thread(tables, pointer["current"]) if pointer else None


def pointer_key(platform: str, customer_id: str) -> str:
    return f"customer:{si.customer_key(platform, customer_id)}"


def all_threads(tables: Tables) -> list[si.Thread]:
    rows = tables.scan(THREADS.name)
    return [thread_from_row(row) for row in rows if row.get("kind") == THREAD]


def thread_write(before: si.Thread | None, after: si.Thread) -> Write:
    """The thread written over the version it was decided on (or as new)."""
    condition = Equals("version", before.version) if before else Absent()
    return Write(THREADS.name, {**thread_row(after), "version": after.version}, condition)


def pointer_write(thread: si.Thread) -> Write:
    item = {
        "thread_id": pointer_key(thread.platform, thread.customer_id),
        "kind": CURRENT,
        "current": thread.thread_id,
    }
    return Write(THREADS.name, item)


# --- loads and turns -----------------------------------------------------------------------


def loads(tables: Tables) -> dict[str, int]:
    return {row["assignee"]: int(row.get("open_threads") or 0) for row in tables.scan(LOADS.name)}


def load_write(assignee: str, before: int, change: int) -> Write:
    """The counter moved by `change` over the value it was read at: the assignment and the
    count commit together or not at all."""
    item = {"assignee": assignee, "kind": LOAD, "open_threads": before + change}
    zero = AnyOf((Absent(), Equals("open_threads", 0)))
    return Write(LOADS.name, item, Equals("open_threads", before) if before else zero)


def last_turn(tables: Tables, team: str) -> str | None:
    row = tables.get(TURNS.name, team, TURN)
    return str(row["assignee"]) if row else None


def turn_write(team: str, assignee: str) -> Write:
    return Write(TURNS.name, {"team": team, "kind": TURN, "assignee": assignee})
