"""Fault injection and call counting shared by every fake adapter."""

from __future__ import annotations

from collections import Counter

from attrs import define, field


class InjectedFault(RuntimeError):
    """The failure a test asked a fake to raise."""


@define
class Faults:
    calls: Counter[str] = field(factory=Counter)
    _pending: dict[str, list[Exception]] = field(factory=dict)

    def fail_next(self, method: str, error: Exception | None = None, times: int = 1) -> None:
        """Make the next `times` calls of `method` raise (InjectedFault unless told otherwise)."""
        queue = self._pending.setdefault(method, [])
        queue.extend([error or InjectedFault(method)] * times)

    def clear(self) -> None:
        self._pending.clear()

    def hit(self, method: str) -> None:
        """Count the call, and raise if a fault is waiting for it."""
        self.calls[method] += 1
        queue = self._pending.get(method)
        if queue:
            raise queue.pop(0)
