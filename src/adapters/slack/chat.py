"""Slack through the Web API: DMs with buttons, updates once answered, modals for dates."""

from __future__ import annotations

from typing import Any

from backoffice.adapters.slack.blocks import (
    message_blocks,
    message_text,
    resolved_blocks,
    update_text,
)
from backoffice.core.text import slack_escaped
from backoffice.ports import ChatMessage


def web_client(token: str, base_url: str | None = None) -> Any:
    """A WebClient that waits out 429s (Retry-After) a few times before giving up."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "account_inactive"})
HINTS = {
    "channel_not_found": "check the Slack id (the owner's, staff_channel or admin) and that "
    "the app is in that channel",
    "not_in_channel": "invite the app to the channel",
}


def refused(error: Exception) -> Exception:
    """Slack's refusal said in one line with the setting to check (a revoked or wrong token is
    the bot token's), kept a SlackApiError so callers can still tell what it was."""
    from slack_sdk.errors import SlackApiError

    if not isinstance(error, SlackApiError):
        return error
    code = str(error.response.get("error", "error"))
    hint = "check [secrets] slack_bot_token" if code in TOKEN_ERRORS else HINTS.get(code, "")
    message = f"Slack refused it ({code})" + (f": {hint}" if hint else "")
    return SlackApiError(message, error.response)  # type: ignore[no-untyped-call]


class SlackChat:
    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, message: ChatMessage) -> str:
        response = self._call(
            "chat_postMessage",
            channel=message.to,
            text=message_text(message),
            blocks=message_blocks(message),
        )
        return f"{response['channel']}:{response['ts']}"

    def update(self, message_id: str, text: str, by: str = "") -> None:
        channel, ts = message_id.split(":", 1)
        shown = update_text(text, by)
        self._call("chat_update", channel=channel, ts=ts, text=shown, blocks=resolved_blocks(shown))

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._call("views_open", trigger_id=trigger_id, view=view)

    def whisper(self, channel: str, user: str, text: str) -> None:
        self._call("chat_postEphemeral", channel=channel, user=user, text=slack_escaped(text))

    def _call(self, method: str, **arguments: Any) -> Any:
        try:
            return getattr(self.client, method)(**arguments)
        except Exception as error:
            raise refused(error) from None
