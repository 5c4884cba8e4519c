"""The tick's statuses, written many to a transaction, land as one save each would have landed
them: a status an answer changed meanwhile keeps the answer's, the rest of its batch is written."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from backoffice.adapters.fake import FakeTables
from backoffice.core import social_scheduler as ss
from backoffice.ports import ConditionFailed
from backoffice.services.social_scheduler.state import (
    STATUS,
    save_status,
    save_statuses,
    status_from_row,
)

DUE = datetime(2026, 12, 4, 9, 0, tzinfo=ZoneInfo("Asia/Singapore"))


def _tables(stored: dict[int, int]) -> FakeTables:
    """Posts p0, p1, ... with a status row at the given epochs."""
    tables = FakeTables([STATUS])
    for n, epoch in stored.items():
        save_status(tables, ss.Status(f"p{n}"), ss.Status(f"p{n}", "reviewed", epoch))
    return tables


@given(
    count=st.integers(0, 60),
    stored=st.dictionaries(st.integers(0, 59), st.integers(0, 2), max_size=20),
    seen=st.dictionaries(st.integers(0, 59), st.integers(0, 2), max_size=20),
)
def test_statuses_saved_together_land_as_saved_one_by_one(
    count: int, stored: dict[int, int], seen: dict[int, int]
) -> None:
    # What the tick read (`seen`) may be behind what is stored (`stored`): an answer came.
    changes = []
    for n in range(count):
        before = ss.Status(f"p{n}", epoch=seen.get(n, 0))
        changes.append((before, ss.Status(f"p{n}", "queued", before.epoch, DUE)))
    together, apart = _tables(stored), _tables(stored)
    save_statuses(together, changes)
    for before, after in changes:
        try:
            save_status(apart, before, after)
        except ConditionFailed:
            continue
    rows = {k: status_from_row(v) for k, v in together.data[STATUS.name].items()}
    assert rows == {k: status_from_row(v) for k, v in apart.data[STATUS.name].items()}
