"""Tables in SQLite with DynamoDB's conditional-write semantics, for the embedded backend."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from backoffice.adapters.local.database import Database
from backoffice.ports import Condition, ConditionFailed, Item, TableSchema, Write, holds

TRANSACT_MOST = 25  # DynamoDB's limit: what works here must work on AWS


class SqliteTables:
    """One SQL table per schema: (pk, sk, item JSON), in the workspace's database."""

    def __init__(self, path: Path, schemas: Iterable[TableSchema]) -> None:
        self.path = Path(path)
        self.schemas = {schema.name: schema for schema in schemas}
        self._database = Database(self.path, self._create)

    def _create(self, connection: sqlite3.Connection) -> None:
        for name in self.schemas:
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {_quote(name)} "
                "(pk TEXT NOT NULL, sk TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (pk, sk))"
            )

    def _db(self) -> sqlite3.Connection:
        return self._database.connection()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._database.write()

    def _schema(self, table: str) -> TableSchema:
        if table not in self.schemas:
            raise KeyError(f"unknown table {table!r}; known: {', '.join(sorted(self.schemas))}")
        return self.schemas[table]

    def get(self, table: str, pk: str, sk: str) -> Item | None:
        self._schema(table)
        row = (
            self._db()
            .execute(f"SELECT item FROM {_quote(table)} WHERE pk = ? AND sk = ?", (pk, sk))
            .fetchone()
        )
        return None if row is None else _load(row[0])

    def put(self, table: str, item: Mapping[str, Any], condition: Condition | None = None) -> None:
        key = self._schema(table).key_of(item)
        with self._write() as db:
            _require(db, table, key, condition)
            _store(db, table, key, item)

    def transact(self, writes: Sequence[Write]) -> None:
        keys = self._distinct_keys(writes)
        # Every check, then every put, in one BEGIN IMMEDIATE: no other writer (thread or
        # process) can change an item between its check and the puts.
        with self._write() as db:
            for write, key in zip(writes, keys, strict=True):
                _require(db, write.table, key, write.condition)
            for write, key in zip(writes, keys, strict=True):
                _store(db, write.table, key, write.item)

    def _distinct_keys(self, writes: Sequence[Write]) -> list[tuple[str, str]]:
        if len(writes) > TRANSACT_MOST:
            raise ValueError(f"a transaction takes at most {TRANSACT_MOST} writes")
        keys = [self._schema(write.table).key_of(write.item) for write in writes]
        if len({(write.table, key) for write, key in zip(writes, keys, strict=True)}) < len(keys):
            raise ValueError("a transaction writes each item once")
        return keys

    def put_many(self, table: str, items: Iterable[Mapping[str, Any]]) -> None:
        schema = self._schema(table)
        rows = [(*schema.key_of(item), _dump(item)) for item in items]
        with self._write() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO {_quote(table)} (pk, sk, item) VALUES (?, ?, ?)", rows
            )

    def query(self, table: str, pk: str) -> list[Item]:
        self._schema(table)
        cursor = self._db().execute(
            f"SELECT item FROM {_quote(table)} WHERE pk = ? ORDER BY sk", (pk,)
        )
        return [_load(row[0]) for row in cursor]

    def scan(self, table: str) -> list[Item]:
        self._schema(table)
        cursor = self._db().execute(f"SELECT item FROM {_quote(table)} ORDER BY pk, sk")
        return [_load(row[0]) for row in cursor]

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> None:
        self._schema(table)
        pairs = [(str(pk), str(sk)) for pk, sk in keys]
        with self._write() as db:
            db.executemany(f"DELETE FROM {_quote(table)} WHERE pk = ? AND sk = ?", pairs)

    def close(self) -> None:
        self._database.close()


def _require(
    db: sqlite3.Connection, table: str, key: tuple[str, str], condition: Condition | None
) -> None:
    if condition is None:
        return
    row = db.execute(f"SELECT item FROM {_quote(table)} WHERE pk = ? AND sk = ?", key).fetchone()
    if not holds(condition, None if row is None else _load(row[0])):
        raise ConditionFailed(f"{table} {key}: condition not met")


def _store(
    db: sqlite3.Connection, table: str, key: tuple[str, str], item: Mapping[str, Any]
) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO {_quote(table)} (pk, sk, item) VALUES (?, ?, ?)",
        (*key, _dump(item)),
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dump(item: Mapping[str, Any]) -> str:
    return json.dumps(dict(item), ensure_ascii=False, sort_keys=True)


def _load(text: str) -> Item:
    loaded: Item = json.loads(text)
    return loaded
