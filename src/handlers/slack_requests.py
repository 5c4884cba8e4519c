"""Slack interactivity requests: the signature over the raw body, then the JSON payload."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from backoffice.core.signing import slack_signature_valid
from backoffice.handlers import metrics, web
from backoffice.handlers.logs import log


class Refused(Exception):
    """The request gets this response, and nothing was read or changed."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(response["statusCode"])
        self.response = response


def verified_payload(request: web.Request, signing_secret: str, now: datetime) -> dict[str, Any]:
    """The interactivity payload of a genuine, fresh Slack request, or Refused (401 / 400)."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not slack_signature_valid(signing_secret, timestamp, request.body, signature, now):
        log("slack_signature_refused", path=request.path, request_id=request.request_id)
        metrics.count(metrics.SIGNATURE_REJECTED)
        raise Refused(web.text_response(401, "Signature missing, wrong or stale."))
    try:
        payload = json.loads(request.form()["payload"])
    except (KeyError, ValueError):
        raise Refused(
            web.text_response(400, "Expected a form field 'payload' holding JSON.")
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), dict):
        raise Refused(web.text_response(400, "The payload has no user."))
    return payload


def json_response(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
