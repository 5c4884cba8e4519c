"""The embedded backend's delivery for replies: each reply a JSON file in the outbox saying what
Meta would have received, refused as Meta's adapter refuses it before sending."""

from __future__ import annotations

import json
from pathlib import Path

from attrs import field, frozen

from backoffice.adapters.local.outbox import deliver_once, json_key
from backoffice.adapters.replies.meta import refusal_of, request_body, send_path
from backoffice.ports.replies import Replied, Reply, ReplyRefused

SUFFIX = ".json"


@frozen
class OutboxReplies:
    folder: Path = field(converter=Path)

    def send(self, reply: Reply) -> Replied:
        """A second send with the same idempotency key finds the first one's file and returns
        its id again, writing nothing: a retry after a crash cannot reply twice."""
        refusal = refusal_of(reply)
        if refusal:
            raise ReplyRefused(refusal)
        key = reply.idempotency_key
        stem = f"reply-{key or f'{reply.platform}-{reply.customer_id}'}"
        path, _ = deliver_once(self.folder, stem, key, SUFFIX, _record(reply), json_key)
        return Replied(f"outbox:{path.name}")


def _record(reply: Reply) -> bytes:
    document = {
        "platform": reply.platform,
        "business_id": reply.business_id,
        "customer_id": reply.customer_id,
        "text": reply.text,
        "template": reply.template,
        "language": reply.language,
        "tag": reply.tag,
        "idempotency_key": reply.idempotency_key,
        "request": {
            "method": "POST",
            "path": send_path(reply),
            "json": request_body(reply),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
