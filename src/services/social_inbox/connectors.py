"""The platforms' webhooks: the GET handshake, and each POST verified over its raw bytes,
every message of it normalised and queued, then 200 at once (Meta retries anything slower or
not 2xx). Reads, deliveries, reactions, echoes and statuses are acknowledged and dropped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attrs import frozen

from backoffice.core import social_inbox as si
from backoffice.core.settings import MissingSecret, Settings
from backoffice.ports import Ports, Queue

PLATFORMS = ("instagram", "facebook", "whatsapp")
MAX_BODY = 1024 * 1024  # Meta's payloads are a few KB; a megabyte is never one of them


@frozen
class Answer:
    status: int
    body: str
    content_type: str = "application/json"
    counts: Mapping[str, Any] = {}


def queue_of(ports: Ports) -> Queue:
    if ports.queue is None:
        raise RuntimeError("the social inbox needs a Queue adapter in its ports")
    return ports.queue


def app_secret(settings: Settings, platform: str) -> str:
    """The platform's own app secret when one is set, else the Meta app's."""
    try:
        return settings.secret(f"{platform}_app_secret")
    except MissingSecret:
        return settings.secret("meta_app_secret")


def handshake(settings: Settings, platform: str, params: Mapping[str, str]) -> Answer:
    """GET: echo the challenge only to a subscribe with our verify token."""
    if platform not in PLATFORMS:
        return Answer(404, _json({"error": f"no such platform; expected {', '.join(PLATFORMS)}"}))
    challenge = si.handshake(params, settings.secret("meta_verify_token"))
    if challenge is None:
        return Answer(403, _json({"error": "wrong verify token or hub.mode"}))
    return Answer(200, challenge, "text/plain; charset=utf-8")


def receive(ports: Ports, settings: Settings, platform: str, body: bytes, signature: str) -> Answer:
    """POST: 401 and nothing queued for a bad signature; 400 for a body that is no webhook
    payload of this platform; else every message queued and 200."""
    if platform not in PLATFORMS:
        return Answer(404, _json({"error": f"no such platform; expected {', '.join(PLATFORMS)}"}))
    if len(body) > MAX_BODY:
        return Answer(413, _json({"error": f"at most {MAX_BODY} bytes"}))
    if not si.signature_valid(app_secret(settings, platform), body, signature):
        return Answer(401, _json({"error": "X-Hub-Signature-256 does not match the body"}))
    try:
        parsed = si.parse(platform, body)
    except si.PayloadError as error:
        return Answer(400, _json({"error": str(error)}))
    queue_of(ports).send([json.dumps(m.as_json()) for m in parsed.messages])
    counts = {"queued": len(parsed.messages), "ignored": len(parsed.ignored)}
    return Answer(200, _json({"status": "ok", **counts}), counts=counts)


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value)
