"""The outbox: where the embedded backend delivers. Emails are real RFC 5322 `.eml` files and
Slack messages are the Block Kit JSON that chat.postMessage would receive."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from backoffice.adapters.local.storage import write_atomically, write_new
from backoffice.adapters.mime import build_email
from backoffice.adapters.slack.blocks import (
    message_blocks,
    message_text,
    resolved_blocks,
    update_text,
)
from backoffice.core.text import printable, slack_escaped
from backoffice.ports import ChatMessage, Email

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._")[:150] or "message"


def _unique(folder: Path, stem: str, suffix: str) -> Path:
    candidate = folder / f"{stem}{suffix}"
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = folder / f"{stem}-{counter}{suffix}"
    return candidate


def deliver_once(
    folder: Path, stem: str, key: str, suffix: str, body: bytes, keyed: Callable[[Path], str]
) -> tuple[Path, bool]:
    """Write the message under its key's name. A second message with the same key is refused
    (the first one's file is returned): a send retried after a crash between the send and its
    confirmation cannot deliver twice. Messages without a key, and another key whose name
    happens to look the same, get a file of their own."""
    path = folder / f"{safe_name(stem)}{suffix}"
    while True:
        if write_new(path, body):
            return path, True
        if key and keyed(path) == key:
            return path, False
        path = _unique(folder, safe_name(stem), suffix)


def _mail_key(path: Path) -> str:
    with path.open("rb") as message:
        for line in message:
            if line.startswith(b"X-Backoffice-Key: "):
                return line[len(b"X-Backoffice-Key: ") :].decode("utf-8", "replace").strip()
            if not line.strip():
                return ""
    return ""


def json_key(path: Path) -> str:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("idempotency_key", ""))
    except (OSError, ValueError):
        return ""


class OutboxMailer:
    def __init__(self, outbox: Path, sender: str) -> None:
        self.outbox = Path(outbox)
        self.sender = sender

    def send(self, email: Email) -> str:
        if not email.to:  # as every live mailer: an email to nobody is an error, never "sent"
            raise ValueError("an e-mail needs at least one recipient")
        message_id = make_msgid(domain="backoffice.local")
        key = email.idempotency_key
        body = build_email(self.sender, email, message_id)
        stem = key or message_id.strip("<>")
        path, fresh = deliver_once(self.outbox, stem, key, ".eml", body, _mail_key)
        return message_id if fresh else f"<already-sent:{path.name}>"


class OutboxChat:
    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)
        self._count = 0

    def post(self, message: ChatMessage) -> str:
        key = message.idempotency_key
        body = {"channel": message.to, "text": message_text(message), "idempotency_key": key}
        payload = _json({**body, "blocks": message_blocks(message)})
        stem = key or f"{message.to}-{self._count + 1}"
        path, _ = deliver_once(self.outbox, stem, key, ".slack.json", payload, json_key)
        self._count += 1
        return f"local:{message.to}:{path.name}"

    def update(self, message_id: str, text: str, by: str = "") -> None:
        """`message_id` is what post returned (local:channel:file) or, from a Slack payload,
        channel:ts; either names the message the update replaces."""
        channel = message_id.removeprefix("local:").split(":", 1)[0]
        stem = safe_name(message_id.removeprefix("local:").removesuffix(".slack.json"))
        shown = update_text(text, by)
        self._write(
            _unique(self.outbox, stem, ".update.json"),
            {"channel": channel, "text": shown, "blocks": resolved_blocks(shown)},
        )

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        stem = safe_name(f"modal-{trigger_id}")
        self._write(
            _unique(self.outbox, stem, ".modal.json"), {"trigger_id": trigger_id, "view": view}
        )

    def whisper(self, channel: str, user: str, text: str) -> None:
        path = _unique(self.outbox, safe_name(f"ephemeral-{channel}-{user}"), ".ephemeral.json")
        self._write(path, {"channel": channel, "user": user, "text": slack_escaped(text)})

    def _write(self, path: Path, body: dict[str, Any]) -> None:
        write_atomically(path, _json(body))


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")


class OutboxSms:
    """Text messages as `.sms.json` files: number, text and its segment count. Numbers listed in
    the workspace's `opted_out` setting are treated as opted out."""

    def __init__(self, outbox: Path, opted_out_numbers: frozenset[str] = frozenset()) -> None:
        self.outbox = Path(outbox)
        self.opted_out_numbers = opted_out_numbers

    def send(self, to: str, text: str, idempotency_key: str) -> str:
        from backoffice.core.sms import sms_segments

        text = printable(text)
        key = idempotency_key
        body = {"to": to, "text": text, "segments": sms_segments(text), "idempotency_key": key}
        path, _ = deliver_once(self.outbox, key or to, key, ".sms.json", _json(body), json_key)
        return f"local-sms:{path.name}"

    def opted_out(self, to: str) -> bool:
        return to in self.opted_out_numbers
