from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import SCHEMAS

from backoffice.adapters.fake import FakeTables, InjectedFault
from backoffice.adapters.local.tables import SqliteTables
from backoffice.ports import (
    Absent,
    AllOf,
    AnyOf,
    Before,
    ConditionFailed,
    Equals,
    Tables,
    Write,
)

NOW = "2026-12-01T13:00:00+00:00"
CLAIM = AnyOf((Absent(), AllOf((Equals("status", "sending"), Before("lease_until", NOW)))))


def ping(sk: str = "2026-12-01#first_alert", **fields: Any) -> dict[str, Any]:
    return {"item_id": "A", "chain_index": sk, **fields}


def test_missing_item_is_none(tables: Tables) -> None:
    assert tables.get("ew-pings", "A", "x") is None
    assert tables.query("ew-pings", "A") == [] and tables.scan("ew-pings") == []


def test_put_writes_whole_items(tables: Tables) -> None:
    tables.put("ew-pings", ping(status="sending", extra=1))
    tables.put("ew-pings", ping(status="sent"))
    assert tables.get("ew-pings", "A", "2026-12-01#first_alert") == ping(status="sent")


def test_values_round_trip_exactly(tables: Tables) -> None:
    item = ping(n=3, flag=True, none=None, text="Größe ✓", nested={"a": [1, "b", {"c": False}]})
    tables.put("ew-pings", item)
    assert tables.get("ew-pings", "A", item["chain_index"]) == item


def test_absent_refuses_an_existing_item_and_leaves_it_alone(tables: Tables) -> None:
    tables.put("ew-pings", ping(status="sent"), Absent())
    with pytest.raises(ConditionFailed):
        tables.put("ew-pings", ping(status="overwritten"), Absent())
    assert tables.get("ew-pings", "A", "2026-12-01#first_alert")["status"] == "sent"


@pytest.mark.parametrize(
    ("stored", "taken"),
    [
        (None, True),
        ({"status": "sending", "lease_until": "2026-12-01T12:59:59+00:00"}, True),
        ({"status": "sending", "lease_until": "2026-12-01T13:00:01+00:00"}, False),
        ({"status": "sent", "lease_until": None}, False),
    ],
)
def test_a_claim_takes_free_or_expired_keys_only(
    tables: Tables, stored: dict[str, Any] | None, taken: bool
) -> None:
    if stored is not None:
        tables.put("ew-pings", ping(**stored))
    try:
        tables.put("ew-pings", ping(status="sending", lease_until="later"), CLAIM)
        won = True
    except ConditionFailed:
        won = False
    assert won is taken
    current = tables.get("ew-pings", "A", "2026-12-01#first_alert")
    assert current == (ping(status="sending", lease_until="later") if taken else ping(**stored))


def test_query_and_scan_order(tables: Tables) -> None:
    for pk, sk in [("B", "2"), ("A", "b"), ("A", "a"), ("B", "1")]:
        tables.put("ew-pings", {"item_id": pk, "chain_index": sk})
    assert [i["chain_index"] for i in tables.query("ew-pings", "A")] == ["a", "b"]
    assert [(i["item_id"], i["chain_index"]) for i in tables.scan("ew-pings")] == [
        ("A", "a"),
        ("A", "b"),
        ("B", "1"),
        ("B", "2"),
    ]


def test_batches(tables: Tables) -> None:
    tables.put_many("ew-pings", [ping(str(n)) for n in range(30)])
    assert len(tables.scan("ew-pings")) == 30
    tables.delete_many("ew-pings", [("A", str(n)) for n in range(10)] + [("A", "missing")])
    assert len(tables.query("ew-pings", "A")) == 20
    assert tables.scan("t2") == []


def test_unknown_tables_and_keyless_items_are_clear_errors(tables: Tables) -> None:
    with pytest.raises(KeyError, match="unknown table"):
        tables.get("nope", "a", "b")
    with pytest.raises(ValueError, match="needs"):
        tables.put("ew-pings", {"item_id": "A"})


def other(**fields: Any) -> dict[str, Any]:
    return {"p": "A", "s": "1", **fields}


def test_a_transaction_lands_whole(tables: Tables) -> None:
    tables.put("t2", other(v=1))
    tables.transact(
        [
            Write("ew-pings", ping(status="sending"), Absent()),
            Write("t2", other(v=2), Equals("v", 1)),
        ]
    )
    assert tables.get("ew-pings", "A", "2026-12-01#first_alert") == ping(status="sending")
    assert tables.get("t2", "A", "1") == other(v=2)


def test_one_failed_condition_writes_nothing(tables: Tables) -> None:
    tables.put("ew-pings", ping(status="sent"))
    tables.put("t2", other(v=1))
    with pytest.raises(ConditionFailed):
        tables.transact(
            [
                Write("ew-pings", ping(status="sending")),
                Write("t2", other(v=2), Equals("v", 99)),
            ]
        )
    assert tables.get("ew-pings", "A", "2026-12-01#first_alert") == ping(status="sent")
    assert tables.get("t2", "A", "1") == other(v=1)


def test_absent_fails_a_transaction_on_an_existing_item(tables: Tables) -> None:
    tables.put("ew-pings", ping(status="sent"))
    with pytest.raises(ConditionFailed):
        tables.transact(
            [Write("t2", other(v=1)), Write("ew-pings", ping(status="again"), Absent())]
        )
    assert tables.get("t2", "A", "1") is None
    assert tables.get("ew-pings", "A", "2026-12-01#first_alert") == ping(status="sent")


def test_a_transaction_is_small_and_touches_each_item_once(tables: Tables) -> None:
    with pytest.raises(ValueError, match="at most 25"):
        tables.transact([Write("ew-pings", ping(str(n))) for n in range(26)])
    with pytest.raises(ValueError, match="once"):
        tables.transact([Write("ew-pings", ping(v=1)), Write("ew-pings", ping(v=2))])
    tables.transact([Write("ew-pings", ping(str(n))) for n in range(25)])
    tables.transact([])
    assert len(tables.scan("ew-pings")) == 25 and tables.scan("t2") == []


def test_a_failed_fake_transaction_writes_nothing() -> None:
    tables = FakeTables(SCHEMAS)
    tables.faults.fail_next("transact")
    with pytest.raises(InjectedFault):
        tables.transact([Write("t2", other(v=1))])
    assert tables.scan("t2") == []


def test_two_connections_share_one_file_and_one_winner(tmp_path: Path) -> None:
    first = SqliteTables(tmp_path / "state.db", SCHEMAS)
    second = SqliteTables(tmp_path / "state.db", SCHEMAS)
    first.put("ew-pings", ping(status="sent"))
    assert second.get("ew-pings", "A", "2026-12-01#first_alert") == ping(status="sent")

    winners: list[int] = []

    def claim(n: int) -> None:
        tables = SqliteTables(tmp_path / "state.db", SCHEMAS)
        try:
            tables.put("ew-pings", ping("race", who=n), Absent())
            winners.append(n)
        except ConditionFailed:
            pass
        finally:
            tables.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert first.get("ew-pings", "A", "race")["who"] == winners[0]
    first.close()
    second.close()
