"""Meta's reply windows, from the thread: WhatsApp takes a free-form reply only within 24
hours of the customer's last message (after that, an approved template); Messenger and
Instagram take one within 24 hours, then with the human-agent tag up to 7 days, then none."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from attrs import frozen

from backoffice.core.social_inbox.threads import Thread

FREE_FORM = timedelta(hours=24)
HUMAN_AGENT = timedelta(days=7)
HUMAN_AGENT_TAG = "HUMAN_AGENT"


@frozen
class Window:
    kind: Literal["free", "tagged", "template", "closed"]
    until: datetime | None  # when this kind of reply stops being possible
    why: str  # what the teammate is told ("" while any reply may go)

    @property
    def tag(self) -> str:
        return HUMAN_AGENT_TAG if self.kind == "tagged" else ""


def last_from_customer(thread: Thread) -> datetime | None:
    times = [m.at for m in thread.messages if m.direction == "in"]
    return max(times) if times else None


def reply_window(thread: Thread, now: datetime) -> Window:
    last = last_from_customer(thread)
    if last is None:
        return Window("closed", None, "The customer has not written: there is nothing to answer.")
    if now < last + FREE_FORM:
        return Window("free", last + FREE_FORM, "")
    if thread.platform == "whatsapp":
        return Window(
            "template",
            None,
            "WhatsApp takes a written reply only within 24 hours of the customer's last message "
            f"({last:%d %b %H:%M} UTC). Send one of the approved templates instead; their reply "
            "opens the window again.",
        )
    if now < last + HUMAN_AGENT:
        return Window(
            "tagged",
            last + HUMAN_AGENT,
            "More than 24 hours since the customer's last message: the reply goes with Meta's "
            "human-agent tag, allowed for 7 days.",
        )
    return Window(
        "closed",
        None,
        "More than 7 days since the customer's last message: Meta allows no reply now. The "
        "customer's next message opens the window again.",
    )
