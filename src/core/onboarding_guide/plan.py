"""The daily journey: which step, nudge or owner flag each customer gets, from the rows, the
stored state and the rules. Days count in the customer's own timezone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from sys import intern
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from attrs import field, frozen

from backoffice.core.onboarding_guide.documents import PlanRules, Rules, Step
from backoffice.core.onboarding_guide.sheet import PREFIX, SHEET_FILE, Customer
from backoffice.core.problems import Problem
from backoffice.core.vocabulary import Move, Plan

MoveKind = Literal["step_due", "nudge", "flag"]
MOVES: tuple[MoveKind, ...] = ("step_due", "nudge", "flag")
SKEW = timedelta(minutes=5)  # a signup this far in the future is a clock's difference


class Sent(NamedTuple):
    """One move of a journey as stored. A tuple rather than an attrs class: every tick reads
    every stored send of every journey."""

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
        for send in sends:  # every stored send, every tick
            journey, step, kind, status, _ = send
            statuses[(journey, step, kind)] = status
            if status in DONE:
                by_journey[journey][(step, kind)] = send
        return cls(dict(by_journey), {j.journey: j for j in journeys}, statuses)

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
    journeys = set(current.values())
    stale = tuple(
        sorted(
            journey
            for journey in state.sent
            if journey not in journeys and journey.rsplit("@", 1)[0] in current
        )
    )
    # This runs for every customer every day: a customer costs a few comparisons and dictionary
    # lookups (their days are integers, their sends one lookup), and a Move is built only for
    # what is due.
    soon = now + SKEW
    plans = {name: _PlanSteps.of(plan) for name, plan in rules.plans.items()}
    stopped = {journey for journey, answers in state.journeys.items() if answers.stopped}
    today: dict[str, int] = {}  # the date in each zone, as a day number
    moves: list[Move] = []
    problems: list[Problem] = []
    for customer in customers:
        signed_up_at = customer.signed_up_at
        if signed_up_at > soon:
            problems.append(_future(customer))
            continue
        if customer.status != "active" or signed_up_at > now or customer.journey in stopped:
            continue
        zone = customer.zone
        if zone not in today:
            today[zone] = now.astimezone(ZoneInfo(zone)).date().toordinal()
        plan = plans.get(customer.plan) or plans["default"]
        days = today[zone] - customer.signed_up_on.toordinal()
        sent = state.sent.get(customer.journey)
        if sent is None:  # nothing sent yet: the steps whose day has come
            moves += [_move(customer, step, "step_due", days) for step in plan.until(days)]
        elif not plan.done_with(sent):
            moves += _follow_ups(customer, state, sent, plan, days, today[zone])
    return Plan(tuple(moves), tuple(problems), stale)


@frozen
class _PlanSteps:
    """A plan's steps with the keys their sends are stored under, made once a tick."""

    steps: tuple[tuple[Step, tuple[str, str], tuple[str, str], tuple[str, str]], ...]
    flag_after_days: int | None
    # A journey holding every `settled` key and no `unnudged` one gets nothing more: each step
    # went out, and was nudged and flagged as far as the plan goes. Most rows of a sheet that
    # keeps its customers are such, and two set comparisons in C tell them.
    settled: frozenset[tuple[str, str]]
    unnudged: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, plan: PlanRules) -> _PlanSteps:
        # Interned, as the stored sends' steps are: a lookup then matches at once.
        steps = tuple(
            (s, (i, "step_due"), (i, "nudge"), (i, "flag"))
            for s, i in ((s, intern(s.id)) for s in plan.steps)
        )
        settled, unnudged = set(), set()
        for step, due, nudge, flag in steps:
            settled.add(due)
            if step.nudge_after_days is None:
                unnudged.add(nudge)
            else:
                settled.add(nudge)
                if plan.flag_after_days is not None:
                    settled.add(flag)
        return cls(steps, plan.flag_after_days, frozenset(settled), frozenset(unnudged))

    def until(self, days: int) -> list[Step]:
        """The steps due by day `days`."""
        due = []
        for step, _, _, _ in self.steps:
            if days < step.day:
                break  # later steps come later still: the days are in order
            due.append(step)
        return due

    def done_with(self, sent: Mapping[tuple[str, str], Sent]) -> bool:
        keys = sent.keys()
        return keys >= self.settled and keys.isdisjoint(self.unnudged)


def days_since_signup(customer: Customer, now: datetime) -> int:
    """The customer's local date now, minus their local date at signup."""
    return (now.astimezone(ZoneInfo(customer.zone)).date() - customer.signed_up_on).days


def _follow_ups(
    customer: Customer,
    state: State,
    sent: Mapping[tuple[str, str], Sent],
    plan: _PlanSteps,
    days: int,
    today: int,
) -> list[Move]:
    """Each step due and not sent, in order; for a step sent and not done, its nudge when due,
    then the owner's flag when due after the nudge."""
    answers = state.journeys.get(customer.journey)
    done = answers.steps_done if answers is not None else ()
    moves: list[Move] = []
    for step, due_key, nudge_key, flag_key in plan.steps:
        step_sent = sent.get(due_key)
        if step_sent is None:
            if days < step.day:
                break  # later steps come later still: the days are in order
            moves.append(_move(customer, step, "step_due", days))
        elif step.id not in done:
            nudged = sent.get(nudge_key)
            if nudged is None:
                wait = step.nudge_after_days
                if wait is not None and _since(step_sent, today) >= wait:
                    moves.append(_move(customer, step, "nudge", days))
            elif flag_key not in sent:
                wait = plan.flag_after_days
                if wait is not None and _since(nudged, today) >= wait:
                    moves.append(_move(customer, step, "flag", days))
    return moves


def _since(sent: Sent, today: int) -> int:
    return today - sent.on.toordinal() if sent.on else 0


def _move(customer: Customer, step: Step, kind: MoveKind, days: int) -> Move:
    customer_id = customer.customer_id
    to = customer.owner if kind == "flag" else customer.email
    return Move(
        # move_key's, spelled out: a third of the customers may get a move on a day
        f"{PREFIX}:{customer_id}:{step.id}:{kind}",
        kind,
        customer_id,
        customer.journey,
        (to,),
        customer.line,
        zone=customer.zone,
        fields={
            "name": customer.name,
            "customer_id": customer_id,
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
