"""The words every system decides in: a plan of moves (and the problems found on the way), and
an action with the transition it causes.

Each system keeps its own rules and decisions; these shapes are common, so the engine, the CLI
and the handlers can run any of them the same way:

- `plan_tick(rows, state, rules, now) -> Plan`
- `apply_action(state, action, now) -> Transition`
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from attrs import field, frozen

from backoffice.core.problems import Problem

R = TypeVar("R")


@frozen
class Move:
    """One message a tick decided to send. `key` is its idempotency key: two ticks that see the
    same state build the same key, so it is delivered at most once."""

    key: str
    kind: str  # which move of the system: "first_alert", "second_reminder", "nudge", ...
    subject: str  # the row's id (item_id, appt_id, customer_id, post_id)
    chain: str  # the life of the row the move belongs to; archived chains get nothing more
    to: tuple[str, ...]  # recipients, in order of preference
    line: int  # the row's line in the sheet
    number: int = 0  # position among moves of its kind (reminder 2)
    deadline: datetime | None = None  # it may not go out at or after this instant
    zone: str = ""  # whose quiet hours apply, when not the business's
    skips: tuple[str, ...] = ()  # earlier moves it overtook (recorded as skipped)
    fields: Mapping[str, str] = field(factory=dict)  # what the voice's placeholders stand for

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "subject": self.subject,
            "chain": self.chain,
            "to": list(self.to),
            "line": self.line,
            "number": self.number,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "zone": self.zone,
            "skips": list(self.skips),
            "fields": dict(self.fields),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], kinds: Collection[str]) -> Move:
        """A move back from the bus or a one-off; a kind the system does not know is refused."""
        if "kind" not in data:
            data = _before_the_shared_shape(data)
        kind = str(data["kind"])
        if kind not in kinds:
            raise ValueError(f"unknown move {kind!r}; expected one of {', '.join(kinds)}")
        deadline = data.get("deadline")
        return cls(
            key=str(data["key"]),
            kind=kind,
            subject=str(data["subject"]),
            chain=str(data["chain"]),
            to=tuple(str(t) for t in data["to"]),
            line=int(data["line"]),
            number=int(data.get("number", 0)),
            deadline=datetime.fromisoformat(deadline) if deadline else None,
            zone=str(data.get("zone") or ""),
            skips=tuple(str(s) for s in data.get("skips", ())),
            fields={str(k): str(v) for k, v in dict(data.get("fields") or {}).items()},
        )


def _before_the_shared_shape(data: Mapping[str, Any]) -> dict[str, Any]:
    """Moves booked as one-offs before every system spoke this vocabulary still arrive for a
    while after an upgrade (an expiry watcher's `move`/`item_id`, an appointment's
    `window`/`appt_id`/`starts_at`); they are read, not lost."""
    to = data.get("to", ())
    return {
        **data,
        "kind": data.get("move") or data.get("window"),
        "subject": data.get("item_id") or data.get("appt_id"),
        "chain": data.get("chain_id"),
        "to": [to] if isinstance(to, str) else to,
        "deadline": data.get("starts_at"),
    }


@frozen
class Plan:
    """What one tick decided: the moves, the problems found in the rows, the chains to close."""

    moves: tuple[Move, ...] = ()
    problems: tuple[Problem, ...] = ()
    archive: tuple[str, ...] = ()


@frozen
class Action:
    """A person's answer: what they chose (`kind`), about which row and chain, who they are, and
    what they entered (a date, a time, a note, whom to hand over to) as they entered it."""

    kind: str
    subject: str
    chain: str
    by: str
    request_id: str
    value: str = ""
    detail: str = ""  # what within the chain the answer is about (an onboarding step)


@frozen
class AuditEntry:
    """Who did what, when, and the row before and after."""

    subject: str
    at: datetime
    request_id: str
    action: str  # the action taken, or "rejected"
    by: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    outcome: str  # "accepted" | "rejected"

    @property
    def ts(self) -> str:
        """The sort key of the audit row: the instant, then the request it answered."""
        return f"{self.at.isoformat()}#{self.request_id}"


@frozen
class SheetWrite:
    """One cell of the owner's sheet, written RAW."""

    row_id: str
    column: str
    value: str


@frozen
class Booking:
    """A one-off to book: `payload` is handed to the system's dispatch at `at`."""

    name: str
    at: datetime
    payload: Mapping[str, Any]


@frozen
class Notice:
    """A message to a person sent at once because of an answer (a freed slot, say), once per key."""

    to: str
    text: str
    key: str


@frozen
class Transition(Generic[R]):
    """What an action changes: the answer as recorded (`record`, the state after) and the
    effects to apply. A rejected action changes nothing but the audit trail."""

    accepted: bool
    message: str  # what the person is told
    audit: AuditEntry
    record: R | None = None
    sheet_writes: tuple[SheetWrite, ...] = ()
    archive: tuple[str, ...] = ()
    book: tuple[Booking, ...] = ()
    cancel: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()


def audit_entry(
    action: Action,
    now: datetime,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    accepted: bool,
) -> AuditEntry:
    return AuditEntry(
        subject=action.subject,
        at=now,
        request_id=action.request_id,
        action=action.kind if accepted else "rejected",
        by=action.by,
        before=dict(before),
        after={**after, "requested": action.kind},
        outcome="accepted" if accepted else "rejected",
    )


def rejected(
    action: Action, now: datetime, message: str, before: Mapping[str, Any] | None = None
) -> Transition[Any]:
    """A refused answer: one audit row saying why, no other change."""
    audit = audit_entry(action, now, before or {}, {"reason": message}, accepted=False)
    return Transition(accepted=False, message=message, audit=audit)
