"""The Chat port's contract, run against every adapter of it:

- `fake`: FakeChat, which keeps the values it was given;
- `local`: OutboxChat, whose `.json` files are read back;
- `slack`: SlackChat through slack_sdk's WebClient against a stand-in for Slack's Web API
  (tests/support/standins.py), which answers in the shapes Slack documents.

Every adapter: post returns an id that update uses; the text and title reach Slack as text, never
as a ping or a link; buttons carry their action ids and values; an update mentions `by` only when
it is a member id and removes the buttons; whispers and modals reach the right place; a failure
raises, with nothing delivered. Where the fake differs on purpose (it keeps values, and renders
no markup at all), the test says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from standins import SlackStandIn, slack_api

from backoffice.adapters.fake import FakeChat, InjectedFault
from backoffice.adapters.local.outbox import OutboxChat, safe_name
from backoffice.adapters.slack.blocks import date_modal
from backoffice.adapters.slack.chat import SlackChat, web_client
from backoffice.ports import Button, Chat, ChatMessage

MEMBER = "U024BE7LH"
DM = "D0CA5BRP8"  # the stand-in's DM with MEMBER
CHANNEL = "C024BE91L"
BUTTONS = (
    Button("renew", "Renew", "https://x.example/ew/ack?t=abc", "abc"),
    Button("ack_only", "Got it", "https://x.example/ew/ack?t=def", "def"),
    Button("open_sheet", "Open the sheet", "https://docs.example/sheet/1"),  # a link, no value
)
MESSAGE = ChatMessage(
    to=MEMBER,
    title="Licence LIC-1",
    text="Expires on 2026-12-20.\nRenew or snooze.",
    buttons=BUTTONS,
    idempotency_key="ew:LIC-1:2026-12-20:first_alert",
)
HOSTILE = "<!channel> <http://x.example|Pay here> & <@U0BOSS0001> <#C0GENERAL1>\x00\x07 *bold*"
ESCAPED = (
    "&lt;!channel&gt; &lt;http://x.example|Pay here&gt; &amp; &lt;@U0BOSS0001&gt;"
    " &lt;#C0GENERAL1&gt; *bold*"
)
MARKUP = ("<!", "<http", "|Pay here>", "<@U0BOSS0001>", "<#C0GENERAL1>", "\x00", "\x07")


# --- every adapter, seen the same way -----------------------------------------------------------


@dataclass
class Post:
    """One message as it reached its channel."""

    to: str  # as addressed
    message: ChatMessage | None = None  # the fake keeps the value
    text: str | None = None  # the others: the mrkdwn Slack shows (and notifies with)
    blocks: list[dict[str, Any]] | None = None


# Arrange for the next call to fail: the chat to call, what it raises, and a pattern its text
# matches.
Failure = Callable[[], tuple[Chat, type[BaseException], str]]


@dataclass
class ChatUnderTest:
    name: str
    chat: Chat
    posts: Callable[[], list[Post]]
    updates_of: Callable[[str], list[tuple[str, list[dict[str, Any]] | None]]]  # (text, blocks)
    whispers: Callable[[], list[tuple[str, str, str]]]  # (channel, user, text)
    modals: Callable[[], list[tuple[str, dict[str, Any]]]]  # (trigger id, view)
    failures: dict[str, Failure] = field(default_factory=dict)
    standin: SlackStandIn | None = None


@contextmanager
def fake(tmp: Path) -> Iterator[ChatUnderTest]:
    chat = FakeChat()

    def injected() -> tuple[Chat, type[BaseException], str]:
        for method in ("post", "update", "whisper", "open_modal"):
            chat.faults.fail_next(method)
        return chat, InjectedFault, "^(post|update|whisper|open_modal)$"

    yield ChatUnderTest(
        "fake",
        chat,
        posts=lambda: [Post(message.to, message=message) for message in chat.posted],
        updates_of=lambda message_id: [(t, None) for m, t in chat.updates if m == message_id],
        whispers=lambda: list(chat.whispers),
        modals=lambda: list(chat.modals),
        failures={"injected_fault": injected},
    )


@contextmanager
def outbox(tmp: Path) -> Iterator[ChatUnderTest]:
    folder = tmp / "outbox"
    chat = OutboxChat(folder)

    def read(pattern: str) -> list[tuple[Path, dict[str, Any]]]:
        if not folder.is_dir():
            return []
        files = sorted(folder.glob(pattern), key=lambda path: (path.stat().st_mtime_ns, path.name))
        return [(path, json.loads(path.read_text(encoding="utf-8"))) for path in files]

    def updates_of(message_id: str) -> list[tuple[str, list[dict[str, Any]] | None]]:
        """The outbox names an update after the message it replaces (local:CHANNEL:FILE)."""
        channel, _, name = message_id.removeprefix("local:").partition(":")
        stem = safe_name(f"{channel}:{name.removesuffix('.slack.json')}")
        named = re.compile(rf"{re.escape(stem)}(-[0-9]+)?\.update\.json")
        return [
            (body["text"], body["blocks"])
            for path, body in read("*.update.json")
            if named.fullmatch(path.name) and body["channel"] == channel
        ]

    def unwritable() -> tuple[Chat, type[BaseException], str]:
        folder.write_bytes(b"")  # a file where the outbox folder should be
        return chat, OSError, "outbox"

    yield ChatUnderTest(
        "local",
        chat,
        posts=lambda: [
            Post(body["channel"], text=body["text"], blocks=body["blocks"])
            for _, body in read("*.slack.json")
        ],
        updates_of=updates_of,
        whispers=lambda: [
            (body["channel"], body["user"], body["text"]) for _, body in read("*.ephemeral.json")
        ],
        modals=lambda: [(body["trigger_id"], body["view"]) for _, body in read("*.modal.json")],
        failures={"unwritable_outbox": unwritable},
    )


@contextmanager
def slack(tmp: Path) -> Iterator[ChatUnderTest]:
    with slack_api() as api:
        chat = SlackChat(web_client(api.token, base_url=api.base_url))

        def posts() -> list[Post]:
            out = []
            for asked, channel, ts in api.posts:
                message = api.messages[(channel, ts)]
                out.append(Post(asked, text=message["text"], blocks=message["blocks"]))
            return out

        def updates_of(message_id: str) -> list[tuple[str, list[dict[str, Any]] | None]]:
            channel, ts = message_id.split(":", 1)
            return [
                (update["text"], update["blocks"])
                for update in api.updates
                if (update["channel"], update["ts"]) == (channel, ts)
            ]

        def revoked() -> tuple[Chat, type[BaseException], str]:
            return (
                SlackChat(web_client("xoxb-revoked", api.base_url)),
                SlackApiError,
                "invalid_auth",
            )

        def missing() -> tuple[Chat, type[BaseException], str]:
            api.missing.update({MEMBER, DM, CHANNEL})
            return chat, SlackApiError, "channel_not_found"

        def refused() -> tuple[Chat, type[BaseException], str]:
            for method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open"):
                api.fail_next(method, "fatal_error")
            return chat, SlackApiError, "fatal_error"

        yield ChatUnderTest(
            "slack",
            chat,
            posts=posts,
            updates_of=updates_of,
            whispers=lambda: [(e["channel"], e["user"], e["text"]) for e in api.ephemeral],
            modals=lambda: [(view["trigger_id"], view["view"]) for view in api.views],
            failures={
                "invalid_auth": revoked,
                "channel_not_found": missing,
                "fatal_error": refused,
            },
            standin=api,
        )


ADAPTERS: dict[str, Callable[[Path], AbstractContextManager[ChatUnderTest]]] = {
    "fake": fake,
    "local": outbox,
    "slack": slack,
}
FAILURES = [
    ("fake", "injected_fault"),
    ("local", "unwritable_outbox"),
    ("slack", "invalid_auth"),
    ("slack", "channel_not_found"),
    ("slack", "fatal_error"),
]


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Callable[[str], ChatUnderTest]]:
    """Build an adapter by name; whatever it started stops after the test."""
    with ExitStack() as stack:
        yield lambda name: stack.enter_context(ADAPTERS[name](tmp_path))


@pytest.fixture(params=sorted(ADAPTERS))
def case(request: pytest.FixtureRequest, build: Callable[[str], ChatUnderTest]) -> Any:
    return build(request.param)


def buttons_of(post: Post) -> list[tuple[str, str, str | None, str | None]]:
    """(action id, label, value, url) of each button, as the recipient's client gets them."""
    if post.message is not None:  # the fake keeps the Button values
        return [
            (b.action, b.label, b.value or None, None if b.value else b.url)
            for b in post.message.buttons
        ]
    assert post.blocks is not None
    return [
        (element["action_id"], element["text"]["text"], element.get("value"), element.get("url"))
        for block in post.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


# --- post and update ----------------------------------------------------------------------------


def test_post_returns_an_id_that_update_uses(case: ChatUnderTest) -> None:
    first = case.chat.post(MESSAGE)
    second = case.chat.post(ChatMessage(to=CHANNEL, text="Another one", idempotency_key="k2"))
    assert first and second and first != second
    case.chat.update(second, "Renewed to 2027-12-20", by=MEMBER)
    assert case.updates_of(first) == []
    [(text, blocks)] = case.updates_of(second)
    assert text == f"Renewed to 2027-12-20 (<@{MEMBER}>)"
    if blocks is not None:  # the buttons are gone: only the answer is left
        assert [block["type"] for block in blocks] == ["section"]
        assert blocks[0]["text"]["text"] == text
    assert sorted(post.to for post in case.posts()) == sorted([MEMBER, CHANNEL])
    if case.standin is not None:  # Slack replaced the message it holds, in the DM it opened
        channel, ts = second.split(":")
        assert case.standin.messages[(channel, ts)]["text"] == text
        assert first.startswith(f"{DM}:")


def test_a_message_posted_earlier_is_updated_by_its_slack_id(case: ChatUnderTest) -> None:
    """A button click names its message by channel:ts, whoever posted it and when."""
    if case.standin is not None:
        case.standin.seed_message(DM, "1548261231.000200", "Licence LIC-1 expires")
    case.chat.update(f"{DM}:1548261231.000200", "Snoozed until 2026-12-27", by=MEMBER)
    [(text, _)] = case.updates_of(f"{DM}:1548261231.000200")
    assert text == f"Snoozed until 2026-12-27 (<@{MEMBER}>)"


def test_post_shows_the_title_in_bold_over_the_text(case: ChatUnderTest) -> None:
    case.chat.post(MESSAGE)
    [post] = case.posts()
    if post.message is not None:  # the fake keeps the value; rendering is the others' business
        assert post.message == MESSAGE
        return
    assert post.text == "*Licence LIC-1*\nExpires on 2026-12-20.\nRenew or snooze."
    assert post.blocks is not None
    section = post.blocks[0]
    assert section["type"] == "section" and section["text"] == {"type": "mrkdwn", "text": post.text}


def test_text_and_title_reach_slack_as_text_never_as_a_ping_or_a_link(
    case: ChatUnderTest,
) -> None:
    message = ChatMessage(to=MEMBER, title=HOSTILE, text=HOSTILE, buttons=BUTTONS[:1])
    case.chat.post(message)
    [post] = case.posts()
    if post.message is not None:  # the fake keeps the text as data: it makes no markup at all
        assert post.message == message
        return
    assert post.text == f"*{ESCAPED}*\n{ESCAPED}"
    assert post.blocks is not None and post.blocks[0]["text"]["text"] == post.text
    shown = json.dumps(post.blocks, ensure_ascii=False) + post.text
    for markup in MARKUP:
        assert markup not in shown


def test_buttons_carry_action_ids_and_values(case: ChatUnderTest) -> None:
    case.chat.post(MESSAGE)
    [post] = case.posts()
    assert buttons_of(post) == [
        ("renew", "Renew", "abc", None),
        ("ack_only", "Got it", "def", None),
        ("open_sheet", "Open the sheet", None, "https://docs.example/sheet/1"),
    ]


def test_a_message_without_buttons_has_none(case: ChatUnderTest) -> None:
    case.chat.post(ChatMessage(to=CHANNEL, text="Digest: 3 documents expire this month"))
    [post] = case.posts()
    assert buttons_of(post) == []
    assert post.to == CHANNEL


BY = {
    "member": (MEMBER, f" (<@{MEMBER}>)"),
    "enterprise member": ("W012A3CDE", " (<@W012A3CDE>)"),
    "nobody": ("", ""),
    "a broadcast": ("<!here>", ""),
    "a member and more": (f"{MEMBER}> <!channel", ""),
    "a prefixed id": (f"slack:{MEMBER}", ""),
    "an email address": ("maria@example.com", ""),
    "a lower-case id": (MEMBER.lower(), ""),
}


@pytest.mark.parametrize("by", sorted(BY))
def test_update_mentions_by_only_for_a_member_id(case: ChatUnderTest, by: str) -> None:
    who, mention = BY[by]
    message_id = case.chat.post(MESSAGE)
    case.chat.update(message_id, "Acknowledged", by=who)
    [(text, _)] = case.updates_of(message_id)
    assert text == f"Acknowledged{mention}"


def test_update_text_is_escaped_too(case: ChatUnderTest) -> None:
    message_id = case.chat.post(MESSAGE)
    case.chat.update(message_id, HOSTILE, by=MEMBER)
    [(text, _)] = case.updates_of(message_id)
    if case.name == "fake":  # the fake keeps the text as given, and adds the mention
        assert text == f"{HOSTILE} (<@{MEMBER}>)"
        return
    assert text == f"{ESCAPED} (<@{MEMBER}>)"
    for markup in MARKUP:
        assert markup not in text


def test_a_second_post_with_the_same_key(case: ChatUnderTest) -> None:
    """Documented difference: the outbox refuses a second message with a key it already holds
    and answers the first one's id, so an update still finds it; the fake and Slack (which has
    no idempotency key) post it again, under a new id: there, the sends table's claim is what
    keeps a key from being posted twice."""
    first, second = case.chat.post(MESSAGE), case.chat.post(MESSAGE)
    posts = case.posts()
    if case.name == "local":
        assert second == first and len(posts) == 1
    else:
        assert second != first and len(posts) == 2


# --- whisper and modal --------------------------------------------------------------------------


def test_whisper_reaches_the_user_in_the_channel(case: ChatUnderTest) -> None:
    case.chat.whisper(DM, MEMBER, "That link was already used.")
    case.chat.whisper(CHANNEL, "W012A3CDE", HOSTILE)
    expected = HOSTILE if case.name == "fake" else ESCAPED  # the fake keeps the text as given
    assert sorted(case.whispers()) == sorted(
        [(DM, MEMBER, "That link was already used."), (CHANNEL, "W012A3CDE", expected)]
    )
    assert case.posts() == []  # nobody else sees it


def test_open_modal_answers_the_trigger_with_the_view(case: ChatUnderTest) -> None:
    view = date_modal("ew_renew", "Renew LIC-1", "New expiry", "Renew", "2027-12-20", "tok")
    trigger = "13345224609.738474920.8088930838d88f008e0"
    case.chat.open_modal(trigger, view)
    assert case.modals() == [(trigger, view)]
    assert case.posts() == [] and case.whispers() == []


# --- failures -----------------------------------------------------------------------------------

TITLE = {"type": "plain_text", "text": "Renew"}
CALLS: dict[str, Callable[[Chat], object]] = {
    "post": lambda chat: chat.post(MESSAGE),
    "update": lambda chat: chat.update(f"{DM}:1548261231.000200", "Renewed", by=MEMBER),
    "whisper": lambda chat: chat.whisper(DM, MEMBER, "Already used."),
    "open_modal": lambda chat: chat.open_modal("1.2.3", {"type": "modal", "title": TITLE}),
}
FAILING_CALLS = [
    (adapter, failure, call)
    for adapter, failure in FAILURES
    for call in sorted(CALLS)
    # a modal opens in answer to a trigger, in no channel
    if not (failure == "channel_not_found" and call == "open_modal")
]


@pytest.mark.parametrize(("adapter", "failure", "call"), FAILING_CALLS)
def test_a_failure_raises_and_nothing_is_delivered(
    build: Callable[[str], ChatUnderTest], adapter: str, failure: str, call: str
) -> None:
    case = build(adapter)
    if case.standin is not None:
        case.standin.seed_message(DM, "1548261231.000200", "before")
    chat, error, pattern = case.failures[failure]()
    with pytest.raises(error, match=pattern):
        CALLS[call](chat)
    assert case.posts() == [] and case.whispers() == [] and case.modals() == []
    assert case.updates_of(f"{DM}:1548261231.000200") == []
    if case.standin is not None:
        assert case.standin.messages[(DM, "1548261231.000200")]["text"] == "before"


def test_the_suite_runs_every_failure_an_adapter_names(case: ChatUnderTest) -> None:
    assert sorted(case.failures) == sorted(f for name, f in FAILURES if name == case.name)


# --- Slack only: errors it answers and rate limits ----------------------------------------------


@pytest.fixture
def api() -> Iterator[tuple[SlackStandIn, SlackChat]]:
    with slack_api() as standin:
        yield standin, SlackChat(web_client(standin.token, base_url=standin.base_url))


def test_an_update_of_a_message_slack_does_not_hold_raises(
    api: tuple[SlackStandIn, SlackChat],
) -> None:
    """Only Slack knows which messages it holds: the fake and the outbox take any id (an update
    may name a message by the channel:ts of a button click's payload)."""
    _, chat = api
    with pytest.raises(SlackApiError, match="message_not_found") as raised:
        chat.update(f"{DM}:1.000001", "Renewed", by=MEMBER)
    assert raised.value.response["error"] == "message_not_found"
    assert raised.value.response.status_code == 200  # Slack reports errors in the body


def test_an_error_slack_answers_is_raised_with_its_code(
    api: tuple[SlackStandIn, SlackChat],
) -> None:
    standin, chat = api
    standin.fail_next("views.open", "expired_trigger_id")
    with pytest.raises(SlackApiError) as raised:
        chat.open_modal("1.2.3", {"type": "modal", "title": TITLE, "blocks": []})
    assert raised.value.response["error"] == "expired_trigger_id"
    assert standin.views == []


def test_a_429_is_waited_out(api: tuple[SlackStandIn, SlackChat]) -> None:
    standin, chat = api
    standin.rate_limited = 1  # Retry-After: 0; slack_sdk adds under a second of jitter
    message_id = chat.post(MESSAGE)
    assert [call.method for call in standin.calls] == ["chat.postMessage"] * 2
    assert [(asked, f"{channel}:{ts}") for asked, channel, ts in standin.posts] == [
        (MEMBER, message_id)
    ]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """What slack_sdk's rate-limit handler sleeps, recorded instead of slept."""
    from slack_sdk.http_retry import builtin_handlers

    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers.time, "sleep", slept.append)
    return slept


def test_retry_after_is_honoured(api: tuple[SlackStandIn, SlackChat], waits: list[float]) -> None:
    standin, chat = api
    standin.rate_limited, standin.retry_after = 2, 30
    standin.seed_message(DM, "1548261231.000200")
    chat.update(f"{DM}:1548261231.000200", "Renewed", by=MEMBER)
    assert len(waits) == 2 and all(30 <= wait < 31 for wait in waits)
    assert [update["text"] for update in standin.updates] == [f"Renewed (<@{MEMBER}>)"]


def test_a_rate_limit_that_lasts_raises_in_the_end(
    api: tuple[SlackStandIn, SlackChat], waits: list[float]
) -> None:
    standin, chat = api
    standin.rate_limited = 10
    with pytest.raises(SlackApiError, match="ratelimited") as raised:
        chat.whisper(DM, MEMBER, "Already used.")
    assert raised.value.response.status_code == 429
    assert len(standin.calls) == 4 and len(waits) == 3  # the first try and three retries
    assert standin.ephemeral == []


def test_the_standin_answers_as_slack_documents(api: tuple[SlackStandIn, SlackChat]) -> None:
    """The shapes this suite relies on, read through slack_sdk itself."""
    standin, chat = api
    client = chat.client
    identity = client.auth_test()
    assert identity["ok"] is True and identity["user_id"].startswith("U")
    assert identity["team_id"].startswith("T") and identity["url"].startswith("https://")
    posted = client.chat_postMessage(channel=MEMBER, text="hi")
    assert posted["channel"] == DM and posted["message"]["ts"] == posted["ts"]
    updated = client.chat_update(channel=DM, ts=posted["ts"], text="hello")
    assert (updated["channel"], updated["ts"], updated["text"]) == (DM, posted["ts"], "hello")
    assert client.chat_postEphemeral(channel=DM, user=MEMBER, text="psst")["message_ts"]
    opened = client.views_open(trigger_id="1.2.3", view={"type": "modal", "title": TITLE})
    assert opened["view"]["id"].startswith("V") and opened["view"]["type"] == "modal"
    revoked = web_client("xoxb-revoked", standin.base_url)
    with pytest.raises(SlackApiError) as raised:
        revoked.auth_test()
    assert raised.value.response.status_code == 200
    assert raised.value.response.data == {"ok": False, "error": "invalid_auth"}
