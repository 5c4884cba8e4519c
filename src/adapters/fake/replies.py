"""The platforms' send APIs in memory: every reply recorded, refusals and failures on request."""

from __future__ import annotations

from attrs import define, field

from backoffice.adapters.fake.faults import Faults
from backoffice.ports import Replied, Reply


@define
class FakeReplies:
    sent: list[Reply] = field(factory=list)
    faults: Faults = field(factory=Faults)

    def send(self, reply: Reply) -> Replied:
        self.faults.hit("send")
        for earlier in self.sent:  # the platform answers a retried request as the first time
            if earlier.idempotency_key == reply.idempotency_key:
                return Replied(f"out-{self.sent.index(earlier) + 1}")
        self.sent.append(reply)
        return Replied(f"out-{len(self.sent)}")
