"""What an owner's answer (Renew, Snooze, Ack only) changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from attrs import frozen

from backoffice.core.expiry_watcher.plan import Ack, ChainStatus, State, chain_status
from backoffice.core.expiry_watcher.sheet import Item
from backoffice.core.vocabulary import Action, SheetWrite, Transition, audit_entry, rejected


@frozen
class Current:
    """What an answer meets: the item as the sheet shows it now (None when it is gone) and the
    stored state of its chains."""

    item: Item | None
    state: State


def apply_action(current: Current, action: Action, now: datetime) -> Transition[Ack]:
    """What an owner's answer changes. A rejected answer changes nothing but the audit trail."""
    item = current.item
    if item is None:
        return rejected(
            action, now, f"There is no item {action.subject!r} in the registry any more."
        )
    status = chain_status(current.state, action.chain)
    if _repeated_renewal(item, action, status):
        return _finish_renewal(item, action, status, now)
    if action.chain != item.chain_id or status.archived:
        return rejected(
            action,
            now,
            f"{item.name} has moved on since this message: it now expires on "
            f"{item.expires_on.isoformat()}. Nothing was changed.",
        )
    before = _snapshot(item, status)
    if action.kind == "renew":
        return _renew(item, action, before, now)
    if action.kind == "snooze":
        return _snooze(item, action, before, now)
    if action.kind == "ack_only":
        ack = Ack(item.item_id, item.chain_id, "ack_only", now.date())
        return Transition(
            accepted=True,
            message=f"Thanks: no more reminders for {item.name}. If it is still not renewed "
            "close to the date, the escalation contact will hear about it.",
            audit=audit_entry(action, now, before, {**before, "acknowledged": True}, accepted=True),
            record=ack,
        )
    return rejected(action, now, f"{action.kind!r} is not an answer this message offers.")


def _renew(item: Item, action: Action, before: dict[str, Any], now: datetime) -> Transition[Ack]:
    new = chosen_date(action.value)
    if new is None or new <= item.expires_on:
        return rejected(
            action, now, f"The new expiry date must be after {item.expires_on.isoformat()}."
        )
    after = {**before, "expires_on": new.isoformat(), "renewed": True}
    return Transition(
        accepted=True,
        message=f"{item.name} is renewed to {new.isoformat()}. Reminders for the old date "
        "have stopped.",
        audit=audit_entry(action, now, before, after, accepted=True),
        record=Ack(item.item_id, item.chain_id, "renew", now.date(), new_expiry=new),
        sheet_writes=(SheetWrite(item.item_id, "expires_on", new.isoformat()),),
        archive=(item.chain_id,),
    )


def _snooze(item: Item, action: Action, before: dict[str, Any], now: datetime) -> Transition[Ack]:
    until, today = chosen_date(action.value), now.date()
    if until is None or not today < until <= item.act_by:
        return rejected(
            action,
            now,
            f"Snooze until a date after {today.isoformat()} and no "
            f"later than the act-by date {item.act_by.isoformat()}.",
        )
    return Transition(
        accepted=True,
        message=f"Reminders for {item.name} are paused until {until.isoformat()}.",
        audit=audit_entry(
            action, now, before, {**before, "snoozed_until": until.isoformat()}, accepted=True
        ),
        record=Ack(item.item_id, item.chain_id, "snooze", today, snooze_until=until),
    )


def chosen_date(value: str) -> date | None:
    """The date a person picked, or None when they picked none or typed something else."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _repeated_renewal(item: Item, action: Action, status: ChainStatus) -> bool:
    """The same renewal again, after the sheet already shows its date: a second try after a
    first one that failed part-way, or the same answer from another of the chain's links."""
    return (
        action.kind == "renew"
        and chosen_date(action.value) == item.expires_on
        and action.chain != item.chain_id
        and status.renewed_to in (None, item.expires_on)
    )


def _finish_renewal(
    item: Item, action: Action, status: ChainStatus, now: datetime
) -> Transition[Ack]:
    """Record what the first try did not: the ack and the closed old chain (the sheet needs no
    second write). When it was all recorded, only this answer's audit row is added."""
    new = item.expires_on
    before = {"chain_id": action.chain, "expires_on": action.chain.rpartition("@")[2]}
    after = {**before, "expires_on": new.isoformat(), "renewed": True}
    unrecorded = status.renewed_to is None
    return Transition(
        accepted=True,
        message=f"{item.name} is renewed to {new.isoformat()}. Reminders for the old date "
        "have stopped.",
        audit=audit_entry(action, now, before, after, accepted=True),
        record=Ack(item.item_id, action.chain, "renew", now.date(), new_expiry=new)
        if unrecorded
        else None,
        archive=(action.chain,) if unrecorded else (),
    )


def _snapshot(item: Item, status: ChainStatus) -> dict[str, Any]:
    return {
        "chain_id": item.chain_id,
        "expires_on": item.expires_on.isoformat(),
        "acknowledged": status.acknowledged,
        "snoozed_until": status.snoozed_until.isoformat() if status.snoozed_until else None,
    }
