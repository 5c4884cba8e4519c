from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.keys import move_key, schedule_name

VALID = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")


def test_move_keys() -> None:
    assert move_key("ew", "LIC-1", "2026-12-01", "reminder", 2) == "ew:LIC-1:2026-12-01:reminder:2"


@given(st.text(min_size=1, max_size=200))
def test_schedule_names_are_valid_and_deterministic(key: str) -> None:
    assert VALID.match(schedule_name(key))
    assert schedule_name(key) == schedule_name(key)


@given(st.sets(st.text(min_size=1, max_size=120), min_size=2, max_size=50))
def test_schedule_names_do_not_collide(keys: set[str]) -> None:
    assert len({schedule_name(key) for key in keys}) == len(keys)


def test_long_keys_keep_a_readable_prefix() -> None:
    name = schedule_name("ew:" + "X" * 100 + ":2026-12-01:first_alert")
    assert name.startswith("ew-XXX") and len(name) == 64
