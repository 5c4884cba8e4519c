"""The outbox is what a person opens to see what was sent: real email files and Slack JSON."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from backoffice.adapters.fake import FakeChat, FakeMailer
from backoffice.adapters.local.outbox import OutboxChat, OutboxMailer, OutboxSms
from backoffice.ports import Button, ChatMessage, Email

MAIL = Email(
    to=("maria@example.com",),
    subject="Licence: renew by 2026-12-20",
    text="Hello Maria,\n\nÄct by 2026-12-20.\n",
    links=(Button("renew", "Renew <now>", "https://x/ew/ack?t=abc&x=1", "abc"),),
    idempotency_key="ew:LIC-1:2026-12-20:first_alert",
)
MESSAGE = ChatMessage(
    to="U024BE7LH",
    title="Licence",
    text="renew by 2026-12-20",
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
    plain = parsed.get_body(("plain",)).get_content()
    assert plain.startswith(MAIL.text) and "Renew <now>: https://x/ew/ack?t=abc&x=1" in plain
    html = parsed.get_body(("html",)).get_content()
    assert "Hello Maria," in html and "Äct by 2026-12-20." in html
    # The label and the link are data in the HTML: escaped, never markup.
    assert "Renew &lt;now&gt;" in html and 'href="https://x/ew/ack?t=abc&amp;x=1"' in html


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


def test_a_slack_answer_from_a_payload_updates_the_outbox_message(tmp_path: Path) -> None:
    """A Slack payload names the message by channel:ts, not by what post returned."""
    chat = OutboxChat(tmp_path)
    chat.post(MESSAGE)
    chat.update("D1:1700000000.000100", "Renewed to 2027-12-20", by="U024BE7LH")
    update = next(p for p in tmp_path.iterdir() if p.name.endswith(".update.json"))
    body = json.loads(update.read_text())
    assert body["channel"] == "D1" and body["text"] == "Renewed to 2027-12-20 (<@U024BE7LH>)"


def test_the_outbox_refuses_a_second_message_with_the_same_key(tmp_path: Path) -> None:
    """A send retried after a crash between the send and its confirmation delivers nothing
    more; a message of another key, even one whose file name would look the same, does."""
    import threading

    mailer = OutboxMailer(tmp_path, "watcher@example.com")
    first = mailer.send(MAIL)
    assert mailer.send(MAIL).startswith("<already-sent:") and first.startswith("<")
    other = Email(
        to=MAIL.to, subject="x", text="y", idempotency_key="ew_LIC-1_2026-12-20_first_alert"
    )
    mailer.send(other)
    assert len(list(tmp_path.glob("*.eml"))) == 2
    chat, sms = OutboxChat(tmp_path / "c"), OutboxSms(tmp_path / "s")
    threads = [
        threading.Thread(target=lambda: (chat.post(MESSAGE), sms.send("+6591234567", "hi", "k1")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list((tmp_path / "c").iterdir())) == 1 and len(list((tmp_path / "s").iterdir())) == 1
    chat.post(ChatMessage(to="U024BE7LH", text="no key"))
    chat.post(ChatMessage(to="U024BE7LH", text="no key"))
    assert len(list((tmp_path / "c").iterdir())) == 3  # without a key, nothing is refused
