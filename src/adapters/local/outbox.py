"""The outbox: where the embedded backend delivers. Emails are real RFC 5322 `.eml` files and
Slack messages are the Block Kit JSON that chat.postMessage would receive."""

from __future__ import annotations

import json
import re
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from backoffice.adapters.local.storage import write_atomically
from backoffice.adapters.mime import build_email
from backoffice.adapters.slack.blocks import message_blocks, resolved_blocks
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


class OutboxMailer:
    def __init__(self, outbox: Path, sender: str) -> None:
        self.outbox = Path(outbox)
        self.sender = sender

    def send(self, email: Email) -> str:
        message_id = make_msgid(domain="backoffice.local")
        stem = safe_name(email.idempotency_key or message_id.strip("<>"))
        write_atomically(
            _unique(self.outbox, stem, ".eml"), build_email(self.sender, email, message_id)
        )
        return message_id


class OutboxChat:
    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)
        self._count = 0

    def post(self, message: ChatMessage) -> str:
        stem = safe_name(message.idempotency_key or f"{message.to}-{self._count + 1}")
        path = _unique(self.outbox, stem, ".slack.json")
        self._write(
            path, {"channel": message.to, "text": message.text, "blocks": message_blocks(message)}
        )
        self._count += 1
        return f"local:{message.to}:{path.name}"

    def update(self, message_id: str, text: str) -> None:
        _, channel, name = message_id.split(":", 2)
        stem = safe_name(name.removesuffix(".slack.json"))
        self._write(
            _unique(self.outbox, stem, ".update.json"),
            {"channel": channel, "text": text, "blocks": resolved_blocks(text)},
        )

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        stem = safe_name(f"modal-{trigger_id}")
        self._write(
            _unique(self.outbox, stem, ".modal.json"), {"trigger_id": trigger_id, "view": view}
        )

    def whisper(self, channel: str, user: str, text: str) -> None:
        path = _unique(self.outbox, safe_name(f"ephemeral-{channel}-{user}"), ".ephemeral.json")
        self._write(path, {"channel": channel, "user": user, "text": text})

    def _write(self, path: Path, body: dict[str, Any]) -> None:
        write_atomically(path, json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8"))


class OutboxSms:
    """Text messages as `.sms.json` files: number, text and its segment count. Numbers listed in
    the workspace's `opted_out` setting are treated as opted out."""

    def __init__(self, outbox: Path, opted_out_numbers: frozenset[str] = frozenset()) -> None:
        self.outbox = Path(outbox)
        self.opted_out_numbers = opted_out_numbers

    def send(self, to: str, text: str, idempotency_key: str) -> str:
        from backoffice.core.sms import sms_segments

        path = _unique(self.outbox, safe_name(idempotency_key or to), ".sms.json")
        body = {"to": to, "text": text, "segments": sms_segments(text)}
        write_atomically(path, json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8"))
        return f"local-sms:{path.name}"

    def opted_out(self, to: str) -> bool:
        return to in self.opted_out_numbers
