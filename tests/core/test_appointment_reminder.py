from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import appointment_reminder as ar
from backoffice.core.documents import DocumentError
from backoffice.core.sheet import read_csv
from backoffice.core.sms import sms_segments

SG = ZoneInfo("Asia/Singapore")
NY = ZoneInfo("America/New_York")
RULES = ar.load_rules(
    """
[services.default]
first_reminder_hours = 24
second_reminder_hours = 2
gap_alert_hours = 12
duration_min = 30

[services.colour]
duration_min = 90

[booking]
open = "09:00-18:00"
days = "Mon-Sat"
slot_minutes = 30
horizon_days = 14
"""
)
RULES_C1 = evolve(RULES, staff_channel="C1")  # where alerts go when a row names no staff
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SG)  # a Tuesday
EMPTY = ar.State.of((), ())


def appt(hours: float, appt_id: str = "A1", **fields: object) -> ar.Appointment:
    values: dict[str, object] = {
        "appt_id": appt_id,
        "customer_name": "Mei",
        "starts_at": NOW + timedelta(hours=hours),
        "line": 2,
        "phone": "+6591234567",
    }
    values.update(fields)
    return ar.Appointment(**values)  # type: ignore[arg-type]


def windows(plan: ar.Plan) -> list[str]:
    return [m.kind for m in plan.moves]


def test_rows_are_normalised_and_bad_ones_reported() -> None:
    table, _ = read_csv(
        "appt_id,customer_name,phone,email,service,starts_at,timezone\n"
        "A1,Mei,9123 4567,,default,2026-12-02 14:30,\n"
        "A2,Raj,,raj@example.com,colour,2026-12-02T10:00:00+08:00,\n"
        "A3,Ann,12,,default,2026-12-03 10:00,\n"
        "A4,Bob,+6591234567,,massage,2026-12-03 10:00,\n"
        "A5,Cy,+6591234567,,default,next week,\n"
        "A6,Di,+12125550123,,default,2026-03-08 02:30,America/New_York\n",
        "appointments.csv",
    )
    rows, problems = ar.parse_rows(
        table, RULES, timezone="Asia/Singapore", default_country="SG", dayfirst=False
    )
    assert [r.appt_id for r in rows] == ["A1", "A2", "A6"]
    assert rows[0].phone == "+6591234567" and rows[0].starts_at == datetime(
        2026, 12, 2, 14, 30, tzinfo=SG
    )
    assert rows[1].service == "colour" and rows[1].phone == ""
    assert rows[2].starts_at.hour == 3  # 02:30 does not exist that night in New York
    by_line = {p.line: p for p in problems}
    assert by_line[4].column == "phone" and "nobody can be reminded" in by_line[4].message
    assert by_line[5].column == "service" and "massage" in by_line[5].value
    assert by_line[6].column == "starts_at"


def test_rules_errors_name_the_line() -> None:
    with pytest.raises(DocumentError) as error:
        ar.load_rules("[services.default]\nfirst_reminder_hour = 24\n")
    assert error.value.line == 2


def test_reminders_by_window_and_never_after_the_start() -> None:
    assert windows(ar.plan_tick([appt(30)], EMPTY, RULES_C1, NOW)) == []
    assert windows(ar.plan_tick([appt(24)], EMPTY, RULES_C1, NOW)) == ["first_reminder"]
    first = ar.Sent(appt(24).chain_id, "first_reminder", "sent", NOW)
    at_twelve = ar.plan_tick(
        [appt(24)], ar.State.of([first], ()), RULES_C1, NOW + timedelta(hours=12)
    )
    assert windows(at_twelve) == ["gap_alert"] and at_twelve.moves[0].to == ("C1",)
    assert ar.plan_tick([appt(1)], EMPTY, RULES_C1, NOW + timedelta(hours=1)).moves == ()


def test_a_late_booking_gets_one_reminder_not_a_burst() -> None:
    late = appt(1.5, staff="U024BE7LH")
    plan = ar.plan_tick([late], EMPTY, RULES_C1, NOW)
    assert windows(plan) == ["second_reminder"] and plan.moves[0].skips == ("first_reminder",)
    # Staff hear "not confirmed" once the customer has had an hour to answer the reminder.
    sent = ar.State.of(
        [
            ar.Sent(late.chain_id, "first_reminder", "skipped"),
            ar.Sent(late.chain_id, "second_reminder", "sent", NOW),
        ],
        (),
    )
    assert windows(ar.plan_tick([late], sent, RULES_C1, NOW + timedelta(minutes=20))) == []
    later = ar.plan_tick([late], sent, RULES_C1, NOW + timedelta(hours=1))
    assert windows(later) == ["gap_alert"] and later.moves[0].to == ("U024BE7LH",)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 12), st.floats(0, 12), st.booleans())
def test_staff_are_told_only_after_the_customer_had_an_hour_or_the_start_is_near(
    hours_left: float, since_reminder: float, reminded: bool
) -> None:
    """Inside the gap-alert window (12 hours), exactly when the rule says."""
    a = appt(hours_left)
    sends = [ar.Sent(a.chain_id, "first_reminder", "sent", NOW - timedelta(hours=since_reminder))]
    state = ar.State.of(sends if reminded else [], ())
    plan = ar.plan_tick([a], state, RULES_C1, NOW)
    fair = hours_left <= 1 or (reminded and since_reminder >= 1)
    assert ("gap_alert" in windows(plan)) == fair


def test_confirm_stops_the_second_reminder_and_the_gap_alert_cancel_stops_all() -> None:
    a = appt(1.5)
    confirmed = ar.State.of((), [ar.ReplyRecord(a.chain_id, "confirm")])
    assert windows(ar.plan_tick([a], confirmed, RULES_C1, NOW)) == ["first_reminder"]
    cancelled = ar.State.of((), [ar.ReplyRecord(a.chain_id, "cancel")])
    assert ar.plan_tick([a], cancelled, RULES_C1, NOW).moves == ()
    assert ar.plan_tick([appt(1.5, cancelled=True)], EMPTY, RULES_C1, NOW).moves == ()


def test_free_slots_skip_taken_closed_and_overrunning_times() -> None:
    taken = [datetime(2026, 12, 2, 9, 0, tzinfo=SG), datetime(2026, 12, 2, 10, 15, tzinfo=SG)]
    slots = ar.free_slots(RULES.booking, taken, NOW, SG, 30)
    wednesday = [s for s in slots if s.date() == datetime(2026, 12, 2).date()]
    assert [s.strftime("%H:%M") for s in wednesday[:3]] == ["09:30", "11:00", "11:30"]
    assert wednesday[-1].strftime("%H:%M") == "17:30"
    assert all(s.weekday() != 6 for s in slots)
    long = ar.free_slots(RULES.booking, [], NOW, SG, 90)
    assert max(s.time() for s in long).strftime("%H:%M") == "16:30"


def current(a: ar.Appointment | None, *taken: datetime) -> ar.Current:
    return ar.Current(a, EMPTY, taken, RULES.booking, "C1")


def test_replies() -> None:
    a = appt(30)
    answer = ar.Action("cancel", a.appt_id, a.chain_id, "+6591234567", "r1")
    cancelled = ar.apply_action(current(a), answer, NOW)
    assert cancelled.accepted
    assert cancelled.sheet_writes == (ar.SheetWrite("A1", "status", "cancelled"),)
    [notice] = cancelled.notices
    assert "Slot freed" in notice.text and notice.to == "C1" and cancelled.archive == (a.chain_id,)
    assert cancelled.audit.by == "+6591234567" and cancelled.audit.after["cancelled"] is True
    wanted = datetime(2026, 12, 3, 11, 0, tzinfo=SG)
    move = ar.Action("reschedule", a.appt_id, a.chain_id, "x", "r2", wanted.isoformat())
    moved = ar.apply_action(current(a), move, NOW)
    assert moved.sheet_writes == (ar.SheetWrite("A1", "starts_at", "2026-12-03 11:00"),)
    assert moved.accepted and moved.audit.before["starts_at"] == a.starts_at.isoformat()
    taken = ar.apply_action(current(a, wanted), move, NOW)
    assert not taken.accepted and "no longer free" in taken.message
    assert taken.audit.action == "rejected" and taken.record is None
    stale = ar.Action("confirm", a.appt_id, "A1@2020-01-01T00:00:00+08:00", "x", "r3")
    assert not ar.apply_action(current(a), stale, NOW).accepted
    unknown = ar.Action("rebook", a.appt_id, a.chain_id, "x", "r4")
    assert not ar.apply_action(current(a), unknown, NOW).accepted
    garbled = ar.Action("reschedule", a.appt_id, a.chain_id, "x", "r5", "tomorrow-ish")
    assert not ar.apply_action(current(a), garbled, NOW).accepted


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("é" * 160, 1),
        ("ü" * 10 + "中", 1),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("😀" * 35, 1),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


@settings(max_examples=200, deadline=None)
@given(st.floats(-5, 48), st.booleans(), st.booleans(), st.integers(0, 30))
def test_moves_never_repeat_a_window_and_never_follow_the_start(
    hours: float, confirmed: bool, first_sent: bool, later: int
) -> None:
    a = appt(hours)
    sends = [ar.Sent(a.chain_id, "first_reminder", "sent")] if first_sent else []
    replies = [ar.ReplyRecord(a.chain_id, "confirm")] if confirmed else []
    now = NOW + timedelta(hours=later / 10)
    plan = ar.plan_tick([a], ar.State.of(sends, replies), RULES_C1, now)
    if now >= a.starts_at:
        assert plan.moves == ()
    assert len({m.key for m in plan.moves}) == len(plan.moves)
    assert sum(m.kind in ar.CUSTOMER_WINDOWS for m in plan.moves) <= 1
    if first_sent:
        assert "first_reminder" not in windows(plan)
    if confirmed:
        assert not {"second_reminder", "gap_alert"} & set(windows(plan))
    done = ar.State.of(
        [
            *sends,
            *(ar.Sent(a.chain_id, w, "sent") for m in plan.moves for w in (m.kind, *m.skips)),
        ],
        replies,
    )
    assert not {m.key for m in ar.plan_tick([a], done, RULES_C1, now).moves} & {
        m.key for m in plan.moves
    }
