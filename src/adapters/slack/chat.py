"""Slack through the Web API: DMs with buttons, updates once answered, modals for dates."""

from __future__ import annotations

from typing import Any

from backoffice.adapters.slack.blocks import message_blocks, resolved_blocks
from backoffice.ports import ChatMessage


def web_client(token: str, base_url: str | None = None) -> Any:
    """A WebClient that waits out 429s (Retry-After) a few times before giving up."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    client = WebClient(token=token, **({"base_url": base_url} if base_url else {}))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


class SlackChat:
    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, message: ChatMessage) -> str:
        response = self.client.chat_postMessage(
            channel=message.to, text=message.text, blocks=message_blocks(message)
        )
        return f"{response['channel']}:{response['ts']}"

    def update(self, message_id: str, text: str) -> None:
        channel, ts = message_id.split(":", 1)
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=resolved_blocks(text))

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        self.client.views_open(trigger_id=trigger_id, view=view)

    def whisper(self, channel: str, user: str, text: str) -> None:
        self.client.chat_postEphemeral(channel=channel, user=user, text=text)
