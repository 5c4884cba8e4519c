"""SlackChat through slack_sdk's WebClient against a local stand-in for the Web API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from standins import SlackStandIn, slack_api

from backoffice.adapters.slack.chat import SlackChat, web_client
from backoffice.ports import Button, ChatMessage


@pytest.fixture
def slack() -> Iterator[tuple[SlackStandIn, SlackChat]]:
    """The stand-in for the Web API (tests/support/standins.py) and a SlackChat pointed at it."""
    with slack_api("xoxb-test") as fake:
        yield fake, SlackChat(web_client("xoxb-test", base_url=fake.base_url))


MESSAGE = ChatMessage(
    to="U024BE7LH",
    title="Licence",
    text="renew by 2026-12-20",
    buttons=(Button("renew", "Renew", "https://x/ew/ack?t=abc", "abc"),),
    idempotency_key="ew:LIC-1:2026-12-20:first_alert",
)


def test_post_sends_block_kit_with_the_bot_token(slack: tuple[SlackStandIn, SlackChat]) -> None:
    fake, chat = slack
    assert chat.post(MESSAGE) == "D0CA5BRP8:1700000000.000100"
    [(path, args, headers)] = fake.calls
    assert path == "/api/chat.postMessage"
    assert headers["Authorization"] == "Bearer xoxb-test"
    assert args["channel"] == "U024BE7LH"
    blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
    assert blocks[1]["elements"][0]["action_id"] == "renew"


def test_update_modal_and_whisper(slack: tuple[SlackStandIn, SlackChat]) -> None:
    fake, chat = slack
    fake.seed_message("D0CA5BRP8", "1700000000.000100")  # posted before
    chat.update("D0CA5BRP8:1700000000.000100", "Renewed to 2027-12-20", by="U024BE7LH")
    chat.open_modal(
        "trigger-1", {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    )
    chat.whisper("D0CA5BRP8", "U1", "That link was already used.")
    assert [path for path, _, _ in fake.calls] == [
        "/api/chat.update",
        "/api/views.open",
        "/api/chat.postEphemeral",
    ]
    update = fake.calls[0][1]
    assert (update["channel"], update["ts"]) == ("D0CA5BRP8", "1700000000.000100")
    assert update["text"] == "Renewed to 2027-12-20 (<@U024BE7LH>)"


def test_sheet_text_reaches_slack_as_text_never_as_a_ping_or_a_link(
    slack: tuple[SlackStandIn, SlackChat],
) -> None:
    fake, chat = slack
    hostile = "<!channel> <http://x.example|Pay here> & co"
    chat.post(ChatMessage(to="U024BE7LH", title=hostile, text=hostile))
    fake.seed_message("D0CA5BRP8", "1.2")
    chat.update("D0CA5BRP8:1.2", hostile, by="<!here>")
    chat.whisper("D0CA5BRP8", "U1", hostile)
    escaped = "&lt;!channel&gt; &lt;http://x.example|Pay here&gt; &amp; co"
    post, update, whisper = (args for _, args, _ in fake.calls)
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    assert post["text"] == f"*{escaped}*\n{escaped}"
    assert blocks[0]["text"]["text"] == f"*{escaped}*\n{escaped}"
    assert update["text"] == escaped  # a "by" that is not a member id is not mentioned
    assert whisper["text"] == escaped
    for args in (post, update, whisper):
        assert "<!" not in str(args) and "|Pay here>" not in str(args)


def test_rate_limits_are_waited_out(slack: tuple[SlackStandIn, SlackChat]) -> None:
    fake, chat = slack
    fake.rate_limited = 2
    assert chat.post(MESSAGE)
    assert len(fake.calls) == 3


def test_a_revoked_token_is_said_in_one_line_naming_the_setting() -> None:
    from slack_sdk.errors import SlackApiError
    from standins import slack_api

    from backoffice.services.delivery import describe

    with slack_api() as slack:
        chat = SlackChat(web_client("xoxb-revoked", base_url=slack.base_url))
        with pytest.raises(SlackApiError) as error:
            chat.post(ChatMessage(to="U024BE7LH", text="hi"))
    assert describe(error.value) == (
        "SlackApiError: Slack refused it (invalid_auth): check [secrets] slack_bot_token"
    )
