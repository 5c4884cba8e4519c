"""Time: the clock, and one-off schedules that call dispatch later."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


class Scheduler(Protocol):
    def book(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        """Book a one-off at `at` (aware). Booking a name that is already booked is a no-op."""

    def cancel(self, name: str) -> None:
        """Cancel a booking; cancelling an unknown name is a no-op."""
