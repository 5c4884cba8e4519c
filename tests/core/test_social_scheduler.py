"""The social scheduler's core: the approved words, the minute a post goes out, what the tick
plans for any state, the channels' counting, and the rules doc's errors on their lines."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core import social_scheduler as ss
from backoffice.core.business_time import is_allowed
from backoffice.core.documents import DocumentError
from backoffice.core.sheet import read_csv

SG = ZoneInfo("Asia/Singapore")
NY = ZoneInfo("America/New_York")
RULES_TEXT = """
[channels.facebook]
kind = "facebook-page"
endpoint = "https://graph.facebook.com/v21.0/P/feed"
max_chars = 50
max_links = 1

[channels.site]
kind = "webhook"
endpoint = "https://example.com/hook"
max_chars = 80

[posting]
window = "08:00-20:00"
blackout_days = ["2026-12-25", "2026-12-26"]
grace_minutes = 60
"""
RULES = ss.load_rules(RULES_TEXT)
CALENDAR = ss.posting_calendar(RULES.posting, "Asia/Singapore")


def post(
    publish_at: datetime, *, approved: bool = True, text: str = "Hello", channels: str = "facebook"
) -> ss.Post:
    return ss.Post("p1", text, tuple(channels.split(",")), "", publish_at, approved, 2)


@given(st.text(max_size=8))
def test_approved_is_exactly_the_listed_words_in_any_case(cell: str) -> None:
    words = {"true", "yes", "y", "✓", "x", "1"}
    assert ss.is_approved(cell) == (cell.strip().casefold() in words)


minutes = st.datetimes(
    min_value=datetime(2026, 12, 20), max_value=datetime(2027, 1, 5), timezones=st.just(SG)
).map(lambda d: d.replace(second=0, microsecond=0))


@given(minutes)
def test_a_post_goes_at_its_minute_or_the_next_window_opening_on_a_day_without_blackout(
    when: datetime,
) -> None:
    due = ss.due_minute(post(when), CALENDAR)
    assert is_allowed(due, CALENDAR) and due >= when
    if is_allowed(when, CALENDAR):
        assert due == when
    else:
        assert due.time() == time(8, 0)
        skipped = [when.date() + timedelta(days=n) for n in range((due.date() - when.date()).days)]
        later = [d for d in skipped if d > when.date()]
        assert all(d in RULES.posting.blackout_days for d in later)


STATUS_STATES = st.sampled_from(["new", "queued", "draft", "sent", "missed"])
SEND_STATES = st.one_of(
    st.none(), st.sampled_from(["sending", "retry", "sent", "failed"]).map(ss.ChannelSend)
)


@given(
    publish=minutes,
    now=minutes,
    approved=st.booleans(),
    state=STATUS_STATES,
    facebook=SEND_STATES,
    site=SEND_STATES,
    blocked=st.sets(st.sampled_from(["facebook", "site"])),
    long=st.booleans(),
)
def test_the_tick_plans_only_what_may_go(
    publish: datetime,
    now: datetime,
    approved: bool,
    state: str,
    facebook: ss.ChannelSend | None,
    site: ss.ChannelSend | None,
    blocked: set[str],
    long: bool,
) -> None:
    text = "x" * 60 if long else "Hello"
    p = post(publish, approved=approved, text=text, channels="facebook,site")
    sends = {k: v for k, v in {("p1", "facebook"): facebook, ("p1", "site"): site}.items() if v}
    state_of = ss.State({"p1": ss.Status("p1", state)}, sends, frozenset(blocked))
    next_tick = ss.next_tick_after(now, time(7, 0), SG)
    plan = ss.plan_tick([p], state_of, RULES, {}, now, next_tick, "owner@example.com")
    posts = [m for m in plan.moves if m.kind == "post"]
    if not approved or long:
        assert not posts  # nothing without the flag; nothing anywhere when one channel refuses
    for move in posts:
        channel = move.fields["channel"]
        send = sends.get(("p1", channel))
        assert send is None or send.status in ("sending", "retry")  # never a sent one again
        assert channel not in blocked
        at = datetime.fromisoformat(move.fields["at"])
        assert at < next_tick and is_allowed(at, CALENDAR)
        assert move.key == f"ss:p1:{channel}:post"
    assert len({m.key for m in plan.moves}) == len(plan.moves)
    if long and approved and posts == [] and plan.moves:
        [flag] = plan.moves
        assert flag.kind == "flag" and "facebook: 60 characters" in flag.fields["reason"]


def test_a_post_first_seen_after_its_grace_is_flagged_not_posted() -> None:
    due = datetime(2026, 12, 3, 9, 0, tzinfo=SG)
    state = ss.State({}, {})
    for late, expect in ((59, "post"), (61, "flag")):
        now = due + timedelta(minutes=late)
        next_tick = ss.next_tick_after(now, time(7, 0), SG)
        plan = ss.plan_tick([post(due)], state, RULES, {}, now, next_tick, "owner@example.com")
        assert [m.kind for m in plan.moves] == [expect]


def test_a_post_queued_in_time_but_held_up_is_sent_late_within_a_day_then_only_reported() -> None:
    due = datetime(2026, 12, 3, 9, 0, tzinfo=SG)
    queued = ss.State({"p1": ss.Status("p1", "queued", due_at=due)}, {})
    for late, kinds in ((timedelta(hours=5), ["post"]), (timedelta(days=2), [])):
        now = due + late
        next_tick = ss.next_tick_after(now, time(7, 0), SG)
        plan = ss.plan_tick([post(due)], queued, RULES, {}, now, next_tick, "owner@example.com")
        assert [m.kind for m in plan.moves] == kinds


def test_characters_are_counted_as_each_platform_counts_them() -> None:
    text = "Café 🥐 & <b>"
    assert ss.counted_length(text, "webhook") == 12
    assert ss.counted_length(text, "facebook-page") == 13  # the emoji is two UTF-16 units
    assert ss.counted_length(text, "slack") == len("Café 🥐 &amp; &lt;b&gt;")
    assert ss.counted_length("Cafe\u0301", "webhook") == 4  # NFC: é is one character
    assert ss.link_count("see https://a.example/x and www.b.example, not a.example") == 2


def test_a_refused_image_stops_every_channel_with_the_reason_per_channel() -> None:
    p = ss.Post(
        "p1", "Hi", ("facebook", "site"), "a.jpg", datetime(2026, 12, 3, 9, tzinfo=SG), True, 2
    )
    found = ss.post_problems(p, RULES, {"a.jpg": ss.ImageFacts("image/gif", 10)})
    assert set(found) == {"facebook", "site"}
    assert "it takes image/jpeg, image/png" in found["facebook"][0]
    assert ss.post_problems(p, RULES, {"a.jpg": ss.ImageFacts("", 10)})["site"] == [
        "the image file is not an image (or is damaged)"
    ]


def test_a_local_time_in_the_spring_gap_moves_forward_and_a_repeated_one_takes_the_first() -> None:
    gap = ss.parse_publish_at("2027-03-14 02:30", NY, dayfirst=False)
    assert gap.utcoffset() == timedelta(hours=-4) and gap.hour == 3
    fold = ss.parse_publish_at("2026-11-01 01:30", NY, dayfirst=False)
    assert fold.utcoffset() == timedelta(hours=-4)
    assert ss.parse_publish_at("04/12/2026 9:30", SG, dayfirst=True) == datetime(
        2026, 12, 4, 9, 30, tzinfo=SG
    )
    with pytest.raises(ValueError, match="reads two ways"):
        ss.parse_publish_at("04/12/2026 09:30", SG, dayfirst=None)
    with pytest.raises(ValueError, match="without a time"):
        ss.parse_publish_at("2026-12-04", SG, dayfirst=None)


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        ('kind = "facebook-page"', 3, "kind in [channels.facebook] must be one of"),
        ("max_chars = 50", 5, "max_chars in [channels.facebook] must be"),
        ('window = "08:00-20:00"', 14, "window '8am-8pm'"),
    ],
)
def test_a_broken_rule_is_reported_on_its_line(change: str, line: int, words: str) -> None:
    broken = {
        'kind = "facebook-page"': 'kind = "myspace"',
        "max_chars = 50": 'max_chars = "fifty"',
        'window = "08:00-20:00"': 'window = "8am-8pm"',
    }[change]
    with pytest.raises(DocumentError) as raised:
        ss.load_rules(RULES_TEXT.replace(change, broken))
    [problem] = raised.value.problems()
    assert problem.line == line and words in problem.message


def test_a_template_naming_an_unknown_placeholder_or_channel_is_refused_on_its_line() -> None:
    text = RULES_TEXT + (
        '\n[templates.friday]\nschedule = "cron(0 9 ? * FRI *)"\ntext = "This Friday: {ofer}"\n'
        'channels = ["myspace"]\noffer = "cake"\n'
    )
    with pytest.raises(DocumentError) as raised:
        ss.load_rules(text)
    messages = {p.line: p.message for p in raised.value.problems()}
    lines = text.splitlines()
    assert any("{ofer}" in m and lines[n - 1].startswith("text") for n, m in messages.items())
    assert any("channels in [templates.friday]" in m for m in messages.values())


def test_rows_with_unknown_channels_or_no_text_are_skipped_on_their_lines() -> None:
    table, _ = read_csv(
        "post_id,text,channels,image,publish_at,approved\n"
        "a,Hi,facebook,,2026-12-03 09:00,TRUE\n"
        "b,Hi,tiktok,,2026-12-03 09:00,TRUE\n"
        "c,,facebook,,2026-12-03 09:00,TRUE\n",
        "posts.csv",
    )
    posts, problems = ss.parse_rows(table, RULES, timezone="Asia/Singapore", dayfirst=None)
    assert [p.post_id for p in posts] == ["a"]
    assert [(p.line, p.column) for p in problems] == [(3, "channels"), (4, "text")]
