"""Where a channel's token lives, and what its secret says.

The secret is JSON text: `{"access_token", "refresh_token", "expires_at" (unix seconds or
null), "token_url", "client_id", "client_secret"}`, only `access_token` required; a secret that
is no JSON object at all is just an access token (a webhook's shared key, a Slack bot token).
Fields this adapter does not know are kept when it writes the secret back after a refresh."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from attrs import field, frozen

from backoffice.adapters.local.storage import write_atomically
from backoffice.ports.posting import TokenRejected

LONGEST_STEM = 200  # file names stop at 255 bytes


class SecretTokens(Protocol):
    def read(self, name: str) -> str:
        """The secret's text; KeyError when there is no such secret."""

    def write(self, name: str, text: str) -> None:
        """Replace the secret's text (after a refresh)."""


class FileTokens:
    """The embedded backend's secrets: one file each in `folder`, readable by its owner only."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def read(self, name: str) -> str:
        try:
            return self._path(name).read_bytes().decode("utf-8")  # as written: no newline mapping
        except FileNotFoundError:
            raise KeyError(name) from None

    def write(self, name: str, text: str) -> None:
        # write_atomically writes through mkstemp, whose file is the owner's alone (0600).
        write_atomically(self._path(name), text.encode("utf-8"))

    def _path(self, name: str) -> Path:
        if not name:
            raise ValueError("a token secret needs a name")
        # Percent-encoding keeps "ss/channels/shop" one file name and two names two files; a
        # name too long for a file name is cut and told apart by its hash.
        stem = quote(name, safe="")
        if len(stem) > LONGEST_STEM:
            stem = f"{stem[: LONGEST_STEM - 17]}-{fingerprint(name)}"
        return self.folder / f"{stem}.json"


class SecretsManagerTokens:
    """The secrets in AWS Secrets Manager (a `secretsmanager` client)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, name: str) -> str:
        try:
            return str(self.client.get_secret_value(SecretId=name)["SecretString"])
        except self.client.exceptions.ResourceNotFoundException:
            raise KeyError(name) from None

    def write(self, name: str, text: str) -> None:
        self.client.put_secret_value(SecretId=name, SecretString=text)


def fingerprint(text: str) -> str:
    """A short marker of the secret that changes whenever the secret does."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@frozen
class ChannelToken:
    access_token: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: float | None = None
    token_url: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    stored: Mapping[str, Any] = field(factory=dict, repr=False)  # the secret as it was read

    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.token_url)

    def secrets(self) -> tuple[str, ...]:
        """What no message may quote."""
        return tuple(s for s in (self.access_token, self.refresh_token, self.client_secret) if s)

    def renewed(self, access_token: str, refresh_token: str, expires_at: float | None) -> str:
        """The secret's new text: the new token, every other field as it was."""
        document = {
            **self.stored,
            "access_token": access_token,
            "refresh_token": refresh_token or self.refresh_token,
            "expires_at": expires_at,
        }
        return json.dumps(document, indent=2, sort_keys=True)


def parse_token(text: str, channel: str) -> ChannelToken:
    """The token a secret holds. A secret that means to be JSON but is not, or holds no access
    token, is refused as a token would be: someone has to reconnect the channel."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return ChannelToken(stripped)
    try:
        document = json.loads(stripped)
    except ValueError:
        raise TokenRejected(f"channel {channel!r}: its token secret is not valid JSON") from None
    if not isinstance(document, dict) or not document.get("access_token"):
        raise TokenRejected(f"channel {channel!r}: its token secret holds no access_token")
    return _from_document(document)


def _from_document(document: dict[str, Any]) -> ChannelToken:
    return ChannelToken(
        access_token=str(document["access_token"]),
        refresh_token=_text(document, "refresh_token"),
        expires_at=_instant(document.get("expires_at")),
        token_url=_text(document, "token_url"),
        client_id=_text(document, "client_id"),
        client_secret=_text(document, "client_secret"),
        stored=document,
    )


def _instant(value: Any) -> float | None:
    """Unix seconds, or None when the secret gives none (a token that does not expire)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(document: dict[str, Any], name: str) -> str:
    return str(document.get(name) or "")
