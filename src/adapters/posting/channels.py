"""The Posting port over the real platforms: read the channel's token, refresh it when it is
about to expire, and hand the post to the module of the channel's kind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import httpx

from backoffice.adapters.posting import facebook, instagram, slack, webhook
from backoffice.adapters.posting.platform import (
    DEFAULT_TIMEOUT,
    SLACK_API,
    ChannelBusy,
    Platform,
    Reach,
)
from backoffice.adapters.posting.refresh import needs_refresh, refreshed
from backoffice.adapters.posting.tokens import ChannelToken, SecretTokens, fingerprint, parse_token
from backoffice.ports.posting import Channel, Posted, PostRefused, Publication, TokenRejected

PLATFORMS: dict[str, Platform] = {
    "facebook-page": facebook.publish,
    "instagram": instagram.publish,
    "webhook": webhook.publish,
    "slack": slack.publish,
}
ABSENT = "absent"  # the version of a secret that does not exist (yet)
_OURS = (TokenRejected, PostRefused, ChannelBusy)


class ChannelPosting:
    def __init__(
        self,
        tokens: SecretTokens,
        http: httpx.Client | None = None,
        refresh_window: timedelta = timedelta(hours=24),
        slack_base_url: str = SLACK_API,
    ) -> None:
        self.tokens = tokens
        self.reach = Reach(http or httpx.Client(timeout=DEFAULT_TIMEOUT), slack_base_url)
        self.refresh_window = refresh_window

    def publish(self, publication: Publication, now: datetime) -> Posted:
        channel = publication.channel
        platform = _platform(channel)
        token = self._token(channel)
        hidden = list(token.secrets())
        try:
            token = self._fresh(channel, token, now)
            hidden += token.secrets()
            return platform(publication, token.access_token, self.reach)
        except _OURS as error:
            raise _without(error, hidden) from None

    def token_version(self, channel: Channel) -> str:
        try:
            return fingerprint(self.tokens.read(channel.token_secret))
        except KeyError:
            return ABSENT

    def _token(self, channel: Channel) -> ChannelToken:
        try:
            text = self.tokens.read(channel.token_secret)
        except KeyError:
            raise TokenRejected(f"channel {channel.name!r} has no token: connect it") from None
        return parse_token(text, channel.name)

    def _fresh(self, channel: Channel, token: ChannelToken, now: datetime) -> ChannelToken:
        """The token, refreshed first when it expires within the window. The new secret is
        written before the post: a refresh token the endpoint rotated is never lost to it."""
        if not needs_refresh(token, now, self.refresh_window):
            return token
        text = refreshed(token, now, self.reach.http.timeout, channel.name)
        self.tokens.write(channel.token_secret, text)
        return parse_token(text, channel.name)


def _platform(channel: Channel) -> Platform:
    platform = PLATFORMS.get(channel.kind)
    if platform is None:
        known = ", ".join(sorted(PLATFORMS))
        raise PostRefused(f"channel {channel.name!r}: kind {channel.kind!r} is not one of {known}")
    return platform


def _without(error: Exception, secrets: Iterable[str]) -> Exception:
    """The error with every token and client secret blanked out of its message: a platform may
    quote what it was sent, and messages end up in logs and in the owner's report."""
    message = original = str(error)
    for secret in sorted(set(secrets), key=len, reverse=True):
        message = message.replace(secret, "[secret]")
    return error if message == original else type(error)(message)
