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
    faults: Faults = field(factory=Faults)

    def __init__(self, schemas: Iterable[TableSchema]) -> None:
        by_name = {schema.name: schema for schema in schemas}
        self.__attrs_init__(by_name, {name: {} for name in by_name})

    def _table(self, table: str) -> tuple[TableSchema, dict[tuple[str, str], Item]]:
        if table not in self.schemas:
            raise KeyError(f"unknown table {table!r}; known: {', '.join(sorted(self.schemas))}")
        return self.schemas[table], self.data[table]

    def get(self, table: str, pk: str, sk: str) -> Item | None:
        self.faults.hit("get")
        _, rows = self._table(table)
        found = rows.get((pk, sk))
        return copy.deepcopy(found) if found is not None else None

    def put(self, table: str, item: Mapping[str, Any], condition: Condition | None = None) -> None:
        self.faults.hit("put")
        schema, rows = self._table(table)
        key = schema.key_of(item)
        if condition is not None and not holds(condition, rows.get(key)):
            raise ConditionFailed(f"{table} {key}: condition not met")
        rows[key] = copy.deepcopy(dict(item))

    def put_many(self, table: str, items: Iterable[Mapping[str, Any]]) -> None:
        self.faults.hit("put_many")
        schema, rows = self._table(table)
        staged = {schema.key_of(item): copy.deepcopy(dict(item)) for item in items}
        rows.update(staged)

    def query(self, table: str, pk: str) -> list[Item]:
        self.faults.hit("query")
        _, rows = self._table(table)
        return [copy.deepcopy(rows[key]) for key in sorted(rows) if key[0] == pk]

    def scan(self, table: str) -> list[Item]:
        self.faults.hit("scan")
        _, rows = self._table(table)
        return [copy.deepcopy(rows[key]) for key in sorted(rows)]

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> None:
        self.faults.hit("delete_many")
        _, rows = self._table(table)
        for key in list(keys):
            rows.pop((str(key[0]), str(key[1])), None)

    def transact(self, writes: Sequence[Write]) -> None:
        self.faults.hit("transact")
        keys = self._distinct_keys(writes)
        # Every condition is read before anything is written: the puts land together or not at all.
        for write, key in zip(writes, keys, strict=True):
            current = self.data[write.table].get(key)
            if write.condition is not None and not holds(write.condition, current):
                raise ConditionFailed(f"{write.table} {key}: condition not met")
        for write, key in zip(writes, keys, strict=True):
            self.data[write.table][key] = copy.deepcopy(dict(write.item))

    def _distinct_keys(self, writes: Sequence[Write]) -> list[tuple[str, str]]:
        if len(writes) > TRANSACT_MOST:
            raise ValueError(f"a transaction takes at most {TRANSACT_MOST} writes")
        keys = [self._table(write.table)[0].key_of(write.item) for write in writes]
        if len({(write.table, key) for write, key in zip(writes, keys, strict=True)}) < len(keys):
            raise ValueError("a transaction writes each item once")
        return keys

    def snapshot(self) -> dict[str, dict[tuple[str, str], Item]]:
        return copy.deepcopy(self.data)
