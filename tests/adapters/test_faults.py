from __future__ import annotations

import pytest
from conftest import SCHEMAS

from backoffice.adapters.fake import FakeTables, InjectedFault


def test_a_failed_write_changes_nothing_and_every_call_is_counted() -> None:
    tables = FakeTables(SCHEMAS)
    tables.put("ew-pings", {"item_id": "A", "chain_index": "1", "v": 1})
    before = tables.snapshot()
    tables.faults.fail_next("put", times=2)
    for _ in range(2):
        with pytest.raises(InjectedFault):
            tables.put("ew-pings", {"item_id": "A", "chain_index": "1", "v": 2})
    assert tables.snapshot() == before
    tables.put("ew-pings", {"item_id": "A", "chain_index": "1", "v": 3})
    assert tables.get("ew-pings", "A", "1")["v"] == 3  # type: ignore[index]
    assert tables.faults.calls == {"put": 4, "get": 1}


def test_a_chosen_error_and_clearing() -> None:
    tables = FakeTables(SCHEMAS)
    tables.faults.fail_next("scan", TimeoutError("slow"))
    with pytest.raises(TimeoutError):
        tables.scan("ew-pings")
    tables.faults.fail_next("scan")
    tables.faults.clear()
    assert tables.scan("ew-pings") == []
