"""The weekly digest (finished, stuck, paused) and the facts behind the monthly activation
summary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from attrs import frozen

from backoffice.core.digest import text_table
from backoffice.core.onboarding_guide.plan import Sent, State
from backoffice.core.onboarding_guide.sheet import Customer

SUMMARY_INSTRUCTIONS = (
    "You write a short monthly note for the owner of a small software business about how new "
    "customers got started last month. Use only the facts given. Plain words, no headings, no "
    "lists, at most 120 words. Say how many signed up and how many finished onboarding, which "
    "step people get stuck on most, and name the customers who are paused or stuck."
)


@frozen
class Composed:
    subject: str
    text: str


@frozen
class Standing:
    """Where one customer's journey stands, for the digest."""

    customer: Customer
    finished: bool
    paused: bool
    stuck_on: str  # the step nudged and still not done ("" for none)


def standing(customer: Customer, state: State) -> Standing:
    journey = state.journey(customer.journey)
    finished = journey.finished or customer.status == "finished"
    paused = journey.paused or customer.status == "paused"
    nudged = [
        step
        for (step, kind) in state.sent.get(customer.journey, {})
        if kind == "nudge" and step not in journey.steps_done
    ]
    stuck = "" if finished or paused or journey.handed_off_to else ", ".join(sorted(nudged))
    return Standing(customer, finished, paused, stuck)


def compose_digest(customers: Sequence[Customer], state: State, today: date) -> Composed:
    """Finished in the last 7 days, stuck (nudged, still not done), paused."""
    week_ago = today - timedelta(days=7)
    standings = [standing(c, state) for c in sorted(customers, key=lambda c: c.customer_id)]
    finished = [
        s
        for s in standings
        if s.finished and _finished_on(s, state) and week_ago <= _finished_on(s, state) <= today
    ]
    stuck = [s for s in standings if s.stuck_on]
    paused = [s for s in standings if s.paused and not s.finished]
    sections = [
        f"Finished in the last 7 days ({len(finished)}):",
        text_table(("customer", "plan"), [(s.customer.name, s.customer.plan) for s in finished]),
        "",
        f"Stuck: nudged and not done yet ({len(stuck)}):",
        text_table(
            ("customer", "step", "owner"),
            [(s.customer.name, s.stuck_on, s.customer.owner) for s in stuck],
        ),
        "",
        f"Paused ({len(paused)}):",
        text_table(
            ("customer", "why"),
            [(s.customer.name, state.journey(s.customer.journey).paused_note) for s in paused],
        ),
    ]
    return Composed(f"Onboarding: the week to {today:%d %B %Y}", "\n".join(sections))


def _finished_on(standing: Standing, state: State) -> date:
    return state.journey(standing.customer.journey).finished_on or date.min


def summary_facts(
    customers: Sequence[Customer],
    state: State,
    sends: Sequence[Sent],
    start: date,
    end: date,
) -> str:
    """Last month in plain tables: the model's only source, and the fallback when it fails.
    `sends` includes the archived journeys', so a finished customer still counts."""
    month = [s for s in sends if s.status == "sent" and s.on and start <= s.on <= end]
    standings = [standing(c, state) for c in customers]
    counts = {
        "signed up": sum(start <= c.signed_up_at.date() <= end for c in customers),
        "finished onboarding": sum(
            start <= (j.finished_on or date.min) <= end for j in state.journeys.values()
        ),
        "steps sent": sum(s.kind == "step_due" for s in month),
        "nudges sent": sum(s.kind == "nudge" for s in month),
        "owners flagged": sum(s.kind == "flag" for s in month),
        "paused now": sum(s.paused and not s.finished for s in standings),
    }
    stuck_steps: dict[str, int] = {}
    for s in standings:
        for step in filter(None, s.stuck_on.split(", ")):
            stuck_steps[step] = stuck_steps.get(step, 0) + 1
    return (
        f"Month {start} to {end}:\n"
        + text_table(("what", "how many"), [(k, str(v)) for k, v in counts.items()])
        + "\n\nWhere customers are stuck now (nudged, not done):\n"
        + text_table(
            ("step", "customers"),
            sorted(((k, str(v)) for k, v in stuck_steps.items()), key=lambda r: (-int(r[1]), r[0])),
        )
        + "\n\nStuck or paused now:\n"
        + text_table(
            ("customer", "plan", "where"),
            [
                (s.customer.name, s.customer.plan, "paused" if s.paused else s.stuck_on)
                for s in sorted(standings, key=lambda s: s.customer.customer_id)
                if (s.paused and not s.finished) or s.stuck_on
            ],
        )
    )
