"""Teammates' replies to customers: Meta's send APIs (Messenger, Instagram, WhatsApp's Cloud
API) behind one adapter, and the outbox for the embedded backend."""

from backoffice.adapters.replies.meta import MetaReplies, ReplyBusy
from backoffice.adapters.replies.outbox import OutboxReplies

__all__ = ["MetaReplies", "OutboxReplies", "ReplyBusy"]
