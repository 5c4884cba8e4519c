"""The weekly digest and the facts behind the monthly summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from backoffice.core.digest import text_table
from backoffice.core.expiry_watcher.plan import ChainStatus, Composed, State, chain_status
from backoffice.core.expiry_watcher.sheet import Item
from backoffice.core.problems import Problem

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
                (str(p.sent_on), names.get(p.item_id, p.item_id), p.kind.replace("_", " "))
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
                ("item", "message"), [(names.get(p.item_id, p.item_id), p.kind) for p in failed]
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
            (str(p.sent_on), names.get(p.item_id, p.item_id), p.kind.replace("_", " "))
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
