"""The onboarding guide's core: days counted in the customer's own timezone, the daily plan's
exact semantics (each step once and in order, a nudge only after its wait and only when not done,
the owner's flag only after the nudge's wait), the rules' and the signup's errors."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core import onboarding_guide as og
from backoffice.core.business_time import local_at
from backoffice.core.documents import DocumentError
from backoffice.core.sheet import read_csv

UTC = ZoneInfo("UTC")
ZONES = ["America/New_York", "Asia/Tokyo", "Europe/Paris", "Pacific/Auckland", "Asia/Kolkata"]
RULES = og.load_rules(
    """
[plans.default]
flag_after_days = 2
steps = [
  { id = "welcome", day = 0 },
  { id = "connect", day = 1, nudge_after_days = 2 },
  { id = "invite", day = 3, nudge_after_days = 1 },
  { id = "sso", day = 6 },
]
[plans.team]
"""
)
PLAN = RULES.plan("default")


def customer(
    signed_up_at: datetime, zone: str = "America/New_York", **fields: object
) -> og.Customer:
    values: dict[str, object] = {
        "customer_id": "c1",
        "name": "Ada",
        "email": "ada@example.com",
        "plan": "default",
        "signed_up_at": signed_up_at,
        "owner": "owner@example.com",
        "line": 2,
        "zone": zone,
    }
    values.update(fields)
    return og.Customer.of(**values)  # type: ignore[arg-type]


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@given(moments, st.sampled_from(ZONES), st.integers(0, 400), st.times())
def test_days_since_signup_counts_local_dates_in_the_customers_zone(
    signup: datetime, zone: str, days: int, at: time
) -> None:
    """Any wall-clock time on the local date `days` after the signup's local date is day
    `days`, across DST changes, whatever the hour of the signup."""
    local_signup = signup.astimezone(ZoneInfo(zone)).date()
    now = local_at(local_signup + timedelta(days=days), at, ZoneInfo(zone))
    if now.astimezone(ZoneInfo(zone)).date() != local_signup + timedelta(days=days):
        return  # `at` fell in a DST gap that ends past midnight: not a time of that day
    assert og.days_since_signup(customer(signup, zone), now) == days


def test_days_since_signup_is_the_customers_date_not_the_businesss() -> None:
    """Signed up Monday 23:30 in New York, which is already Tuesday in Tokyo."""
    signup = datetime(2026, 12, 7, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    tuesday_9_ny = datetime(2026, 12, 8, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert og.days_since_signup(customer(signup), tuesday_9_ny) == 1
    in_tokyo = customer(signup, "Asia/Tokyo")
    assert og.days_since_signup(in_tokyo, tuesday_9_ny) == 0  # 23:00 Tuesday there too


def deliver(state_sends: list[og.Sent], plan: og.Plan, on: date) -> None:
    for move in plan.moves:
        state_sends.append(og.Sent(move.chain, move.fields["step"], move.kind, "sent", on))


@given(
    signup=moments,
    zone=st.sampled_from(ZONES),
    ticks=st.lists(st.integers(0, 3), min_size=1, max_size=25),
    done_on=st.dictionaries(
        st.sampled_from(["welcome", "connect", "invite", "sso"]), st.integers(0, 20)
    ),
)
def test_the_daily_plan_sends_each_move_once_in_order_and_only_when_due(
    signup: datetime, zone: str, ticks: list[int], done_on: dict[str, int]
) -> None:
    """Daily runs at 09:00 the customer's time (some days skipped), every move delivered, some
    steps marked done on some day: each (step, kind) goes out at most once; steps go in plan
    order, each on or after its day; a nudge only when not done and at least its wait after
    the step; a flag only when still not done and at least flag_after_days after the nudge."""
    person = customer(signup, zone)
    zone_info = ZoneInfo(zone)
    first = signup.astimezone(zone_info).date()
    sends: list[og.Sent] = []
    seen: dict[tuple[str, str], int] = {}
    day = 0
    for skip in ticks:
        day += skip
        now = local_at(first + timedelta(days=day), time(9, 0), zone_info)
        done = frozenset(s for s, d in done_on.items() if d < day)
        journey = og.Journey(person.journey, steps_done=done)
        state = og.State.of(sends, [journey])
        plan = og.plan_tick([person], state, RULES, now)
        if now < signup:  # the first 09:00 came before the signup that day
            assert plan.moves == ()
            continue
        assert plan.problems == ()
        since = og.days_since_signup(person, now)
        for move in plan.moves:
            step = next(s for s in PLAN.steps if s.id == move.fields["step"])
            key = (step.id, move.kind)
            assert key not in seen, f"{key} planned twice"
            seen[key] = since
            if move.kind == "step_due":
                assert since >= step.day
                earlier = PLAN.steps[: PLAN.steps.index(step)]
                assert all((s.id, "step_due") in seen for s in earlier), "steps in order"
            elif move.kind == "nudge":
                assert step.nudge_after_days is not None and step.id not in done
                assert since - seen[(step.id, "step_due")] >= step.nudge_after_days
            else:
                assert move.to == ("owner@example.com",) and step.id not in done
                assert PLAN.flag_after_days is not None
                assert since - seen[(step.id, "nudge")] >= PLAN.flag_after_days
        deliver(sends, plan, now.astimezone(zone_info).date())


@given(moments, st.sampled_from(ZONES), st.integers(1, 60 * 24 * 3))
def test_nothing_is_due_before_the_signup(signup: datetime, zone: str, minutes_before: int) -> None:
    now = signup - timedelta(minutes=minutes_before)
    plan = og.plan_tick([customer(signup, zone)], og.State.of(()), RULES, now)
    assert plan.moves == ()
    in_future = minutes_before * 60 > og.SKEW.total_seconds()
    assert [p.column for p in plan.problems] == (["signed_up_at"] if in_future else [])


@pytest.mark.parametrize("stop", ["paused", "handed_off_to", "finished"])
def test_a_stopped_journey_gets_nothing(stop: str) -> None:
    signup = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    person = customer(signup)
    journey = evolve(
        og.Journey(person.journey), **{stop: "someone" if stop == "handed_off_to" else True}
    )
    plan = og.plan_tick([person], og.State.of((), [journey]), RULES, signup + timedelta(days=9))
    assert plan.moves == ()
    paused_row = customer(signup, status="paused")
    assert (
        og.plan_tick([paused_row], og.State.of(()), RULES, signup + timedelta(days=9)).moves == ()
    )


def test_a_new_signup_date_starts_a_new_journey_and_the_old_one_is_archived() -> None:
    signup = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    old = customer(signup)
    sends = [og.Sent(old.journey, "welcome", "step_due", "sent", signup.date())]
    again = customer(signup + timedelta(days=30))
    plan = og.plan_tick([again], og.State.of(sends), RULES, signup + timedelta(days=30, hours=1))
    assert plan.archive == (old.journey,)
    assert [m.key for m in plan.moves] == ["og:c1:welcome:step_due"]


def errors_of(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(DocumentError) as raised:
        og.load_rules(text)
    return [(e.line, e.message) for e in raised.value.errors]


def test_steps_out_of_day_order_or_repeated_are_errors_naming_their_lines() -> None:
    found = errors_of(
        "[plans.default]\n"
        "steps = [\n"
        '  { id = "welcome", day = 2 },\n'
        '  { id = "connect", day = 1 },\n'
        '  { id = "welcome", day = 3 },\n'
        "]\n"
    )
    assert [line for line, _ in found] == [4, 5]
    assert "day order" in found[0][1] and "twice" in found[1][1]


def test_bad_step_values_and_unknown_keys_are_all_reported() -> None:
    found = errors_of(
        "[plans.default]\n"
        "steps = [\n"
        '  { id = "welcome", day = -1 },\n'
        '  { id = "connect", day = 1, wait = 2 },\n'
        "]\n"
        "[plans.team]\n"
        "flag_after_days = 0\n"
    )
    messages = " | ".join(message for _, message in found)
    assert "flag_after_days" in messages and "'welcome'" in messages and "'wait'" in messages


def test_a_plan_without_steps_inherits_the_defaults() -> None:
    assert RULES.plan("team") == PLAN
    assert RULES.plan("unknown") == PLAN


NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
GOOD = {
    "signup_id": "s1",
    "email": "zoe@example.com",
    "name": "Zoë",
    "plan": "team",
    "signed_up_at": "2026-12-01T13:55:00Z",
}


def test_a_signup_is_read_with_every_field_error_at_once() -> None:
    assert isinstance(og.read_signup(GOOD, ["default", "team"], NOW, "America/New_York"), og.Signup)
    bad = {
        **GOOD,
        "email": "zoe at example",
        "plan": "gold",
        "signed_up_at": "2027-01-01T00:00:00Z",
        "name": "two\nlines",
        "owner": "nobody",
        "timezone": "Mars/Olympus",
    }
    errors = og.read_signup(bad, ["default", "team"], NOW, "America/New_York")
    assert isinstance(errors, list)
    assert [e.field for e in errors] == ["name", "email", "plan", "owner", "timezone"]
    unknown_zone_hides_the_time = {**bad, "timezone": ""}
    errors = og.read_signup(unknown_zone_hides_the_time, ["team"], NOW, "America/New_York")
    assert isinstance(errors, list) and "signed_up_at" in [e.field for e in errors]


@given(
    st.dictionaries(
        st.sampled_from([*og.signup.REQUIRED, "owner", "timezone"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=300)),
    )
)
def test_any_body_is_a_signup_or_field_errors_never_an_exception(data: dict[str, object]) -> None:
    found = og.read_signup(data, ["team"], NOW, "America/New_York")
    assert isinstance(found, og.Signup) or all(isinstance(e, og.FieldError) for e in found)


def test_a_bad_row_is_a_problem_naming_its_line_and_the_others_run() -> None:
    table, _ = read_csv(
        "customer_id,name,email,plan,signed_up_at,owner,timezone,status\n"
        "c1,Ada,ada@example.com,team,2026-12-01 09:00,owner@example.com,,\n"
        "c2,Bo,bo at example,team,2026-12-01 09:00,owner@example.com,,\n"
        "c3,Cy,cy@example.com,gold,2026-12-01 09:00,owner@example.com,,\n"
        "c4,Di,di@example.com,team,yesterday,owner@example.com,,\n"
        "c5,Ed,ed@example.com,team,2026-12-01,nobody,Asia/Tokyo,on hold\n",
        "onboarding.csv",
    )
    customers, problems = og.parse_rows(
        table, ["default", "team"], timezone="America/New_York", dayfirst=False, admin="a@b.co"
    )
    assert [c.customer_id for c in customers] == ["c1", "c5"]
    assert [(p.line, p.column) for p in problems] == [
        (3, "email"),
        (4, "plan"),
        (5, "signed_up_at"),
        (6, "owner"),
    ]
    ed = customers[1]
    assert ed.owner == "a@b.co" and ed.status == "paused"
    assert ed.signed_up_at == datetime(2026, 12, 1, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_every_day_with_nothing_done_gives_each_step_its_nudge_then_its_flag() -> None:
    zone = ZoneInfo("America/New_York")
    person = customer(datetime(2026, 12, 1, 8, 0, tzinfo=zone))
    sends: list[og.Sent] = []
    planned: list[tuple[int, str]] = []
    for day in range(12):
        now = local_at(date(2026, 12, 1) + timedelta(days=day), time(9, 0), zone)
        plan = og.plan_tick([person], og.State.of(sends), RULES, now)
        planned += [(day, m.key.removeprefix("og:c1:")) for m in plan.moves]
        deliver(sends, plan, now.date())
    assert planned == [
        (0, "welcome:step_due"),
        (1, "connect:step_due"),
        (3, "connect:nudge"),
        (3, "invite:step_due"),
        (4, "invite:nudge"),
        (5, "connect:flag"),
        (6, "invite:flag"),
        (6, "sso:step_due"),
    ]
