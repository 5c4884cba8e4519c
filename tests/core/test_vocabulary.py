"""The shared vocabulary's moves survive the bus and the scheduler, in today's shape and in the
shape one-offs were booked with before it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.vocabulary import Move

SG = ZoneInfo("Asia/Singapore")
text = st.text(min_size=1, max_size=20)


@given(
    st.builds(
        Move,
        key=text,
        kind=st.sampled_from(["first_alert", "reminder"]),
        subject=text,
        chain=text,
        to=st.tuples(text) | st.tuples(text, text),
        line=st.integers(1, 10**6),
        number=st.integers(0, 9),
        deadline=st.none()
        | st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(SG)),
        zone=st.sampled_from(["", "Asia/Singapore"]),
        skips=st.tuples() | st.tuples(st.just("first_reminder")),
        fields=st.dictionaries(text, st.text(max_size=50), max_size=4),
    )
)
def test_a_move_comes_back_from_its_json_unchanged(move: Move) -> None:
    assert Move.from_json(move.as_json(), ("first_alert", "reminder")) == move


def test_an_unknown_kind_is_refused() -> None:
    move = Move("k", "shred", "A", "A@1", ("x",), 2)
    with pytest.raises(ValueError, match="unknown move 'shred'"):
        Move.from_json(move.as_json(), ("first_alert",))


def test_one_offs_booked_in_the_shapes_before_the_shared_one_are_still_read() -> None:
    expiry = {
        "key": "ew:LIC-1:2026-12-20:reminder:2",
        "move": "reminder",
        "item_id": "LIC-1",
        "chain_id": "LIC-1@2026-12-20",
        "to": "maria@example.com",
        "number": 2,
        "line": 3,
        "fields": {"item_name": "Licence"},
    }
    move = Move.from_json(expiry, ("reminder",))
    assert (move.kind, move.subject, move.chain, move.to) == (
        "reminder",
        "LIC-1",
        "LIC-1@2026-12-20",
        ("maria@example.com",),
    )
    assert move.number == 2 and move.fields == {"item_name": "Licence"}
    appointment = {
        "key": "ar:A1:2026-12-02T14:00:00+08:00:gap_alert",
        "window": "gap_alert",
        "appt_id": "A1",
        "chain_id": "A1@2026-12-02T14:00:00+08:00",
        "to": ["C0STAFF001"],
        "starts_at": "2026-12-02T14:00:00+08:00",
        "line": 2,
        "skips": [],
        "zone": "Asia/Singapore",
    }
    move = Move.from_json(appointment, ("gap_alert",))
    assert move.deadline == datetime(2026, 12, 2, 14, 0, tzinfo=SG)
    assert (move.subject, move.to, move.zone) == ("A1", ("C0STAFF001",), "Asia/Singapore")
