"""The draft helper: the owner's short note and channels become one proposed post per
channel, drafted by the model to that channel's limit (shortened once when it runs over, then
shown with a warning). Approving a proposal writes the row with the approved flag unset."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import frozen

from backoffice.core import social_scheduler as ss
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import proposals
from backoffice.services.delivery import describe
from backoffice.services.documents import text_of
from backoffice.services.social_scheduler.state import documents_of

if TYPE_CHECKING:
    from backoffice.services.system import System

SECRET = "webhook_secret"
MAX_BODY = 16 * 1024
VOICE_FILE = "voice.toml"


@frozen
class Drafted:
    status: int
    body: Mapping[str, Any]


def draft(
    system: System, ports: Ports, settings: Settings, secret_header: str, body: bytes
) -> Drafted:
    """401 for a wrong secret, 413 over 16 KB, 400 naming what is wrong, else 200 with one
    proposal per channel (sent to the admin with Approve, Edit, Discard)."""
    if not hmac.compare_digest(secret_header.encode(), settings.secret(SECRET).encode()):
        return Drafted(
            401, {"status": "unauthorized", "error": "wrong or missing X-Webhook-Secret"}
        )
    if len(body) > MAX_BODY:
        return Drafted(413, {"status": "too_large", "error": f"at most {MAX_BODY} bytes"})
    docs = documents_of(ports, settings)
    request = _request(body, docs.rules)
    if isinstance(request, str):
        return Drafted(400, {"status": "invalid", "error": request})
    note, channels, publish_at = request
    tone = text_of(ports.blobs, VOICE_FILE) if ports.blobs.get(VOICE_FILE) else ""
    drafts = [
        _proposed(system, ports, settings, docs.rules.channels[c], note, tone, publish_at)
        for c in channels
    ]
    return Drafted(200, {"status": "proposed", "drafts": drafts})


def _request(body: bytes, rules: ss.Rules) -> tuple[str, list[str], str] | str:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "the body is not JSON"
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("note"), str)
        or not data["note"].strip()
    ):
        return 'send {"note": "...", "channels": ["facebook"]}'
    channels = data.get("channels") or list(rules.channels)
    if not isinstance(channels, list) or any(c not in rules.channels for c in channels):
        return f"channels must be a list of {', '.join(sorted(rules.channels))}"
    publish_at = data.get("publish_at", "")
    return data["note"].strip(), list(dict.fromkeys(channels)), str(publish_at or "")


def _proposed(
    system: System,
    ports: Ports,
    settings: Settings,
    channel: ss.ChannelRules,
    note: str,
    tone: str,
    publish_at: str,
) -> dict[str, str]:
    text, warning = written(ports.model, note, channel, tone)
    digest = hashlib.sha256(f"{note}|{channel.name}|{publish_at}".encode()).hexdigest()[:12]
    values = {
        "post_id": f"draft-{digest}",
        "text": text,
        "channels": channel.name,
        "publish_at": publish_at,
        "approved": "",
    }
    problems = [warning] if warning else []
    if not publish_at:
        problems.append("no publish_at yet: add one when you approve it")
    proposals.propose(
        ports, settings, system, f"draft-{digest}", values, "the draft helper", problems
    )
    return {
        "channel": channel.name,
        "text": text,
        "warning": warning,
        "proposal": f"draft-{digest}",
    }


def written(model: Model | None, note: str, channel: ss.ChannelRules, tone: str) -> tuple[str, str]:
    """The model's draft, shortened once when it runs over; the note itself without a model
    (or when it fails). The warning says what is still over."""
    if model is None:
        return note, ss.over_limit(note, channel)
    try:
        text = model.complete(ss.DRAFT_INSTRUCTIONS, ss.draft_prompt(note, channel, tone)).strip()
        if ss.over_limit(text, channel):
            text = model.complete(ss.DRAFT_INSTRUCTIONS, ss.shorten_prompt(text, channel)).strip()
    except Exception as error:
        return note, f"the model could not draft it ({describe(error)}); this is your note"
    return text, ss.over_limit(text, channel)
