from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
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


def windows(plan: ar.TickPlan) -> list[str]:
    return [m.window for m in plan.moves]


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
    assert windows(ar.plan_tick([appt(30)], EMPTY, RULES, NOW, "C1")) == []
    assert windows(ar.plan_tick([appt(24)], EMPTY, RULES, NOW, "C1")) == ["first_reminder"]
    first = ar.Sent(appt(24).chain_id, "first_reminder", "sent")
    at_twelve = ar.plan_tick(
        [appt(24)], ar.State.of([first], ()), RULES, NOW + timedelta(hours=12), "C1"
    )
    assert windows(at_twelve) == ["gap_alert"] and at_twelve.moves[0].to == ("C1",)
    assert ar.plan_tick([appt(1)], EMPTY, RULES, NOW + timedelta(hours=1), "C1").moves == ()


def test_a_late_booking_gets_one_reminder_not_a_burst() -> None:
    plan = ar.plan_tick([appt(1.5, staff="U024BE7LH")], EMPTY, RULES, NOW, "C1")
    assert windows(plan) == ["second_reminder", "gap_alert"]
    assert plan.moves[0].skips == ("first_reminder",) and plan.moves[1].to == ("U024BE7LH",)


def test_confirm_stops_the_second_reminder_and_the_gap_alert_cancel_stops_all() -> None:
    a = appt(1.5)
    confirmed = ar.State.of((), [ar.ReplyRecord(a.chain_id, "confirm")])
    assert windows(ar.plan_tick([a], confirmed, RULES, NOW, "C1")) == ["first_reminder"]
    cancelled = ar.State.of((), [ar.ReplyRecord(a.chain_id, "cancel")])
    assert ar.plan_tick([a], cancelled, RULES, NOW, "C1").moves == ()
    assert ar.plan_tick([appt(1.5, cancelled=True)], EMPTY, RULES, NOW, "C1").moves == ()


def test_free_slots_skip_taken_closed_and_overrunning_times() -> None:
    taken = [datetime(2026, 12, 2, 9, 0, tzinfo=SG), datetime(2026, 12, 2, 10, 15, tzinfo=SG)]
    slots = ar.free_slots(RULES.booking, taken, NOW, SG, 30)
    wednesday = [s for s in slots if s.date() == datetime(2026, 12, 2).date()]
    assert [s.strftime("%H:%M") for s in wednesday[:3]] == ["09:30", "11:00", "11:30"]
    assert wednesday[-1].strftime("%H:%M") == "17:30"
    assert all(s.weekday() != 6 for s in slots)
    long = ar.free_slots(RULES.booking, [], NOW, SG, 90)
    assert max(s.time() for s in long).strftime("%H:%M") == "16:30"


def test_replies() -> None:
    a = appt(30)
    answer = ar.Answer("cancel", a.appt_id, a.chain_id, "+6591234567", "r1")
    cancelled = ar.apply_reply(EMPTY, a, answer, NOW, [], RULES.booking)
    assert cancelled.accepted and cancelled.sheet_writes == (("status", "cancelled"),)
    assert "Slot freed" in cancelled.staff_notice and cancelled.archive == a.chain_id
    wanted = datetime(2026, 12, 3, 11, 0, tzinfo=SG)
    move = ar.Answer("reschedule", a.appt_id, a.chain_id, "x", "r2", new_start=wanted)
    moved = ar.apply_reply(EMPTY, a, move, NOW, [], RULES.booking)
    assert moved.accepted and moved.sheet_writes == (("starts_at", "2026-12-03 11:00"),)
    taken = ar.apply_reply(EMPTY, a, move, NOW, [wanted], RULES.booking)
    assert not taken.accepted and "no longer free" in taken.message
    stale = ar.Answer("confirm", a.appt_id, "A1@2020-01-01T00:00:00+08:00", "x", "r3")
    assert not ar.apply_reply(EMPTY, a, stale, NOW, [], RULES.booking).accepted


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
    plan = ar.plan_tick([a], ar.State.of(sends, replies), RULES, now, "C1")
    if now >= a.starts_at:
        assert plan.moves == ()
    assert len({m.key for m in plan.moves}) == len(plan.moves)
    assert sum(m.window in ar.CUSTOMER_WINDOWS for m in plan.moves) <= 1
    if first_sent:
        assert "first_reminder" not in windows(plan)
    if confirmed:
        assert not {"second_reminder", "gap_alert"} & set(windows(plan))
    done = ar.State.of(
        [
            *sends,
            *(ar.Sent(a.chain_id, w, "sent") for m in plan.moves for w in (m.window, *m.skips)),
        ],
        replies,
    )
    assert not {m.key for m in ar.plan_tick([a], done, RULES, now, "C1").moves} & {
        m.key for m in plan.moves
    }
