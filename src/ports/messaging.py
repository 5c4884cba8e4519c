"""Outbound messages: email, Slack, and the bus that carries moves to dispatch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from attrs import frozen


@frozen
class Button:
    """An action the recipient can take: a Slack button or a link in an email."""

    action: str
    label: str
    url: str
    value: str = ""


@frozen
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar"
    body: bytes


@frozen
class Email:
    """What to say; how it looks (the links as buttons in an HTML alternative) is the
    adapter's business."""

    to: tuple[str, ...]
    subject: str
    text: str
    links: tuple[Button, ...] = ()  # answers, each a link to a confirmation page
    reply_to: str | None = None
    idempotency_key: str = ""
    attachments: tuple[Attachment, ...] = ()


@frozen
class ChatMessage:
    """Plain text, never markup: the adapter escapes it and shows `title` in bold."""

    to: str
    text: str
    buttons: tuple[Button, ...] = ()
    idempotency_key: str = ""
    title: str = ""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Deliver the email and return the provider's message id."""


class Sms(Protocol):
    def send(self, to: str, text: str, idempotency_key: str) -> str:
        """Send a text message to an E.164 number; return the provider's message id."""

    def opted_out(self, to: str) -> bool:
        """Whether the number has opted out of text messages (then email is used instead)."""


class Chat(Protocol):
    def post(self, message: ChatMessage) -> str:
        """Post to a user id or channel; return the provider's message id (channel:ts)."""

    def update(self, message_id: str, text: str, by: str = "") -> None:
        """Replace a posted message's text (plain; `by`, a member id, is mentioned after it)
        and remove its buttons."""

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a dialog in answer to a person's click (Slack's views.open)."""

    def whisper(self, channel: str, user: str, text: str) -> None:
        """A message (plain text) only `user` sees in `channel` (Slack's chat.postEphemeral)."""


Event = tuple[str, dict[str, Any]]  # (detail type, detail)


class Bus(Protocol):
    def emit(self, events: Sequence[Event]) -> None:
        """Publish every event, or raise: an event the bus did not take is never dropped."""


class Model(Protocol):
    def complete(self, instructions: str, prompt: str) -> str:
        """Text from a language model; raises when the model cannot answer."""
