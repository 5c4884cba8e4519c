"""The social inbox's core: working hours (split shifts, midnight, timezones, holidays), who
is eligible and who is chosen, business minutes for SLA targets, the labels' contract and
the keyword labeler, threads joined, reopened or started, and the rules' errors on their
lines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core import social_inbox as si
from backoffice.core.business_time import (
    Calendar,
    CalendarError,
    business_minutes_after,
    is_allowed,
)
from backoffice.core.documents import DocumentError

SG = ZoneInfo("Asia/Singapore")
THURSDAY = datetime(2026, 12, 3, 10, 0, tzinfo=SG)
RULES = si.load_rules(
    """
urgent_words = ["urgent", "charged twice"]
default_team = "support"
[topics.orders]
keywords = ["order", "tracking"]
team = "sales"
[topics.billing]
keywords = ["refund", "invoice"]
team = "support"
"""
)


def mate(
    assignee: str,
    hours: str,
    *,
    teams: str = "support",
    status: str = "active",
    capacity: int = 3,
    zone: str = "Asia/Singapore",
) -> si.Teammate:
    return si.Teammate(
        assignee,
        assignee,
        f"{assignee}@x.example",
        frozenset(teams.split(",")),
        zone,
        si.parse_working_hours(hours),
        status,
        capacity,
        2,
    )


def test_split_shifts_and_midnight_and_own_timezones() -> None:
    mei = mate("mei", "Mon-Fri 09:00-12:00,13:00-18:00")
    assert mei.working(THURSDAY, ()) and not mei.working(THURSDAY.replace(hour=12, minute=30), ())
    assert not mei.working(THURSDAY.replace(hour=18), ())  # the end is not inside
    always = mate("dev", "Mon-Sun 00:00-24:00")
    assert always.working(THURSDAY.replace(hour=23, minute=59), ())
    berlin = mate("lena", "Mon-Fri 09:00-17:00", zone="Europe/Berlin")
    assert not berlin.working(THURSDAY, ())  # 03:00 in Berlin
    assert berlin.working(THURSDAY.replace(hour=17), ())  # 10:00 in Berlin
    assert not mei.working(THURSDAY, {date(2026, 12, 3)})  # a holiday
    weekend = mate("sam", "Fri-Mon 10:00-14:00")  # a range across the week's end
    assert weekend.working(datetime(2026, 12, 7, 11, 0, tzinfo=SG), ())  # Monday


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Mon-Fri",
        "Mon-Fri nine to five",
        "Moon 09:00-17:00",
        "Mon-Fri 17:00-09:00",
        "Mon 25:00-26:00",
    ],
)
def test_unreadable_hours_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(CalendarError):
        si.parse_working_hours(text)


@given(
    loads=st.lists(st.integers(0, 4), min_size=4, max_size=4),
    statuses=st.lists(st.sampled_from(["active", "away"]), min_size=4, max_size=4),
    hour=st.integers(0, 23),
    last=st.sampled_from([None, "a", "b", "c", "d", "zz"]),
    urgency=st.sampled_from(["normal", "urgent"]),
)
def test_the_router_only_picks_an_eligible_least_loaded_teammate(
    loads: list[int], statuses: list[str], hour: int, last: str | None, urgency: str
) -> None:
    roster = [
        mate(n, h, status=s, capacity=3)
        for n, h, s in zip(
            "abcd",
            [
                "Mon-Sun 00:00-24:00",
                "Mon-Fri 09:00-17:00",
                "Mon-Sun 08:00-12:00,14:00-20:00",
                "Mon-Sun 00:00-24:00",
            ],
            statuses,
            strict=True,
        )
    ]
    counts = dict(zip("abcd", loads, strict=True))
    now = THURSDAY.replace(hour=hour)
    routed = si.route("support", urgency, roster, counts, now, (), last)
    free = si.eligible("support", roster, counts, now, ())
    if not free:
        assert routed.assignee is None
        return
    chosen = next(m for m in roster if m.assignee == routed.assignee)
    assert chosen in free and counts[chosen.assignee] == min(counts[m.assignee] for m in free)


def test_ties_go_in_turn_after_the_last_one_and_urgent_takes_the_first() -> None:
    roster = [mate(n, "Mon-Sun 00:00-24:00") for n in "abc"]
    picks, last = [], None
    for _ in range(4):
        picked = si.choose("normal", roster, {}, last)
        assert picked is not None
        picks.append(picked.assignee)
        last = picked.assignee
    assert picks == ["a", "b", "c", "a"]
    assert si.choose("urgent", roster, {"a": 1}, "b").assignee == "b"  # type: ignore[union-attr]


CAL = Calendar("Asia/Singapore", time(19, 0), time(9, 0), frozenset(range(6)), frozenset())


@given(
    start=st.datetimes(
        min_value=datetime(2026, 11, 1), max_value=datetime(2027, 1, 1), timezones=st.just(SG)
    ),
    minutes=st.integers(1, 3000),
)
def test_business_minutes_land_in_business_time_and_count_only_it(
    start: datetime, minutes: int
) -> None:
    due = business_minutes_after(start, minutes, CAL)
    assert due > start and (is_allowed(due, CAL) or is_allowed(due - timedelta(minutes=1), CAL))
    counted, cursor = 0, start.replace(second=0, microsecond=0)
    if cursor < start:
        cursor += timedelta(minutes=1)
    while cursor < due and counted <= minutes:
        counted += is_allowed(cursor, CAL)
        cursor += timedelta(minutes=1)
    assert abs(counted - minutes) <= 1


def test_an_sla_given_on_friday_evening_runs_out_on_monday() -> None:
    friday = datetime(2026, 12, 4, 18, 0, tzinfo=SG)
    cal = Calendar("Asia/Singapore", time(19, 0), time(9, 0), frozenset(range(5)), frozenset())
    assert business_minutes_after(friday, 240, cal) == datetime(2026, 12, 7, 12, 0, tzinfo=SG)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("I think it's about billing", "not JSON"),
        ('{"topic": "billing"}', "exactly topic"),
        ('{"topic": "x", "urgency": "normal", "language": "en", "summary": "s"}', "taxonomy"),
        ('{"topic": "billing", "urgency": "high", "language": "en", "summary": "s"}', "urgency"),
        (
            '{"topic": "billing", "urgency": "normal", "language": "English", "summary": "s"}',
            "language",
        ),
        (
            '{"topic": "billing", "urgency": "normal", "language": "en", "summary": "'
            + "x" * 201
            + '"}',
            "summary",
        ),
    ],
)
def test_the_labels_contract_is_strict(answer: str, why: str) -> None:
    result = si.read_label(answer, tuple(RULES.topics))
    assert isinstance(result, str) and why in result


def test_the_keyword_labeler_is_deterministic_and_never_loses_a_message() -> None:
    assert si.keyword_label("Where is my ORDER?", RULES).topic == "orders"
    assert si.keyword_label("I was charged twice!", RULES).urgency == "urgent"
    assert si.keyword_label("reorder soon", RULES).topic == "other"  # whole words only
    assert si.keyword_label("", RULES).topic == "other"
    assert len(si.keyword_label("x" * 500, RULES).summary) == si.MAX_SUMMARY


def message(mid: str, text: str = "hi", sender: str = "c1") -> si.Incoming:
    return si.Incoming("facebook", mid, sender, "page", text, THURSDAY)


def test_threads_are_joined_reopened_or_started_and_a_message_is_in_one_once() -> None:
    label = si.fallback("hi")
    placed, thread = si.place(message("m1"), None, label, "support", THURSDAY)
    assert placed == "new" and thread.thread_id == si.thread_id_for(message("m1"))
    assert si.place(message("m1"), thread, label, "support", THURSDAY)[0] == "repeat"
    placed, joined = si.place(message("m2"), thread, label, "support", THURSDAY)
    assert placed == "joined" and len(joined.messages) == 2
    closed = evolve(joined, status="closed", assignee="mei")
    placed, reopened = si.place(message("m3"), closed, label, "sales", THURSDAY)
    assert placed == "reopened" and reopened.assignee is None and reopened.team == "sales"


def test_the_rules_doc_is_refused_on_its_lines() -> None:
    text = '[topics.orders]\nkeywords = "order"\n\n[sla]\nurgent_minutes = 0\n[topicz.x]\n'
    with pytest.raises(DocumentError) as raised:
        si.load_rules(text)
    lines = {p.line for p in raised.value.problems()}
    assert {2, 5, 6} <= lines


@pytest.mark.parametrize(
    ("platform", "after", "kind", "tag"),
    [
        ("whatsapp", timedelta(hours=23, minutes=59, seconds=59), "free", ""),
        ("whatsapp", timedelta(hours=24), "template", ""),
        ("whatsapp", timedelta(days=30), "template", ""),
        ("facebook", timedelta(hours=23, minutes=59), "free", ""),
        ("facebook", timedelta(hours=24), "tagged", "HUMAN_AGENT"),
        ("instagram", timedelta(days=7) - timedelta(seconds=1), "tagged", "HUMAN_AGENT"),
        ("instagram", timedelta(days=7), "closed", ""),
    ],
)
def test_metas_reply_windows_at_their_boundaries(
    platform: str, after: timedelta, kind: str, tag: str
) -> None:
    message = si.Incoming(platform, "m1", "c1", "page", "hi", THURSDAY)
    _, thread = si.place(message, None, si.fallback("hi"), "support", THURSDAY)
    reply = evolve(thread.messages[0], direction="out", at=THURSDAY + after - timedelta(seconds=1))
    thread = evolve(thread, messages=(*thread.messages, reply))  # our replies open nothing
    window = si.reply_window(thread, THURSDAY + after)
    assert (window.kind, window.tag) == (kind, tag)
    assert bool(window.why) == (kind != "free")
