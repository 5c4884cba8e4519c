"""SlackChat through slack_sdk's WebClient against a local stand-in for the Web API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from backoffice.adapters.slack.chat import SlackChat, web_client
from backoffice.ports import Button, ChatMessage


class FakeSlack:
    """Records each Web API call; answers 429 (Retry-After: 0) first when asked to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.rate_limited = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        slack = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                if self.headers.get("content-type", "").startswith("application/json"):
                    args = json.loads(body)
                else:
                    args = {k: v[-1] for k, v in parse_qs(body).items()}
                slack.calls.append((self.path, args, dict(self.headers.items())))
                if slack.rate_limited:
                    slack.rate_limited -= 1
                    self._answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
                    return
                self._answer(200, {"ok": True, "channel": "D0CA5BRP8", "ts": "1700000000.000100"})

            def _answer(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, SlackChat]]:
    fake = FakeSlack()
    server = HTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = web_client("xoxb-test", base_url=f"http://127.0.0.1:{server.server_port}/api/")
    yield fake, SlackChat(client)
    server.shutdown()
    server.server_close()


MESSAGE = ChatMessage(
    to="U024BE7LH",
    text="*Licence*\nrenew by 2026-12-20",
    buttons=(Button("renew", "Renew", "https://x/ew/ack?t=abc", "abc"),),
    idempotency_key="ew:LIC-1:2026-12-20:first_alert",
)


def test_post_sends_block_kit_with_the_bot_token(slack: tuple[FakeSlack, SlackChat]) -> None:
    fake, chat = slack
    assert chat.post(MESSAGE) == "D0CA5BRP8:1700000000.000100"
    [(path, args, headers)] = fake.calls
    assert path == "/api/chat.postMessage"
    assert headers["Authorization"] == "Bearer xoxb-test"
    assert args["channel"] == "U024BE7LH"
    blocks = args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"])
    assert blocks[1]["elements"][0]["action_id"] == "renew"


def test_update_modal_and_whisper(slack: tuple[FakeSlack, SlackChat]) -> None:
    fake, chat = slack
    chat.update("D0CA5BRP8:1700000000.000100", "Renewed to 2027-12-20 by <@U1>")
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


def test_rate_limits_are_waited_out(slack: tuple[FakeSlack, SlackChat]) -> None:
    fake, chat = slack
    fake.rate_limited = 2
    assert chat.post(MESSAGE)
    assert len(fake.calls) == 3
