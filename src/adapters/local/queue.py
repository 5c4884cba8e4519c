"""A work queue in the workspace database with SQS's semantics, for the embedded backend.

Every receive is one `BEGIN IMMEDIATE` transaction that picks the visible messages and hides
them, so two processes on the same file never both hold a message. Several named queues share
the two tables."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backoffice.adapters.local.database import Database
from backoffice.ports import Clock, Received

VISIBLE_NOW = ""  # sorts before every instant


class SqliteQueue:
    def __init__(
        self,
        database: Path,
        clock: Clock,
        name: str = "intake",
        visibility: timedelta = timedelta(seconds=60),
        max_receives: int = 5,
    ) -> None:
        self.path = Path(database)
        self.clock = clock
        self.name = name
        self.visibility = visibility
        self.max_receives = max_receives
        self._database = Database(self.path, _create)

    def send(self, bodies: Sequence[str]) -> None:
        # Visible at once, as SQS sends them, whatever the receiver's clock says: a tick run
        # with an earlier `--now` still drains what the server queued.
        rows = [(self.name, uuid.uuid4().hex, body, VISIBLE_NOW) for body in bodies]
        with self._database.write() as db:
            db.executemany(
                "INSERT INTO queue_messages (queue, message_id, body, visible_at)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )

    def receive(self, limit: int) -> list[Received]:
        if limit < 1:  # SQLite reads a negative LIMIT as no limit at all
            raise ValueError("receive at least one message")
        now = self.clock.now()
        at, hidden_until = _instant(now), _instant(now + self.visibility)
        with self._database.write() as db:
            self._bury_exhausted(db, at)
            # Oldest first straight along `seq`, stopping at `limit`: through the visibility
            # index every visible message would be read and sorted on each receive.
            rows = db.execute(
                "SELECT message_id, body, receive_count FROM queue_messages NOT INDEXED"
                " WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?",
                (self.name, at, limit),
            ).fetchall()
            received = [
                Received(message_id, uuid.uuid4().hex, body, count + 1)
                for message_id, body, count in rows
            ]
            db.executemany(
                "UPDATE queue_messages SET receive_count = ?, receipt = ?, visible_at = ?"
                " WHERE message_id = ?",
                [(m.receive_count, m.receipt, hidden_until, m.message_id) for m in received],
            )
        return received

    def _bury_exhausted(self, db: sqlite3.Connection, now: str) -> None:
        """Like SQS's redrive: a message that came back after its last receive is moved. The
        receive counts' index finds the few exhausted ones without reading every message."""
        exhausted = (self.name, self.max_receives, now)
        db.execute(
            "INSERT INTO queue_dead_letters (queue, message_id, body, receive_count, died_at)"
            " SELECT queue, message_id, body, receive_count, ? FROM queue_messages"
            " INDEXED BY queue_messages_receives"
            " WHERE queue = ? AND receive_count >= ? AND visible_at <= ? ORDER BY seq",
            (now, *exhausted),
        )
        db.execute(
            "DELETE FROM queue_messages INDEXED BY queue_messages_receives"
            " WHERE queue = ? AND receive_count >= ? AND visible_at <= ?",
            exhausted,
        )

    def delete(self, receipt: str) -> None:
        # One statement is its own transaction: nothing to read first, nothing to hold.
        self._database.connection().execute(
            "DELETE FROM queue_messages WHERE queue = ? AND receipt = ?", (self.name, receipt)
        )

    def dead_letters(self) -> int:
        row = (
            self._database.connection()
            .execute("SELECT COUNT(*) FROM queue_dead_letters WHERE queue = ?", (self.name,))
            .fetchone()
        )
        return int(row[0])

    def close(self) -> None:
        self._database.close()


def _instant(when: datetime) -> str:
    """Fixed-width UTC text, so instants compare as strings inside SQL."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _create(connection: sqlite3.Connection) -> None:
    # `seq` orders messages oldest first; a NULL receipt (never received) matches no delete.
    connection.execute(
        "CREATE TABLE IF NOT EXISTS queue_messages ("
        "seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL,"
        " message_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,"
        " receive_count INTEGER NOT NULL DEFAULT 0, visible_at TEXT NOT NULL, receipt TEXT UNIQUE)"
    )
    connection.execute(
        "CREATE INDEX IF NOT EXISTS queue_messages_receives"
        " ON queue_messages (queue, receive_count)"
    )
    connection.execute(
        "CREATE TABLE IF NOT EXISTS queue_dead_letters ("
        "seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL,"
        " body TEXT NOT NULL, receive_count INTEGER NOT NULL, died_at TEXT NOT NULL)"
    )
