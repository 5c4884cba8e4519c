"""A post as a signed JSON POST to the owner's own endpoint (Zapier, Make, their site...).

The body is signed with the channel's token: `X-Backoffice-Signature: sha256=<hex>` is the
HMAC-SHA256 of the exact body bytes, so the receiver checks it over the raw request before
parsing it. `Idempotency-Key` lets a receiver drop a retried post it already took."""

from __future__ import annotations

import hashlib

# One HMAC over bytes is what the standard library is for: no signing library is needed.
import hmac
import json

import httpx

from backoffice.adapters.posting.platform import (
    ChannelBusy,
    Reach,
    json_object,
    unreachable,
    where,
)
from backoffice.ports.posting import Posted, PostRefused, Publication, TokenRejected

SIGNATURE_HEADER = "X-Backoffice-Signature"
QUOTED = 300  # how much of a refusal's body an error quotes


def publish(publication: Publication, token: str, reach: Reach) -> Posted:
    body = _body(publication)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(body, token),
        "Idempotency-Key": publication.idempotency_key,
    }
    try:
        response = reach.http.post(publication.channel.endpoint, content=body, headers=headers)
    except httpx.TransportError as error:
        raise unreachable(publication, error) from None
    if not response.is_success:
        raise _failure(response, publication)
    return _posted(response, publication)


def signature(body: bytes, token: str) -> str:
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def _body(publication: Publication) -> bytes:
    picture = publication.picture
    image = None if picture is None else {"content_type": picture.content_type, "url": picture.url}
    document = {
        "post_id": publication.post_id,
        "text": publication.text,
        "channel": publication.channel.name,
        "idempotency_key": publication.idempotency_key,
        "image": image,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _failure(response: httpx.Response, publication: Publication) -> Exception:
    status = response.status_code
    said = f"{where(publication)}: the webhook answered HTTP {status}"
    if status in (401, 403):
        return TokenRejected(f"{said}: it does not take this channel's signature")
    if status == 429 or status >= 500:
        return ChannelBusy(said)
    quoted = response.text[:QUOTED].strip()
    return PostRefused(f"{said}: {quoted}" if quoted else said)


def _posted(response: httpx.Response, publication: Publication) -> Posted:
    """The receiver's id and link for the post when its JSON answer gives them."""
    answer = json_object(response)
    platform_id = answer.get("id") or publication.idempotency_key
    return Posted(str(platform_id), str(answer.get("url") or ""))
