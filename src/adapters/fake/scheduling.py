"""A clock a test sets by hand, and a scheduler whose bookings a test fires by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from attrs import define, field

from backoffice.adapters.fake.faults import Faults


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return when


@define
class FakeClock:
    current: datetime = field(converter=_aware)

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = _aware(when)

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta


@define
class FakeScheduler:
    booked: dict[str, tuple[datetime, dict[str, Any]]] = field(factory=dict)
    history: list[tuple[str, datetime]] = field(factory=list)
    faults: Faults = field(factory=Faults)

    def book(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        self.faults.hit("book")
        if name not in self.booked:
            self.booked[name] = (_aware(at), dict(payload))
            self.history.append((name, at))

    def cancel(self, name: str) -> None:
        self.faults.hit("cancel")
        self.booked.pop(name, None)

    def due(self, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        """Remove and return the bookings whose time has come, earliest first."""
        ready = sorted((at, name) for name, (at, _) in self.booked.items() if at <= now)
        return [(name, self.booked.pop(name)[1]) for _, name in ready]
