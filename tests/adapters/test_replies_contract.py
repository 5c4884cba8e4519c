"""The Replies port's contract: Meta's send APIs (Messenger, Instagram, WhatsApp's Cloud API)
against a local stand-in that answers as Meta documents (tests/support/send_apis.py), and the
outbox. A reply lands once, with exactly the documented fields, and every failure is said as the
port says it: ReplyRefused for good, in words a teammate understands, or an error worth a retry
(ReplyBusy)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from attrs import evolve, frozen
from hypothesis import given, settings
from hypothesis import strategies as st
from platforms import Reply as Answer
from platforms import graph_error
from send_apis import (
    IG_PAGE_ID,
    IG_PAGE_TOKEN,
    IGSID,
    PAGE_ID,
    PAGE_TOKEN,
    PHONE_NUMBER_ID,
    PSID,
    WA_ID,
    WHATSAPP_TOKEN,
    SendApis,
    send_api,
    whatsapp_error,
)
from standins import free_port

from backoffice.adapters.replies import MetaReplies, OutboxReplies, ReplyBusy
from backoffice.ports.replies import Replied, Replies, Reply, ReplyRefused

TEXT = 'Hi "Ana" & <team>: your order is ready.\nReply STOP {{1}} 🙂'
TOKENS = {"facebook": PAGE_TOKEN, "instagram": IG_PAGE_TOKEN, "whatsapp": WHATSAPP_TOKEN}


@frozen
class Case:
    platform: str
    business_id: str
    customer_id: str
    token: str


CASES = {
    "facebook": Case("facebook", PAGE_ID, PSID, PAGE_TOKEN),
    "instagram": Case("instagram", IG_PAGE_ID, IGSID, IG_PAGE_TOKEN),
    "whatsapp": Case("whatsapp", PHONE_NUMBER_ID, WA_ID, WHATSAPP_TOKEN),
}
EVERY = sorted(CASES)
SEND_API = ["facebook", "instagram"]


def reply_for(case: Case, **fields: Any) -> Reply:
    key = f"inbox:{case.platform}:conv-7:reply-1"
    return evolve(Reply(case.platform, case.business_id, case.customer_id, key, TEXT), **fields)


class World:
    """The stand-in and adapters pointed at it, each with a client the world closes."""

    def __init__(self, api: SendApis) -> None:
        self.api = api
        self.clients: list[httpx.Client] = []

    def replies(self, timeout: float = 5.0, tokens: Any = TOKENS) -> MetaReplies:
        self.clients.append(httpx.Client(timeout=httpx.Timeout(timeout)))
        return MetaReplies(tokens, self.clients[-1], self.api.base_url)

    def send(self, reply: Reply, **options: Any) -> Replied:
        return self.replies(**options).send(reply)


@pytest.fixture
def world() -> Iterator[World]:
    with send_api() as api:
        built = World(api)
        yield built
        for client in built.clients:
            client.close()


def refused(world: World, reply: Reply) -> ReplyRefused:
    with pytest.raises(ReplyRefused) as raised:
        world.send(reply)
    return raised.value


def busy(world: World, reply: Reply, **options: Any) -> ReplyBusy:
    with pytest.raises(ReplyBusy) as raised:
        world.send(reply, **options)
    assert not isinstance(raised.value, ReplyRefused)
    return raised.value


def assert_says_no_token(error: BaseException) -> None:
    assert str(error)
    for token in TOKENS.values():
        assert token not in str(error)


# --- a reply lands, with exactly the documented fields ------------------------------------------


def expected_body(case: Case) -> dict[str, Any]:
    if case.platform == "whatsapp":
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": WA_ID,
            "type": "text",
            "text": {"preview_url": False, "body": TEXT},
        }
    return {
        "recipient": {"id": case.customer_id},
        "messaging_type": "RESPONSE",
        "message": {"text": TEXT},
    }


@pytest.mark.parametrize("name", EVERY)
def test_a_text_reply_is_the_documented_request_and_returns_the_message_id(
    world: World, name: str
) -> None:
    case = CASES[name]
    replied = world.send(reply_for(case))
    [request] = world.api.requests
    node = "me" if name == "instagram" else case.business_id  # Instagram's Page is the token's
    assert (request.method, request.path) == ("POST", f"/v21.0/{node}/messages")
    assert request.query == {}  # the token stays out of the URL, and so out of request logs
    assert request.headers["authorization"] == f"Bearer {case.token}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == expected_body(case)
    [landed] = world.api.landed
    assert replied == Replied(landed["id"])
    assert landed["to"] == case.customer_id


def test_a_whatsapp_answer_names_the_wamid(world: World) -> None:
    replied = world.send(reply_for(CASES["whatsapp"]))
    assert replied.platform_message_id.startswith("wamid.")


def test_tokens_may_come_from_a_function_asked_per_platform(world: World) -> None:
    asked: list[str] = []

    def token(platform: str) -> str:
        asked.append(platform)
        return TOKENS[platform]

    replies = world.replies(tokens=token)
    for name in EVERY:
        replies.send(reply_for(CASES[name]))
    assert asked == EVERY
    assert len(world.api.landed) == 3


def test_the_adapter_satisfies_the_port_with_meta_s_defaults() -> None:
    replies: Replies = MetaReplies(TOKENS)
    assert isinstance(replies, MetaReplies)
    assert replies.graph_base == "https://graph.facebook.com/v21.0"
    assert replies.http.timeout == httpx.Timeout(10.0, connect=5.0)
    replies.http.close()


# --- the HUMAN_AGENT tag, and WhatsApp's templates ----------------------------------------------


@pytest.mark.parametrize("name", SEND_API)
def test_the_human_agent_tag_goes_as_a_message_tag_only_when_asked(world: World, name: str) -> None:
    case = CASES[name]
    world.api.close_window(case.customer_id, hours_ago=30)
    error = refused(world, reply_for(case))
    assert "HUMAN_AGENT" in str(error)  # says how the reply could still go
    replied = world.send(reply_for(case, tag="HUMAN_AGENT"))
    untagged, tagged = world.api.requests
    assert "tag" not in untagged.json and untagged.json["messaging_type"] == "RESPONSE"
    assert tagged.json == {
        "recipient": {"id": case.customer_id},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": TEXT},
    }
    [landed] = world.api.landed
    assert replied == Replied(landed["id"]) and landed["tag"] == "HUMAN_AGENT"


@pytest.mark.parametrize("name", SEND_API)
def test_past_seven_days_even_the_tag_is_refused(world: World, name: str) -> None:
    case = CASES[name]
    world.api.close_window(case.customer_id, hours_ago=8 * 24)
    error = refused(world, reply_for(case, tag="HUMAN_AGENT"))
    assert "7 days" in str(error) and "outside of allowed window" in str(error)


def test_a_whatsapp_template_goes_whenever_the_customer_last_wrote(world: World) -> None:
    case = CASES["whatsapp"]
    world.api.close_window(WA_ID)
    replied = world.send(reply_for(case, text="", template="order_ready", language="pt_BR"))
    [request] = world.api.requests
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "template",
        "template": {"name": "order_ready", "language": {"code": "pt_BR"}},
    }
    assert replied == Replied(world.api.landed[0]["id"])


@pytest.mark.parametrize(
    ("name", "fields", "says"),
    [
        ("facebook", {"template": "order_ready"}, "no message templates"),
        ("instagram", {"template": "order_ready"}, "no message templates"),
        ("whatsapp", {"tag": "HUMAN_AGENT"}, "no message tags"),
        ("facebook", {"text": "  "}, "empty"),
        ("whatsapp", {"text": ""}, "empty"),
        ("facebook", {"platform": "tiktok"}, "not to 'tiktok'"),
    ],
)
def test_a_reply_the_platform_cannot_take_is_refused_without_asking(
    world: World, name: str, fields: dict[str, str], says: str
) -> None:
    assert says in str(refused(world, reply_for(CASES[name], **fields)))
    assert world.api.requests == []


def test_a_platform_without_a_token_is_refused_without_asking(world: World) -> None:
    replies = world.replies(tokens={"facebook": PAGE_TOKEN})
    with pytest.raises(ReplyRefused, match="no access token"):
        replies.send(reply_for(CASES["whatsapp"]))
    assert world.api.requests == []


# --- refused for good ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", EVERY)
def test_a_closed_window_is_refused_and_says_so(world: World, name: str) -> None:
    case = CASES[name]
    world.api.close_window(case.customer_id)
    message = str(refused(world, reply_for(case)))
    assert "24-hour window" in message
    assert ("Re-engagement message" if name == "whatsapp" else "outside of allowed window") in (
        message
    )
    assert world.api.landed == []


def test_instagram_s_window_is_known_by_its_words_whatever_the_subcode(world: World) -> None:
    world.api.answer_next(graph_error("(#10) This message is sent outside of allowed window.", 10))
    assert "24-hour window" in str(refused(world, reply_for(CASES["instagram"])))


@pytest.mark.parametrize("name", EVERY)
def test_a_revoked_token_is_refused_without_quoting_it(world: World, name: str) -> None:
    world.api.revoke()
    world.api.echo_token = True
    error = refused(world, reply_for(CASES[name]))
    assert "reconnect the account" in str(error) and "code 190" in str(error)
    assert_says_no_token(error)


UNREACHABLE = {
    "facebook": graph_error("(#551) This person isn't available right now.", 551, subcode=1545041),
    "instagram": graph_error("(#100) No matching user found", 100, subcode=2018001),
    "whatsapp": whatsapp_error(131026, "Message undeliverable", "Unable to deliver message."),
}


@pytest.mark.parametrize("name", EVERY)
def test_a_customer_out_of_reach_is_refused(world: World, name: str) -> None:
    world.api.answer_next(UNREACHABLE[name])
    assert "can't be reached" in str(refused(world, reply_for(CASES[name])))


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("facebook", graph_error("(#10) Requires pages_messaging permission", 10, 403)),
        ("instagram", graph_error("(#200) Requires instagram_manage_messages", 200, 403)),
        ("whatsapp", whatsapp_error(10, "Permission denied", "Permission is not granted", 403)),
    ],
)
def test_a_missing_permission_is_refused(world: World, name: str, answer: Answer) -> None:
    world.api.answer_next(answer)
    assert "not allowed to send" in str(refused(world, reply_for(CASES[name])))


def test_anything_else_meta_refuses_is_refused_in_its_words(world: World) -> None:
    world.api.answer_next(graph_error("(#100) Param message[text] must be shorter", 100))
    error = refused(world, reply_for(CASES["facebook"]))
    assert "must be shorter" in str(error) and "fbtrace_id" in str(error)


# --- worth a retry ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EVERY)
def test_a_rate_limit_is_worth_a_retry(world: World, name: str) -> None:
    world.api.rate_limit_next()
    assert "try again later" in str(busy(world, reply_for(CASES[name])))
    assert world.send(reply_for(CASES[name])).platform_message_id  # and the retry goes


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80007, 130429, 131048, 131056])
def test_every_documented_rate_limit_is_worth_a_retry(world: World, code: int) -> None:
    world.api.answer_next(graph_error(f"(#{code}) Rate limit reached", code))
    assert f"code {code}" in str(busy(world, reply_for(CASES["whatsapp"])))


def test_http_429_is_worth_a_retry_whatever_the_body(world: World) -> None:
    world.api.answer_next(Answer(429, {"error": {"message": "Too many requests"}}))
    busy(world, reply_for(CASES["facebook"]))


@pytest.mark.parametrize("name", EVERY)
def test_a_5xx_is_worth_a_retry(world: World, name: str) -> None:
    world.api.break_next()
    busy(world, reply_for(CASES[name]))


@pytest.mark.parametrize("name", EVERY)
def test_a_timeout_is_worth_a_retry(world: World, name: str) -> None:
    world.api.delay_next(1.0)
    error = busy(world, reply_for(CASES[name]), timeout=0.2)
    assert "ReadTimeout" in str(error)
    assert_says_no_token(error)


def test_no_connection_is_worth_a_retry() -> None:
    with httpx.Client(timeout=2.0) as http:
        replies = MetaReplies(TOKENS, http, f"http://127.0.0.1:{free_port()}/v21.0")
        with pytest.raises(ReplyBusy, match="ConnectError"):
            replies.send(reply_for(CASES["facebook"]))


@pytest.mark.parametrize("status", [200, 400, 502])
def test_an_answer_that_is_not_json_is_worth_a_retry(world: World, status: int) -> None:
    world.api.answer_next(Answer(status, b"<html><body>Bad Gateway</body></html>"))
    assert "without JSON" in str(busy(world, reply_for(CASES["instagram"])))


def test_a_success_without_a_message_id_is_worth_a_retry(world: World) -> None:
    world.api.answer_next(Answer(200, {"messaging_product": "whatsapp", "messages": []}))
    assert "without a message id" in str(busy(world, reply_for(CASES["whatsapp"])))


# --- the outbox ---------------------------------------------------------------------------------


def outbox_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def test_the_outbox_writes_one_file_per_key_with_the_request_meta_would_get(tmp_path: Path) -> None:
    outbox: Replies = OutboxReplies(tmp_path / "outbox")
    reply = reply_for(CASES["instagram"], tag="HUMAN_AGENT")
    replied = outbox.send(reply)
    [path] = outbox_files(tmp_path / "outbox")
    assert path.name == "reply-inbox_instagram_conv-7_reply-1.json"
    assert replied == Replied(f"outbox:{path.name}")
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record == {
        "platform": "instagram",
        "business_id": IG_PAGE_ID,
        "customer_id": IGSID,
        "text": TEXT,
        "template": "",
        "language": "en",
        "tag": "HUMAN_AGENT",
        "idempotency_key": "inbox:instagram:conv-7:reply-1",
        "request": {
            "method": "POST",
            "path": "/me/messages",
            "json": {
                "recipient": {"id": IGSID},
                "messaging_type": "MESSAGE_TAG",
                "tag": "HUMAN_AGENT",
                "message": {"text": TEXT},
            },
        },
    }


def test_the_outbox_takes_each_key_once(tmp_path: Path) -> None:
    outbox = OutboxReplies(tmp_path)
    first = outbox.send(reply_for(CASES["whatsapp"]))
    written = outbox_files(tmp_path)[0].read_bytes()
    again = outbox.send(reply_for(CASES["whatsapp"], text="a retry with other words"))
    assert again == first
    [path] = outbox_files(tmp_path)
    assert path.read_bytes() == written
    other = outbox.send(reply_for(CASES["whatsapp"], idempotency_key="inbox:whatsapp:conv-7:2"))
    assert other != first and len(outbox_files(tmp_path)) == 2


def test_the_outbox_refuses_what_meta_s_adapter_refuses(tmp_path: Path) -> None:
    with pytest.raises(ReplyRefused, match="no message templates"):
        OutboxReplies(tmp_path).send(reply_for(CASES["facebook"], template="order_ready"))
    assert outbox_files(tmp_path) == []


def test_a_key_cannot_write_outside_the_outbox(tmp_path: Path) -> None:
    outbox = OutboxReplies(tmp_path / "outbox")
    outbox.send(reply_for(CASES["facebook"], idempotency_key="../../etc/passwd"))
    [path] = outbox_files(tmp_path / "outbox")
    assert path.parent == tmp_path / "outbox" and path.name == "reply-.._.._etc_passwd.json"


FIELDS = ["platform", "business_id", "customer_id", "text", "template", "language", "tag"]
FIELDS.append("idempotency_key")
hostile = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(['"', "\\", "\r", "\n", "\x00", "\x1b", "\u2028", "}", "<", "/"]),
    min_size=1,
    max_size=200,
)


@settings(max_examples=100, deadline=None)
@given(text=hostile.filter(str.strip))
def test_text_from_strangers_is_written_as_data(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        outbox = OutboxReplies(Path(folder))
        replied = outbox.send(reply_for(CASES["facebook"], text=text))
        raw = (Path(folder) / replied.platform_message_id.removeprefix("outbox:")).read_text(
            encoding="utf-8"
        )
    record = json.loads(raw)
    assert record["text"] == text and record["request"]["json"]["message"] == {"text": text}
    assert list(record) == [*FIELDS, "request"]  # no text ran over into a field of its own
    assert f'"text": {json.dumps(text, ensure_ascii=False)}' in raw
