"""Slack interactivity requests signed as Slack signs them, as a Function URL event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode


def slack_request(
    now: datetime, payload: dict[str, Any], secret: str, age: int = 0, raw: bytes | None = None
) -> dict[str, Any]:
    body = raw if raw is not None else urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(now.timestamp()) - age)
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "version": "2.0",
        "rawPath": "/slack/actions",
        "rawQueryString": "",
        "headers": {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        "requestContext": {
            "http": {"method": "POST", "path": "/slack/actions"},
            "requestId": f"req-{len(body)}-{age}",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
