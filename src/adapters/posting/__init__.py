"""Posting to social channels: the live platforms (Facebook Pages, Instagram, webhooks, Slack)
behind one adapter, the outbox for the embedded backend, and where channel tokens live."""

from backoffice.adapters.posting.channels import PLATFORMS, ChannelPosting
from backoffice.adapters.posting.outbox import OutboxPosting
from backoffice.adapters.posting.platform import ChannelBusy
from backoffice.adapters.posting.tokens import FileTokens, SecretsManagerTokens, SecretTokens

__all__ = [
    "PLATFORMS",
    "ChannelBusy",
    "ChannelPosting",
    "FileTokens",
    "OutboxPosting",
    "SecretTokens",
    "SecretsManagerTokens",
]
