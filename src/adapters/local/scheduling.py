"""The embedded backend's one-off schedules (fired by a later tick) and in-process bus."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice.adapters.local.database import Database
from backoffice.ports import Event


class LocalScheduler:
    """Bookings in the workspace database; `due(now)` hands over those whose time has come."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._database = Database(self.path, _create)

    def _db(self) -> sqlite3.Connection:
        return self._database.connection()

    def book(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        if at.tzinfo is None:
            raise ValueError("a booking needs a timezone-aware time")
        self._db().execute(
            "INSERT OR IGNORE INTO schedules (name, at, payload) VALUES (?, ?, ?)",
            (name, at.astimezone(UTC).isoformat(), json.dumps(payload, sort_keys=True)),
        )

    def cancel(self, name: str) -> None:
        self._db().execute("DELETE FROM schedules WHERE name = ?", (name,))

    @property
    def booked(self) -> dict[str, tuple[datetime, dict[str, Any]]]:
        rows = self._db().execute("SELECT name, at, payload FROM schedules ORDER BY at, name")
        return {
            name: (datetime.fromisoformat(at), json.loads(payload)) for name, at, payload in rows
        }

    def due(self, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        """Remove and return the bookings at or before `now`, earliest first, atomically."""
        with self._database.write() as db:
            rows = db.execute(
                "SELECT name, payload FROM schedules WHERE at <= ? ORDER BY at, name",
                (now.astimezone(UTC).isoformat(),),
            ).fetchall()
            db.executemany("DELETE FROM schedules WHERE name = ?", [(name,) for name, _ in rows])
        return [(name, json.loads(payload)) for name, payload in rows]

    def close(self) -> None:
        self._database.close()


def _create(connection: sqlite3.Connection) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schedules "
        "(name TEXT PRIMARY KEY, at TEXT NOT NULL, payload TEXT NOT NULL)"
    )


class InlineBus:
    """Hands each event straight to a handler in this process."""

    def __init__(self, handler: Callable[[str, dict[str, Any]], None]) -> None:
        self.handler = handler

    def emit(self, events: Sequence[Event]) -> None:
        for detail_type, detail in events:
            self.handler(detail_type, detail)
