"""The social inbox through the CLI and `backoffice serve`: the example and its signed samples,
check, the webhooks over real HTTP (handshake, signatures, re-deliveries), `tick` from cron,
`threads --json` as the contract, and preview's "who would get what now"."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest

from backoffice.cli.main import main
from backoffice.cli.serve import Server, make_server
from backoffice.cli.workspace import write_example
from backoffice.handlers.wiring import read_settings
from backoffice.services.social_inbox import SYSTEM

SAMPLES = ("instagram-order", "facebook-refund", "whatsapp-hours")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_example(SYSTEM, tmp_path / "inbox", date(2026, 12, 1))
    return tmp_path / "inbox"


@pytest.fixture
def server(workspace: Path) -> Iterator[Server]:
    httpd = make_server(workspace, read_settings(workspace), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def request(
    server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=20)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def send_sample(server: Server, workspace: Path, name: str) -> int:
    body = (workspace / "samples" / f"{name}.json").read_bytes()
    signature = (workspace / "samples" / f"{name}.json.signature").read_text().strip()
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    status, _ = request(server, "POST", f"/siu/webhook/{name.split('-')[0]}", body, headers)
    return status


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_the_example_names_its_one_broken_roster_row(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "check", "--workspace", str(workspace))
    assert code == 1 and "roster.csv:6 [working_hours]" in out and out.count("\n- ") == 1


def test_the_handshake_and_signatures_over_real_http(server: Server, workspace: Path) -> None:
    token = read_settings(workspace).secret("meta_verify_token")
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    assert request(server, "GET", f"/siu/webhook/facebook?{urlencode(query)}") == (
        200,
        b"1158201444",
    )
    wrong = urlencode({**query, "hub.verify_token": "guess"})
    assert request(server, "GET", f"/siu/webhook/facebook?{wrong}")[0] == 403
    body = (workspace / "samples" / "facebook-refund.json").read_bytes()
    forged = {"x-hub-signature-256": "sha256=" + "ab" * 32}
    assert request(server, "POST", "/siu/webhook/facebook", body, forged)[0] == 401
    assert request(server, "POST", "/siu/webhook/facebook", body)[0] == 401  # no signature


def test_signed_samples_end_in_the_threads_and_assignments_the_rules_say(
    server: Server, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in SAMPLES:
        assert send_sample(server, workspace, name) == 200
    assert send_sample(server, workspace, "facebook-refund") == 200  # Meta re-delivers
    for minute in ("10:00", "10:01"):  # tick from cron: the second finds nothing new
        code, _ = run(
            capsys, "tick", "--workspace", str(workspace), "--now", f"2026-12-03T{minute}"
        )
        assert code == 0
    code, out = run(capsys, "threads", "--workspace", str(workspace), "--json")
    threads = {t["platform"]: t for t in json.loads(out)["threads"]}
    assert code == 0 and sorted(threads) == ["facebook", "instagram", "whatsapp"]
    refund, order, hours = threads["facebook"], threads["instagram"], threads["whatsapp"]
    assert (refund["topic"], refund["urgency"], refund["team"]) == ("billing", "urgent", "support")
    assert (order["topic"], order["team"]) == ("orders", "sales")
    assert (hours["topic"], hours["urgency"]) == ("hours", "normal")
    # Thursday 10:00 in Singapore: Mei (support and sales) works; Ravi's Kolkata shift starts
    # at 08:00 there (10:30 here); Lena is away; Dev (sales) is always on.
    assert {refund["assignee"], hours["assignee"]} == {"mei"}
    assert order["assignee"] in ("mei", "dev")
    assert [len(t["messages"]) for t in (refund, order, hours)] == [1, 1, 1]
    message = refund["messages"][0]
    assert message["direction"] == "in" and message["platform_message_id"].startswith("m_")
    assert refund["sla_due"] == "2026-12-03T10:30:00+08:00"


def test_preview_says_who_a_new_thread_would_go_to_now(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        capsys, "preview", "--workspace", str(workspace), "--from", "2026-12-05", "--json"
    )
    routes = {s["subject"]: s["to"][0] for s in json.loads(out)["sends"]}
    assert code == 0 and routes["orders (urgent)"] == "dev"  # Saturday midnight: only Dev is on
    assert routes["billing (normal)"] == "support queue"
    assert not (workspace / "state.db").exists()


def test_threads_is_the_inbox_s_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from backoffice.services.expiry_watcher import SYSTEM as WATCHER

    write_example(WATCHER, tmp_path, date(2026, 12, 1))
    assert main(["threads", "--workspace", str(tmp_path)]) == 1
    assert "threads is the social inbox's" in capsys.readouterr().err
