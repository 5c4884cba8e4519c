"""In-memory Tables with the same conditional-write semantics as DynamoDB and SQLite."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import define, field

from backoffice.adapters.fake.faults import Faults
from backoffice.ports import Condition, ConditionFailed, Item, TableSchema, Write, holds

TRANSACT_MOST = 25  # DynamoDB's limit, kept here so a fake cannot take what AWS refuses


@define(init=False)
class FakeTables:
    schemas: dict[str, TableSchema]
    data: dict[str, dict[tuple[str, str], Item]]
    # Each table's sort keys by partition key: a query reads its partition, not the table (a
    # preview runs thousands of queries over tables of thousands of rows).
    partitions: dict[str, dict[str, set[str]]]
    faults: Faults = field(factory=Faults)

    def __init__(self, schemas: Iterable[TableSchema]) -> None:
        by_name = {schema.name: schema for schema in schemas}
        self.__attrs_init__(by_name, {name: {} for name in by_name}, {name: {} for name in by_name})

    def _store(self, table: str, key: tuple[str, str], item: Mapping[str, Any]) -> None:
        self.data[table][key] = _copied(item)
        self.partitions[table].setdefault(key[0], set()).add(key[1])

    def _table(self, table: str) -> tuple[TableSchema, dict[tuple[str, str], Item]]:
        if table not in self.schemas:
            raise KeyError(f"unknown table {table!r}; known: {', '.join(sorted(self.schemas))}")
        return self.schemas[table], self.data[table]

    def get(self, table: str, pk: str, sk: str) -> Item | None:
        self.faults.hit("get")
        _, rows = self._table(table)
        found = rows.get((pk, sk))
        return _copied(found) if found is not None else None

    def put(self, table: str, item: Mapping[str, Any], condition: Condition | None = None) -> None:
        self.faults.hit("put")
        schema, rows = self._table(table)
        key = schema.key_of(item)
        if condition is not None and not holds(condition, rows.get(key)):
            raise ConditionFailed(f"{table} {key}: condition not met")
        self._store(table, key, item)

    def put_many(self, table: str, items: Iterable[Mapping[str, Any]]) -> None:
        self.faults.hit("put_many")
        schema, _ = self._table(table)
        staged = [(schema.key_of(item), item) for item in items]
        for key, item in staged:
            self._store(table, key, item)

    def query(self, table: str, pk: str) -> list[Item]:
        self.faults.hit("query")
        _, rows = self._table(table)
        return [_copied(rows[pk, sk]) for sk in sorted(self.partitions[table].get(pk, ()))]

    def scan(self, table: str) -> list[Item]:
        self.faults.hit("scan")
        _, rows = self._table(table)
        return [_copied(rows[key]) for key in sorted(rows)]

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> None:
        self.faults.hit("delete_many")
        _, rows = self._table(table)
        for pk, sk in [(str(k[0]), str(k[1])) for k in keys]:
            if rows.pop((pk, sk), None) is not None:
                self.partitions[table][pk].discard(sk)

    def transact(self, writes: Sequence[Write]) -> None:
        self.faults.hit("transact")
        keys = self._distinct_keys(writes)
        # Every condition is read before anything is written: the puts land together or not at all.
        for write, key in zip(writes, keys, strict=True):
            current = self.data[write.table].get(key)
            if write.condition is not None and not holds(write.condition, current):
                raise ConditionFailed(f"{write.table} {key}: condition not met")
        for write, key in zip(writes, keys, strict=True):
            self._store(write.table, key, write.item)

    def _distinct_keys(self, writes: Sequence[Write]) -> list[tuple[str, str]]:
        if len(writes) > TRANSACT_MOST:
            raise ValueError(f"a transaction takes at most {TRANSACT_MOST} writes")
        keys = [self._table(write.table)[0].key_of(write.item) for write in writes]
        if len({(write.table, key) for write, key in zip(writes, keys, strict=True)}) < len(keys):
            raise ValueError("a transaction writes each item once")
        return keys

    def snapshot(self) -> dict[str, dict[tuple[str, str], Item]]:
        return copy.deepcopy(self.data)


_ATOMS = (str, int, float, bool, type(None))


def _copied(item: Mapping[str, Any]) -> Item:
    """An item no caller can change behind the table's back, as a real store's reads are. Most
    values are strings and numbers, which are shared as they are; the rest are copied deep."""
    return {k: v if type(v) in _ATOMS else copy.deepcopy(v) for k, v in item.items()}
