from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 12, 7, 8, 0, tzinfo=NY)


def test_booking_twice_keeps_the_first(scheduler) -> None:  # type: ignore[no-untyped-def]
    scheduler.book("ew-A", AT, {"move": {"key": "first"}})
    scheduler.book("ew-A", AT + timedelta(hours=1), {"move": {"key": "second"}})
    assert scheduler.due(AT) == [("ew-A", {"move": {"key": "first"}})]
    assert scheduler.due(AT + timedelta(days=1)) == []


def test_due_hands_over_in_time_order_and_once(scheduler) -> None:  # type: ignore[no-untyped-def]
    scheduler.book("late", AT + timedelta(minutes=5), {"n": 2})
    scheduler.book("early", AT, {"n": 1})
    scheduler.book("future", AT + timedelta(days=1), {"n": 3})
    assert scheduler.due(AT - timedelta(seconds=1)) == []
    assert [name for name, _ in scheduler.due(AT + timedelta(minutes=5))] == ["early", "late"]
    assert scheduler.due(AT + timedelta(minutes=5)) == []
    assert list(scheduler.booked) == ["future"]


def test_cancel(scheduler) -> None:  # type: ignore[no-untyped-def]
    scheduler.book("x", AT, {})
    scheduler.cancel("x")
    scheduler.cancel("never-booked")
    assert scheduler.due(AT) == []


def test_times_are_instants_whatever_the_zone(scheduler) -> None:  # type: ignore[no-untyped-def]
    scheduler.book("x", AT, {})
    assert scheduler.due(AT.astimezone(ZoneInfo("UTC"))) == [("x", {})]
    with pytest.raises(ValueError):
        scheduler.book("naive", datetime(2026, 12, 7, 8), {})
