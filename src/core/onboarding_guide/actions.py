"""What people's answers change: a customer marks a step done; the owner pauses, hands off or
finishes a journey; a bounced address pauses it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import evolve, frozen

from backoffice.core.onboarding_guide.plan import Journey, State
from backoffice.core.onboarding_guide.sheet import Customer
from backoffice.core.sheet import is_email, is_slack_user
from backoffice.core.vocabulary import Action, Notice, SheetWrite, Transition, audit_entry, rejected

CUSTOMER_ACTIONS = ("step_done",)
OWNER_ACTIONS = ("pause", "hand_off", "finish")
ACTIONS = (*CUSTOMER_ACTIONS, *OWNER_ACTIONS, "bounce")


@frozen
class Current:
    """What an answer meets: the customer as the sheet shows them now (None when gone), the
    stored state, and the step ids their plan has."""

    customer: Customer | None
    state: State
    steps: tuple[str, ...]


def apply_action(current: Current, action: Action, now: datetime) -> Transition[Journey]:
    """A rejected answer changes nothing but the audit trail. The transition's record is the
    journey as it is after the answer."""
    customer = current.customer
    if customer is None:
        return rejected(action, now, "This customer is no longer in the onboarding sheet.")
    if action.chain != customer.journey:
        return rejected(action, now, "This link is from an earlier signup; nothing was changed.")
    journey = current.state.journey(customer.journey)
    before = _snapshot(journey)
    if journey.finished and action.kind != "step_done":
        return rejected(action, now, f"{customer.name}'s onboarding is already finished.")
    decide = _DECISIONS.get(action.kind)
    if decide is None:
        return rejected(action, now, f"{action.kind!r} is not an answer this message offers.")
    return decide(current, customer, journey, action, now, before)


def _step_done(
    current: Current,
    customer: Customer,
    journey: Journey,
    action: Action,
    now: datetime,
    before: dict[str, Any],
) -> Transition[Journey]:
    step = action.detail
    if step not in current.steps:
        return rejected(action, now, "This step is not part of the plan any more.", before)
    after = evolve(journey, steps_done=journey.steps_done | {step}, version=journey.version + 1)
    return _accepted(action, now, before, after, f"Thank you, {customer.name}: “{step}” is done.")


def _pause(
    current: Current,
    customer: Customer,
    journey: Journey,
    action: Action,
    now: datetime,
    before: dict[str, Any],
) -> Transition[Journey]:
    note = action.value.strip()[:500]
    after = evolve(journey, paused=True, paused_note=note, version=journey.version + 1)
    message = f"{customer.name}'s onboarding is paused" + (f": {note}" if note else ".")
    writes = (SheetWrite(customer.customer_id, "status", "paused"),)
    return _accepted(action, now, before, after, message, writes)


def _bounce(
    current: Current,
    customer: Customer,
    journey: Journey,
    action: Action,
    now: datetime,
    before: dict[str, Any],
) -> Transition[Journey]:
    if journey.paused:
        return rejected(action, now, "Already paused; nothing changed.", before)
    note = action.value.strip()[:300] or "the address bounced"
    after = evolve(journey, paused=True, paused_note=note, version=journey.version + 1)
    text = (
        f"{customer.name} ({customer.email}) is paused: {note}. Fix the address in the sheet "
        "and clear the status to resume."
    )
    key = f"og:{customer.customer_id}:{action.request_id}:bounce"
    transition = _accepted(
        action, now, before, after, text, (SheetWrite(customer.customer_id, "status", "paused"),)
    )
    return evolve(transition, notices=(Notice(customer.owner, text, key),))


def _hand_off(
    current: Current,
    customer: Customer,
    journey: Journey,
    action: Action,
    now: datetime,
    before: dict[str, Any],
) -> Transition[Journey]:
    whom = action.value.strip()
    if not (is_email(whom) or is_slack_user(whom)):
        return rejected(
            action, now, "Hand off to an email address or a Slack member id (U…).", before
        )
    after = evolve(journey, handed_off_to=whom, version=journey.version + 1)
    text = f"{customer.name} ({customer.customer_id}) was handed to you by {action.by}."
    key = f"og:{customer.customer_id}:{customer.journey}:hand_off:{whom}"
    transition = _accepted(
        action,
        now,
        before,
        after,
        f"{customer.name} is handed off to {whom}.",
        (
            SheetWrite(customer.customer_id, "owner", whom),
            SheetWrite(customer.customer_id, "status", "handed off"),
        ),
    )
    return evolve(transition, notices=(Notice(whom, text, key),))


def _finish(
    current: Current,
    customer: Customer,
    journey: Journey,
    action: Action,
    now: datetime,
    before: dict[str, Any],
) -> Transition[Journey]:
    after = evolve(journey, finished=True, finished_on=now.date(), version=journey.version + 1)
    transition = _accepted(
        action,
        now,
        before,
        after,
        f"{customer.name}'s onboarding is finished.",
        (SheetWrite(customer.customer_id, "status", "finished"),),
    )
    return evolve(transition, archive=(customer.journey,))


def _accepted(
    action: Action,
    now: datetime,
    before: dict[str, Any],
    after: Journey,
    message: str,
    writes: tuple[SheetWrite, ...] = (),
) -> Transition[Journey]:
    audit = audit_entry(action, now, before, _snapshot(after), accepted=True)
    return Transition(True, message, audit, record=after, sheet_writes=writes)


def _snapshot(journey: Journey) -> dict[str, Any]:
    return {
        "journey": journey.journey,
        "steps_done": sorted(journey.steps_done),
        "paused": journey.paused,
        "handed_off_to": journey.handed_off_to,
        "finished": journey.finished,
    }


_DECISIONS = {
    "step_done": _step_done,
    "pause": _pause,
    "hand_off": _hand_off,
    "finish": _finish,
    "bounce": _bounce,
}
