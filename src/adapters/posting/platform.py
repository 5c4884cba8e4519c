"""What every platform module is handed, what it returns, and the error it raises for a failure
worth retrying (the port's TokenRejected and PostRefused being the ones that are not)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx
from attrs import frozen

from backoffice.ports.posting import Posted, Publication

SLACK_API = "https://slack.com/api/"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ChannelBusy(Exception):
    """The platform could not take the post now (rate limit, 5xx, timeout, no connection):
    the same request may well succeed later. The post may or may not have landed when the
    platform stopped answering mid-request."""


@frozen
class Reach:
    """How the adapter reaches the platforms: one httpx client for the HTTP APIs, and where
    Slack's Web API is (slack_sdk makes its own connections)."""

    http: httpx.Client
    slack_base_url: str = SLACK_API

    @property
    def slack_timeout(self) -> int:
        # WebClient takes whole seconds; never less than the HTTP client would wait.
        read = self.http.timeout.read
        return max(1, math.ceil(read)) if read is not None else 30


# A platform module: the publication, the channel's current access token, how to reach it.
Platform = Callable[[Publication, str, Reach], Posted]


def where(publication: Publication) -> str:
    """The channel as an error names it: which one, on which platform."""
    channel = publication.channel
    return f"{channel.kind} channel {channel.name!r}"


def unreachable(publication: Publication, error: Exception) -> ChannelBusy:
    """No answer (timeout, refused or dropped connection). Says what kind of failure, never
    the request, whose URL or body may hold the token."""
    return ChannelBusy(
        f"{where(publication)}: no answer from the platform ({type(error).__name__})"
    )


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is none (an HTML error page, an empty body)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
