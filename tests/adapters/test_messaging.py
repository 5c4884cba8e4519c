"""The outbox is what a person opens to see what was sent: real email files and Slack JSON."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from backoffice.adapters.fake import FakeChat, FakeMailer
from backoffice.adapters.local.outbox import OutboxChat, OutboxMailer
from backoffice.ports import Button, ChatMessage, Email

MAIL = Email(
    to=("maria@example.com",),
    subject="Licence: renew by 2026-12-20",
    text="Hello Maria,\n\nÄct by 2026-12-20.\n",
    html="<p>Hello</p>",
    idempotency_key="ew:LIC-1:2026-12-20:first_alert",
)
MESSAGE = ChatMessage(
    to="U024BE7LH",
    text="*Licence*\nrenew by 2026-12-20",
    buttons=(
        Button("renew", "Renew", "https://x/ew/ack?t=abc", "abc"),
        Button("ack_only", "Ack only", "https://x/ew/ack?t=def", "def"),
    ),
    idempotency_key="ew:CRT-1:2026-12-20:first_alert",
)


def test_outbox_email_is_a_real_message(tmp_path: Path) -> None:
    message_id = OutboxMailer(tmp_path, "watcher@example.com").send(MAIL)
    [path] = tmp_path.iterdir()
    assert path.name == "ew_LIC-1_2026-12-20_first_alert.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "maria@example.com" and parsed["Message-ID"] == message_id
    assert parsed["X-Backoffice-Key"] == MAIL.idempotency_key
    assert parsed.get_body(("plain",)).get_content() == MAIL.text
    assert "Hello" in parsed.get_body(("html",)).get_content()


def test_outbox_slack_message_is_block_kit_with_the_buttons(tmp_path: Path) -> None:
    chat = OutboxChat(tmp_path)
    message_id = chat.post(MESSAGE)
    [path] = tmp_path.iterdir()
    body = json.loads(path.read_text())
    assert body["channel"] == "U024BE7LH"
    section, actions = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert [(b["action_id"], b["value"]) for b in actions["elements"]] == [
        ("renew", "abc"),
        ("ack_only", "def"),
    ]
    chat.update(message_id, "Renewed to 2027-12-20 by Maria")
    update = next(p for p in tmp_path.iterdir() if p.name.endswith(".update.json"))
    assert [b["type"] for b in json.loads(update.read_text())["blocks"]] == ["section"]


def test_fakes_keep_what_they_were_given_and_fail_on_request() -> None:
    mailer, chat = FakeMailer(), FakeChat()
    mailer.faults.fail_next("send")
    try:
        mailer.send(MAIL)
        raise AssertionError("the injected fault did not fire")
    except RuntimeError:
        pass
    assert mailer.sent == [] and mailer.faults.calls["send"] == 1
    assert mailer.send(MAIL) == "fake-mail-1" and mailer.sent == [MAIL]
    assert chat.post(MESSAGE) == "C-fake:1" and chat.posted == [MESSAGE]
