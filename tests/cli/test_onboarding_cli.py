"""The onboarding guide through the CLI and `backoffice serve`: the example, check, preview and
tick as JSON, and the signup webhook over real HTTP, with retries racing on real threads."""

from __future__ import annotations

import csv
import http.client
import io
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from backoffice.cli.main import main
from backoffice.cli.serve import Server, make_server
from backoffice.cli.workspace import write_example
from backoffice.core.settings import load_settings
from backoffice.handlers.wiring import read_settings
from backoffice.services.onboarding_guide import SYSTEM


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_example(SYSTEM, tmp_path / "og", date(2026, 12, 1))
    return tmp_path / "og"


@pytest.fixture
def server(workspace: Path) -> Iterator[Server]:
    httpd = make_server(workspace, read_settings(workspace), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def secret(workspace: Path) -> str:
    text = (workspace / "backoffice.toml").read_text()
    return load_settings(text).secret("webhook_secret")


def post(server: Server, body: bytes, key: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=20)
    headers = {"content-type": "application/json", "x-webhook-secret": key}
    connection.request("POST", "/og/enroll", body=body, headers=headers)
    response = connection.getresponse()
    text = response.read()
    is_json = response.getheader("content-type", "").startswith("application/json")
    return response.status, json.loads(text) if is_json else {"text": text.decode()}


def sheet_ids(workspace: Path) -> list[str]:
    rows = list(csv.reader(io.StringIO((workspace / "onboarding.csv").read_text())))
    return [row[0] for row in rows[1:] if row]


def signup(signup_id: str) -> bytes:
    return json.dumps(
        {
            "signup_id": signup_id,
            "email": f"{signup_id}@example.com",
            "name": f"Customer {signup_id}",
            "plan": "team",
            "signed_up_at": "2026-11-30T15:00:00Z",
        }
    ).encode()


def test_check_names_the_bad_row_and_rules_out_of_order(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--workspace", str(workspace)]) == 1
    out = capsys.readouterr().out
    assert "onboarding.csv:5 [email]" in out
    rules = workspace / "rules.toml"
    text = rules.read_text().replace(
        '{ id = "invite-team", day = 3', '{ id = "invite-team", day = 0'
    )
    rules.write_text(text.replace('{ id = "set-up-sso",  day = 7', '{ id = "connect",  day = 7'))
    assert main(["check", "--workspace", str(workspace)]) == 1
    out = capsys.readouterr().out
    lines = rules.read_text().splitlines()
    order = next(n for n, line in enumerate(lines, 1) if 'id = "invite-team", day = 0' in line)
    twice = next(n for n, line in enumerate(lines, 1) if 'id = "connect",  day = 7' in line)
    assert f"rules.toml:{order}" in out and "day order" in out
    assert f"rules.toml:{twice}" in out and "appears twice" in out


def test_preview_and_tick_speak_the_systems_moves(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = "2026-12-01T09:00:00-05:00"
    args = ["--workspace", str(workspace), "--json"]
    assert main(["preview", "--days", "8", "--from", now[:10], *args]) in (0, 1)
    preview = json.loads(capsys.readouterr().out)
    moves = {(s["move"], s["subject"]) for s in preview["sends"] if s["key"].startswith("og:c-")}
    assert {m for m, _ in moves} == {"step_due", "nudge", "flag"}
    assert {s for _, s in moves} <= {"c-1001", "c-1002", "c-1003"}  # c-1004 is bad, c-1005 paused
    for send in preview["sends"]:
        if send["key"].startswith("og:c-"):
            assert send["key"] == f"og:{send['subject']}:{send['key'].split(':')[2]}:{send['move']}"
    assert main(["tick", "--now", now, *args]) in (0, 1)
    tick = json.loads(capsys.readouterr().out)
    assert {s["move"] for s in tick["sends"] if s["key"].startswith("og:c-")} == {"step_due"}
    assert any(p["line"] == 5 for p in tick["problems"])


def test_enroll_over_http_refuses_and_accepts(workspace: Path, server: Server) -> None:
    key = secret(workspace)
    assert post(server, signup("s-1"), "wrong")[0] == 401
    status, body = post(server, b'{"email": "nope", "plan": "gold"}', key)
    assert status == 400 and {"email", "plan", "signup_id"} <= set(body["fields"])
    assert post(server, b"x" * (64 * 1024 + 10), key)[0] == 413
    assert post(server, signup("s-1"), key) == (200, {"status": "enrolled"})
    assert post(server, signup("s-1"), key) == (200, {"status": "already_enrolled"})
    assert sheet_ids(workspace).count("s-1") == 1


def test_concurrent_retries_append_one_row_and_different_signups_all_land(
    workspace: Path, server: Server
) -> None:
    key = secret(workspace)
    results: list[tuple[int, dict]] = []
    bodies = [signup("twin")] * 6 + [signup(f"s-{n}") for n in range(6)]
    threads = [
        threading.Thread(target=lambda b=b: results.append(post(server, b, key))) for b in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 200 for status, _ in results), results
    outcomes = [body["status"] for _, body in results]
    assert outcomes.count("enrolled") == 7 and outcomes.count("already_enrolled") == 5
    ids = sheet_ids(workspace)
    assert ids.count("twin") == 1
    assert {f"s-{n}" for n in range(6)} <= set(ids)
