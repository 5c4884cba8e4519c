"""The daily tick: which alerts, reminders and escalations go out, from the rows and the state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Literal

from attrs import frozen

from backoffice.core.expiry_watcher.documents import ChainRules, Rules
from backoffice.core.expiry_watcher.sheet import PREFIX, SHEET_FILE, Item
from backoffice.core.keys import move_key
from backoffice.core.problems import Problem
from backoffice.core.vocabulary import Move, Plan
from backoffice.core.voice import Voice

MoveKind = Literal["first_alert", "reminder", "escalate"]
MOVES: tuple[MoveKind, ...] = ("first_alert", "reminder", "escalate")
OWNER_MOVES = ("first_alert", "reminder")
ActionKind = Literal["renew", "snooze", "ack_only"]
ACTIONS: tuple[ActionKind, ...] = ("renew", "snooze", "ack_only")


# --- state -------------------------------------------------------------------------------------


@frozen
class Ping:
    """One move of a chain as stored: claimed (`sending`), delivered (`sent`) or given up on."""

    item_id: str
    chain_id: str
    kind: str
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
    owner_dates = [p.sent_on for p in sent if p.kind in OWNER_MOVES and p.sent_on]
    acks = state.acks.get(chain, ())
    snoozes = [a.snooze_until for a in acks if a.action == "snooze" and a.snooze_until]
    renewals = [a.new_expiry for a in acks if a.action == "renew" and a.new_expiry]
    return ChainStatus(
        alerted=any(p.kind == "first_alert" for p in sent),
        last_owner_message=max(owner_dates, default=None),
        reminders_sent=sum(1 for p in sent if p.kind == "reminder"),
        escalated=any(p.kind == "escalate" for p in sent),
        acknowledged=any(a.action == "ack_only" for a in acks),
        snoozed_until=snoozes[-1] if snoozes else None,
        renewed_to=renewals[-1] if renewals else None,
        archived=chain in state.archived or bool(renewals),
    )


# --- the tick ----------------------------------------------------------------------------------


def plan_tick(items: Sequence[Item], state: State, rules: Rules, now: datetime) -> Plan:
    """The moves one tick makes. `now` is aware and in the system's timezone: its date is D."""
    if now.tzinfo is None:
        raise ValueError("plan_tick needs an aware datetime in the system's timezone")
    today = now.date()
    moves: list[Move] = []
    problems: list[Problem] = []
    touched, current = _touched(state), dict[str, str]()
    # How far out a row of each category can first hear of anything, unless it sets its own
    # first_alert_days (escalation never starts before the first alert's window).
    reach = {name: max(c.first_alert_days, c.escalate_days) for name, c in rules.chains.items()}
    default, day = reach["default"], today.toordinal()
    for item in items:
        # Most rows, most days: nothing was ever sent or answered for the item, and its act-by
        # date is outside its first-alert and its escalation window. A few comparisons tell.
        if item.item_id not in touched:
            days = item.expires_on.toordinal() - item.notice_days - day
            if item.first_alert_days is None:
                if days > reach.get(item.category, default):
                    continue
            elif days > item.first_alert_days and days > _escalation(rules, item):
                continue
        else:
            current[item.item_id] = item.chain_id
        moves += _moves_or_problem(item, state, rules, today, problems)
    return Plan(tuple(moves), tuple(problems), _superseded(current, state))


def _escalation(rules: Rules, item: Item) -> int:
    return rules.chain_for(item.category).escalate_days


def _moves_or_problem(
    item: Item, state: State, rules: Rules, today: date, problems: list[Problem]
) -> list[Move]:
    status = chain_status(state, item.chain_id)
    if status.archived:
        problems.append(_archived_problem(item, status))
        return []
    return item_moves(item, status, rules.chain_for(item.category), today)


def _touched(state: State) -> set[str]:
    """The items anything was ever sent, answered or archived for."""
    touched = {ping.item_id for pings in state.pings.values() for ping in pings}
    touched |= {ack.item_id for acks in state.acks.values() for ack in acks}
    return touched | {chain.rsplit("@", 1)[0] for chain in state.archived}


def _superseded(current: Mapping[str, str], state: State) -> tuple[str, ...]:
    """Of the chains pinged, those whose item's current chain (`current`, by item) is another."""
    return tuple(
        sorted(
            chain
            for chain, pings in state.pings.items()
            if pings and pings[0].item_id in current and current[pings[0].item_id] != chain
        )
    )


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
    if (
        last is None
        or (today - last).days >= chain.reminder_every_days
        or _snooze_ended(status, today)
    ):
        return ("reminder", status.reminders_sent + 1)
    return None


def _snooze_ended(status: ChainStatus, today: date) -> bool:
    """A snooze promises a reminder on the date it names: the first day it is over, unless the
    owner heard from us since."""
    until, last = status.snoozed_until, status.last_owner_message
    return until is not None and today >= until and (last is None or last < until)


def owner_may_hear(status: ChainStatus, today: date) -> bool:
    """Ack-only and a running snooze silence the owner; escalation is not silenced."""
    snoozed = status.snoozed_until is not None and today < status.snoozed_until
    return not (status.acknowledged or snoozed or status.archived)


def still_due(move: Move, state: State, today: date) -> bool:
    """Whether a planned move should still go out when dispatch finally delivers it."""
    status = chain_status(state, move.chain)
    if status.archived:
        return False
    if move.kind == "escalate":
        return not status.escalated
    if not owner_may_hear(status, today):
        return False
    if move.kind == "first_alert":
        return not status.alerted
    return status.reminders_sent == move.number - 1


def move_for(item: Item, kind: MoveKind, number: int, to: str, days: int) -> Move:
    position: tuple[str | int, ...] = (kind, number) if kind == "reminder" else (kind,)
    return Move(
        key=move_key(PREFIX, item.item_id, item.expires_on.isoformat(), *position),
        kind=kind,
        subject=item.item_id,
        chain=item.chain_id,
        to=(to,),
        line=item.line,
        number=number,
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
    actions: tuple[str, ...]


def compose(move: Move, voice: Voice) -> Composed:
    return Composed(
        subject=voice.render(move.kind, "subject", move.fields),
        text=voice.render(move.kind, "body", move.fields),
        actions=ACTIONS,
    )
