"""In-memory mailer, chat and bus that keep everything they were given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import define, field

from backoffice.adapters.fake.faults import Faults
from backoffice.core.sheet import is_slack_user
from backoffice.ports import ChatMessage, Email, Event


@define
class FakeMailer:
    sent: list[Email] = field(factory=list)
    faults: Faults = field(factory=Faults)

    def send(self, email: Email) -> str:
        self.faults.hit("send")
        if not email.to:  # as every live mailer: an email to nobody is an error, never "sent"
            raise ValueError("an e-mail needs at least one recipient")
        self.sent.append(email)
        return f"fake-mail-{len(self.sent)}"


@define
class FakeChat:
    posted: list[ChatMessage] = field(factory=list)
    updates: list[tuple[str, str]] = field(factory=list)  # (message id, text, then "(by)")
    modals: list[tuple[str, dict[str, Any]]] = field(factory=list)
    whispers: list[tuple[str, str, str]] = field(factory=list)
    faults: Faults = field(factory=Faults)

    def post(self, message: ChatMessage) -> str:
        self.faults.hit("post")
        self.posted.append(message)
        return f"C-fake:{len(self.posted)}"

    def update(self, message_id: str, text: str, by: str = "") -> None:
        self.faults.hit("update")
        # As Slack and the outbox show it: `by` is mentioned only when it is a member id.
        mention = is_slack_user(by)
        self.updates.append((message_id, f"{text} (<@{by}>)" if mention else text))

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        self.faults.hit("open_modal")
        self.modals.append((trigger_id, view))

    def whisper(self, channel: str, user: str, text: str) -> None:
        self.faults.hit("whisper")
        self.whispers.append((channel, user, text))


@define
class FakeBus:
    events: list[tuple[str, dict[str, Any]]] = field(factory=list)
    faults: Faults = field(factory=Faults)

    def emit(self, events: Sequence[Event]) -> None:
        self.faults.hit("emit")
        self.events.extend((detail_type, dict(detail)) for detail_type, detail in events)


@define
class FakeSms:
    sent: list[tuple[str, str, str]] = field(factory=list)  # (to, text, idempotency key)
    opted_out_numbers: set[str] = field(factory=set)
    faults: Faults = field(factory=Faults)

    def send(self, to: str, text: str, idempotency_key: str) -> str:
        self.faults.hit("send")
        self.sent.append((to, text, idempotency_key))
        return f"fake-sms-{len(self.sent)}"

    def opted_out(self, to: str) -> bool:
        self.faults.hit("opted_out")
        return to in self.opted_out_numbers
