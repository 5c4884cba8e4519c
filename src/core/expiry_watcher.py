"""The document expiry watcher's decisions: what a tick sends, and what an owner's answer changes.

Everything here is a pure function of the registry rows, the stored state, the rules and `now`.
A *chain* is the life of one item at one expiry date (`{item_id}@{expires_on}`); renewing the item
or editing its date starts a new chain and archives the old one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

from attrs import frozen

from backoffice.core.digest import text_table
from backoffice.core.documents import DocumentError, load_toml
from backoffice.core.keys import move_key
from backoffice.core.problems import Problem
from backoffice.core.settings import line_of
from backoffice.core.sheet import (
    RawRow,
    RowReport,
    Table,
    is_email,
    is_slack_user,
    parse_date,
    parse_int,
    parse_table,
)
from backoffice.core.templates import check, render

SYSTEM = "expiry-watcher"
PREFIX = "ew"
SHEET_FILE = "registry.csv"
RULES_FILE = "rules.toml"
VOICE_FILE = "voice.toml"
REQUIRED_COLUMNS = ("item_id", "name", "expires_on", "owner")
OPTIONAL_COLUMNS = (
    "category",
    "notice_days",
    "first_alert_days",
    "escalate_to",
    "link",
    "notes",
)

COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)

MoveKind = Literal["first_alert", "reminder", "escalate"]
OWNER_MOVES = ("first_alert", "reminder")
ActionKind = Literal["renew", "snooze", "ack_only"]
ACTIONS: tuple[ActionKind, ...] = ("renew", "snooze", "ack_only")


# --- the sheet ---------------------------------------------------------------------------------


@frozen
class Item:
    item_id: str
    name: str
    expires_on: date
    owner: str
    line: int
    category: str = "default"
    notice_days: int = 0
    first_alert_days: int | None = None
    escalate_to: str | None = None
    link: str = ""
    notes: str = ""

    @property
    def act_by(self) -> date:
        return self.expires_on - timedelta(days=self.notice_days)

    @property
    def chain_id(self) -> str:
        return chain_id(self.item_id, self.expires_on)


def chain_id(item_id: str, expires_on: date) -> str:
    return f"{item_id}@{expires_on.isoformat()}"


def parse_rows(table: Table, *, dayfirst: bool, admin: str) -> tuple[list[Item], list[Problem]]:
    """Turn the registry into items; every bad row becomes a problem and the others still run."""
    return parse_table(
        table,
        REQUIRED_COLUMNS,
        "item_id",
        lambda row, report: _parse_row(row, report, dayfirst, admin),
    )


def _parse_row(row: RawRow, problem: RowReport, dayfirst: bool, admin: str) -> Item | None:
    values = row.values
    item_id = values["item_id"]
    try:
        expires_on = parse_date(values.get("expires_on", ""), dayfirst=dayfirst)
    except ValueError as error:
        problem("expires_on", f"{error}; this row is skipped")
        return None
    owner = values.get("owner", "")
    if not owner:
        problem("owner", f"missing owner; alerts go to the admin ({admin})")
        owner = admin
    elif not _is_recipient(owner):
        problem(
            "owner",
            "owner must be an email address or a Slack member id like "
            f"U012AB3CD; alerts go to the admin ({admin})",
        )
        owner = admin
    numbers: dict[str, int | None] = {}
    for column in ("notice_days", "first_alert_days"):
        try:
            numbers[column] = parse_int(values[column]) if values.get(column) else None
        except ValueError:
            problem(column, f"{column} must be a whole number of days; ignored")
            numbers[column] = None
    escalate_to = values.get("escalate_to", "") or None
    if escalate_to and not _is_recipient(escalate_to):
        problem(
            "escalate_to",
            "escalate_to must be an email address or a Slack member id; "
            "the chain's escalation target is used",
        )
        escalate_to = None
    if not values.get("name"):
        problem("name", "missing name; the item_id is used instead")
    item = Item(
        item_id=item_id,
        name=values.get("name") or item_id,
        expires_on=expires_on,
        owner=owner,
        line=row.line,
        category=values.get("category") or "default",
        notice_days=numbers["notice_days"] or 0,
        first_alert_days=numbers["first_alert_days"],
        escalate_to=escalate_to,
        link=values.get("link", ""),
        notes=values.get("notes", ""),
    )
    return item


def _is_recipient(value: str) -> bool:
    return is_email(value) or is_slack_user(value)


# --- the rules doc -----------------------------------------------------------------------------


@frozen
class ChainRules:
    first_alert_days: int
    reminder_every_days: int
    max_reminders: int
    escalate_days: int
    escalate_to: str


@frozen
class Rules:
    chains: Mapping[str, ChainRules]

    def chain_for(self, category: str) -> ChainRules:
        return self.chains.get(category, self.chains["default"])


_CHAIN_NUMBERS = ("first_alert_days", "reminder_every_days", "max_reminders", "escalate_days")
_CHAIN_KEYS = (*_CHAIN_NUMBERS, "escalate_to")


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    doc = load_toml(text, file)
    chains = doc.get("chains")
    if not isinstance(chains, Mapping) or "default" not in chains:
        raise DocumentError(file, None, "expected a [chains.default] section")
    unknown_top = sorted(set(doc) - {"chains"})
    if unknown_top:
        raise DocumentError(
            file,
            line_of(text, unknown_top[0]) or _section_line(text, unknown_top[0]),
            f"unknown section {unknown_top[0]!r}; expected [chains.<name>]",
        )
    defaults: dict[str, Any] = {"max_reminders": 6}
    parsed: dict[str, ChainRules] = {}
    for name in ["default", *sorted(set(chains) - {"default"})]:
        values = chains[name]
        where = f"[chains.{name}]"
        if not isinstance(values, Mapping):
            raise DocumentError(file, None, f"{where} must be a section of keys")
        for key, value in values.items():
            line = line_of(text, key) if name == "default" else _key_line(text, name, key)
            if key not in _CHAIN_KEYS:
                raise DocumentError(
                    file,
                    line,
                    f"unknown key {key!r} in {where}; expected one of {', '.join(_CHAIN_KEYS)}",
                )
            if key in _CHAIN_NUMBERS and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise DocumentError(
                    file, line, f"{key} in {where} must be a whole number >= 0, got {value!r}"
                )
            if key == "escalate_to" and not (isinstance(value, str) and _is_recipient(value)):
                raise DocumentError(
                    file,
                    line,
                    f"escalate_to in {where} must be an email address "
                    f"or a Slack member id, got {value!r}",
                )
        merged = {**defaults, **values}
        missing = [key for key in _CHAIN_KEYS if key not in merged]
        if missing:
            raise DocumentError(
                file,
                _section_line(text, f"chains.{name}"),
                f"{where} is missing {', '.join(missing)}",
            )
        if merged["reminder_every_days"] < 1:
            raise DocumentError(
                file,
                _key_line(text, name, "reminder_every_days"),
                f"reminder_every_days in {where} must be at least 1",
            )
        parsed[name] = ChainRules(**{key: merged[key] for key in _CHAIN_KEYS})
        if name == "default":
            defaults = dict(merged)
    return Rules(chains=parsed)


def _section_line(text: str, section: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().replace(" ", "") == f"[{section}]":
            return number
    return None


def _key_line(text: str, chain: str, key: str) -> int | None:
    start = _section_line(text, f"chains.{chain}")
    if start is None:
        return None
    offset = line_of("\n".join(text.splitlines()[start:]), key)
    return None if offset is None else start + offset


# --- the voice doc -----------------------------------------------------------------------------

MESSAGE_FIELDS = (
    "item_id",
    "item_name",
    "expires_on",
    "act_by",
    "days_left",
    "when",
    "owner",
    "category",
    "link",
    "notes",
    "reminder_number",
    "overdue",
    "escalate_to",
)
VOICE_SECTIONS = ("first_alert", "reminder", "escalate")


@frozen
class Template:
    subject: str
    body: str


@frozen
class Voice:
    templates: Mapping[str, Template]


def load_voice(text: str, file: str = VOICE_FILE) -> Voice:
    doc = load_toml(text, file)
    templates: dict[str, Template] = {}
    for section in VOICE_SECTIONS:
        values = doc.get(section)
        if not isinstance(values, Mapping):
            raise DocumentError(file, None, f"expected a [{section}] section with subject and body")
        parts: dict[str, str] = {}
        for key in ("subject", "body"):
            value = values.get(key)
            if not isinstance(value, str) or not value.strip():
                raise DocumentError(
                    file, _section_line(text, section), f"[{section}] needs a {key} in quotes"
                )
            errors = check(value, MESSAGE_FIELDS)
            if errors:
                line = _voice_line(text, section, key)
                raise DocumentError(file, line, f"[{section}] {key}: {errors[0]}")
            parts[key] = value
        templates[section] = Template(**parts)
    return Voice(templates=templates)


def _voice_line(text: str, section: str, key: str) -> int | None:
    start = _section_line(text, section)
    if start is None:
        return None
    offset = line_of("\n".join(text.splitlines()[start:]), key)
    return None if offset is None else start + offset


# --- state -------------------------------------------------------------------------------------


@frozen
class Ping:
    """One move of a chain as stored: claimed (`sending`), delivered (`sent`) or given up on."""

    item_id: str
    chain_id: str
    move: MoveKind
    number: int
    key: str
    status: str
    sent_on: date | None


@frozen
class Ack:
    item_id: str
    chain_id: str
    action: ActionKind
    on: date
    snooze_until: date | None = None
    new_expiry: date | None = None


@frozen
class State:
    pings: Mapping[str, tuple[Ping, ...]]
    acks: Mapping[str, tuple[Ack, ...]]
    archived: frozenset[str]

    @classmethod
    def of(cls, pings: Iterable[Ping], acks: Iterable[Ack], archived: Iterable[str] = ()) -> State:
        by_chain: dict[str, list[Ping]] = defaultdict(list)
        for ping in pings:
            by_chain[ping.chain_id].append(ping)
        acks_by_chain: dict[str, list[Ack]] = defaultdict(list)
        for ack in acks:
            acks_by_chain[ack.chain_id].append(ack)
        return cls(
            pings={chain: tuple(group) for chain, group in by_chain.items()},
            acks={
                chain: tuple(sorted(group, key=lambda a: a.on))
                for chain, group in acks_by_chain.items()
            },
            archived=frozenset(archived),
        )


@frozen
class ChainStatus:
    alerted: bool
    last_owner_message: date | None
    reminders_sent: int
    escalated: bool
    acknowledged: bool
    snoozed_until: date | None
    renewed_to: date | None
    archived: bool


_UNTOUCHED = ChainStatus(
    alerted=False,
    last_owner_message=None,
    reminders_sent=0,
    escalated=False,
    acknowledged=False,
    snoozed_until=None,
    renewed_to=None,
    archived=False,
)


def chain_status(state: State, chain: str) -> ChainStatus:
    if chain not in state.pings and chain not in state.acks and chain not in state.archived:
        return _UNTOUCHED  # most items, most days: nothing was ever sent or answered
    sent = [p for p in state.pings.get(chain, ()) if p.status == "sent"]
    owner_dates = [p.sent_on for p in sent if p.move in OWNER_MOVES and p.sent_on]
    acks = state.acks.get(chain, ())
    snoozes = [a.snooze_until for a in acks if a.action == "snooze" and a.snooze_until]
    renewals = [a.new_expiry for a in acks if a.action == "renew" and a.new_expiry]
    return ChainStatus(
        alerted=any(p.move == "first_alert" for p in sent),
        last_owner_message=max(owner_dates, default=None),
        reminders_sent=sum(1 for p in sent if p.move == "reminder"),
        escalated=any(p.move == "escalate" for p in sent),
        acknowledged=any(a.action == "ack_only" for a in acks),
        snoozed_until=snoozes[-1] if snoozes else None,
        renewed_to=renewals[-1] if renewals else None,
        archived=chain in state.archived or bool(renewals),
    )


# --- the tick ----------------------------------------------------------------------------------


@frozen
class Move:
    key: str
    move: MoveKind
    item_id: str
    chain_id: str
    to: str
    number: int
    line: int
    fields: Mapping[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "move": self.move,
            "item_id": self.item_id,
            "chain_id": self.chain_id,
            "to": self.to,
            "number": self.number,
            "line": self.line,
            "fields": dict(self.fields),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Move:
        move = data["move"]
        if move not in (*OWNER_MOVES, "escalate"):
            raise ValueError(f"unknown move {move!r}")
        return cls(
            key=str(data["key"]),
            move=move,
            item_id=str(data["item_id"]),
            chain_id=str(data["chain_id"]),
            to=str(data["to"]),
            number=int(data["number"]),
            line=int(data["line"]),
            fields={str(k): str(v) for k, v in dict(data["fields"]).items()},
        )


@frozen
class TickPlan:
    moves: tuple[Move, ...]
    problems: tuple[Problem, ...]
    archive: tuple[str, ...]


def plan_tick(items: Sequence[Item], state: State, rules: Rules, now: datetime) -> TickPlan:
    """The moves one tick makes. `now` is aware and in the system's timezone: its date is D."""
    if now.tzinfo is None:
        raise ValueError("plan_tick needs an aware datetime in the system's timezone")
    today = now.date()
    moves: list[Move] = []
    problems: list[Problem] = []
    current = {item.item_id: item.chain_id for item in items}
    for item in items:
        status = chain_status(state, item.chain_id)
        if status.archived:
            problems.append(_archived_problem(item, status))
            continue
        moves.extend(item_moves(item, status, rules.chain_for(item.category), today))
    archive = sorted(
        chain
        for chain, pings in state.pings.items()
        if pings and pings[0].item_id in current and current[pings[0].item_id] != chain
    )
    return TickPlan(moves=tuple(moves), problems=tuple(problems), archive=tuple(archive))


def item_moves(item: Item, status: ChainStatus, chain: ChainRules, today: date) -> list[Move]:
    """At most one owner move and one escalation for one item's current chain on `today`."""
    days = (item.act_by - today).days
    moves: list[Move] = []
    first_alert_days = (
        chain.first_alert_days if item.first_alert_days is None else item.first_alert_days
    )
    if owner_may_hear(status, today):
        owner_move = _owner_move(status, chain, first_alert_days, days, today)
        if owner_move is not None:
            moves.append(move_for(item, owner_move[0], owner_move[1], item.owner, days))
    if not status.escalated and days <= chain.escalate_days:
        moves.append(move_for(item, "escalate", 0, item.escalate_to or chain.escalate_to, days))
    return moves


def _owner_move(
    status: ChainStatus, chain: ChainRules, first_alert_days: int, days: int, today: date
) -> tuple[MoveKind, int] | None:
    if not status.alerted:
        return ("first_alert", 0) if days <= first_alert_days else None
    if status.reminders_sent >= chain.max_reminders:
        return None
    last = status.last_owner_message
    if last is None or (today - last).days >= chain.reminder_every_days:
        return ("reminder", status.reminders_sent + 1)
    return None


def owner_may_hear(status: ChainStatus, today: date) -> bool:
    """Ack-only and a running snooze silence the owner; escalation is not silenced."""
    snoozed = status.snoozed_until is not None and today < status.snoozed_until
    return not (status.acknowledged or snoozed or status.archived)


def still_due(move: Move, state: State, today: date) -> bool:
    """Whether a planned move should still go out when dispatch finally delivers it."""
    status = chain_status(state, move.chain_id)
    if status.archived:
        return False
    if move.move == "escalate":
        return not status.escalated
    if not owner_may_hear(status, today):
        return False
    if move.move == "first_alert":
        return not status.alerted
    return status.reminders_sent == move.number - 1


def move_for(item: Item, kind: MoveKind, number: int, to: str, days: int) -> Move:
    position: tuple[str | int, ...] = (kind, number) if kind == "reminder" else (kind,)
    return Move(
        key=move_key(PREFIX, item.item_id, item.expires_on.isoformat(), *position),
        move=kind,
        item_id=item.item_id,
        chain_id=item.chain_id,
        to=to,
        number=number,
        line=item.line,
        fields=message_fields(item, days, number, to),
    )


def message_fields(item: Item, days: int, number: int, escalate_to: str) -> dict[str, str]:
    return {
        "item_id": item.item_id,
        "item_name": item.name,
        "expires_on": item.expires_on.isoformat(),
        "act_by": item.act_by.isoformat(),
        "days_left": str(days),
        "when": when_phrase(days),
        "owner": item.owner,
        "category": item.category,
        "link": item.link,
        "notes": item.notes,
        "reminder_number": str(number),
        "overdue": "OVERDUE: " if days < 0 else "",
        "escalate_to": escalate_to,
    }


def when_phrase(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days > 1:
        return f"in {days} days"
    return "yesterday" if days == -1 else f"{-days} days ago"


def _archived_problem(item: Item, status: ChainStatus) -> Problem:
    if status.renewed_to:
        message = (
            f"this date was already renewed to {status.renewed_to.isoformat()}; "
            "no alerts are sent for it until the sheet shows the new date"
        )
    else:
        message = (
            "alerts for this date already ran and were archived when the date changed; "
            "enter the real expiry date to start alerts again"
        )
    return Problem(SHEET_FILE, item.line, "expires_on", item.expires_on.isoformat(), message)


# --- composing a message -----------------------------------------------------------------------


@frozen
class Composed:
    subject: str
    text: str
    actions: tuple[ActionKind, ...]


def compose(move: Move, voice: Voice) -> Composed:
    template = voice.templates[move.move]
    return Composed(
        subject=render(template.subject, move.fields).strip(),
        text=render(template.body, move.fields).strip(),
        actions=ACTIONS,
    )


# --- owner actions -----------------------------------------------------------------------------


@frozen
class Action:
    kind: ActionKind
    item_id: str
    chain_id: str
    by_user: str
    request_id: str
    new_expires_on: date | None = None
    snooze_until: date | None = None


@frozen
class AuditEntry:
    item_id: str
    ts: str
    action: str
    by_user: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    outcome: str


@frozen
class SheetWrite:
    row_id: str
    column: str
    value: str


@frozen
class Transition:
    accepted: bool
    message: str
    audit: AuditEntry
    ack: Ack | None = None
    sheet_write: SheetWrite | None = None
    archive: str | None = None


def apply_action(state: State, item: Item | None, action: Action, now: datetime) -> Transition:
    """What an owner's answer changes. A rejected answer changes nothing but the audit trail."""
    today = now.date()
    if item is None:
        return reject(action, now, f"There is no item {action.item_id!r} in the registry any more.")
    status = chain_status(state, action.chain_id)
    if _repeated_renewal(item, action, status):
        return _finish_renewal(item, action, status, now)
    if action.chain_id != item.chain_id or status.archived:
        return reject(
            action,
            now,
            f"{item.name} has moved on since this message: it now expires on "
            f"{item.expires_on.isoformat()}. Nothing was changed.",
        )
    before = _snapshot(item, status)
    match action.kind:
        case "renew":
            new = action.new_expires_on
            if new is None or new <= item.expires_on:
                return reject(
                    action, now, f"The new expiry date must be after {item.expires_on.isoformat()}."
                )
            ack = Ack(item.item_id, item.chain_id, "renew", today, new_expiry=new)
            after = {**before, "expires_on": new.isoformat(), "renewed": True}
            return Transition(
                accepted=True,
                message=f"{item.name} is renewed to {new.isoformat()}. Reminders for the old date "
                "have stopped.",
                audit=_audit(action, now, before, after, "accepted"),
                ack=ack,
                sheet_write=SheetWrite(item.item_id, "expires_on", new.isoformat()),
                archive=item.chain_id,
            )
        case "snooze":
            until = action.snooze_until
            if until is None or not today < until <= item.act_by:
                return reject(
                    action,
                    now,
                    f"Snooze until a date after {today.isoformat()} and no "
                    f"later than the act-by date {item.act_by.isoformat()}.",
                )
            ack = Ack(item.item_id, item.chain_id, "snooze", today, snooze_until=until)
            after = {**before, "snoozed_until": until.isoformat()}
            return Transition(
                accepted=True,
                message=f"Reminders for {item.name} are paused until {until.isoformat()}.",
                audit=_audit(action, now, before, after, "accepted"),
                ack=ack,
            )
        case "ack_only":
            ack = Ack(item.item_id, item.chain_id, "ack_only", today)
            after = {**before, "acknowledged": True}
            return Transition(
                accepted=True,
                message=f"Thanks: no more reminders for {item.name}. If it is still not renewed "
                "close to the date, the escalation contact will hear about it.",
                audit=_audit(action, now, before, after, "accepted"),
                ack=ack,
            )
    raise ValueError(f"unknown action {action.kind!r}")


def _repeated_renewal(item: Item, action: Action, status: ChainStatus) -> bool:
    """The same renewal again, after the sheet already shows its date: a second try after a
    first one that failed part-way, or the same answer from another of the chain's links."""
    return (
        action.kind == "renew"
        and action.new_expires_on == item.expires_on
        and action.chain_id != item.chain_id
        and status.renewed_to in (None, item.expires_on)
    )


def _finish_renewal(item: Item, action: Action, status: ChainStatus, now: datetime) -> Transition:
    """Record what the first try did not: the ack and the closed old chain (the sheet needs no
    second write). When it was all recorded, only this answer's audit row is added."""
    new = item.expires_on
    before = {"chain_id": action.chain_id, "expires_on": action.chain_id.rpartition("@")[2]}
    after = {**before, "expires_on": new.isoformat(), "renewed": True}
    unrecorded = status.renewed_to is None
    return Transition(
        accepted=True,
        message=f"{item.name} is renewed to {new.isoformat()}. Reminders for the old date "
        "have stopped.",
        audit=_audit(action, now, before, after, "accepted"),
        ack=Ack(item.item_id, action.chain_id, "renew", now.date(), new_expiry=new)
        if unrecorded
        else None,
        archive=action.chain_id if unrecorded else None,
    )


def reject(action: Action, now: datetime, message: str) -> Transition:
    """A refused answer: one audit row saying why, no other change."""
    return Transition(
        accepted=False,
        message=message,
        audit=_audit(action, now, {}, {"reason": message}, "rejected"),
    )


def _snapshot(item: Item, status: ChainStatus) -> dict[str, Any]:
    return {
        "chain_id": item.chain_id,
        "expires_on": item.expires_on.isoformat(),
        "acknowledged": status.acknowledged,
        "snoozed_until": status.snoozed_until.isoformat() if status.snoozed_until else None,
    }


def _audit(
    action: Action, now: datetime, before: Mapping[str, Any], after: Mapping[str, Any], outcome: str
) -> AuditEntry:
    return AuditEntry(
        item_id=action.item_id,
        ts=f"{now.isoformat()}#{action.request_id}",
        action=action.kind if outcome == "accepted" else "rejected",
        by_user=action.by_user,
        before=dict(before),
        after={**after, "requested": action.kind},
        outcome=outcome,
    )


# --- the weekly digest -------------------------------------------------------------------------


def compose_digest(
    items: Sequence[Item],
    state: State,
    problems: Sequence[Problem],
    today: date,
    window_days: int,
) -> Composed:
    """Sent last week, due within `window_days`, what could not be delivered, sheet problems."""
    week_ago = today - timedelta(days=7)
    names = {item.item_id: item.name for item in items}
    pings = [ping for chain in state.pings.values() for ping in chain]
    sent = sorted(
        (p for p in pings if p.status == "sent" and p.sent_on and week_ago <= p.sent_on <= today),
        key=lambda p: (p.sent_on or today, p.item_id),
    )
    failed = [p for p in pings if p.status == "failed"]
    horizon = today + timedelta(days=window_days)
    due = sorted(
        (
            item
            for item in items
            if item.act_by <= horizon and not chain_status(state, item.chain_id).archived
        ),
        key=lambda item: (item.act_by, item.item_id),
    )
    sections = [
        f"Sent in the last 7 days ({len(sent)}):",
        text_table(
            ("date", "item", "message"),
            [
                (str(p.sent_on), names.get(p.item_id, p.item_id), p.move.replace("_", " "))
                for p in sent
            ],
        ),
        "",
        f"To act on by {horizon.isoformat()} ({len(due)}):",
        text_table(
            ("act by", "item", "owner", "status"),
            [
                (
                    item.act_by.isoformat(),
                    item.name,
                    item.owner,
                    _digest_status(chain_status(state, item.chain_id), item, today),
                )
                for item in due
            ],
        ),
    ]
    if failed:
        sections += [
            "",
            f"Could not be delivered ({len(failed)}):",
            text_table(
                ("item", "message"), [(names.get(p.item_id, p.item_id), p.move) for p in failed]
            ),
        ]
    sections += [
        "",
        f"Problems in the sheet ({len(problems)}):",
        "\n".join(f"- {problem}" for problem in problems) or "(none)",
    ]
    return Composed(
        subject=f"Expiry watcher: week of {today.isoformat()}",
        text="\n".join(sections),
        actions=(),
    )


def _digest_status(status: ChainStatus, item: Item, today: date) -> str:
    if item.act_by < today:
        label = "OVERDUE"
    elif not status.alerted:
        label = "not alerted yet"
    else:
        label = "alerted"
    if status.acknowledged:
        label += ", owner on it"
    if status.snoozed_until and status.snoozed_until > today:
        label += f", snoozed to {status.snoozed_until.isoformat()}"
    if status.escalated:
        label += ", escalated"
    return label


# --- the monthly summary -----------------------------------------------------------------------

SUMMARY_INSTRUCTIONS = (
    "You write a one-paragraph monthly note for a small business's owners about their contracts, "
    "licences and insurance. Use only the facts given. Plain words, no headings, no lists, at "
    "most 120 words. Name anything overdue or escalated first."
)


def summary_facts(items: Sequence[Item], state: State, month_start: date, month_end: date) -> str:
    """Last month in a plain table: the model's only source, and the fallback when it fails."""
    names = {item.item_id: item.name for item in items}
    pings = sorted(
        (
            p
            for chain in state.pings.values()
            for p in chain
            if p.status == "sent" and p.sent_on and month_start <= p.sent_on <= month_end
        ),
        key=lambda p: (p.sent_on or month_start, p.item_id),
    )
    acks = sorted(
        (a for chain in state.acks.values() for a in chain if month_start <= a.on <= month_end),
        key=lambda a: (a.on, a.item_id),
    )
    sent = text_table(
        ("date", "item", "message"),
        [
            (str(p.sent_on), names.get(p.item_id, p.item_id), p.move.replace("_", " "))
            for p in pings
        ],
    )
    answered = text_table(
        ("date", "item", "answer"),
        [
            (
                str(a.on),
                names.get(a.item_id, a.item_id),
                a.action
                + (f" to {a.new_expiry}" if a.new_expiry else "")
                + (f" until {a.snooze_until}" if a.snooze_until else ""),
            )
            for a in acks
        ],
    )
    return (
        f"Messages sent {month_start} to {month_end} ({len(pings)}):\n{sent}\n\n"
        f"Answers from owners ({len(acks)}):\n{answered}"
    )
