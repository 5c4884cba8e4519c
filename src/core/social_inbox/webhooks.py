"""Meta's webhooks for the social inbox: Messenger (`page`), Instagram (`instagram`) and the
WhatsApp Cloud API (`whatsapp_business_account`) bodies read into one message shape, their
X-Hub-Signature-256, and the GET verification handshake.

A body whose envelope is wrong is a `PayloadError` (the caller answers 400). Inside a good
envelope nothing raises: an event that is not a customer's message, or that cannot be read, is
acknowledged and dropped with one word in `Parsed.ignored`, because Meta re-delivers a whole
batch whose answer is not 2xx and one odd event must not hold back the messages beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import field, frozen

from backoffice.core.signing import hub_signature_valid

PLATFORMS = ("instagram", "facebook", "whatsapp")
OBJECTS: Mapping[str, str] = {
    "facebook": "page",
    "instagram": "instagram",
    "whatsapp": "whatsapp_business_account",
}
# Messaging items that are not a customer's message: acknowledged and dropped under their key.
DROPPED_MESSAGING = frozenset({"read", "delivery", "reaction", "postback", "referral", "optin"})
# WhatsApp's media types, and the attachment kind each shares with Messenger and Instagram.
WHATSAPP_MEDIA: Mapping[str, str] = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "document": "file",
    "sticker": "sticker",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Below this a stamp is seconds: no millisecond stamp under it is later than 1973, and no seconds
# stamp over it is earlier than the year 5138.
_MILLISECONDS_FROM = 10**11


class PayloadError(ValueError):
    """The body is not a webhook of the platform's shape; the reason says what is wrong."""


def _utc(value: datetime) -> datetime:
    # A naive time would be read in the machine's zone: refused rather than guessed.
    if value.utcoffset() is None:
        raise ValueError(f"sent_at must be an aware datetime, not {value!r}")
    return value.astimezone(UTC)


def _known_platform(_instance: object, _attribute: object, value: str) -> None:
    if value not in PLATFORMS:
        raise ValueError(f"platform must be one of {PLATFORMS}, not {value!r}")


@frozen
class MediaRef:
    """An attachment: a Messenger or Instagram `url`, or a WhatsApp `media_id` to fetch."""

    kind: str  # image | audio | video | file | sticker | location | share | ...
    url: str = ""
    media_id: str = ""
    mime_type: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "url": self.url,
            "media_id": self.media_id,
            "mime_type": self.mime_type,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MediaRef:
        return cls(
            str(data["kind"]),
            str(data.get("url") or ""),
            str(data.get("media_id") or ""),
            str(data.get("mime_type") or ""),
        )


@frozen
class Incoming:
    """One customer's message, the same on every platform. `recipient_id` is our Page, Instagram
    account or WhatsApp phone_number_id; `text` is the message's text or its media's caption."""

    platform: str = field(validator=_known_platform)
    platform_message_id: str
    sender_id: str
    recipient_id: str
    text: str
    sent_at: datetime = field(converter=_utc)
    attachments: tuple[MediaRef, ...] = ()
    sender_name: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "platform_message_id": self.platform_message_id,
            "sender_id": self.sender_id,
            "recipient_id": self.recipient_id,
            "text": self.text,
            "sent_at": self.sent_at.isoformat(),
            "attachments": [a.as_json() for a in self.attachments],
            "sender_name": self.sender_name,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Incoming:
        return cls(
            platform=str(data["platform"]),
            platform_message_id=str(data["platform_message_id"]),
            sender_id=str(data["sender_id"]),
            recipient_id=str(data["recipient_id"]),
            text=str(data["text"]),
            sent_at=datetime.fromisoformat(data["sent_at"]),
            attachments=tuple(MediaRef.from_json(a) for a in data.get("attachments") or ()),
            sender_name=str(data.get("sender_name") or ""),
        )


@frozen
class Parsed:
    """The body's messages in order, and one word per event acknowledged and dropped."""

    messages: tuple[Incoming, ...] = ()
    ignored: tuple[str, ...] = ()


# A message, or the word for an event that is acknowledged and dropped.
_Event = Incoming | str


def parse(platform: str, body: bytes) -> Parsed:
    """Every message of every entry, in the body's order; see the module's note on errors."""
    events = list(_events(platform, _payload(platform, body)["entry"]))
    return Parsed(
        messages=tuple(e for e in events if isinstance(e, Incoming)),
        ignored=tuple(e for e in events if isinstance(e, str)),
    )


def signature_valid(app_secret: str, raw_body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the exact raw body under the app
    secret (the same for Messenger, Instagram and WhatsApp), compared in constant time."""
    # An empty secret would let anyone sign: a missing setting fails closed.
    return bool(app_secret) and hub_signature_valid(app_secret, raw_body, header)


def handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """The GET verification: the `hub.challenge` to echo, or None (the caller answers 403)."""
    given = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    if not isinstance(given, str) or not isinstance(challenge, str) or not challenge:
        return None
    if not hmac.compare_digest(given.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge


def fingerprint(sender_id: str, platform: str, text: str) -> str:
    """One key for the same words from the same sender on the same platform, whatever their
    case, Unicode form or spacing."""
    seed = f"{sender_id}|{platform}|{_normalised(text)}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _normalised(text: str) -> str:
    # Folding case can undo a normalisation, so (as in Unicode's own caseless matching) the
    # folded text is normalised again before its whitespace is collapsed.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def _payload(platform: str, body: bytes) -> dict[str, Any]:
    if platform not in OBJECTS:
        raise ValueError(f"unknown platform {platform!r}: expected one of {PLATFORMS}")
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise PayloadError(f"body is not UTF-8: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise PayloadError(f"body is not JSON: {error.msg} at character {error.pos}") from None
    except RecursionError:
        raise PayloadError("body is not JSON this parser can read: nested too deeply") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"body is a JSON {_json_kind(payload)}, not an object")
    expected = OBJECTS[platform]
    if payload.get("object") != expected:
        raise PayloadError(
            f"object is {payload.get('object')!r}, expected {expected!r} for {platform}"
        )
    if not isinstance(payload.get("entry"), list):
        raise PayloadError("entry is missing or not a list")
    return payload


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


def _events(platform: str, entries: list[object]) -> Iterator[_Event]:
    for entry in entries:
        if not isinstance(entry, dict):
            yield "unknown:entry"
        elif platform == "whatsapp":
            for change in _objects(entry.get("changes")):
                yield from _whatsapp_change(change)
        else:
            yield from _page_events(platform, entry)


def _page_events(platform: str, entry: dict[str, Any]) -> Iterator[_Event]:
    for item in _objects(entry.get("messaging")):
        yield _messaging_event(platform, item)
    # Handover protocol: another app holds the thread and answers it.
    yield from ("standby" for _ in _objects(entry.get("standby")))
    for change in _objects(entry.get("changes")):
        yield from _messaging_change(platform, change)


def _objects(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# Messenger and Instagram


def _messaging_change(platform: str, change: dict[str, Any]) -> Iterator[_Event]:
    """Some Instagram API versions (and the dashboard's test button) send a messaging item as
    `changes[].value` of field `messages` instead of in `messaging[]`."""
    field_name = change.get("field")
    value = change.get("value")
    if field_name != "messages":
        yield f"unknown:{field_name}"
    elif isinstance(value, dict):
        yield _messaging_event(platform, value)
    else:
        yield "unknown:messages"


def _messaging_event(platform: str, item: dict[str, Any]) -> _Event:
    kind = _messaging_kind(item)
    if kind != "message":
        return kind
    message = item["message"]
    if message.get("is_echo") is True:
        return "echo"  # our own outgoing message
    if message.get("is_deleted") is True:
        return "deleted"  # the customer unsent it (Instagram)
    mid = _text(message.get("mid"))
    sender = _text(_get(item, "sender", "id"))
    recipient = _text(_get(item, "recipient", "id"))
    sent_at = _messaging_instant(item.get("timestamp"))
    if not (mid and sender and recipient and sent_at):
        return "unknown:message"
    return Incoming(
        platform=platform,
        platform_message_id=mid,
        sender_id=sender,
        recipient_id=recipient,
        text=_text(message.get("text")),
        sent_at=sent_at,
        attachments=tuple(_messaging_attachment(a) for a in _objects(message.get("attachments"))),
    )


def _messaging_kind(item: dict[str, Any]) -> str:
    """`message`, a dropped event's word, or `unknown:<key>` for the event's first key."""
    keys = [k for k in item if k not in ("sender", "recipient", "timestamp")]
    if not keys:
        return "unknown:item"
    key = "message" if "message" in keys else keys[0]
    if key == "message" and not isinstance(item["message"], dict):
        return "unknown:message"
    return key if key == "message" or key in DROPPED_MESSAGING else f"unknown:{key}"


def _messaging_attachment(attachment: dict[str, Any]) -> MediaRef:
    # A fallback attachment may come with no payload at all.
    return MediaRef(
        kind=_text(attachment.get("type")) or "unknown",
        url=_text(_get(attachment, "payload", "url")),
    )


def _messaging_instant(value: object) -> datetime | None:
    """Messaging items are stamped in epoch milliseconds; the `changes[]` shape carries epoch
    seconds in a string. The stamp's size tells which."""
    stamp = _whole(value)
    if stamp is None:
        return None
    if stamp < _MILLISECONDS_FROM:
        return _instant(seconds=stamp)
    return _instant(milliseconds=stamp)


# WhatsApp


def _whatsapp_change(change: dict[str, Any]) -> Iterator[_Event]:
    field_name = change.get("field")
    value = change.get("value")
    if field_name != "messages":
        yield f"unknown:{field_name}"
        return
    if not isinstance(value, dict):
        yield "unknown:messages"
        return
    recipient = _text(_get(value, "metadata", "phone_number_id"))
    names = _whatsapp_names(_objects(value.get("contacts")))
    for message in _objects(value.get("messages")):
        yield _whatsapp_event(message, recipient, names)
    yield from ("status" for _ in _objects(value.get("statuses")))
    yield from ("error" for _ in _objects(value.get("errors")))


def _whatsapp_names(contacts: list[dict[str, Any]]) -> dict[str, str]:
    """wa_id to profile name. Meta warns a user's wa_id and phone number (`from`) may differ, so
    a lone contact is also filed under "" and names the value's messages whatever their `from`."""
    names = {_text(c.get("wa_id")): _text(_get(c, "profile", "name")) for c in contacts}
    if len(contacts) == 1:
        names.setdefault("", next(iter(names.values())))
    return names


def _whatsapp_event(message: dict[str, Any], recipient: str, names: dict[str, str]) -> _Event:
    kind = _text(message.get("type"))
    if kind == "reaction":
        return "reaction"
    content = _whatsapp_content(kind, message.get(kind))
    if content is None:
        return f"unknown:{kind or 'message'}"
    mid = _text(message.get("id"))
    sender = _text(message.get("from"))
    stamp = _whole(message.get("timestamp"))
    sent_at = None if stamp is None else _instant(seconds=stamp)
    if not (mid and sender and recipient and sent_at):
        return "unknown:message"
    text, attachments = content
    return Incoming(
        platform="whatsapp",
        platform_message_id=mid,
        sender_id=sender,
        recipient_id=recipient,
        text=text,
        sent_at=sent_at,
        attachments=attachments,
        sender_name=names.get(sender) or names.get("", ""),
    )


def _whatsapp_content(kind: str, body: object) -> tuple[str, tuple[MediaRef, ...]] | None:
    """The text and attachments of a message of this type, or None for a type not read here
    (`unsupported`, contacts, orders, system notices...)."""
    if not isinstance(body, dict):
        return None
    if kind == "text":
        return _text(body.get("body")), ()
    if kind in WHATSAPP_MEDIA:
        media = MediaRef(
            kind=WHATSAPP_MEDIA[kind],
            media_id=_text(body.get("id")),
            mime_type=_text(body.get("mime_type")),
        )
        return _text(body.get("caption")), (media,)
    if kind == "location":
        place = (_text(body.get("name")), _text(body.get("address")))
        return ", ".join(p for p in place if p), (MediaRef(kind="location"),)
    if kind == "interactive":
        reply = body.get(_text(body.get("type")))
        title = _text(reply.get("title")) if isinstance(reply, dict) else ""
        return (title, ()) if title else None
    if kind == "button":
        return _text(body.get("text")), ()
    return None


# Reading values


def _get(value: Mapping[str, Any], *path: str) -> object:
    found: object = value
    for key in path:
        if not isinstance(found, dict):
            return None
        found = found.get(key)
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _whole(value: object) -> int | None:
    """A non-negative whole number, as Meta writes stamps: a JSON number or a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _instant(*, seconds: int = 0, milliseconds: int = 0) -> datetime | None:
    try:
        return _EPOCH + timedelta(seconds=seconds, milliseconds=milliseconds)
    except OverflowError:
        return None
