"""The workspace's SQLite file, shared by the tables and the schedules: one connection per
thread (`backoffice serve` answers requests on several), writes serialised by `BEGIN IMMEDIATE`
so a conditional write is atomic across threads and processes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: Path, setup: Callable[[sqlite3.Connection], None]) -> None:
        self.path = Path(path)
        self._setup = setup
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        found: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if found is None:
            found = self._connect()
            self._local.connection = found
        return found

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL stays consistent after a crash and skips an fsync per commit. The
        # price: a power cut may lose the last commits, and a lost "sent" mark means that
        # message can go out once more after its lease (the outbox refuses a repeated key).
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=30000")
        self._setup(connection)
        with self._lock:
            self._all.append(connection)
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
        self._local = threading.local()
