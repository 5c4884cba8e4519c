"""Key-value tables shaped like DynamoDB: items are dicts of str, int, bool, None, lists and maps.

Every table has a partition key and a sort key; their names come from the table's schema, which the
adapter is given when it is built. Conditional writes are the only way to take a claim or spend a
nonce, so every adapter evaluates them atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from attrs import frozen

Item = dict[str, Any]


class ConditionFailed(Exception):
    """A conditional write found the item in a state that did not satisfy its condition."""


@frozen
class Absent:
    """The item does not exist yet."""


@frozen
class Equals:
    field: str
    value: Any


@frozen
class Before:
    """The stored string field sorts before `value` (ISO timestamps compare as strings)."""

    field: str
    value: str


@frozen
class AllOf:
    conditions: tuple[Condition, ...]


@frozen
class AnyOf:
    conditions: tuple[Condition, ...]


Condition = Absent | Equals | Before | AllOf | AnyOf


def holds(condition: Condition, current: Mapping[str, Any] | None) -> bool:
    """Evaluate a condition against the stored item (None when there is none)."""
    match condition:
        case Absent():
            return current is None
        case Equals(field, value):
            return current is not None and current.get(field) == value
        case Before(field, value):
            stored = None if current is None else current.get(field)
            return isinstance(stored, str) and stored < value
        case AllOf(conditions):
            return all(holds(c, current) for c in conditions)
        case AnyOf(conditions):
            return any(holds(c, current) for c in conditions)
    raise TypeError(f"not a condition: {condition!r}")


@frozen
class TableSchema:
    name: str
    partition_key: str
    sort_key: str

    def key_of(self, item: Mapping[str, Any]) -> tuple[str, str]:
        """The item's (partition, sort) key values; an item without them is refused."""
        try:
            return str(item[self.partition_key]), str(item[self.sort_key])
        except KeyError as missing:
            raise ValueError(f"an item of {self.name} needs {missing}") from None


@frozen
class Write:
    """One put of a transaction, with the condition it needs."""

    table: str
    item: Mapping[str, Any]
    condition: Condition | None = None


class Tables(Protocol):
    def get(self, table: str, pk: str, sk: str) -> Item | None: ...

    def put(self, table: str, item: Mapping[str, Any], condition: Condition | None = None) -> None:
        """Write the item whole; raise ConditionFailed when `condition` does not hold."""

    def put_many(self, table: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Unconditional batch write."""

    def query(self, table: str, pk: str) -> list[Item]:
        """Every item of one partition, ordered by sort key."""

    def scan(self, table: str) -> list[Item]:
        """Every item of the table (one logical call; adapters page internally)."""

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> None: ...

    def transact(self, writes: Sequence[Write]) -> None:
        """Every put, or none of them: ConditionFailed (and nothing written) when any
        condition does not hold. At most 25 writes, on distinct items."""
