"""Threads: one customer's conversation on one platform. A new message from a customer joins
their open thread, reopens their closed one (to be routed again), or starts a thread; a message
already in the thread (Meta re-delivers) changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from attrs import evolve, frozen

from backoffice.core.social_inbox.labels import Label
from backoffice.core.social_inbox.webhooks import Incoming

Placed = Literal["new", "joined", "reopened", "repeat"]


@frozen
class Said:
    """One message of a thread, from the customer (`in`) or a teammate (`out`)."""

    platform_message_id: str
    direction: str
    text: str
    at: datetime
    by: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "platform_message_id": self.platform_message_id,
            "direction": self.direction,
            "text": self.text,
            "at": self.at.isoformat(),
            "by": self.by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Said:
        return cls(
            str(data["platform_message_id"]),
            str(data["direction"]),
            str(data["text"]),
            datetime.fromisoformat(data["at"]),
            str(data.get("by") or ""),
        )


@frozen
class Thread:
    thread_id: str
    platform: str
    customer_id: str
    status: str  # open | closed
    label: Label
    team: str
    messages: tuple[Said, ...]
    opened_at: datetime
    assignee: str | None = None  # None while it waits in the team's queue
    sla_due: datetime | None = None
    version: int = 0
    business_id: str = ""  # our side: the Page, the IG account, the WhatsApp phone number id

    @property
    def customer_key(self) -> str:
        return customer_key(self.platform, self.customer_id)

    @property
    def queued(self) -> bool:
        return self.status == "open" and self.assignee is None

    def holds(self, platform_message_id: str) -> bool:
        return any(m.platform_message_id == platform_message_id for m in self.messages)


def customer_key(platform: str, customer_id: str) -> str:
    return f"{platform}:{customer_id}"


def thread_id_for(message: Incoming) -> str:
    """Named for the message that opened it: a re-delivered first message finds its thread."""
    seed = f"{message.platform}|{message.platform_message_id}"
    return "t-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]


def said(message: Incoming) -> Said:
    return Said(message.platform_message_id, "in", message.text, message.sent_at)


def place(
    message: Incoming, current: Thread | None, label: Label, team: str, now: datetime
) -> tuple[Placed, Thread]:
    """Where the message goes: the customer's current thread (joined, or reopened when it was
    closed: labels and team afresh, to be routed again), or a new one."""
    if current is not None and current.holds(message.platform_message_id):
        return "repeat", current
    if current is None:
        return "new", Thread(
            thread_id=thread_id_for(message),
            platform=message.platform,
            customer_id=message.sender_id,
            status="open",
            label=label,
            team=team,
            messages=(said(message),),
            opened_at=now,
            business_id=message.recipient_id,
        )
    messages = _in_order((*current.messages, said(message)))
    if current.status == "closed":
        reopened = evolve(current, status="open", label=label, team=team, assignee=None)
        return "reopened", evolve(reopened, messages=messages, sla_due=None, opened_at=now)
    return "joined", evolve(current, messages=messages)


def _in_order(messages: tuple[Said, ...]) -> tuple[Said, ...]:
    """By the platform's time: batches arrive out of order."""
    return tuple(sorted(messages, key=lambda m: m.at))
