"""A post in a Slack channel through slack_sdk's WebClient. The channel's endpoint is the Slack
channel id (C0123...). Text goes through chat.postMessage; a post with a picture is the picture
shared in the channel with the text as its comment (files_upload_v2: files.getUploadURLExternal,
the upload, files.completeUploadExternal), so it is one message, not a text and a reply."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from backoffice.adapters.posting.platform import ChannelBusy, Reach, unreachable, where
from backoffice.adapters.slack.chat import TOKEN_ERRORS
from backoffice.core.text import slack_escaped
from backoffice.ports.posting import Picture, Posted, PostRefused, Publication, TokenRejected

BUSY_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
HINTS = {
    "channel_not_found": "check the channel's endpoint (a Slack channel id) and that the app "
    "is in that channel",
    "not_in_channel": "invite the app to the channel",
}


def publish(publication: Publication, token: str, reach: Reach) -> Posted:
    client = _client(token, reach)
    channel = publication.channel.endpoint
    text = slack_escaped(publication.text)  # text from a sheet stays text: no pings, no links
    if publication.picture is not None:
        return _share(publication, client, _file(publication.picture), text)
    answer = _call(publication, client.chat_postMessage, channel=channel, text=text)
    posted_in, ts = str(answer["channel"]), str(answer["ts"])
    link = _link(publication, client.chat_getPermalink, channel=posted_in, message_ts=ts)
    return Posted(f"{posted_in}:{ts}", str(link.get("permalink", "")))


def _share(publication: Publication, client: Any, file: dict[str, Any], text: str) -> Posted:
    """The picture shared in the channel with the text as its comment. Slack's answer names the
    file, not the message it makes, so the post is known by the file's id."""
    channel = publication.channel.endpoint
    answer = _call(
        publication, client.files_upload_v2, channel=channel, initial_comment=text, **file
    )
    file_id = str(answer["files"][0]["id"])
    shared = _link(publication, client.files_info, file=file_id).get("file") or {}
    return Posted(f"{channel}:{file_id}", str(shared.get("permalink", "")))


def _file(picture: Picture) -> dict[str, Any]:
    extension = mimetypes.guess_extension(picture.content_type) or ""
    return {"content": picture.body, "filename": f"picture{extension}"}


def _client(token: str, reach: Reach) -> Any:
    from slack_sdk import WebClient

    # No retry handlers: slack_sdk would repeat a post whose connection dropped after Slack
    # took it; the caller retries, knowing what it already tried.
    return WebClient(
        token=token,
        base_url=reach.slack_base_url,
        timeout=reach.slack_timeout,
        retry_handlers=[],
    )


def _call(publication: Publication, method: Callable[..., Any], **arguments: Any) -> Any:
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        return method(**arguments)
    except SlackApiError as error:
        raise _refusal(publication, error.response) from None
    except (SlackClientError, OSError) as error:  # OSError: timeouts and refused connections
        raise unreachable(publication, error) from None


def _link(publication: Publication, method: Callable[..., Any], **arguments: Any) -> Any:
    """The answer of a look-up made after the post landed, or {} when it failed: the post is
    there, and a failure here must not make the caller post it again."""
    try:
        return _call(publication, method, **arguments)
    except (ChannelBusy, PostRefused, TokenRejected):
        return {}


def _refusal(publication: Publication, response: Any) -> Exception:
    code = str(response.get("error") or f"HTTP {response.status_code}")
    if code in TOKEN_ERRORS:
        return TokenRejected(f"{where(publication)}: Slack refused the token ({code})")
    if code in BUSY_ERRORS or response.status_code == 429 or response.status_code >= 500:
        return ChannelBusy(f"{where(publication)}: Slack is busy ({code})")
    said = f"{where(publication)}: Slack refused the post ({code})"
    hint = HINTS.get(code)
    return PostRefused(f"{said}: {hint}" if hint else said)
