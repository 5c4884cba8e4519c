"""The clock every backend reads in production: the system's, in UTC. Its own module, so the
AWS wiring reads the time without importing the embedded backend's SQLite."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
