"""Request signatures: Slack's signing secret scheme and Meta's X-Hub-Signature-256.

Both are HMAC-SHA256 over the raw request bytes, compared in constant time. Bad input of any
shape is a False, never an exception.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SLACK_WINDOW_SECONDS = 300


def slack_signature_valid(
    signing_secret: str, timestamp: str, body: bytes, signature: str, now: datetime
) -> bool:
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - sent_at) > SLACK_WINDOW_SECONDS:
        return False
    if not isinstance(signature, str) or not signature.startswith("v0="):
        return False
    base = b"v0:" + timestamp.encode("ascii", errors="replace") + b":" + body
    expected = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(
        expected.encode("ascii"), signature[3:].lower().encode("ascii", "replace")
    )


def hub_signature_valid(app_secret: str, body: bytes, header: str) -> bool:
    if not isinstance(header, str) or not header.startswith("sha256="):
        return False
    given = header[len("sha256=") :].lower()
    if len(given) != 64 or any(c not in "0123456789abcdef" for c in given):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)
