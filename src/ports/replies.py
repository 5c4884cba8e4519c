"""A teammate's reply to a customer, through the platform's send API (Messenger and Instagram's
Send API, WhatsApp's Cloud API). The text always comes from a person."""

from __future__ import annotations

from typing import Protocol

from attrs import frozen


@frozen
class Reply:
    platform: str  # instagram | facebook | whatsapp
    business_id: str  # our side of the conversation: the Page, the IG account, the phone number id
    customer_id: str  # their side: the PSID, the IGSID, the WhatsApp id
    idempotency_key: str
    text: str = ""
    template: str = ""  # an approved WhatsApp template's name, sent instead of text
    language: str = "en"  # the template's language code
    tag: str = ""  # HUMAN_AGENT: Messenger and Instagram, between 24 hours and 7 days


@frozen
class Replied:
    platform_message_id: str


class ReplyRefused(Exception):
    """The platform refused this reply for good (outside its window, the customer unreachable,
    the token refused): the message says why, in the platform's words."""


class Replies(Protocol):
    def send(self, reply: Reply) -> Replied:
        """Send it, or raise ReplyRefused (for good) or another error (worth a retry: a rate
        limit, a timeout, a 5xx)."""
