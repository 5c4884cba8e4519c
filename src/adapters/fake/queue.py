"""An in-memory queue with SQS's visibility timeout and redrive to a dead-letter queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from attrs import define, evolve, field, frozen

from backoffice.adapters.fake.faults import Faults
from backoffice.adapters.fake.scheduling import FakeClock
from backoffice.ports import Received


@frozen
class _Message:
    message_id: str
    body: str
    visible_at: datetime
    receive_count: int = 0
    receipt: str | None = None  # None until the first receive: no receipt can delete it yet


@define
class FakeQueue:
    """`sent` holds every body ever sent and `dead` the bodies moved to the dead-letter queue,
    both in order; the clock decides when a hidden message is visible again."""

    visibility: timedelta = timedelta(seconds=60)
    max_receives: int = 5
    clock: FakeClock = field(kw_only=True)
    faults: Faults = field(factory=Faults)
    sent: list[str] = field(factory=list, init=False)
    dead: list[str] = field(factory=list, init=False)
    _waiting: dict[str, _Message] = field(factory=dict, init=False)  # oldest first

    def send(self, bodies: Sequence[str]) -> None:
        self.faults.hit("send")
        for body in bodies:
            message_id = f"m{len(self.sent) + 1}"  # `sent` only grows, so ids are never reused
            # Visible at once, as SQS sends them, whatever the receiver's clock says.
            self._waiting[message_id] = _Message(message_id, body, datetime.min.replace(tzinfo=UTC))
            self.sent.append(body)

    def receive(self, limit: int) -> list[Received]:
        self.faults.hit("receive")
        if limit < 1:
            raise ValueError("receive at least one message")
        now = self.clock.now()
        self._bury_exhausted(now)
        visible = [m for m in self._waiting.values() if m.visible_at <= now][:limit]
        return [self._hide(message, now) for message in visible]

    def _bury_exhausted(self, now: datetime) -> None:
        """Like SQS's redrive: a message that came back after its last receive is moved."""
        for message in list(self._waiting.values()):
            if message.visible_at <= now and message.receive_count >= self.max_receives:
                del self._waiting[message.message_id]
                self.dead.append(message.body)

    def _hide(self, message: _Message, now: datetime) -> Received:
        count = message.receive_count + 1
        receipt = f"{message.message_id}/{count}"
        self._waiting[message.message_id] = evolve(
            message, visible_at=now + self.visibility, receive_count=count, receipt=receipt
        )
        return Received(message.message_id, receipt, message.body, count)

    def delete(self, receipt: str) -> None:
        self.faults.hit("delete")
        current = [m.message_id for m in self._waiting.values() if m.receipt == receipt]
        for message_id in current:
            del self._waiting[message_id]

    def dead_letters(self) -> int:
        self.faults.hit("dead_letters")
        return len(self.dead)
