"""Signed link tokens for emails and text messages.

A token binds the system, the subject (row id), the action, the chain, a nonce, who it was sent to
and an expiry, under HMAC-SHA256. Tokens only prove where a link came from; spending the nonce
with a conditional write (in the services) makes each link single-use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

import attrs
from attrs import frozen


@frozen
class LinkClaim:
    system: str
    subject: str
    action: str
    chain: str
    nonce: str
    expires_at: int  # epoch seconds
    by: str = ""
    detail: str = ""  # what within the chain the link is about (an onboarding step)


class TokenError(ValueError):
    def __init__(self, reason: str) -> None:
        self.reason = reason  # "malformed" | "bad_signature" | "expired"
        super().__init__(reason)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise TokenError("malformed")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None
    if _b64(data) != text:
        # Unused low bits in the last character would let two strings carry one token.
        raise TokenError("malformed")
    return data


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()


_CLAIM_FIELDS = tuple(field.name for field in attrs.fields(LinkClaim))


def mint(secret: str, claim: LinkClaim) -> str:
    # Read field by field (attrs' asdict costs more than the signature, and a tick mints three
    # per message); an empty detail is left out, for shorter links.
    values = {name: getattr(claim, name) for name in _CLAIM_FIELDS}
    shown = {k: v for k, v in values.items() if k != "detail" or v}
    payload = json.dumps(shown, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify(secret: str, token: str) -> LinkClaim:
    """The claim of a genuine token, expired or not."""
    body, dot, signature = token.partition(".")
    if not dot:
        raise TokenError("malformed")
    payload = _unb64(body)
    if not hmac.compare_digest(_unb64(signature), _mac(secret, payload)):
        raise TokenError("bad_signature")
    try:
        fields = json.loads(payload)
        return LinkClaim(
            system=str(fields["system"]),
            subject=str(fields["subject"]),
            action=str(fields["action"]),
            chain=str(fields["chain"]),
            nonce=str(fields["nonce"]),
            expires_at=int(fields["expires_at"]),
            by=str(fields.get("by", "")),
            detail=str(fields.get("detail", "")),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("malformed") from None


def read(secret: str, token: str, now: datetime) -> LinkClaim:
    """The claim of a genuine, unexpired token; TokenError says why not."""
    claim = verify(secret, token)
    if now.timestamp() >= claim.expires_at:
        raise TokenError("expired")
    return claim


def nonce_for(secret: str, *parts: str) -> str:
    """A deterministic nonce: the same message always carries the same single-use links."""
    message = "nonce\x1f" + "\x1f".join(parts)
    return _b64(_mac(secret, message.encode("utf-8")))[:22]
