"""Meta's webhooks for the social inbox, tested on Meta's own documented example payloads
(tests/core/meta_payloads/). Each file keeps Meta's shape and values; where a documented example
is a single messaging item it sits in the `{"object", "entry": [{"id", "time", "messaging"}]}`
envelope Meta documents for it, and the edits needed to make an example valid JSON are noted.

Messenger (developers.facebook.com/documentation/business-messaging/messenger-platform/...):
- messenger_text.json: webhooks/webhook-events/messages, "Text Message".
- messenger_image.json: the same page, "Message with attachment" (an entry as documented; its
  type placeholder `<image|video|audio|file|reel|ig_reel>` set to `image`).
- messenger_echo.json: webhooks/webhook-events/message-echoes, "Example 1" (its `...` removed).
- messenger_read.json: webhooks/webhook-events/message-reads, "Example".
- messenger_delivery.json: webhooks/webhook-events/message-deliveries, "Example" (it has no
  `timestamp`, as documented).
- messenger_reaction.json: webhooks/webhook-events/message-reactions, "Example" (its emoji
  `"\\u{2764}\\u{FE0F}"` written as JSON's `"\\u2764\\uFE0F"`, its trailing comma dropped).

Instagram:
- instagram_text.json: developers.facebook.com/documentation/business-messaging/
  instagram-messaging/webhooks, the `messages` example (its `//` comments removed, and the
  optional attachments list it goes on to show left out).
- instagram_share.json: developers.facebook.com/docs/instagram-platform/webhooks/new, the post
  share payload (the whole body, as documented).
- instagram_changes.json: the `changes[]` shape the App Dashboard's "Test" button sends for the
  instagram object's `messages` field (its entry `time`, a `<timestamp>` placeholder, filled in).

WhatsApp Cloud API:
- whatsapp_text.json: the Cloud API's text-message example (Kerry Fisher, WABA
  8856996819413533), from Meta's earlier webhooks payload-examples page.
- whatsapp_image.json, whatsapp_interactive.json, whatsapp_status.json: the syntax of
  developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/
  messages/image, .../messages/interactive (button reply) and .../messages/status, with their
  `<!-- -->` comments and the blocks they mark as conditional removed, placeholders kept, and
  the two a JSON reader cannot take as placeholders filled: a message `timestamp` with the
  reference's example value 1739321024 and `billable` with true.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import string
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.social_inbox.webhooks import (
    Incoming,
    MediaRef,
    Parsed,
    PayloadError,
    fingerprint,
    handshake,
    parse,
    signature_valid,
)

PAYLOADS = Path(__file__).parent / "meta_payloads"
APP_SECRET = "6d1c0ab9e3f64b3c8b1e0f2a7c5d9e41"


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def loaded(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(raw(name))
    return payload


def encoded(payload: object) -> bytes:
    return json.dumps(payload).encode("utf-8")


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# Messenger


def test_a_messenger_text_message() -> None:
    assert parse("facebook", raw("messenger_text")) == Parsed(
        messages=(
            Incoming(
                platform="facebook",
                platform_message_id="mid.1457764197618:41d102a3e1ae206a38",
                sender_id="<PSID>",
                recipient_id="<PAGE_ID>",
                text="hello, world!",
                sent_at=datetime(2016, 3, 23, 0, 25, 52, 478000, tzinfo=UTC),
            ),
        )
    )


def test_a_messenger_image_attachment_keeps_its_url() -> None:
    (message,) = parse("facebook", raw("messenger_image")).messages
    assert message.platform_message_id == "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c"
    assert message.text == ""
    assert message.attachments == (MediaRef(kind="image", url="<ATTACHMENT_URL>"),)
    assert message.sent_at == datetime(2018, 2, 12, 23, 46, 35, 308000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("messenger_echo", "echo"),
        ("messenger_read", "read"),
        ("messenger_delivery", "delivery"),
        ("messenger_reaction", "reaction"),
    ],
)
def test_events_that_are_not_a_customers_message_are_dropped_with_their_word(
    name: str, word: str
) -> None:
    assert parse("facebook", raw(name)) == Parsed(messages=(), ignored=(word,))


def messaging_payload(*items: dict[str, Any], object_: str = "page") -> bytes:
    return encoded({"object": object_, "entry": [{"id": "1", "time": 1, "messaging": list(items)}]})


def text_item() -> dict[str, Any]:
    item: dict[str, Any] = loaded("messenger_text")["entry"][0]["messaging"][0]
    return item


def item_with(**fields: Any) -> dict[str, Any]:
    item = {"sender": {"id": "<PSID>"}, "recipient": {"id": "<PAGE_ID>"}, "timestamp": 1}
    return {**item, **fields}


@pytest.mark.parametrize(
    ("item", "word"),
    [
        (item_with(postback={"mid": "m_1", "title": "Start", "payload": "GO"}), "postback"),
        (
            item_with(referral={"ref": "summer", "source": "SHORTLINK", "type": "OPEN_THREAD"}),
            "referral",
        ),
        (item_with(optin={"type": "notification_messages", "payload": "x"}), "optin"),
        (item_with(pass_thread_control={"new_owner_app_id": "1"}), "unknown:pass_thread_control"),
        (item_with(message={"text": "no mid"}), "unknown:message"),
        (item_with(message="not an object"), "unknown:message"),
        (item_with(message={"mid": "m_1", "is_deleted": True}), "deleted"),
        (item_with(), "unknown:item"),
    ],
)
def test_other_messaging_items_are_dropped_with_a_word(item: dict[str, Any], word: str) -> None:
    assert parse("facebook", messaging_payload(item)) == Parsed(ignored=(word,))


@pytest.mark.parametrize(
    "change",
    [
        {"sender": None},
        {"sender": {"id": "<PSID>"}, "recipient": {}},
        {"timestamp": "yesterday"},
        {"timestamp": -5},
        {"timestamp": True},
        {"timestamp": 10**30},
    ],
)
def test_a_message_without_its_ids_or_a_readable_time_is_dropped(change: dict[str, Any]) -> None:
    assert parse("facebook", messaging_payload({**text_item(), **change})).ignored == (
        "unknown:message",
    )


def test_two_entries_of_two_messages_each_come_out_in_order() -> None:
    def numbered(n: int) -> dict[str, Any]:
        item = copy.deepcopy(text_item())
        item["message"] |= {"mid": f"m_{n}", "text": f"message {n}"}
        return item

    entries = [
        {"id": "<PAGE_ID>", "time": 1, "messaging": [numbered(1), numbered(2)]},
        {"id": "<PAGE_ID>", "time": 2, "messaging": [numbered(3), numbered(4)]},
    ]
    parsed = parse("facebook", encoded({"object": "page", "entry": entries}))
    assert [m.platform_message_id for m in parsed.messages] == ["m_1", "m_2", "m_3", "m_4"]
    assert [m.text for m in parsed.messages] == [f"message {n}" for n in (1, 2, 3, 4)]
    assert parsed.ignored == ()


def test_messages_and_dropped_events_of_one_body_are_all_accounted_for() -> None:
    read = loaded("messenger_read")["entry"][0]["messaging"][0]
    entry = {
        "id": "<PAGE_ID>",
        "time": 1,
        "messaging": [read, text_item()],
        "standby": [text_item()],
        "changes": [{"field": "feed", "value": {"item": "status"}}],
    }
    parsed = parse("facebook", encoded({"object": "page", "entry": [entry, "stray"]}))
    assert [m.text for m in parsed.messages] == ["hello, world!"]
    assert parsed.ignored == ("read", "standby", "unknown:feed", "unknown:entry")


def test_a_fallback_attachment_without_a_payload_is_kept_without_a_url() -> None:
    item = text_item()
    item["message"] = {"mid": "m_1", "attachments": [{"type": "fallback"}, {"payload": None}]}
    (message,) = parse("facebook", messaging_payload(item)).messages
    assert message.attachments == (MediaRef(kind="fallback"), MediaRef(kind="unknown"))


# Instagram


def test_an_instagram_direct_message() -> None:
    assert parse("instagram", raw("instagram_text")).messages == (
        Incoming(
            platform="instagram",
            platform_message_id="MESSAGE-ID",
            sender_id="IGSID",
            recipient_id="IGID",
            text="MESSAGE-TEXT",
            sent_at=datetime(2019, 9, 23, 18, 14, 45, 349000, tzinfo=UTC),
        ),
    )


def test_an_instagram_post_share_is_an_attachment() -> None:
    (message,) = parse("instagram", raw("instagram_share")).messages
    assert (message.sender_id, message.recipient_id) == ("{SENDER_ID}", "{PAGE_ID}")
    assert message.attachments == (
        MediaRef(
            kind="share",
            url=(
                "https://lookaside.fbsbx.com/ig_messaging_cdn/"
                "?asset_id=18139494541428835={SIGNATURE}"
            ),
        ),
    )
    assert message.sent_at == datetime(2025, 10, 24, 6, 28, 14, 14000, tzinfo=UTC)


def test_the_instagram_changes_shape_is_read_and_its_seconds_stamp_understood() -> None:
    assert parse("instagram", raw("instagram_changes")) == Parsed(
        messages=(
            Incoming(
                platform="instagram",
                platform_message_id="random_mid",
                sender_id="12334",
                recipient_id="23245",
                text="random_text",
                sent_at=datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC),
            ),
        )
    )


def test_instagram_changes_of_other_fields_are_dropped() -> None:
    payload = loaded("instagram_changes")
    payload["entry"][0]["changes"] += [
        {"field": "comments", "value": {"id": "1", "text": "nice"}},
        {"field": "messages", "value": None},
    ]
    parsed = parse("instagram", encoded(payload))
    assert [m.platform_message_id for m in parsed.messages] == ["random_mid"]
    assert parsed.ignored == ("unknown:comments", "unknown:messages")


# WhatsApp


def test_a_whatsapp_text_message_with_its_contact() -> None:
    assert parse("whatsapp", raw("whatsapp_text")) == Parsed(
        messages=(
            Incoming(
                platform="whatsapp",
                platform_message_id="wamid.ABGGFlCGg0cvAgo-sJQh43L5Pe4W",
                sender_id="16315551234",
                recipient_id="27681414235104944",
                text="Hello this is an answer",
                sent_at=datetime(2020, 10, 18, 22, 13, 21, tzinfo=UTC),
                sender_name="Kerry Fisher",
            ),
        )
    )


def test_a_whatsapp_image_with_a_caption() -> None:
    # Meta's reference gives the contact's wa_id and the message's `from` as different values
    # (it warns they may differ): the value's lone contact still names the sender.
    assert parse("whatsapp", raw("whatsapp_image")).messages == (
        Incoming(
            platform="whatsapp",
            platform_message_id="<WHATSAPP_MESSAGE_ID>",
            sender_id="<WHATSAPP_USER_PHONE_NUMBER>",
            recipient_id="<BUSINESS_PHONE_NUMBER_ID>",
            text="<MEDIA_ASSET_CAPTION>",
            sent_at=datetime(2025, 2, 12, 0, 43, 44, tzinfo=UTC),
            attachments=(
                MediaRef(
                    kind="image", media_id="<MEDIA_ASSET_ID>", mime_type="<MEDIA_ASSET_MIME_TYPE>"
                ),
            ),
            sender_name="<WHATSAPP_USER_PROFILE_NAME>",
        ),
    )


def test_a_whatsapp_button_reply_reads_as_its_title() -> None:
    (message,) = parse("whatsapp", raw("whatsapp_interactive")).messages
    assert (message.text, message.attachments) == ("<BUTTON_LABEL_TEXT>", ())


def test_a_whatsapp_status_update_is_no_message() -> None:
    assert parse("whatsapp", raw("whatsapp_status")) == Parsed(messages=(), ignored=("status",))


def whatsapp_with(message: dict[str, Any]) -> bytes:
    payload = loaded("whatsapp_text")
    text = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    payload["entry"][0]["changes"][0]["value"]["messages"] = [
        {k: v for k, v in text.items() if k not in ("text", "type")} | message
    ]
    return encoded(payload)


@pytest.mark.parametrize(
    ("message", "text", "attachments"),
    [
        (
            {
                "type": "document",
                "document": {"id": "9", "mime_type": "application/pdf", "caption": "Menu"},
            },
            "Menu",
            (MediaRef(kind="file", media_id="9", mime_type="application/pdf"),),
        ),
        (
            {
                "type": "audio",
                "audio": {"id": "8", "mime_type": "audio/ogg; codecs=opus", "voice": True},
            },
            "",
            (MediaRef(kind="audio", media_id="8", mime_type="audio/ogg; codecs=opus"),),
        ),
        (
            {
                "type": "sticker",
                "sticker": {"id": "7", "mime_type": "image/webp", "animated": False},
            },
            "",
            (MediaRef(kind="sticker", media_id="7", mime_type="image/webp"),),
        ),
        (
            {
                "type": "location",
                "location": {"latitude": 1, "longitude": 2, "name": "Shop", "address": "1 Main St"},
            },
            "Shop, 1 Main St",
            (MediaRef(kind="location"),),
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r", "title": "Tuesday"},
                },
            },
            "Tuesday",
            (),
        ),
        ({"type": "button", "button": {"payload": "YES", "text": "Yes please"}}, "Yes please", ()),
    ],
)
def test_whatsapp_message_types_are_read(
    message: dict[str, Any], text: str, attachments: tuple[MediaRef, ...]
) -> None:
    (incoming,) = parse("whatsapp", whatsapp_with(message)).messages
    assert (incoming.text, incoming.attachments) == (text, attachments)


@pytest.mark.parametrize(
    ("message", "word"),
    [
        (
            {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "\u2764\ufe0f"}},
            "reaction",
        ),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, "unknown:unsupported"),
        ({"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}}]}, "unknown:contacts"),
        (
            {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {}}},
            "unknown:interactive",
        ),
        ({"type": "text", "text": {"body": "hi"}, "timestamp": "soon"}, "unknown:message"),
        ({"type": "text", "text": {"body": "hi"}, "id": None}, "unknown:message"),
        ({"text": {"body": "no type"}}, "unknown:message"),
    ],
)
def test_other_whatsapp_messages_are_dropped_with_a_word(
    message: dict[str, Any], word: str
) -> None:
    assert parse("whatsapp", whatsapp_with(message)) == Parsed(ignored=(word,))


def test_whatsapp_names_each_sender_by_their_wa_id() -> None:
    payload = loaded("whatsapp_text")
    value = payload["entry"][0]["changes"][0]["value"]
    first = value["messages"][0]
    value["contacts"].append({"profile": {"name": "Ana"}, "wa_id": "351910000000"})
    value["messages"].append(first | {"from": "351910000000", "id": "wamid.2"})
    value["messages"].append(first | {"from": "15550000000", "id": "wamid.3"})
    parsed = parse("whatsapp", encoded(payload))
    assert [m.sender_name for m in parsed.messages] == ["Kerry Fisher", "Ana", ""]


def test_whatsapp_statuses_errors_and_other_fields_are_dropped() -> None:
    payload = loaded("whatsapp_text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["statuses"] = [{"id": "wamid.1", "status": "sent"}, {"id": "wamid.1", "status": "read"}]
    value["errors"] = [{"code": 131000, "title": "Something went wrong"}]
    payload["entry"][0]["changes"].append({"field": "account_update", "value": {}})
    parsed = parse("whatsapp", encoded(payload))
    assert [m.sender_name for m in parsed.messages] == ["Kerry Fisher"]
    assert parsed.ignored == ("status", "status", "error", "unknown:account_update")


# Malformed bodies


@pytest.mark.parametrize(
    ("platform", "body", "reason"),
    [
        ("facebook", b"", "not JSON"),
        ("facebook", b"{'object': 'page'}", "not JSON"),
        ("whatsapp", b'{"object": "whatsapp_business_account", "entry": [', "not JSON"),
        ("facebook", b'{"object": "p\xe1ge", "entry": []}', "not UTF-8"),
        ("facebook", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        # Meta's Instagram examples page shows its payloads inside [ ]; a delivery is an object.
        ("instagram", b'[{"object": "instagram", "entry": []}]', "a JSON array, not an object"),
        ("instagram", b'"instagram"', "a JSON string, not an object"),
        ("instagram", b"null", "a JSON null, not an object"),
        ("instagram", b"1.5", "a JSON number, not an object"),
        ("instagram", b"true", "a JSON boolean, not an object"),
        ("facebook", raw("instagram_text"), "object is 'instagram', expected 'page'"),
        ("instagram", raw("messenger_text"), "object is 'page', expected 'instagram'"),
        ("whatsapp", raw("messenger_text"), "expected 'whatsapp_business_account'"),
        ("facebook", b'{"entry": []}', "object is None"),
        ("facebook", b'{"object": "page"}', "entry is missing or not a list"),
        ("whatsapp", b'{"object": "whatsapp_business_account", "entry": {}}', "not a list"),
        ("facebook", b'{"object": "page", "entry": "[]"}', "not a list"),
    ],
)
def test_a_body_of_the_wrong_shape_is_a_payload_error(
    platform: str, body: bytes, reason: str
) -> None:
    with pytest.raises(PayloadError, match=reason.replace("[", r"\[")):
        parse(platform, body)


def test_an_empty_entry_list_is_an_empty_parse() -> None:
    assert parse("whatsapp", b'{"object": "whatsapp_business_account", "entry": []}') == Parsed()


def test_an_unknown_platform_is_the_callers_mistake_not_the_bodys() -> None:
    with pytest.raises(ValueError, match="unknown platform 'tiktok'") as raised:
        parse("tiktok", raw("messenger_text"))
    assert not isinstance(raised.value, PayloadError)


# Signatures


def test_a_signature_over_the_exact_body_is_valid() -> None:
    body = raw("whatsapp_text")
    assert signature_valid(APP_SECRET, body, sign(body))
    assert signature_valid(APP_SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))


def test_a_body_one_byte_different_does_not_verify() -> None:
    body = raw("messenger_text")
    header = sign(body)
    assert not signature_valid(APP_SECRET, body + b" ", header)
    assert not signature_valid(APP_SECRET, body[:-1], header)
    assert not signature_valid(APP_SECRET, body.replace(b"hello", b"hellp"), header)
    # Re-serialising the parsed JSON changes the bytes: only the raw body is signed.
    assert not signature_valid(APP_SECRET, encoded(json.loads(body)), header)


def test_another_secret_does_not_verify() -> None:
    body = raw("instagram_text")
    assert not signature_valid(APP_SECRET + "x", body, sign(body))
    assert not signature_valid("", body, sign(body, secret=""))


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "g" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 65,
        "0" * 64,
        "sha256=\u0660" + "0" * 63,
    ],
)
def test_a_missing_or_malformed_header_is_false(header: str) -> None:
    assert not signature_valid(APP_SECRET, raw("messenger_text"), header)


def test_an_absent_header_is_false_not_an_error() -> None:
    assert not signature_valid(APP_SECRET, raw("messenger_text"), None)  # type: ignore[arg-type]


# The verification handshake

# The values of the sample verification request in Meta's Webhooks "Getting Started" guide
# (developers.facebook.com/docs/graph-api/webhooks/getting-started).
VERIFY_TOKEN = "meatyhamhock"
SUBSCRIBE = {
    "hub.mode": "subscribe",
    "hub.challenge": "1158201444",
    "hub.verify_token": VERIFY_TOKEN,
}


def test_the_handshake_echoes_the_challenge() -> None:
    assert handshake(SUBSCRIBE, VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize(
    ("params", "verify_token"),
    [
        (SUBSCRIBE | {"hub.verify_token": "meatyhamhocks"}, VERIFY_TOKEN),
        (SUBSCRIBE | {"hub.verify_token": ""}, VERIFY_TOKEN),
        (SUBSCRIBE | {"hub.mode": "unsubscribe"}, VERIFY_TOKEN),
        (SUBSCRIBE | {"hub.challenge": ""}, VERIFY_TOKEN),
        ({k: v for k, v in SUBSCRIBE.items() if k != "hub.verify_token"}, VERIFY_TOKEN),
        ({k: v for k, v in SUBSCRIBE.items() if k != "hub.challenge"}, VERIFY_TOKEN),
        ({k: v for k, v in SUBSCRIBE.items() if k != "hub.mode"}, VERIFY_TOKEN),
        (SUBSCRIBE | {"hub.verify_token": "h\u00e4mhock"}, VERIFY_TOKEN),
        (SUBSCRIBE | {"hub.verify_token": ""}, ""),
        ({}, VERIFY_TOKEN),
    ],
)
def test_any_other_handshake_is_refused(params: dict[str, str], verify_token: str) -> None:
    assert handshake(params, verify_token) is None


# Properties

WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", min_size=1, max_size=4)
WORD = st.text(alphabet=st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=8)
CASED = st.text(alphabet=string.ascii_letters + "àéîõüçÀÉÎÕÜÇß0123 .,!?")


@given(CASED)
def test_the_fingerprint_ignores_case(text: str) -> None:
    assert fingerprint("<PSID>", "facebook", text.upper()) == fingerprint(
        "<PSID>", "facebook", text.lower()
    )
    assert fingerprint("<PSID>", "facebook", text.swapcase()) == fingerprint(
        "<PSID>", "facebook", text
    )


@given(st.text())
def test_the_fingerprint_ignores_unicode_form(text: str) -> None:
    expected = fingerprint("16315551234", "whatsapp", text)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert fingerprint("16315551234", "whatsapp", unicodedata.normalize(form, text)) == expected


def test_the_fingerprint_folds_compatibility_forms() -> None:
    assert fingerprint("IGSID", "instagram", "ｃａｆｅ\u0301 ﬁne") == fingerprint(
        "IGSID", "instagram", "CAFÉ FINE"
    )


@given(st.lists(WORD, min_size=1, max_size=6), st.lists(WHITESPACE, min_size=7, max_size=7))
def test_the_fingerprint_ignores_runs_of_whitespace(words: list[str], gaps: list[str]) -> None:
    spaced = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:], strict=False))
    assert fingerprint("IGSID", "instagram", spaced) == fingerprint(
        "IGSID", "instagram", " ".join(words)
    )


@given(st.text(), st.text(min_size=1), st.text(min_size=1))
def test_the_fingerprint_differs_across_senders_and_platforms(
    text: str, sender: str, other: str
) -> None:
    if sender != other:
        assert fingerprint(sender, "facebook", text) != fingerprint(other, "facebook", text)
    prints = {fingerprint(sender, p, text) for p in ("facebook", "instagram", "whatsapp")}
    assert len(prints) == 3


def test_the_fingerprint_is_a_sha256_of_sender_platform_and_normalised_text() -> None:
    expected = hashlib.sha256(b"16315551234|whatsapp|hello this is an answer").hexdigest()
    assert fingerprint("16315551234", "whatsapp", "  Hello  this is\tan ANSWER \n") == expected


IDS = st.text(min_size=1, max_size=20)
MEDIA = st.builds(
    MediaRef,
    kind=st.sampled_from(["image", "audio", "video", "file", "sticker", "location", "share"]),
    url=st.text(max_size=30),
    media_id=st.text(max_size=20),
    mime_type=st.text(max_size=20),
)
INCOMING = st.builds(
    Incoming,
    platform=st.sampled_from(["instagram", "facebook", "whatsapp"]),
    platform_message_id=IDS,
    sender_id=IDS,
    recipient_id=IDS,
    text=st.text(),
    sent_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
    ),
    attachments=st.lists(MEDIA, max_size=3).map(tuple),
    sender_name=st.text(max_size=20),
)


@given(INCOMING)
def test_incoming_round_trips_through_json(message: Incoming) -> None:
    data = json.loads(json.dumps(message.as_json()))
    again = Incoming.from_json(data)
    assert again == message
    assert again.sent_at.tzinfo is UTC
    assert again.as_json() == message.as_json()


def test_every_fixture_message_round_trips_through_json() -> None:
    for path in sorted(PAYLOADS.glob("*.json")):
        platform = {"messenger": "facebook"}.get(path.stem.split("_")[0], path.stem.split("_")[0])
        for message in parse(platform, path.read_bytes()).messages:
            assert Incoming.from_json(json.loads(json.dumps(message.as_json()))) == message


def test_sent_at_is_held_in_utc_and_must_be_aware() -> None:
    fields: dict[str, Any] = {
        "platform": "facebook",
        "platform_message_id": "m",
        "sender_id": "s",
        "recipient_id": "r",
        "text": "",
    }
    lisbon_summer = timezone(timedelta(hours=1))
    at = Incoming(**fields, sent_at=datetime(2026, 7, 1, 9, 0, tzinfo=lisbon_summer)).sent_at
    assert (at, at.tzinfo) == (datetime(2026, 7, 1, 8, 0, tzinfo=UTC), UTC)
    assert Incoming(**fields, sent_at=at).as_json()["sent_at"] == "2026-07-01T08:00:00+00:00"
    with pytest.raises(ValueError, match="aware"):
        Incoming(**fields, sent_at=datetime(2026, 7, 1, 8, 0))
    with pytest.raises(ValueError, match="platform"):
        Incoming(**fields | {"platform": "tiktok"}, sent_at=at)
