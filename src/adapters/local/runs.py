"""When each of a workspace's schedules last ran, in its database: `backoffice run` catches up
on a missed run once after a stop, and `backoffice status` says when the next ones are."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from backoffice.adapters.local.database import Database


class RunLog:
    def __init__(self, path: Path) -> None:
        self._database = Database(Path(path), _create)

    def last(self, name: str) -> datetime | None:
        row = (
            self._database.connection()
            .execute("SELECT last FROM runs WHERE name = ?", (name,))
            .fetchone()
        )
        return datetime.fromisoformat(row[0]) if row else None

    def all(self) -> dict[str, datetime]:
        rows = self._database.connection().execute("SELECT name, last FROM runs ORDER BY name")
        return {name: datetime.fromisoformat(last) for name, last in rows}

    def record(self, name: str, at: datetime) -> None:
        with self._database.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (name, last) VALUES (?, ?)",
                (name, at.astimezone(UTC).isoformat()),
            )

    def close(self) -> None:
        self._database.close()


def _create(connection: sqlite3.Connection) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, last TEXT NOT NULL)"
    )
