"""The embedded backend's delivery for posts: each post a JSON file in the outbox saying what
the channel would have received. The picture is described (type, size, hash), not copied."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from backoffice.adapters.local.outbox import deliver_once, json_key, safe_name
from backoffice.ports.posting import Channel, Picture, Posted, Publication

SUFFIX = ".json"


class OutboxPosting:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def publish(self, publication: Publication, now: datetime) -> Posted:
        """A second publish with the same idempotency key finds the first one's file and
        returns it again, writing nothing: a retry after a crash cannot post twice."""
        channel = publication.channel
        stem = f"{safe_name(publication.post_id)}-{safe_name(channel.name)}"
        key = publication.idempotency_key
        path, _ = deliver_once(self.folder, stem, key, SUFFIX, _record(publication), json_key)
        return Posted(path.name, path.resolve().as_uri())

    def token_version(self, channel: Channel) -> str:
        return "outbox"  # no token: nothing to reconnect


def _record(publication: Publication) -> bytes:
    channel = publication.channel
    document = {
        "channel": channel.name,
        "kind": channel.kind,
        "endpoint": channel.endpoint,
        "post_id": publication.post_id,
        "text": publication.text,
        "image": _image(publication.picture),
        "idempotency_key": publication.idempotency_key,
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def _image(picture: Picture | None) -> dict[str, Any] | None:
    if picture is None:
        return None
    return {
        "content_type": picture.content_type,
        "bytes": len(picture.body),
        "sha256": hashlib.sha256(picture.body).hexdigest(),
    }
