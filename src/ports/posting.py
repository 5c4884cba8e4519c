"""Posting to a social channel, the channel's token, and the images a post carries.

A channel is what the owner's rules name (`[channels.<name>]`): which platform (`kind`), where it
posts, and the secret holding its token. One `Posting` adapter serves every kind; which request
it makes is its business.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from attrs import frozen

# The core decides with it; the Images adapter reads it from the bytes.
from backoffice.core.images import ImageFacts


@frozen
class Channel:
    name: str
    kind: str  # "facebook-page" | "instagram" | "webhook" | "slack"
    endpoint: str  # the posting URL (a page's /feed, an IG user's /media, a webhook, a channel)
    token_secret: str  # where its token lives: ss/channels/<name>


@frozen
class Picture:
    """An image as the channel takes it: already checked and rendered for that channel."""

    body: bytes
    content_type: str  # from the bytes, never from the file name
    url: str = ""  # where the platform can fetch it (Instagram fetches; it is not uploaded)


@frozen
class Publication:
    channel: Channel
    post_id: str
    text: str
    picture: Picture | None
    idempotency_key: str  # ss:{post_id}:{channel}:post


@frozen
class Posted:
    platform_id: str
    url: str  # the post on the platform, as the owner would open it


class TokenRejected(Exception):
    """The platform refused the channel's token (expired, revoked, refresh refused): retrying
    cannot help until someone reconnects the channel, which changes its secret."""


class PostRefused(Exception):
    """The platform refused this post for good (a 4xx other than auth or rate limit): the same
    request would be refused again."""


class Posting(Protocol):
    def publish(self, publication: Publication, now: datetime) -> Posted:
        """Post on the channel (refreshing its token first when it is inside the refresh
        window). Raises TokenRejected, PostRefused, or any other error for a failure worth
        retrying (timeouts, 5xx, rate limits)."""

    def token_version(self, channel: Channel) -> str:
        """A marker that changes whenever the channel's secret changes (a reconnect)."""


class Images(Protocol):
    def inspect(self, body: bytes) -> ImageFacts:
        """The image's real type and size, read from its bytes."""

    def render(self, body: bytes, content_type: str, max_bytes: int, max_side: int) -> Picture:
        """The image as a channel takes it: in `content_type`, at most `max_side` pixels on its
        longer side and `max_bytes` long; cached by content hash, so a retry does not redo it.
        The picture's `url` is a short-lived link to the cached rendering."""
