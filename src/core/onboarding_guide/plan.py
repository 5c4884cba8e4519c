"""The daily journey: which step, nudge or owner flag each customer gets, from the rows, the
stored state and the rules. Days count in the customer's own timezone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from attrs import field, frozen

from backoffice.core.keys import move_key
from backoffice.core.onboarding_guide.documents import PlanRules, Rules, Step
from backoffice.core.onboarding_guide.sheet import PREFIX, SHEET_FILE, Customer
from backoffice.core.problems import Problem
from backoffice.core.vocabulary import Move, Plan

MoveKind = Literal["step_due", "nudge", "flag"]
MOVES: tuple[MoveKind, ...] = ("step_due", "nudge", "flag")
SKEW = timedelta(minutes=5)  # a signup this far in the future is a clock's difference


@frozen
class Sent:
    """One move of a journey as stored."""

    journey: str
    step: str
    kind: str
    status: str  # "sent" | "sending" | "retry" | "failed" | "skipped"
    on: date | None = None  # the customer's local date it went out


@frozen
class Journey:
    """What people did to a journey: the steps marked done, and the owner's pause, hand-off or
    finish (a bounced address pauses it too)."""

    journey: str
    steps_done: frozenset[str] = frozenset()
    paused: bool = False
    paused_note: str = ""
    handed_off_to: str = ""
    finished: bool = False
    finished_on: date | None = None  # the business's date the journey was finished
    version: int = 0

    @property
    def stopped(self) -> bool:
        return self.paused or self.finished or bool(self.handed_off_to)


@frozen
class State:
    sent: Mapping[str, Mapping[tuple[str, str], Sent]]  # journey -> (step, kind) -> done
    journeys: Mapping[str, Journey] = field(factory=dict)
    # Every stored send's status, done or not: (journey, step, kind) -> status
    statuses: Mapping[tuple[str, str, str], str] = field(factory=dict)

    @classmethod
    def of(cls, sends: Iterable[Sent], journeys: Iterable[Journey] = ()) -> State:
        by_journey: dict[str, dict[tuple[str, str], Sent]] = defaultdict(dict)
        statuses = {}
        for send in sends:
            statuses[(send.journey, send.step, send.kind)] = send.status
            if send.status in DONE:
                by_journey[send.journey][(send.step, send.kind)] = send
        return cls(
            {j: dict(s) for j, s in by_journey.items()},
            {j.journey: j for j in journeys},
            statuses,
        )

    def journey(self, journey: str) -> Journey:
        return self.journeys.get(journey, Journey(journey))

    def done(self, journey: str, step: str, kind: str) -> Sent | None:
        return self.sent.get(journey, {}).get((step, kind))

    def settled(self, journey: str, step: str, kind: str) -> bool:
        """Gone out, skipped, or failed for good (a person was told)."""
        return self.statuses.get((journey, step, kind)) in (*DONE, "failed")

    def recorded(self, journey: str, step: str, kind: str) -> bool:
        return (journey, step, kind) in self.statuses


DONE = ("sent", "skipped")


def plan_tick(customers: Sequence[Customer], state: State, rules: Rules, now: datetime) -> Plan:
    """Every due step (in order), nudge and flag; nothing for a paused, handed-off or finished
    customer, nothing before the signup. A customer whose signup changed (a new signed_up_at
    for the same id) starts a new journey: the old one's sends are archived."""
    if now.tzinfo is None:
        raise ValueError("plan_tick needs an aware datetime")
    current = {customer.customer_id: customer.journey for customer in customers}
    stale = tuple(
        sorted(
            journey
            for journey in state.sent
            if current.get(journey.rsplit("@", 1)[0], journey) != journey
        )
    )
    moves: list[Move] = []
    problems: list[Problem] = []
    for customer in customers:
        if customer.signed_up_at > now + SKEW:
            problems.append(_future(customer))
            continue
        if customer.status != "active" or state.journey(customer.journey).stopped:
            continue
        if customer.signed_up_at <= now:
            moves += customer_moves(customer, state, rules.plan(customer.plan), now)
    return Plan(tuple(moves), tuple(problems), stale)


def days_since_signup(customer: Customer, now: datetime) -> int:
    """The customer's local date now, minus their local date at signup."""
    zone = ZoneInfo(customer.zone)
    return (now.astimezone(zone).date() - customer.signed_up_at.astimezone(zone).date()).days


def customer_moves(customer: Customer, state: State, plan: PlanRules, now: datetime) -> list[Move]:
    today = now.astimezone(ZoneInfo(customer.zone)).date()
    days = days_since_signup(customer, now)
    journey = state.journey(customer.journey)
    moves: list[Move] = []
    for step in plan.steps:
        sent = state.done(customer.journey, step.id, "step_due")
        if sent is None:
            if days < step.day:
                break  # later steps come later still: the days are in order
            moves.append(_move(customer, step, "step_due", customer.email, days))
            continue
        if step.id not in journey.steps_done:
            moves += _follow_up(customer, state, plan, step, sent, today, days)
    return moves


def _follow_up(
    customer: Customer,
    state: State,
    plan: PlanRules,
    step: Step,
    sent: Sent,
    today: date,
    days: int,
) -> list[Move]:
    """A step sent and not done: its nudge when due, then the owner's flag when due."""
    nudged = state.done(customer.journey, step.id, "nudge")
    if nudged is None:
        due = step.nudge_after_days is not None and _since(sent, today) >= step.nudge_after_days
        return [_move(customer, step, "nudge", customer.email, days)] if due else []
    flagged = state.done(customer.journey, step.id, "flag") is not None
    due = plan.flag_after_days is not None and _since(nudged, today) >= plan.flag_after_days
    return [_move(customer, step, "flag", customer.owner, days)] if due and not flagged else []


def _since(sent: Sent, today: date) -> int:
    return (today - sent.on).days if sent.on else 0


def _move(customer: Customer, step: Step, kind: MoveKind, to: str, days: int) -> Move:
    return Move(
        key=move_key(PREFIX, customer.customer_id, step.id, kind),
        kind=kind,
        subject=customer.customer_id,
        chain=customer.journey,
        to=(to,),
        line=customer.line,
        zone=customer.zone,
        fields={
            "name": customer.name,
            "customer_id": customer.customer_id,
            "email": customer.email,
            "plan": customer.plan,
            "step": step.id,
            "day": str(step.day),
            "days_since_signup": str(days),
            "owner": customer.owner,
            "personalize": "yes" if step.personalize and kind == "step_due" else "",
        },
    )


def still_due(move: Move, state: State, customer: Customer | None) -> bool:
    """Whether a planned move should still go out when it is delivered: the customer may have
    been paused, finished, handed off or removed, or have done the step, since the tick."""
    if customer is None or customer.journey != move.chain or customer.status != "active":
        return False
    journey = state.journey(move.chain)
    step = move.fields.get("step", "")
    if journey.stopped or state.done(move.chain, step, move.kind) is not None:
        return False
    return move.kind == "step_due" or step not in journey.steps_done


def earlier_unsettled(move: Move, state: State, plan: PlanRules) -> str | None:
    """The first earlier step of the plan, due by the same day, whose message has not gone out
    (nor failed for good): a step waits for it, so steps arrive in order even when their
    deliveries run side by side or one is being retried."""
    if move.kind != "step_due":
        return None
    days = int(move.fields.get("days_since_signup", "0"))
    for step in plan.steps:
        if step.id == move.fields.get("step"):
            return None
        if step.day <= days and not state.settled(move.chain, step.id, "step_due"):
            return step.id
    return None


def _future(customer: Customer) -> Problem:
    value = customer.signed_up_at.isoformat()
    message = "signed_up_at is in the future; nothing is sent until then"
    return Problem(SHEET_FILE, customer.line, "signed_up_at", value, message)
