"""The onboarding guide's quick ways agree with the general ones they stand in for: a signup's
local date and time (beside `local_at`), a customer read from the sheet (beside `Customer.of`),
and the daily plan (beside the plan as first written, step by step, below). Times are drawn
around the zones' clock changes, where the quick ways step aside."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import onboarding_guide as og
from backoffice.core.business_time import local_at
from backoffice.core.keys import move_key
from backoffice.core.problems import Problem
from backoffice.core.sheet import read_csv

ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour change
    "Pacific/Apia",  # skipped a whole day at the end of 2011
    "Asia/Tokyo",
    "UTC",
)
RULES = og.load_rules(
    """
[plans.default]
flag_after_days = 2
steps = [
  { id = "welcome", day = 0 },
  { id = "connect", day = 1, nudge_after_days = 2, personalize = true },
  { id = "invite", day = 3, nudge_after_days = 1 },
  { id = "sso", day = 3 },
]
[plans.team]
steps = [
  { id = "welcome", day = 0, nudge_after_days = 1 },
  { id = "connect", day = 2, nudge_after_days = 2 },
]
"""
)
STEPS = ("welcome", "connect", "invite", "sso", "gone")  # "gone": a step no longer in the rules


def _changes(zone: str) -> list[datetime]:
    """The local wall times at which the zone's offset changes, hour by hour, 2011 and 2026."""
    tz, found = ZoneInfo(zone), []
    for year in (2011, 2026):
        at = datetime(year, 1, 1, tzinfo=UTC)
        while at.year == year:
            after = at + timedelta(hours=1)
            if at.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
                found.append(after.astimezone(tz).replace(tzinfo=None))
            at = after
    return found


CHANGES = {zone: _changes(zone) for zone in ZONES}


@st.composite
def walls(draw: st.DrawFn, zone: str) -> datetime:
    """A wall time in `zone`, often within hours of a clock change, maybe with seconds."""
    if CHANGES[zone] and draw(st.booleans()):
        base = draw(st.sampled_from(CHANGES[zone]))
    else:
        base = draw(st.datetimes(datetime(2011, 1, 1), datetime(2027, 12, 31)))
    wall = base.replace(second=0, microsecond=0) + timedelta(minutes=draw(st.integers(-300, 300)))
    if draw(st.booleans()):
        wall = wall.replace(second=draw(st.integers(0, 59)), microsecond=draw(st.integers(0, 9)))
    return wall


def _key(at: datetime) -> tuple[object, ...]:
    """Equal as instants and as wall clocks, fold and zone included."""
    return (at.replace(tzinfo=None), at.fold, at.utcoffset(), at.tzinfo)


@settings(max_examples=300)
@given(st.data())
def test_a_local_signup_is_local_at_s_instant(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    wall = data.draw(walls(zone))
    text = wall.isoformat(sep=data.draw(st.sampled_from([" ", "T"])))
    expected = local_at(wall.date(), wall.time(), ZoneInfo(zone))
    assert _key(og.parse_moment(text, ZoneInfo(zone), False)) == _key(expected)


@given(st.data())
def test_a_customer_read_from_the_sheet_is_customer_of_its_cells(data: st.DataObject) -> None:
    zone = data.draw(st.sampled_from(ZONES))
    own_zone = data.draw(st.sampled_from(["", *ZONES]))
    wall = data.draw(walls(own_zone or zone))
    offset = data.draw(st.sampled_from(["", "Z", "+09:30", "-05:00"]))
    signed = wall.isoformat(sep=" ") + offset
    table, _ = read_csv(
        f"{','.join(og.COLUMNS)}\nc1,Ada,ada@example.com,team,{signed},U024BE7LH,{own_zone},\n",
        og.SHEET_FILE,
    )
    [customer], problems = og.parse_rows(
        table, RULES.plans, timezone=zone, dayfirst=False, admin="a@b.co"
    )
    assert problems == []
    named = own_zone or zone
    moment = og.parse_moment(signed, ZoneInfo(named), False)
    expected = og.Customer.of("c1", "Ada", "ada@example.com", "team", moment, "U024BE7LH", 2, named)
    assert customer == expected


# --- the daily plan as first written: every step of every customer looked at in turn ----------


def _reference_plan(
    customers: list[og.Customer], state: og.State, rules: og.Rules, now: datetime
) -> og.Plan:
    current = {customer.customer_id: customer.journey for customer in customers}
    stale = tuple(
        sorted(
            journey
            for journey in state.sent
            if current.get(journey.rsplit("@", 1)[0], journey) != journey
        )
    )
    moves: list[og.Move] = []
    problems = []
    for customer in customers:
        if customer.signed_up_at > now + og.SKEW:
            value = customer.signed_up_at.isoformat()
            message = "signed_up_at is in the future; nothing is sent until then"
            problems.append(Problem(og.SHEET_FILE, customer.line, "signed_up_at", value, message))
            continue
        if customer.status != "active" or state.journey(customer.journey).stopped:
            continue
        if customer.signed_up_at <= now:
            moves += _reference_moves(customer, state, rules.plan(customer.plan), now)
    return og.Plan(tuple(moves), tuple(problems), stale)


def _reference_moves(
    customer: og.Customer, state: og.State, plan: og.PlanRules, now: datetime
) -> list[og.Move]:
    zone = ZoneInfo(customer.zone)
    today = now.astimezone(zone).date()
    days = (today - customer.signed_up_at.astimezone(zone).date()).days
    journey = state.journey(customer.journey)
    moves = []
    for step in plan.steps:
        sent = state.done(customer.journey, step.id, "step_due")
        if sent is None:
            if days < step.day:
                break
            moves.append(_reference_move(customer, step, "step_due", customer.email, days))
            continue
        if step.id in journey.steps_done:
            continue
        nudged = state.done(customer.journey, step.id, "nudge")
        if nudged is None:
            wait = step.nudge_after_days
            if wait is not None and _since(sent, today) >= wait:
                moves.append(_reference_move(customer, step, "nudge", customer.email, days))
            continue
        flagged = state.done(customer.journey, step.id, "flag") is not None
        wait = plan.flag_after_days
        if wait is not None and _since(nudged, today) >= wait and not flagged:
            moves.append(_reference_move(customer, step, "flag", customer.owner, days))
    return moves


def _since(sent: og.Sent, today: date) -> int:
    return (today - sent.on).days if sent.on else 0


def _reference_move(customer: og.Customer, step: og.Step, kind: str, to: str, days: int) -> og.Move:
    return og.Move(
        key=move_key(og.PREFIX, customer.customer_id, step.id, kind),
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


@st.composite
def customers(draw: st.DrawFn, now: datetime) -> list[og.Customer]:
    found = []
    for n in range(draw(st.integers(0, 6))):
        zone = draw(st.sampled_from(ZONES))
        signed = now - timedelta(minutes=draw(st.integers(-60 * 24, 60 * 24 * 12)))
        if draw(st.booleans()):
            signed = signed.astimezone(ZoneInfo(zone))
        customer_id = draw(st.sampled_from([f"c{n}", "c0", "a@b"]))  # ids may repeat
        found.append(
            og.Customer.of(
                customer_id,
                f"Name {n}",
                f"{customer_id}@example.com",
                draw(st.sampled_from(["default", "team", "other"])),
                signed,
                "owner@example.com",
                n + 2,
                zone,
                draw(st.sampled_from(["active", "active", "active", "paused", "finished"])),
            )
        )
    return found


@st.composite
def states(draw: st.DrawFn, people: list[og.Customer], now: datetime) -> og.State:
    """Each journey's steps gone as far as some move (sent, or in another status, on some
    day), a few stray sends besides; and some journeys' answers."""
    journeys = [c.journey for c in people] + ["c0@2026-01-01", "gone@2026-01-01"]
    statuses = st.sampled_from(["sent"] * 8 + ["skipped", "sending", "failed"])
    sends, answers = [], []
    for journey in journeys:
        reached = {step: draw(st.integers(0, 3)) for step in STEPS}
        moves = [(s, k) for s, upto in reached.items() for k in og.MOVES[:upto]]
        moves += draw(st.lists(st.tuples(st.sampled_from(STEPS), st.sampled_from(og.MOVES))))
        for step, kind in moves:
            ago = draw(st.one_of(st.none(), st.integers(-1, 12)))
            on = None if ago is None else now.date() - timedelta(days=ago)
            sends.append(og.Sent(journey, step, kind, draw(statuses), on))
        if draw(st.integers(0, 3)) == 0:
            done = frozenset(draw(st.lists(st.sampled_from(STEPS), max_size=3)))
            stop = draw(st.sampled_from(["", "", "paused", "finished", "handed_off_to"]))
            fields = {stop: "someone" if stop == "handed_off_to" else True} if stop else {}
            answers.append(og.Journey(journey, steps_done=done, **fields))  # type: ignore[arg-type]
    return og.State.of(sends, answers)


@settings(max_examples=400)
@given(st.data())
def test_the_plan_is_the_plan_as_first_written(data: st.DataObject) -> None:
    zone = ZoneInfo(data.draw(st.sampled_from(ZONES)))
    now = data.draw(walls(zone.key)).replace(tzinfo=zone)
    people = data.draw(customers(now))
    state = data.draw(states(people, now))
    assert og.plan_tick(people, state, RULES, now) == _reference_plan(people, state, RULES, now)


def test_a_journey_with_every_move_settled_gets_nothing_even_late() -> None:
    """Every step sent, nudged and flagged as far as the plan goes: nothing, whatever the day
    (the quick skip of such journeys); but a stray nudge of a step the plan does not nudge
    still gets its flag, as step by step it does."""
    zone = ZoneInfo("America/New_York")
    signed = datetime(2026, 11, 1, 9, 0, tzinfo=zone)
    person = og.Customer.of("c1", "Ada", "a@b.co", "default", signed, "o@b.co", 2, zone.key)
    settled = [("welcome", "step_due"), ("sso", "step_due")] + [
        (step, kind) for step in ("connect", "invite") for kind in og.MOVES
    ]
    sends = [og.Sent(person.journey, s, k, "sent", signed.date()) for s, k in settled]
    for days in (3, 5, 400):
        now = signed + timedelta(days=days)
        assert og.plan_tick([person], og.State.of(sends), RULES, now).moves == ()
    stray = og.Sent(person.journey, "welcome", "nudge", "sent", signed.date())
    late = og.plan_tick([person], og.State.of([*sends, stray]), RULES, signed + timedelta(days=9))
    assert [m.key for m in late.moves] == ["og:c1:welcome:flag"]
    unflagged = og.State.of(sends[:-1])
    late = og.plan_tick([person], unflagged, RULES, signed + timedelta(days=400))
    assert [m.key for m in late.moves] == ["og:c1:invite:flag"]
