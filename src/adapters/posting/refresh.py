"""The OAuth refresh grant (RFC 6749 section 6) through Authlib, which sends it as the spec
says (form `grant_type=refresh_token`, the client authenticated with HTTP Basic) and reads the
token endpoint's answer or its error."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from backoffice.adapters.posting.platform import ChannelBusy
from backoffice.adapters.posting.tokens import ChannelToken
from backoffice.ports.posting import TokenRejected

# The token endpoint's errors that say "later", not "never" (RFC 6749 5.2 and RFC 8628).
BUSY_ERRORS = frozenset({"temporarily_unavailable", "server_error", "slow_down"})


def needs_refresh(token: ChannelToken, now: datetime, window: timedelta) -> bool:
    """A token that expires within the window is refreshed if it can be; one that cannot is
    used as it is, however old: the platform decides whether it still works."""
    if token.expires_at is None or not token.can_refresh():
        return False
    return token.expires_at - now.timestamp() <= window.total_seconds()


def refreshed(token: ChannelToken, now: datetime, timeout: httpx.Timeout, channel: str) -> str:
    """The secret's new text, from the token endpoint's answer."""
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

    said = f"channel {channel!r}: the token endpoint"
    client = OAuth2Client(
        client_id=token.client_id or None,
        client_secret=token.client_secret or None,
        timeout=timeout,
    )
    with client:
        try:
            answer = client.refresh_token(token.token_url, refresh_token=token.refresh_token)
        except OAuthError as error:
            raise _refused(str(error.error), said) from None
        except httpx.HTTPStatusError as error:
            raise _failed(error.response.status_code, said) from None
        except httpx.TransportError as error:
            raise ChannelBusy(f"{said} did not answer ({type(error).__name__})") from None
    return _renewed(token, answer, now, said)


def _renewed(token: ChannelToken, answer: dict[str, object], now: datetime, said: str) -> str:
    access_token = answer.get("access_token")
    if not access_token:
        raise TokenRejected(f"{said} answered no access_token")
    # Expiry from `now`, not the machine's clock Authlib reads: one clock for the whole decision.
    lifetime = _seconds(answer.get("expires_in"))
    expires_at = None if lifetime is None else now.timestamp() + lifetime
    return token.renewed(str(access_token), str(answer.get("refresh_token") or ""), expires_at)


def _seconds(value: object) -> float | None:
    """`expires_in` as a number (some endpoints send it as a string); None when not given."""
    try:
        return float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None


def _refused(error: str, said: str) -> Exception:
    if error in BUSY_ERRORS:
        return ChannelBusy(f"{said} is busy ({error})")
    return TokenRejected(f"{said} refused the refresh ({error}): reconnect the channel")


def _failed(status: int, said: str) -> Exception:
    if status == 429 or status >= 500:
        return ChannelBusy(f"{said} answered HTTP {status}")
    return TokenRejected(f"{said} refused the refresh (HTTP {status}): reconnect the channel")
