"""A work queue with SQS's semantics: a received message is hidden for the visibility timeout,
comes back when it is not deleted in time, and goes to the dead-letter queue after its last
receive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from attrs import frozen


@frozen
class Received:
    message_id: str
    receipt: str  # what deletes it (SQS's receipt handle): valid for this receive only
    body: str
    receive_count: int  # 1 on the first receive


class Queue(Protocol):
    def send(self, bodies: Sequence[str]) -> None:
        """Enqueue every body, or raise: a body the queue did not take is never dropped."""

    def receive(self, limit: int) -> list[Received]:
        """Up to `limit` visible messages, oldest first, each hidden for the visibility
        timeout. A message received for the last time that is not deleted moves to the
        dead-letter queue instead of coming back."""

    def delete(self, receipt: str) -> None:
        """Done with a message. A stale receipt (the message came back since) is a no-op."""

    def dead_letters(self) -> int:
        """How many messages wait in the dead-letter queue."""
