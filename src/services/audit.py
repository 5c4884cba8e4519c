"""Audit rows: appended, never overwritten."""

from __future__ import annotations

from typing import Any

from backoffice.ports import Absent, ConditionFailed, Tables

MAX_TWINS = 100


def append(tables: Tables, table: str, row: dict[str, Any], sort_key: str = "ts") -> None:
    """Write one audit row. Two answers that share a timestamp and request id (a retried request,
    an instant repeated) get distinct sort keys instead of one replacing the other."""
    first = row[sort_key]
    for twin in range(1, MAX_TWINS):
        try:
            tables.put(table, row, Absent())
            return
        except ConditionFailed:
            row = {**row, sort_key: f"{first}#{twin + 1}"}
    raise RuntimeError(f"could not find a free audit key for {first}")
